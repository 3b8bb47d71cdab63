"""Argument checks shared by layers and backbones: one clear ValueError
naming the argument and what it allows, before anything is built."""

import numbers
from typing import Any, Optional


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
