"""MixConv's fast path: its groups as one depthwise conv.

Every group's kernel is zero-padded to the largest size (centred), so one
depthwise conv computes exactly what the groups compute apart. In training
:class:`FusedDepthwiseConv` gives each group's weight the gradient of its
own small kernel.
"""

from typing import Optional, Sequence

import torch
import torch.nn.functional as F

from .fused_depthwise import FusedDepthwiseConv, pad_kernels


def can_fuse(
    kernel_sizes: Sequence[int],
    dilations: Sequence[int],
    stride: int,
    padding: str,
) -> bool:
    """Whether one zero-padded kernel gives exactly the split result: not
    for dilated groups, nor where TF 'same' padding at stride > 1 meets a
    1x1 group among larger ones (it pads differently)."""
    if len(kernel_sizes) < 2 or any(d != 1 for d in dilations):
        return False
    return not (
        padding == 'same'
        and stride > 1
        and min(kernel_sizes) == 1
        and max(kernel_sizes) > 1
    )


def fused_mixconv(
    x: torch.Tensor,
    weights: Sequence[torch.Tensor],
    biases: Sequence[Optional[torch.Tensor]],
    splits: Sequence[int],
    stride: int,
    padding: int,
    train: bool,
) -> torch.Tensor:
    """One depthwise conv over the groups' zero-padded kernels.

    Args:
        x: Input (N, C, H, W), already padded where ``padding`` is 0.
        weights: Group ``i``'s depthwise kernel (C_i * m, 1, k_i, k_i).
        biases: One bias (or None) per group.
        splits: Input channels of each group.
        stride: Stride of every group.
        padding: Symmetric padding of the largest kernel.
        train: Whether autograd records the call.
    """
    bias = None if biases[0] is None else torch.cat(list(biases))
    if not train:
        weight = pad_kernels(list(weights))
        return F.conv2d(x, weight, bias, stride, padding, groups=x.shape[1])
    out = FusedDepthwiseConv.apply(x, stride, padding, list(splits), *weights)
    if bias is not None:
        out = out + bias.view(1, -1, 1, 1).to(out.dtype)
    return out
