# Table 1, MobileNetV1 baseline3x3: SSDLite on conv11 (stride 16, 512 ch)
# and conv13 (stride 32, 1024 ch), as the MobileNetV2 paper's SSDLite.
_base_ = '../_base_/models/ssdlite_320.py'

model = dict(
    backbone=dict(
        _delete_=True,
        type='MixMobileNetV1',
        dw_kernel_sizes=3,
        out_indices=(10, 12),
        norm_cfg=dict(type='BN', eps=0.001, momentum=0.03),
        init_cfg=dict(type='TruncNormal', layer='Conv2d', std=0.03),
    ),
    neck=dict(
        in_channels=(512, 1024), out_channels=(512, 1024, 512, 256, 256, 128)
    ),
    bbox_head=dict(in_channels=(512, 1024, 512, 256, 256, 128)),
)
