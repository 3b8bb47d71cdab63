# SSDLite-MixNet-M: as MixNet-S (same feature channels: 120 and 1536).
_base_ = './ssdlite_mixnet-s_8xb24-600e_coco.py'

model = dict(backbone=dict(arch='m'))
