"""A conv followed by its norm layer, with BatchNorm folded in inference.

``conv_norm`` paths: ``'reference'`` runs the conv, then the norm layer (as
mmcv's ``ConvModule``); ``'folded'`` (inference with a BatchNorm on its
running statistics) runs the conv once, with the BatchNorm's scale folded
into the conv's weights and its shift added as the conv's bias: one pass
over the output instead of two, the bias added inside the conv or GEMM.

The folded weights are computed on every call (a few small ops per layer),
never cached, so that every change of a weight or statistic shows at once,
also one written through ``.data`` (as mmengine's EMA hook swaps weights).
"""

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from .policy import choose, considers_fast_paths, needs_grad


def batch_norm_affine(
    norm: _BatchNorm,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(scale, shift)`` with ``norm(y) == y * scale + shift`` per channel
    in inference (running statistics)."""
    scale = torch.rsqrt(norm.running_var + norm.eps)
    if norm.weight is not None:
        scale = scale * norm.weight
    if norm.bias is None:
        return scale, -norm.running_mean * scale
    return scale, torch.addcmul(norm.bias, norm.running_mean, scale, value=-1)


def _group_convs(conv: nn.Module) -> list:
    """The ``nn.Conv2d`` modules whose outputs ``conv`` concatenates."""
    return list(conv.convs) if hasattr(conv, 'convs') else [conv]


def can_fold(conv: nn.Module, norm: nn.Module) -> bool:
    """Whether ``norm(conv(x))`` can run as one conv with ``norm`` folded
    in: ``norm`` is a BatchNorm in inference on running statistics, and
    ``conv`` an ``nn.Conv2d``, or one conv per channel group (``convs``),
    that runs with given weights (``_conv_forward``)."""
    return (
        isinstance(norm, _BatchNorm)
        and not norm.training
        and norm.running_var is not None
        and hasattr(conv, '_conv_forward')
        and all(isinstance(c, nn.Conv2d) for c in _group_convs(conv))
    )


def folded_weights(
    conv: nn.Module, norm: _BatchNorm
) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Each group conv's weight and bias with ``norm`` folded in."""
    groups = _group_convs(conv)
    scale, shift = batch_norm_affine(norm)
    if len(groups) > 1:
        sizes = [g.out_channels for g in groups]
        scales, shifts = scale.split(sizes), shift.split(sizes)
    else:
        scales, shifts = [scale], [shift]
    weights, biases = [], []
    for group, s, b in zip(groups, scales, shifts):
        weights.append(group.weight * s.view(-1, 1, 1, 1))
        biases.append(
            b if group.bias is None else torch.addcmul(b, group.bias, s)
        )
    return weights, biases


def conv_norm(
    x: torch.Tensor, conv: nn.Module, norm: nn.Module
) -> torch.Tensor:
    """``norm(conv(x))``; folded only in inference (no autograd).

    Args:
        x: The conv's input.
        conv: An ``nn.Conv2d`` or a module of per-group convs (``convs``)
            with ``_conv_forward(x, weight(s), bias(es))``.
        norm: The norm layer after it.
    """
    if not (considers_fast_paths('conv_norm') and can_fold(conv, norm)):
        return norm(conv(x))  # e.g. training: nothing to choose
    params = list(conv.parameters()) if torch.is_grad_enabled() else []
    if needs_grad(x, params):
        return norm(conv(x))
    path = choose(
        'conv_norm',
        x,
        ('reference', 'folded'),
        False,
        make_run=lambda p: lambda: _run(p, x, conv, norm),
    )
    return _run(path, x, conv, norm)


def _run(path, x, conv, norm):
    if path != 'folded':
        return norm(conv(x))
    weights, biases = folded_weights(conv, norm)
    if hasattr(conv, 'convs'):
        return conv._conv_forward(x, weights, biases)
    return conv._conv_forward(x, weights[0], biases[0])
