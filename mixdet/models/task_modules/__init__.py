"""Task modules registered in mmdet's ``TASK_UTILS``."""

from .ssdlite_anchor_generator import SSDLiteAnchorGenerator

__all__ = ['SSDLiteAnchorGenerator']
