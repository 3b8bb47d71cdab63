"""TensorFlow 'same' padding, for weights trained in TensorFlow."""

import math

import torch
import torch.nn.functional as F
from torch import nn

PADDING_MODES = ('symmetric', 'same')


def same_padding(
    size: int, kernel_size: int, stride: int, dilation: int = 1
) -> tuple[int, int]:
    """Pad before/after one spatial dim so that out = ceil(size / stride).

    TensorFlow puts the odd pixel after (bottom/right).
    """
    total = max(
        (math.ceil(size / stride) - 1) * stride
        + (kernel_size - 1) * dilation
        + 1
        - size,
        0,
    )
    return total // 2, total - total // 2


def pad_same(
    x: torch.Tensor, kernel_size: int, stride: int, dilation: int = 1
) -> torch.Tensor:
    """Pad ``x`` (N, C, H, W) as TensorFlow's 'same' convolution does."""
    top, bottom = same_padding(x.shape[-2], kernel_size, stride, dilation)
    left, right = same_padding(x.shape[-1], kernel_size, stride, dilation)
    if top == bottom == left == right == 0:
        return x
    return F.pad(x, (left, right, top, bottom))


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

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = pad_same(x, self.kernel_size[0], self.stride[0], self.dilation[0])
        return super().forward(x)


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
