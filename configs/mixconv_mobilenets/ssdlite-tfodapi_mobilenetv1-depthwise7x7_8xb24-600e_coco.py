# Table 1, MobileNetV1 depthwise7x7 on the paper's SSDLite:
# every depthwise conv is 7.
_base_ = './ssdlite-tfodapi_mobilenetv1-baseline3x3_8xb24-600e_coco.py'

model = dict(backbone=dict(dw_kernel_sizes=7))
