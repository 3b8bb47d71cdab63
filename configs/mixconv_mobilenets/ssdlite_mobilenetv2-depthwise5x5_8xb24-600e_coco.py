# Table 1, MobileNetV2 depthwise5x5: every depthwise conv is 5.
_base_ = './ssdlite_mobilenetv2-baseline3x3_8xb24-600e_coco.py'

model = dict(backbone=dict(dw_kernel_sizes=5))
