# MixNet-M in mmdet's YOLOv3-MobileNetV2 (YOLOV3Neck lists channels
# deepest first).
# Only the backbone and the neck's in_channels differ from mmdet's
# yolo/yolov3_mobilenetv2_8xb24-320-300e_coco.py
_base_ = 'mmdet::yolo/yolov3_mobilenetv2_8xb24-320-300e_coco.py'

custom_imports = dict(imports=['mixdet'], allow_failed_imports=False)
# mmengine's CheckpointHook, with saves that a kill cannot leave half-done.
default_hooks = dict(checkpoint=dict(type='AtomicCheckpointHook'))

model = dict(
    backbone=dict(
        _delete_=True,
        type='MixNet',
        arch='m',
        out_indices=(2, 3, 4),
        # ImageNet weights: tools/model_converters/timm2mixdet.py, then
        # init_cfg=dict(type='Pretrained', checkpoint='mixnet-m.pth')
        init_cfg=None,
    ),
    neck=dict(in_channels=[200, 120, 40]),
)
