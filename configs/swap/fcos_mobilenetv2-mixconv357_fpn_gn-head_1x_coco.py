# MixConv-MobileNetV2 in FCOS.
# Only the backbone, the neck's in_channels and the input normalisation
# differ from mmdet's
# fcos/fcos_r50-caffe_fpn_gn-head_1x_coco.py
_base_ = 'mmdet::fcos/fcos_r50-caffe_fpn_gn-head_1x_coco.py'

custom_imports = dict(imports=['mixdet'], allow_failed_imports=False)
# mmengine's CheckpointHook, with saves that a kill cannot leave half-done.
default_hooks = dict(checkpoint=dict(type='AtomicCheckpointHook'))

# The base config normalises for Caffe-style ResNet weights; MixNet and
# MobileNet take ImageNet RGB normalisation.
data_preprocessor = dict(
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
)

model = dict(
    data_preprocessor=data_preprocessor,
    backbone=dict(
        _delete_=True,
        type='MixMobileNetV2',
        dw_kernel_sizes=(3, 5, 7),
        out_indices=(1, 2, 4, 6),
        init_cfg=None,
    ),
    neck=dict(in_channels=[24, 32, 96, 320]),
)
