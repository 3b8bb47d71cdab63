"""1x1 convolutions: plain and MixNet's grouped ones."""

import torch
from torch import nn

from ... import ops
from .arg_checks import check_int
from .channel_split import split_channels
from .group_convs import GroupConvs


class PointwiseConv2d(nn.Conv2d):
    """``nn.Conv2d`` with a 1x1 kernel (same parameters and state dict),
    run as a GEMM where :data:`mixdet.ops.RULES` measured that faster.

    Args:
        in_channels: Input channels.
        out_channels: Output channels.
        bias: Add a bias.
        groups: Equal groups (one GEMM each).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        bias: bool = False,
        groups: int = 1,
    ) -> None:
        super().__init__(
            in_channels, out_channels, 1, bias=bias, groups=groups
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return ops.conv1x1(x, self.weight, self.bias, self.groups)


class GroupedPointwiseConv2d(GroupConvs):
    """1x1 conv in ``groups`` independent groups with unequal sizes allowed.

    Input and output channels are both split by the reference rule
    (remainder to the first group); group ``i`` is the child ``str(i)`` so
    weights are stored as ``'{i}.weight'``, as timm's ``MixedConv2d``.
    ``forward`` splits, convolves each group and concatenates; where
    :data:`mixdet.ops.RULES` measured it faster, it runs one conv whose
    weight is assembled from the groups' (:meth:`forward_fused`).

    Args:
        in_channels: Input channels.
        out_channels: Output channels.
        groups: Number of groups (>= 2; one group is a plain 1x1 conv).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        groups: int,
    ) -> None:
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.in_splits = split_channels(in_channels, groups)
        self.out_splits = split_channels(out_channels, groups)
        for i, (cin, cout) in enumerate(zip(self.in_splits, self.out_splits)):
            self.add_module(str(i), nn.Conv2d(cin, cout, 1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight = self._modules['0'].weight
        if ops.choose('grouped_pointwise', x, weight) == 'fused':
            return self.forward_fused(x)
        xs = torch.split(x, self.in_splits, dim=1)
        return torch.cat([conv(xi) for conv, xi in zip(self.convs, xs)], 1)

    def forward_fused(self, x: torch.Tensor) -> torch.Tensor:
        """The same conv as one 1x1 conv (grouped for equal groups, else
        with a block-diagonal weight)."""
        weight, groups = ops.block_diagonal_weight(self.weights)
        biases = self.biases  # set where a BatchNorm was folded in
        bias = None if biases[0] is None else torch.cat(biases)
        return ops.conv1x1(x, weight, bias, groups)

    def extra_repr(self) -> str:
        return f'in_splits={self.in_splits}, out_splits={self.out_splits}'


def make_pointwise_conv(
    in_channels: int, out_channels: int, groups: int = 1
) -> nn.Module:
    """A :class:`PointwiseConv2d` for one group, else a
    :class:`GroupedPointwiseConv2d`."""
    groups = check_int(groups, 'groups')
    if groups == 1:
        return PointwiseConv2d(in_channels, out_channels)
    return GroupedPointwiseConv2d(in_channels, out_channels, groups)
