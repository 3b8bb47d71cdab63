# Table 1, MobileNetV1 depthwise5x5 on the paper's SSDLite:
# every depthwise conv is 5.
_base_ = './ssdlite-tfodapi_mobilenetv1-baseline3x3_8xb24-600e_coco.py'

model = dict(backbone=dict(dw_kernel_sizes=5))
