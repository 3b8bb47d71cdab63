# MixConv-MobileNetV2 in Faster R-CNN-FPN.
# Only the backbone and the neck's in_channels differ from mmdet's
# faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py
_base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'

custom_imports = dict(imports=['mixdet'], allow_failed_imports=False)
# mmengine's CheckpointHook, with saves that a kill cannot leave half-done.
default_hooks = dict(checkpoint=dict(type='AtomicCheckpointHook'))

model = dict(
    backbone=dict(
        _delete_=True,
        type='MixMobileNetV2',
        dw_kernel_sizes=(3, 5, 7),
        out_indices=(1, 2, 4, 6),
        init_cfg=None,
    ),
    neck=dict(in_channels=[24, 32, 96, 320]),
)
