"""A weight assembled from parameters, rebuilt only when they change."""

from typing import Callable, Optional, Sequence

import torch


def needs_autograd(x: torch.Tensor, params: Sequence[torch.Tensor]) -> bool:
    """Whether a forward through ``params`` must be recorded by autograd."""
    return torch.is_grad_enabled() and (
        x.requires_grad or any(p.requires_grad for p in params)
    )


class AssembledWeight:
    """Caches ``build(params)`` for forwards that autograd does not record.

    MixConv's zero-padded kernel and the grouped 1x1 conv's block-diagonal
    weight are assembled from the per-group parameters in every training
    forward (so gradients reach each group). At inference the parameters do
    not change between calls, and assembling them again costs about 7% of
    SSDLite-MixNet-S's CPU latency, so the result is kept until a parameter
    changes: in place (an optimizer step, ``load_state_dict``; tracked by
    the tensor's version counter) or by replacement (``.to()``, ``.data =``;
    the old storage is held, so its address cannot be reused).
    """

    def __init__(self) -> None:
        self._held: list[torch.Tensor] = []
        self._key: list[tuple[int, int]] = []
        self._value: Optional[torch.Tensor] = None

    def get(
        self,
        params: Sequence[torch.Tensor],
        build: Callable[[], torch.Tensor],
    ) -> torch.Tensor:
        """``build()`` (detached), or its cached value if ``params`` are
        unchanged since it was built."""
        # Storage address and version: a new dtype, device or ``.data``
        # means new storage, at a new address while the old one is held.
        key = [(p.data_ptr(), p._version) for p in params]
        if self._value is None or key != self._key:
            with torch.no_grad():
                self._value = build()
            self._held = [p.detach() for p in params]
            self._key = key
        return self._value
