"""MixNet block strings, as printed in the paper's reference code.

``r{repeats}_k{kernels}_a{expand groups}_p{project groups}_s{stride}{stride}
_e{expand ratio}_i{in}_o{out}[_se{ratio}][_sw]``, e.g.
``r1_k3.5.7_a1_p1.1_s22_e6_i40_o80_se0.25_sw``. ``a1.1`` means a 1x1 conv
split into two groups; ``k3.5.7`` a MixConv with 3x3, 5x5 and 7x7 groups.
"""

import re
from dataclasses import dataclass, replace

from ..layers.mixconv import MAX_KERNEL_SIZE

_FIELD = re.compile(r'^([a-z]+)([0-9.]*)$')
# MixNet's longest stage repeats its block 4 times (MixNet-L: 5); a block
# string is checked as a whole even where its stage is not built, so a
# typo such as r1000000000 fails here, not in an allocation.
MAX_REPEATS = 64
_REQUIRED = ('r', 'k', 'a', 'p', 's', 'e', 'i', 'o')


@dataclass(frozen=True)
class BlockSpec:
    """One line of a MixNet architecture (``repeats`` identical blocks)."""

    repeats: int
    kernel_sizes: tuple[int, ...]
    expand_groups: int
    project_groups: int
    stride: int
    expand_ratio: int
    in_channels: int
    out_channels: int
    se_ratio: float = 0.0
    swish: bool = False


def _ints(value: str) -> tuple[int, ...]:
    return tuple(int(v) for v in value.split('.'))


def parse_block_string(spec: str) -> BlockSpec:
    """Decode one block string; raise ``ValueError`` naming what is wrong."""
    fields: dict[str, str] = {}
    try:
        for part in spec.split('_'):
            key, value = _FIELD.match(part).groups()
            if key in fields or (key != 'sw' and not value):
                raise ValueError
            fields[key] = value
        unknown = set(fields) - set(_REQUIRED) - {'se', 'sw'}
        missing = set(_REQUIRED) - set(fields)
        if unknown or missing:
            raise ValueError
        if fields['s'] not in ('11', '22'):
            raise ValueError
        block = BlockSpec(
            repeats=int(fields['r']),
            kernel_sizes=_ints(fields['k']),
            expand_groups=len(_ints(fields['a'])),
            project_groups=len(_ints(fields['p'])),
            stride=int(fields['s'][0]),
            expand_ratio=int(fields['e']),
            in_channels=int(fields['i']),
            out_channels=int(fields['o']),
            se_ratio=float(fields.get('se', 0)),
            swish='sw' in fields,
        )
    except (AttributeError, ValueError):
        raise ValueError(
            f'malformed block spec {spec!r}: expected fields '
            "'r{repeats}_k{k1.k2..}_a{groups}_p{groups}_s{stride}{stride}_"
            "e{ratio}_i{in}_o{out}[_se{ratio}][_sw]', e.g. "
            "'r1_k3.5.7_a1_p1.1_s22_e6_i40_o80_se0.25_sw'"
        ) from None
    if (
        not 1 <= block.repeats <= MAX_REPEATS
        or block.stride not in (1, 2)
        or block.expand_ratio < 1
        or block.in_channels < 1
        or block.out_channels < 1
        or not 0 <= block.se_ratio <= 1
        or any(
            k % 2 == 0 or not 1 <= k <= MAX_KERNEL_SIZE
            for k in block.kernel_sizes
        )
    ):
        raise ValueError(
            f'malformed block spec {spec!r}: repeats must be in '
            f'1..{MAX_REPEATS}, expand ratio and channels >= 1, stride 1 or '
            f'2, se ratio in [0, 1] and kernel sizes odd, 1..{MAX_KERNEL_SIZE}'
        )
    return block


def round_channels(
    channels: float, multiplier: float = 1.0, divisor: int = 8
) -> int:
    """Scale channels by a width multiplier, rounded to ``divisor``.

    The reference rule: round to the nearest multiple of 8 (at least 8),
    and add 8 more if that lost over 10%.
    """
    if multiplier == 1.0:
        return int(channels)
    scaled = channels * multiplier
    new = max(divisor, int(scaled + divisor / 2) // divisor * divisor)
    if new < 0.9 * scaled:
        new += divisor
    return new


def scale_width(block: BlockSpec, multiplier: float) -> BlockSpec:
    """The block with in/out channels scaled by ``multiplier``."""
    return replace(
        block,
        in_channels=round_channels(block.in_channels, multiplier),
        out_channels=round_channels(block.out_channels, multiplier),
    )


def scale_depth(group: list[BlockSpec], multiplier: float) -> list[BlockSpec]:
    """Scale the repeats of one group of block lines (timm's rule).

    The group's total repeats are scaled and rounded, then shared out
    proportionally, last line first.
    """
    if multiplier == 1.0:
        return list(group)
    total = sum(b.repeats for b in group)
    target = max(1, round(total * multiplier))
    scaled = []
    for block in reversed(group):
        repeats = max(1, round(block.repeats / total * target))
        scaled.append(replace(block, repeats=repeats))
        total -= block.repeats
        target -= repeats
    return scaled[::-1]


def expand_repeats(blocks: list[BlockSpec]) -> list[BlockSpec]:
    """One spec per block: later repeats have stride 1 and in = out."""
    flat = []
    for block in blocks:
        flat.append(replace(block, repeats=1))
        flat += [
            replace(block, repeats=1, stride=1, in_channels=block.out_channels)
        ] * (block.repeats - 1)
    return flat
