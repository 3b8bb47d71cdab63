"""1x1 convolutions' fast paths.

``conv1x1`` is ``F.conv2d`` for a 1x1 kernel, run as a (batched) matrix
product over each image's (C, H*W) pixels where a rule says so: on the
CPUs measured, oneDNN reorders NCHW data for every 1x1 conv; a GEMM does
not. ``block_diagonal_weight`` assembles MixNet's grouped 1x1 conv
(groups of unequal size) into one conv's weight.
"""

from typing import Optional, Sequence

import torch
import torch.nn.functional as F

from .policy import choose


def gemm_1x1(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: Optional[torch.Tensor],
    groups: int = 1,
) -> torch.Tensor:
    """``F.conv2d(x, weight, bias, groups=groups)`` as a GEMM per group,
    for a contiguous NCHW ``x`` and a 1x1 ``weight``."""
    n, c, h, w = x.shape
    cout = weight.shape[0]
    weight = weight.reshape(groups, cout // groups, c // groups)
    x = x.reshape(n, groups, c // groups, h * w)
    if bias is None:
        return torch.matmul(weight, x).reshape(n, cout, h, w)
    # The bias added inside the GEMM (as cheap as no bias, measured).
    bias = bias.to(x.dtype).view(1, groups, cout // groups, 1)
    batch = (n * groups, cout // groups)
    return torch.baddbmm(
        bias.expand(n, -1, -1, h * w).reshape(*batch, h * w),
        weight.expand(n, -1, -1, -1).reshape(*batch, c // groups),
        x.reshape(n * groups, c // groups, h * w),
    ).reshape(n, cout, h, w)


def conv1x1(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: Optional[torch.Tensor] = None,
    groups: int = 1,
) -> torch.Tensor:
    """``F.conv2d(x, weight, bias, groups=groups)`` for a 1x1 ``weight``:
    a GEMM where :data:`~mixdet.ops.RULES` measured that faster."""
    if x.dim() == 4 and x.is_contiguous():
        if choose('pointwise', x, weight) == 'gemm':
            return gemm_1x1(x, weight, bias, groups)
    return F.conv2d(x, weight, bias, groups=groups)


def block_diagonal_weight(
    weights: Sequence[torch.Tensor], dense: bool = False
) -> tuple[torch.Tensor, int]:
    """One 1x1 weight equal to the groups' weights, and its ``groups``: a
    grouped conv's weight for equal groups (unless ``dense``), else
    block-diagonal (``groups`` 1)."""
    if not dense and len({tuple(w.shape) for w in weights}) == 1:
        return torch.cat(list(weights)), len(weights)
    total, start, rows = sum(w.shape[1] for w in weights), 0, []
    for w in weights:
        rows.append(F.pad(w, (0, 0, 0, 0, start, total - start - w.shape[1])))
        start += w.shape[1]
    return torch.cat(rows), 1
