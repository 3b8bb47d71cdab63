"""How MixConv divides channels between its kernel groups."""

import numbers
from collections.abc import Iterable
from typing import Sequence, Union

from .arg_checks import check_int

SplitType = Union[str, Sequence[int]]
SPLIT_MODES = ('equal', 'exponential')


def split_channels(
    channels: int, num_groups: int, split: SplitType = 'equal'
) -> list[int]:
    """Return the number of channels of each group.

    Args:
        channels: Channels to divide.
        num_groups: Number of groups.
        split: ``'equal'`` (the reference rule: ``channels // num_groups``
            each, the remainder to the first group), ``'exponential'``
            (group ``i`` gets ``channels // 2**(i+1)``, the last group the
            rest) or an explicit list of channel counts.

    Returns:
        One positive channel count per group, summing to ``channels``.
    """
    if isinstance(split, str):
        if split == 'equal':
            sizes = [channels // num_groups] * num_groups
            sizes[0] += channels - sum(sizes)
        elif split == 'exponential':
            sizes = [channels // 2 ** (i + 1) for i in range(num_groups - 1)]
            sizes.append(channels - sum(sizes))
        else:
            raise ValueError(
                f'split must be one of {SPLIT_MODES} or a list '
                f'of channel counts, got {split!r}'
            )
    else:
        if isinstance(split, (bytes, numbers.Number)) or not isinstance(
            split, Iterable
        ):
            raise ValueError(
                f'split must be one of {SPLIT_MODES} or a list of channel '
                f'counts, got {split!r}'
            )
        sizes = [check_int(s, 'each split entry') for s in split]
        if len(sizes) != num_groups or sum(sizes) != channels:
            raise ValueError(
                f'split {list(split)} must have one entry per kernel size '
                f'({num_groups}) and sum to the channels ({channels})'
            )
    if min(sizes) < 1:
        raise ValueError(
            f'split {split!r} of {channels} channels into {num_groups} '
            f'groups leaves an empty group ({sizes}); use fewer kernel '
            f'sizes or more channels'
        )
    return sizes
