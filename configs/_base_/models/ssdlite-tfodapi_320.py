# The MixConv paper's detector: SSDLite as the TF Object Detection API's
# ssdlite_mobilenet_v{1,2}_coco builds it, on mmdet's training recipe.
# Differences from ./ssdlite_320.py (mmdet's conventions):
# - the lowest level has 3 anchors (TF's reduce_boxes_in_lowest_layer),
#   the others 6; anchor sizes follow TF's scales 0.2..0.95 of the input;
# - SyncBN (eps 1e-3, momentum 0.03) everywhere; mmengine reverts it to BN
#   when training on one process;
# - the backbone's features (set by each config): MobileNetV2's layer-15
#   expansion output and its 1280-ch last conv, MobileNetV1's conv11 and
#   conv13.
# The 4 extra levels (512, 256, 256, 128: 1x1 to half depth, then a
# stride-2 3x3 depthwise-separable conv) and the depthwise-separable box
# predictors are mmdet's SSDNeck/SSDHead with use_depthwise=True, which
# build exactly TF's layers. Classes stay COCO's 80 (mmdet's annotations).
_base_ = './ssdlite_320.py'

norm_cfg = dict(type='SyncBN', eps=0.001, momentum=0.03)
model = dict(
    neck=dict(norm_cfg=norm_cfg),
    bbox_head=dict(
        norm_cfg=norm_cfg,
        anchor_generator=dict(
            type='SSDLiteAnchorGenerator',
            reduce_boxes_in_lowest_layer=True,
            strides=[16, 32, 64, 107, 160, 320],
            ratios=[[2, 3], [2, 3], [2, 3], [2, 3], [2, 3], [2, 3]],
            min_sizes=[64, 112, 160, 208, 256, 304],
            max_sizes=[112, 160, 208, 256, 304, 320],
        ),
    ),
)
