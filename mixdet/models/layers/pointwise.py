"""1x1 convolutions (plain and MixNet's grouped ones) run as GEMMs.

A 1x1 convolution of a contiguous NCHW tensor is a matrix product: the
``(C_out, C_in)`` weight times each image's ``(C_in, H*W)`` pixels. On CPU,
``torch.matmul`` (one BLAS GEMM, or one per group) is faster than oneDNN's
1x1 convolution, which first reorders NCHW data into its blocked layout:
on the MixNet-S/M 1x1 layer shapes at 320x320, 3x at inference (batch 1)
and 2.6x for forward + backward (batch 8); SSDLite-MixNet-S as a whole
runs 17% faster. Other devices and layouts keep ``F.conv2d``.
"""

from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from .channel_split import split_channels
from .weight_cache import AssembledWeight, needs_autograd


def pointwise_conv(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: Optional[torch.Tensor] = None,
    groups: int = 1,
) -> torch.Tensor:
    """``F.conv2d(x, weight, bias, groups=groups)`` for a 1x1 ``weight``,
    as a (batched) matrix product where that is faster (CPU, NCHW)."""
    if x.device.type != 'cpu' or not x.is_contiguous():
        return F.conv2d(x, weight, bias, groups=groups)
    n, c, h, w = x.shape
    cout = weight.shape[0]
    out = torch.matmul(
        weight.reshape(groups, cout // groups, c // groups),
        x.reshape(n, groups, c // groups, h * w),
    ).reshape(n, cout, h, w)
    if bias is not None:
        out = out + bias.view(1, cout, 1, 1)
    return out


class PointwiseConv2d(nn.Conv2d):
    """``nn.Conv2d`` with a 1x1 kernel (same parameters and state dict)
    that runs as a GEMM, see :func:`pointwise_conv`.

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
        return pointwise_conv(x, self.weight, self.bias, self.groups)


class GroupedPointwiseConv2d(nn.Module):
    """1x1 conv in ``groups`` independent groups with unequal sizes allowed.

    Input and output channels are both split by the reference rule
    (remainder to the first group); group ``i`` is the child ``str(i)`` so
    weights are stored as ``'{i}.weight'``, as timm's ``MixedConv2d``.

    Args:
        in_channels: Input channels.
        out_channels: Output channels.
        groups: Number of groups (>= 2; one group is a plain 1x1 conv).
        fused: ``True`` (default): ONE conv whose weight is assembled from
            the groups' weights in ``forward`` (exact, the same parameters;
            gradients flow to each group): a grouped conv (one GEMM per
            group) when the groups are equal, else a dense conv with a
            block-diagonal weight. ``False``: split the channels, one conv
            per group, concatenate.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        groups: int,
        fused: bool = True,
    ) -> None:
        super().__init__()
        if not isinstance(fused, bool):
            raise ValueError(f'fused must be True or False, got {fused!r}')
        self.fused = fused
        self.in_splits = split_channels(in_channels, groups)
        self.out_splits = split_channels(out_channels, groups)
        for i, (cin, cout) in enumerate(zip(self.in_splits, self.out_splits)):
            self.add_module(str(i), nn.Conv2d(cin, cout, 1, bias=False))
        equal = len(set(self.in_splits)) == len(set(self.out_splits)) == 1
        self.fused_groups = groups if equal else 1
        self._weight = AssembledWeight()  # the fused weight, at inference

    @property
    def convs(self) -> list[nn.Conv2d]:
        """The per-group convolutions, in group order."""
        return [getattr(self, str(i)) for i in range(len(self.in_splits))]

    def fused_weight(self) -> torch.Tensor:
        """The weight of one conv (with ``self.fused_groups`` groups) equal
        to all the groups."""
        weights = [conv.weight for conv in self.convs]
        if self.fused_groups > 1:
            return torch.cat(weights)
        return torch.block_diag(*[w.flatten(1) for w in weights])[
            :, :, None, None
        ]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.fused:
            parts = torch.split(x, self.in_splits, dim=1)
            return torch.cat(
                [conv(p) for conv, p in zip(self.convs, parts)], dim=1
            )
        weights = [conv.weight for conv in self.convs]
        if needs_autograd(x, weights):
            weight = self.fused_weight()
        else:  # kept between calls until a weight changes
            weight = self._weight.get(weights, self.fused_weight)
        return pointwise_conv(x, weight, groups=self.fused_groups)

    def extra_repr(self) -> str:
        return (
            f'in_splits={self.in_splits}, out_splits={self.out_splits}, '
            f'fused={self.fused}'
        )


def make_pointwise_conv(
    in_channels: int, out_channels: int, groups: int = 1
) -> nn.Module:
    """A :class:`PointwiseConv2d` for one group, else a
    :class:`GroupedPointwiseConv2d`."""
    if not isinstance(groups, int) or groups < 1:
        raise ValueError(f'groups must be a positive int, got {groups!r}')
    if groups == 1:
        return PointwiseConv2d(in_channels, out_channels)
    return GroupedPointwiseConv2d(in_channels, out_channels, groups)
