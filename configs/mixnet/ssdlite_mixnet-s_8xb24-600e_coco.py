# SSDLite-MixNet-S (not in the paper: mixdet's own extension).
# Features for the head follow mmdet's SSDLite-MobileNetV2: the last
# stride-16 stage output (out index 3: 120 ch for S/M, 160 for L) and the
# stride-32 1x1 head conv (out index 5: 1536 ch), the counterparts of
# MobileNetV2's layer5 (96 ch) and conv2 (1280 ch). The four extra levels
# of the neck are the same as in every SSDLite config here.
_base_ = '../_base_/models/ssdlite_320.py'

model = dict(
    backbone=dict(
        _delete_=True,
        type='MixNet',
        arch='s',
        out_indices=(3, 5),
        norm_cfg=dict(type='BN', eps=0.001, momentum=0.03),
        init_cfg=dict(type='TruncNormal', layer='Conv2d', std=0.03),
    ),
    neck=dict(
        in_channels=(120, 1536), out_channels=(120, 1536, 512, 256, 256, 128)
    ),
    bbox_head=dict(in_channels=(120, 1536, 512, 256, 256, 128)),
)
