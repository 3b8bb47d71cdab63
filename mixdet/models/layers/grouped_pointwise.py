"""The grouped 1x1 convolution of MixNet's ``a``/``p`` block fields."""

import torch
from torch import nn

from .channel_split import split_channels


class GroupedPointwiseConv2d(nn.Module):
    """1x1 conv in ``groups`` independent groups with unequal sizes allowed.

    Input and output channels are both split by the reference rule
    (remainder to the first group); group ``i`` is the child ``str(i)`` so
    weights are stored as ``'{i}.weight'``, as timm's ``MixedConv2d``.

    Args:
        in_channels: Input channels.
        out_channels: Output channels.
        groups: Number of groups (>= 2; one group is a plain 1x1 conv).
    """

    def __init__(
        self, in_channels: int, out_channels: int, groups: int
    ) -> None:
        super().__init__()
        self.in_splits = split_channels(in_channels, groups)
        self.out_splits = split_channels(out_channels, groups)
        for i, (cin, cout) in enumerate(zip(self.in_splits, self.out_splits)):
            self.add_module(str(i), nn.Conv2d(cin, cout, 1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        parts = torch.split(x, self.in_splits, dim=1)
        return torch.cat(
            [getattr(self, str(i))(p) for i, p in enumerate(parts)], dim=1
        )


def make_pointwise_conv(
    in_channels: int, out_channels: int, groups: int = 1
) -> nn.Module:
    """A plain 1x1 conv for one group, else :class:`GroupedPointwiseConv2d`."""
    if not isinstance(groups, int) or groups < 1:
        raise ValueError(f'groups must be a positive int, got {groups!r}')
    if groups == 1:
        return nn.Conv2d(in_channels, out_channels, 1, bias=False)
    return GroupedPointwiseConv2d(in_channels, out_channels, groups)
