"""Checkpoint key maps from other implementations to mixdet."""

from .timm_mixnet import (
    ConversionError,
    convert_timm_mixnet,
    extract_state_dict,
    timm_key,
)

__all__ = [
    'ConversionError',
    'convert_timm_mixnet',
    'extract_state_dict',
    'timm_key',
]
