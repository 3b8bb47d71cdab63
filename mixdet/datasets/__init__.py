"""Data that mixdet makes itself (no downloads)."""

from .shapes import SHAPE_CLASSES, SHAPE_PALETTE, make_shapes_dataset

__all__ = ['SHAPE_CLASSES', 'SHAPE_PALETTE', 'make_shapes_dataset']
