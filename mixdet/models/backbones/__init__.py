"""Backbones registered in mmdet's ``MODELS``."""

from .base import MixBackbone, is_mixdet_backbone, mixdet_backbones
from .mixnet import MixNet, decode_arch
from .mobilenet_v1 import MixMobileNetV1
from .mobilenet_v2 import MixMobileNetV2

__all__ = [
    'MixBackbone',
    'MixMobileNetV1',
    'MixMobileNetV2',
    'MixNet',
    'decode_arch',
    'is_mixdet_backbone',
    'mixdet_backbones',
]
