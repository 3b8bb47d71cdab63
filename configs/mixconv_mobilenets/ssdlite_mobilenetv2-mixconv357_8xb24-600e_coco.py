# Table 1, MobileNetV2 mixconv357: every depthwise conv is (3, 5, 7).
_base_ = './ssdlite_mobilenetv2-baseline3x3_8xb24-600e_coco.py'

model = dict(backbone=dict(dw_kernel_sizes=(3, 5, 7)))
