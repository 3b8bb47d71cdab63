"""Modules made of one conv per channel group."""

from typing import Optional

import torch
from torch import nn


class GroupConvs(nn.Module):
    """A module whose children are one conv per channel group, added in
    group order as ``'0'``, ``'1'``, ... (timm's state-dict keys)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._conv_forward(x, self.weights, self.biases)

    def _conv_forward(
        self,
        x: torch.Tensor,
        weights: list[torch.Tensor],
        biases: list[Optional[torch.Tensor]],
    ) -> torch.Tensor:
        """The conv with the given per-group weights and biases (as
        ``nn.Conv2d._conv_forward``; ``mixdet.ops.conv_norm`` passes them
        with a BatchNorm folded in)."""
        raise NotImplementedError

    @property
    def convs(self) -> list[nn.Conv2d]:
        """The per-group convolutions, in group order."""
        return list(self._modules.values())

    @property
    def weights(self) -> list[torch.Tensor]:
        return [conv.weight for conv in self._modules.values()]

    @property
    def biases(self) -> list[torch.Tensor]:
        return [conv.bias for conv in self._modules.values()]
