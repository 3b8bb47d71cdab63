# Table 1, MobileNetV1 baseline3x3, as the paper built it (TF Object
# Detection API's ssdlite_mobilenet_v1): heads on conv11 (512 ch, stride
# 16) and conv13 (1024 ch, stride 32); 3 anchors on the lowest level.
_base_ = '../_base_/models/ssdlite-tfodapi_320.py'

model = dict(
    backbone=dict(
        _delete_=True,
        type='MixMobileNetV1',
        dw_kernel_sizes=3,
        out_indices=(10, 12),
        norm_cfg={{_base_.norm_cfg}},
        init_cfg=dict(type='TruncNormal', layer='Conv2d', std=0.03),
    ),
    neck=dict(
        in_channels=(512, 1024), out_channels=(512, 1024, 512, 256, 256, 128)
    ),
    bbox_head=dict(in_channels=(512, 1024, 512, 256, 256, 128)),
)
