"""Weights assembled from parameters, as constants of an exported graph."""

from typing import Callable

import torch


def assembled_weight(build: Callable[[], torch.Tensor]) -> torch.Tensor:
    """``build()``; while ``torch.jit.trace`` / ONNX export traces, it runs
    outside the trace, so the graph holds the finished weight as one
    constant (a kernel of known shape: one Conv node) instead of the pad
    and concat ops that made it."""
    state = torch._C._get_tracing_state()
    if state is None:
        return build()
    torch._C._set_tracing_state(None)
    try:
        return build().detach()
    finally:
        torch._C._set_tracing_state(state)
