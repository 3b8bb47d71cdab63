# MixNet-M in FCOS.
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
        type='MixNet',
        arch='m',
        out_indices=(1, 2, 3, 4),
        # ImageNet weights: tools/model_converters/timm2mixdet.py, then
        # init_cfg=dict(type='Pretrained', checkpoint='mixnet-m.pth')
        init_cfg=None,
    ),
    neck=dict(in_channels=[32, 40, 120, 200]),
)
