# SSDLite-MixNet-S whose neck and head depthwise convs are MixConv
# (3, 5, 7) as well: MixConv2d as an mmcv conv type (conv_cfg).
# SSDHead passes conv_cfg to its depthwise convs only; SSDNeck passes it to
# its 1x1 convs too, so the neck takes DepthwiseMixConv2d, which makes
# only the depthwise convs MixConv.
_base_ = './ssdlite_mixnet-s_8xb24-600e_coco.py'

model = dict(
    neck=dict(
        conv_cfg=dict(type='DepthwiseMixConv2d', kernel_sizes=(3, 5, 7))
    ),
    bbox_head=dict(conv_cfg=dict(type='MixConv2d', kernel_sizes=(3, 5, 7))),
)
