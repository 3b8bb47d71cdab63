# Table 1, MobileNetV2 baseline3x3, as the paper built it (TF Object
# Detection API's ssdlite_mobilenet_v2): the first head on layer 15's
# expansion output (the 1x1 expansion of layer6's first block: 576 ch,
# stride 16, before its stride-2 depthwise conv), the second on conv2
# (1280 ch, stride 32); 3 anchors on the lowest level.
_base_ = '../_base_/models/ssdlite-tfodapi_320.py'

model = dict(
    backbone=dict(
        _delete_=True,
        type='MixMobileNetV2',
        dw_kernel_sizes=3,
        out_indices=(5, 7),
        expansion_out_indices=(5,),
        norm_cfg={{_base_.norm_cfg}},
        init_cfg=dict(type='TruncNormal', layer='Conv2d', std=0.03),
    ),
    neck=dict(
        in_channels=(576, 1280), out_channels=(576, 1280, 512, 256, 256, 128)
    ),
    bbox_head=dict(in_channels=(576, 1280, 512, 256, 256, 128)),
)
