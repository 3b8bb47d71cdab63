"""TensorFlow 'same' padding, for weights trained in TensorFlow."""

from typing import Optional

import torch
from torch import nn

from ...ops.padding import pad_same, same_padding  # noqa: F401

PADDING_MODES = ('symmetric', 'same')


def check_padding_mode(padding: str) -> str:
    """Raise a clear error unless ``padding`` is a known mode."""
    if padding not in PADDING_MODES:
        raise ValueError(
            f'padding must be one of {PADDING_MODES}, got {padding!r}'
        )
    return padding


class Conv2dSame(nn.Conv2d):
    """``nn.Conv2d`` with TensorFlow 'same' padding (asymmetric if needed).

    Its state dict is the one of ``nn.Conv2d``.
    """

    def __init__(self, *args, **kwargs) -> None:
        kwargs['padding'] = 0
        super().__init__(*args, **kwargs)

    def _conv_forward(
        self,
        x: torch.Tensor,
        weight: torch.Tensor,
        bias: Optional[torch.Tensor],
    ) -> torch.Tensor:
        x = pad_same(x, self.kernel_size[0], self.stride[0], self.dilation[0])
        return super()._conv_forward(x, weight, bias)


def make_conv2d(
    in_channels: int,
    out_channels: int,
    kernel_size: int,
    stride: int = 1,
    dilation: int = 1,
    groups: int = 1,
    bias: bool = False,
    padding: str = 'symmetric',
) -> nn.Conv2d:
    """A square conv padded the symmetric (PyTorch) or 'same' (TF) way."""
    check_padding_mode(padding)
    if padding == 'same' and stride > 1:
        return Conv2dSame(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            dilation=dilation,
            groups=groups,
            bias=bias,
        )
    # Stride 1 with an odd kernel: 'same' equals symmetric padding.
    return nn.Conv2d(
        in_channels,
        out_channels,
        kernel_size,
        stride,
        padding=dilation * (kernel_size - 1) // 2,
        dilation=dilation,
        groups=groups,
        bias=bias,
    )
