# mmdet's SSDLite at 320x320, the detector every mixdet SSDLite config
# builds on: depthwise-separable SSDNeck and SSDHead, 6 levels, 6 anchors
# per level, the first head on the backbone's stride-16 stage output.
# mmdet keeps no separate _base_ model file for SSDLite, so this inherits
# the whole shipped config (model, COCO data, SGD + cosine, 120 epochs x
# RepeatDataset(5) = "600e"); configs change the backbone and the channels
# that follow from it.
_base_ = 'mmdet::ssd/ssdlite_mobilenetv2-scratch_8xb24-600e_coco.py'

custom_imports = dict(imports=['mixdet'], allow_failed_imports=False)
# mmengine's CheckpointHook, with saves that a kill cannot leave half-done.
default_hooks = dict(checkpoint=dict(type='AtomicCheckpointHook'))
default_scope = 'mmdet'
