"""Weights assembled from parameters, as constants of an exported graph."""

from typing import Callable, Optional, Sequence, TypeVar

import torch

T = TypeVar('T')


def assembled_weight(build: Callable[[], T]) -> T:
    """``build()``: a tensor, or a tuple of tensors and Nones. While
    ``torch.jit.trace`` / ONNX export traces, it runs outside the trace, so
    the graph holds the finished weight as one constant (a kernel of known
    shape: one Conv node) instead of the pad and concat ops that made it."""
    state = torch._C._get_tracing_state()
    if state is None:
        return build()
    torch._C._set_tracing_state(None)
    try:
        value = build()
        if isinstance(value, tuple):
            return tuple(None if t is None else t.detach() for t in value)
        return value.detach()
    finally:
        torch._C._set_tracing_state(state)


def concatenated_bias(
    biases: Sequence[Optional[torch.Tensor]],
) -> Optional[torch.Tensor]:
    """The per-group biases as one bias, or None where the groups have
    none."""
    return None if biases[0] is None else torch.cat(list(biases))
