"""mixdet models: layers, backbones and task modules."""

from .backbones import *  # noqa: F401,F403
from .layers import *  # noqa: F401,F403
from .task_modules import *  # noqa: F401,F403
