"""Squeeze-and-excitation as used in MixNet blocks."""

import torch
from mmcv.cnn import build_activation_layer
from torch import nn


class SqueezeExcite(nn.Module):
    """Global pool -> 1x1 reduce -> act -> 1x1 expand -> sigmoid gate.

    Args:
        channels: Channels of the gated feature.
        reduced_channels: Channels of the bottleneck.
        act_cfg: Activation between the two 1x1 convs (the block's own).
    """

    def __init__(
        self, channels: int, reduced_channels: int, act_cfg: dict
    ) -> None:
        super().__init__()
        self.reduce = nn.Conv2d(channels, reduced_channels, 1)
        self.act = build_activation_layer(act_cfg)
        self.expand = nn.Conv2d(reduced_channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate = x.mean((2, 3), keepdim=True)
        gate = self.act(self.reduce(gate))
        gate = self.expand(gate)
        return x * gate.sigmoid()
