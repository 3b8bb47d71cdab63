"""mixdet: MixConv and MixNet for MMDetection 3.x.

Importing ``mixdet`` registers every mixdet module in mmdet's registries and
applies the fixes in :mod:`mixdet.compat` to mmengine and mmdet.
"""

from . import compat, engine  # noqa: F401  (engine registers its hook)
from .models import *  # noqa: F401,F403
from .version import __version__

compat.apply()

__all__ = ['__version__']
