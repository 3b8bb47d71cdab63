"""What every layer may import: the tools' error and the config walk."""

from .config_walk import inner_dataset, wrapped_datasets
from .errors import ConfigError

__all__ = ['ConfigError', 'inner_dataset', 'wrapped_datasets']
