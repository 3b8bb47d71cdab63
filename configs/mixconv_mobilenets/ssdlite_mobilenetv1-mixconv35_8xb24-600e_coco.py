# Table 1, MobileNetV1 mixconv35: every depthwise conv is (3, 5).
_base_ = './ssdlite_mobilenetv1-baseline3x3_8xb24-600e_coco.py'

model = dict(backbone=dict(dw_kernel_sizes=(3, 5)))
