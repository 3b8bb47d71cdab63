# Table 1, MobileNetV2 baseline3x3: mmdet's SSDLite-MobileNetV2 built with
# MixMobileNetV2 (state dict identical to mmdet's MobileNetV2). The first
# head sits on layer5 (stride 16, 96 ch), the second on conv2 (stride 32,
# 1280 ch), as mmdet does.
_base_ = '../_base_/models/ssdlite_320.py'

model = dict(
    backbone=dict(
        _delete_=True,
        type='MixMobileNetV2',
        dw_kernel_sizes=3,
        out_indices=(4, 7),
        norm_cfg=dict(type='BN', eps=0.001, momentum=0.03),
        init_cfg=dict(type='TruncNormal', layer='Conv2d', std=0.03),
    )
)
