# SSDLite-MixNet-L: the stride-16 output is 160 channels wide.
_base_ = './ssdlite_mixnet-s_8xb24-600e_coco.py'

model = dict(
    backbone=dict(arch='l'),
    neck=dict(
        in_channels=(160, 1536), out_channels=(160, 1536, 512, 256, 256, 128)
    ),
    bbox_head=dict(in_channels=(160, 1536, 512, 256, 256, 128)),
)
