"""Helpers for the tools."""

from .config_check import ConfigError, check_config
from .distributed import prepare_cpu_distributed

__all__ = ['ConfigError', 'check_config', 'prepare_cpu_distributed']
