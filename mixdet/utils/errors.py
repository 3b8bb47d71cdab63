"""The errors mixdet's tools report in one line, importable from every
layer (a check may live where its data is, not above the tools)."""


class ConfigError(ValueError):
    """A config (or an argument) that cannot run, and why."""
