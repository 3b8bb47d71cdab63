"""Helpers for the tools."""

from .config_check import ConfigError, check_config
from .distributed import prepare_cpu_distributed
from .tool_config import build_runner, load_tool_config

__all__ = [
    'ConfigError',
    'build_runner',
    'check_config',
    'load_tool_config',
    'prepare_cpu_distributed',
]
