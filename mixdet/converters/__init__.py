"""Checkpoint key maps from other implementations to mixdet."""

from .timm_mixnet import (
    ConversionError,
    compare_keys,
    convert_timm_mixnet,
    extract_state_dict,
    uncopyable_keys,
)

__all__ = [
    'ConversionError',
    'compare_keys',
    'convert_timm_mixnet',
    'extract_state_dict',
    'uncopyable_keys',
]
