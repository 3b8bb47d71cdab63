"""Argument checks shared by layers and backbones: one clear ValueError
naming the argument and what it allows, before anything is built."""

import math
import numbers
from typing import Any, Optional

import numpy as np


def check_int(
    value: Any, name: str, minimum: int = 1, maximum: Optional[int] = None
) -> int:
    """Return ``value`` as an int in ``[minimum, maximum]`` or raise.

    Any integral number is accepted (``numpy.int64`` too); ``bool`` and
    floats such as ``2.0`` are not.
    """
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Integral)
        or value < minimum
        or (maximum is not None and value > maximum)
    ):
        allowed = (
            f'>= {minimum}'
            if maximum is None
            else (f'in {minimum}..{maximum}')
        )
        raise ValueError(f'{name} must be an int {allowed}, got {value!r}')
    return int(value)


def check_bool(value: Any, name: str) -> bool:
    """Return ``value`` or raise unless it is True or False (not a string,
    not 0 / 0.5)."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f'{name} must be True or False, got {value!r}')
    return bool(value)


def check_rate(value: Any, name: str) -> float:
    """Return ``value`` as a float in ``[0, 1)`` or raise."""
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(value)
        or not 0 <= value < 1
    ):
        raise ValueError(f'{name} must be a number in [0, 1), got {value!r}')
    return float(value)
