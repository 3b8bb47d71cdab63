# The one SSDLite base of mixdet: mmdet's own SSDLite recipe (320x320,
# depthwise-separable SSDNeck and SSDHead, 6 levels, 6 anchors per level,
# SGD + cosine, 120 epochs x RepeatDataset(5) = "600e"), inherited from the
# config shipped inside the mmdet package, which inherits mmdet's _base_
# dataset, schedule and runtime files. Variants change only the backbone
# and the channels that follow from it.
_base_ = 'mmdet::ssd/ssdlite_mobilenetv2-scratch_8xb24-600e_coco.py'

custom_imports = dict(imports=['mixdet'], allow_failed_imports=False)
# mmengine's CheckpointHook, with saves that a kill cannot leave half-done.
default_hooks = dict(checkpoint=dict(type='AtomicCheckpointHook'))
default_scope = 'mmdet'
