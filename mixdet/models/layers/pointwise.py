"""The grouped 1x1 convolution of MixNet's ``a``/``p`` block fields."""

import torch
import torch.nn.functional as F
from torch import nn

from .channel_split import split_channels
from .weight_cache import AssembledWeight, needs_autograd


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
            gradients flow to each group); see ``fused_groups``.
            ``False``: split the channels, one conv per group, concatenate.
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
        # The fused conv. With two groups (every MixNet layer) it is dense,
        # with a block-diagonal weight: on the MixNet-S/M layer shapes at
        # 320x320 that was the fastest of split / grouped / block-diagonal,
        # at inference (batch 1) and for forward + backward (batch 8). With
        # more groups of equal size it is a grouped conv (the fastest at 4
        # groups: its MAdds do not grow with the groups).
        equal = len(set(self.in_splits)) == len(set(self.out_splits)) == 1
        self.fused_groups = groups if groups > 2 and equal else 1
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
        return F.conv2d(x, weight, groups=self.fused_groups)

    def extra_repr(self) -> str:
        return (
            f'in_splits={self.in_splits}, out_splits={self.out_splits}, '
            f'fused={self.fused}'
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
