"""The MixConv op: a depthwise conv with one kernel size per channel group.

Paths (chosen by :mod:`mixdet.ops.policy`):

- ``'reference'``: split the channels, one depthwise conv per group,
  concatenate (timm's ``MixedConv2d``).
- ``'fused'``: one depthwise conv with every kernel zero-padded to the
  largest (exact); in training through :class:`FusedDepthwiseConv`, whose
  backward computes each group's weight gradient for its own kernel only.
- ``'export'``: the fused conv from plain ops (one Conv node in ONNX, the
  kernel padding folded into a constant).

Fusing is exact unless a group is dilated, or TF 'same' padding at stride
> 1 meets a 1x1 group among larger ones (it pads differently); those calls
run the reference path.
"""

from typing import Optional, Sequence

import torch
import torch.nn.functional as F

from .export import assembled_weight, concatenated_bias
from .fused_depthwise import FusedDepthwiseConv, pad_kernels
from .padding import pad_same
from .policy import choose, needs_grad


def can_fuse(
    kernel_sizes: Sequence[int],
    dilations: Sequence[int],
    stride: int,
    padding: str,
) -> bool:
    """Whether one zero-padded kernel gives exactly the split result."""
    if len(kernel_sizes) < 2 or any(d != 1 for d in dilations):
        return False
    return not (
        padding == 'same'
        and stride > 1
        and min(kernel_sizes) == 1
        and max(kernel_sizes) > 1
    )


def _conv(x, weight, bias, stride, padding, dilation, groups):
    """A depthwise conv padded the symmetric or TF 'same' way."""
    k = weight.shape[-1]
    if padding == 'same' and stride > 1:
        x, pad = pad_same(x, k, stride, dilation), 0
    else:
        pad = dilation * (k - 1) // 2
    return F.conv2d(x, weight, bias, stride, pad, dilation, groups)


def _split(x, weights, biases, splits, stride, padding, dilations):
    parts = torch.split(x, splits, dim=1)
    return torch.cat(
        [
            _conv(p, w, b, stride, padding, d, p.shape[1])
            for p, w, b, d in zip(parts, weights, biases, dilations)
        ],
        dim=1,
    )


def _kernel_and_bias(weights, biases, path):
    """The fused conv's kernel and bias (or None), outside autograd;
    constants of the graph in export."""

    def build():
        return pad_kernels(list(weights)), concatenated_bias(biases)

    return assembled_weight(build) if path == 'export' else build()


def _fused(x, weights, biases, splits, stride, padding, path, autograd):
    size = max(w.shape[-1] for w in weights)
    pad = size // 2
    if padding == 'same' and stride > 1:
        x, pad = pad_same(x, size, stride), 0
    if autograd:
        out = FusedDepthwiseConv.apply(x, stride, pad, list(splits), *weights)
    else:
        weight, bias = _kernel_and_bias(weights, biases, path)
        return F.conv2d(x, weight, bias, stride, pad, groups=x.shape[1])
    if biases[0] is not None:
        bias = concatenated_bias(biases)
        out = out + bias.view(1, -1, 1, 1).to(out.dtype)
    return out


def _run(path, x, weights, biases, splits, stride, padding, dilations, train):
    if path == 'reference':
        return _split(x, weights, biases, splits, stride, padding, dilations)
    return _fused(
        x,
        weights,
        biases,
        splits,
        stride,
        padding,
        path,
        autograd=path == 'fused' and train,
    )


def mixconv2d(
    x: torch.Tensor,
    weights: Sequence[torch.Tensor],
    biases: Optional[Sequence[Optional[torch.Tensor]]],
    splits: Sequence[int],
    stride: int = 1,
    padding: str = 'symmetric',
    dilations: Optional[Sequence[int]] = None,
) -> torch.Tensor:
    """Mixed depthwise convolution.

    Args:
        x: Input (N, sum(splits), H, W).
        weights: Group ``i``'s depthwise kernel (splits[i] * m, 1, k, k).
        biases: One bias (or None) per group, or None.
        splits: Input channels of each group.
        stride: Stride of every group.
        padding: ``'symmetric'`` (k // 2, PyTorch) or ``'same'`` (TF).
        dilations: Dilation of each group (default 1).
    """
    dilations = list(dilations or [1] * len(weights))
    biases = list(biases or [None] * len(weights))
    sizes = [w.shape[-1] for w in weights]
    params = list(weights) + [b for b in biases if b is not None]
    train = needs_grad(x, params)
    candidates = ('reference',)
    if can_fuse(sizes, dilations, stride, padding):
        candidates = ('reference', 'fused', 'export')
    args = (splits, stride, padding, dilations)

    def make_run(path):
        xs = x.detach().requires_grad_(x.requires_grad)
        ws = [w.detach().requires_grad_(w.requires_grad) for w in weights]
        bs = [b if b is None else b.detach() for b in biases]

        def run():
            out = _run(path, xs, ws, bs, *args, train)
            if train:
                out.backward(torch.ones_like(out))

        return run

    path = choose(
        'mixconv',
        x,
        candidates,
        train,
        (tuple(sizes), stride, padding),
        make_run,
        kernel_size=max(sizes),
    )
    return _run(path, x, weights, biases, *args, train)
