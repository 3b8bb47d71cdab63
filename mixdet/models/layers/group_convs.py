"""Modules made of one conv per channel group."""

from typing import Optional

import torch
from torch import nn


class GroupConvs(nn.Module):
    """A module whose children are one conv per channel group, added in
    group order as ``'0'``, ``'1'``, ... (timm's state-dict keys)."""

    @property
    def convs(self) -> list[nn.Conv2d]:
        """The per-group convolutions, in group order."""
        return list(self._modules.values())

    @property
    def weights(self) -> list[torch.Tensor]:
        return [conv.weight for conv in self._modules.values()]

    @property
    def biases(self) -> list[Optional[torch.Tensor]]:
        return [conv.bias for conv in self._modules.values()]
