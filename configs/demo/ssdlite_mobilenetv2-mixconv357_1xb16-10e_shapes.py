# The demo with SSDLite-MobileNetV2-mixconv357 instead of MixNet-S: the
# data, classes and schedule of ssdlite_mixnet-s_1xb16-10e_shapes.py, the
# model of
# configs/mixconv_mobilenets/ssdlite_mobilenetv2-mixconv357_8xb24-600e_coco.py.
_base_ = './ssdlite_mixnet-s_1xb16-10e_shapes.py'

model = dict(
    backbone=dict(
        _delete_=True,
        type='MixMobileNetV2',
        dw_kernel_sizes=(3, 5, 7),
        out_indices=(4, 7),
        norm_cfg=dict(type='BN', eps=0.001, momentum=0.03),
        init_cfg=dict(type='TruncNormal', layer='Conv2d', std=0.03),
    ),
    neck=dict(
        in_channels=(96, 1280), out_channels=(96, 1280, 512, 256, 256, 128)
    ),
    bbox_head=dict(in_channels=(96, 1280, 512, 256, 256, 128)),
)
