"""What mixdet's command-line tools share (``tools/``): config and
dataset checks before any work, config loading and own-data options, CPU
distributed setup, checkpoint fitting and benchmark timing. Nothing in
the library imports it."""

from ..utils import ConfigError
from .config_check import check_config
from .distributed import prepare_cpu_distributed
from .tool_config import build_runner, load_tool_config

__all__ = [
    'ConfigError',
    'build_runner',
    'check_config',
    'load_tool_config',
    'prepare_cpu_distributed',
]
