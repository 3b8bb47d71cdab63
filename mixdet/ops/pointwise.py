"""1x1 convolutions: plain, grouped with unequal groups, and SE's on
pooled features.

``pointwise_conv`` paths: ``'reference'`` is ``F.conv2d``; ``'gemm'`` is a
(batched) matrix product over each image's (C, H*W) pixels, for contiguous
NCHW input: on CPU oneDNN reorders NCHW data for every 1x1 conv, a GEMM
does not.

``grouped_pointwise_conv`` (MixNet's 1x1 convs with ``groups`` of unequal
size) paths: ``'reference'`` splits, convolves each group, concatenates;
``'fused'`` and ``'export'`` run one 1x1 conv whose weight is assembled
from the groups' (a grouped conv when the groups are equal, else
block-diagonal), gradients flowing to each group's weight.

``linear_1x1`` runs a 1x1 conv on (N, C) pooled features (SE):
``'reference'`` as a conv on an (N, C, 1, 1) map, ``'linear'`` as
``F.linear``.
"""

from typing import Optional, Sequence

import torch
import torch.nn.functional as F

from .export import assembled_weight, concatenated_bias
from .policy import choose, needs_grad


def _copies(x, params):
    xs = x.detach().requires_grad_(x.requires_grad)
    ps = [
        p if p is None else p.detach().requires_grad_(p.requires_grad)
        for p in params
    ]
    return xs, ps


def _timer(fn, x, params, train):
    """``make_run`` for the autotuner: ``fn(path, x, *params)`` on copies,
    forward and, when training, backward."""

    def make_run(path):
        xs, ps = _copies(x, params)

        def run():
            out = fn(path, xs, *ps)
            if train:
                out.backward(torch.ones_like(out))

        return run

    return make_run


def _gemm(x, weight, bias, groups):
    n, c, h, w = x.shape
    cout = weight.shape[0]
    weight = weight.reshape(groups, cout // groups, c // groups)
    x = x.reshape(n, groups, c // groups, h * w)
    if bias is None:
        return torch.matmul(weight, x).reshape(n, cout, h, w)
    # The bias added inside the GEMM (as good as no bias, measured).
    bias = bias.to(x.dtype).view(1, groups, cout // groups, 1)
    batch = (n * groups, cout // groups)
    return torch.baddbmm(
        bias.expand(n, -1, -1, h * w).reshape(*batch, h * w),
        weight.expand(n, -1, -1, -1).reshape(*batch, c // groups),
        x.reshape(n * groups, c // groups, h * w),
    ).reshape(n, cout, h, w)


def _pointwise(path, x, weight, bias=None, groups=1):
    if path == 'gemm':
        return _gemm(x, weight, bias, groups)
    return F.conv2d(x, weight, bias, groups=groups)


def pointwise_conv(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: Optional[torch.Tensor] = None,
    groups: int = 1,
) -> torch.Tensor:
    """``F.conv2d(x, weight, bias, groups=groups)`` for a 1x1 ``weight``."""
    params = [weight] if bias is None else [weight, bias]
    train = needs_grad(x, params)
    candidates = ('reference',)
    if x.dim() == 4 and x.is_contiguous():
        candidates = ('reference', 'gemm')
    path = choose(
        'pointwise',
        x,
        candidates,
        train,
        (tuple(weight.shape), groups),
        _timer(
            lambda p, *a: _pointwise(p, *a, groups=groups), x, params, train
        ),
    )
    return _pointwise(path, x, weight, bias, groups)


def _equal(weights: Sequence[torch.Tensor]) -> bool:
    # int(): while tracing, sizes are traced values hashed by identity
    return len({tuple(int(d) for d in w.shape) for w in weights}) == 1


def fused_pointwise_weight(
    weights: Sequence[torch.Tensor],
) -> tuple[torch.Tensor, int]:
    """One 1x1 weight equal to the groups' weights, and its ``groups``: a
    grouped conv's weight for equal groups, else block-diagonal (built by
    zero-padding each group's rows: plain ops that ONNX export folds)."""
    if _equal(weights):
        return torch.cat(list(weights)), len(weights)
    total, start, rows = sum(w.shape[1] for w in weights), 0, []
    for w in weights:
        rows.append(F.pad(w, (0, 0, 0, 0, start, total - start - w.shape[1])))
        start += w.shape[1]
    return torch.cat(rows), 1


def _grouped(path, x, weights, biases):
    if path == 'reference':
        parts = torch.split(x, [w.shape[1] for w in weights], dim=1)
        return torch.cat(
            [F.conv2d(p, w, b) for p, w, b in zip(parts, weights, biases)],
            dim=1,
        )

    def build():
        return fused_pointwise_weight(weights)[0], concatenated_bias(biases)

    # Export: constants of the exported graph.
    weight, bias = assembled_weight(build) if path == 'export' else build()
    groups = len(weights) if _equal(weights) else 1
    conv = F.conv2d if path == 'export' else pointwise_conv
    return conv(x, weight, bias, groups=groups)


def grouped_pointwise_conv(
    x: torch.Tensor,
    weights: Sequence[torch.Tensor],
    biases: Optional[Sequence[Optional[torch.Tensor]]] = None,
) -> torch.Tensor:
    """A 1x1 conv in independent groups: group ``i`` maps the next
    ``weights[i].shape[1]`` input channels to ``weights[i].shape[0]``,
    adding ``biases[i]`` if given."""
    weights = list(weights)
    biases = list(biases or [None] * len(weights))
    params = weights + [b for b in biases if b is not None]
    train = needs_grad(x, params)
    n = len(weights)
    path = choose(
        'grouped_pointwise',
        x,
        ('reference', 'fused', 'export'),
        train,
        tuple(tuple(w.shape) for w in weights),
        _timer(
            lambda p, xs, *ps: _grouped(p, xs, ps[:n], ps[n:]),
            x,
            weights + biases,
            train,
        ),
    )
    return _grouped(path, x, weights, biases)


def _linear(path, x, weight, bias=None):
    if path == 'linear':
        return F.linear(x, weight.flatten(1), bias)
    return F.conv2d(x[:, :, None, None], weight, bias).flatten(1)


def linear_1x1(
    x: torch.Tensor, weight: torch.Tensor, bias: Optional[torch.Tensor]
) -> torch.Tensor:
    """A 1x1 conv applied to pooled features ``x`` of shape (N, C)."""
    params = [weight] if bias is None else [weight, bias]
    train = needs_grad(x, params)
    path = choose(
        'linear_1x1',
        x,
        ('reference', 'linear'),
        train,
        tuple(weight.shape),
        _timer(_linear, x, params, train),
    )
    return _linear(path, x, weight, bias)
