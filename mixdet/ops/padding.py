"""TensorFlow's 'same' padding rule."""

import math

import torch
import torch.nn.functional as F


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
