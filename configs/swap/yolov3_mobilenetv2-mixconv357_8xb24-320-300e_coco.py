# MixConv-MobileNetV2 in mmdet's YOLOv3-MobileNetV2: the same network
# with 3x3/5x5/7x7 MixConv.
# Only the backbone and the neck's in_channels differ from mmdet's
# yolo/yolov3_mobilenetv2_8xb24-320-300e_coco.py
_base_ = 'mmdet::yolo/yolov3_mobilenetv2_8xb24-320-300e_coco.py'

custom_imports = dict(imports=['mixdet'], allow_failed_imports=False)
# mmengine's CheckpointHook, with saves that a kill cannot leave half-done.
default_hooks = dict(checkpoint=dict(type='AtomicCheckpointHook'))

model = dict(
    backbone=dict(
        _delete_=True,
        type='MixMobileNetV2',
        dw_kernel_sizes=(3, 5, 7),
        out_indices=(2, 4, 6),
        act_cfg=dict(type='LeakyReLU', negative_slope=0.1),
        init_cfg=None,
    ),
    neck=dict(in_channels=[320, 96, 32]),
)
