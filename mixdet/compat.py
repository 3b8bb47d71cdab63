"""Fixes for two upstream problems, applied once when mixdet is imported.

1. mmengine 0.10.7 loads checkpoints with ``torch.load(f)``. Since torch 2.6
   that means ``weights_only=True``, which refuses mmengine's own
   ``HistoryBuffer`` (and the numpy arrays it holds) in every Runner
   checkpoint, so ``resume``, ``load_from`` and ``tools/test.py`` fail. We
   allow-list exactly those classes with ``torch.serialization.
   add_safe_globals``; everything else stays refused, so a checkpoint from
   the internet still cannot run code. A HistoryBuffer also pickles its
   statistics methods as ``getattr(HistoryBuffer, 'min')``; plain
   ``getattr`` would open every attribute of every allowed object, so the
   name ``builtins.getattr`` resolves to :func:`history_buffer_getattr`,
   which hands out those four methods and nothing else.
2. mmdet 3.3.0's ``SSDHead.__init__`` skips ``AnchorHead.__init__`` and
   never sets ``loss_cls``, which ``predict`` reads. We give it the loss it
   actually computes: softmax cross-entropy over ``num_classes + 1``.
"""

import functools
import pickle

import numpy as np
import torch

_applied = False


HISTORY_BUFFER_METHODS = ('min', 'max', 'current', 'mean')


def history_buffer_getattr(obj: object, name: str) -> object:
    """``getattr`` as a Runner checkpoint uses it, and for nothing else."""
    from mmengine.logging.history_buffer import HistoryBuffer

    if obj is HistoryBuffer and name in HISTORY_BUFFER_METHODS:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'refused getattr({obj!r}, {name!r}): a checkpoint may only fetch '
        f'HistoryBuffer.{{{", ".join(HISTORY_BUFFER_METHODS)}}}'
    )


def runner_checkpoint_globals() -> list:
    """The non-tensor globals found in mmengine/mmdet Runner checkpoints."""
    from mmengine.logging.history_buffer import HistoryBuffer

    # numpy >= 2 pickles arrays through numpy._core, older through np.core.
    multiarray = (getattr(np, '_core', None) or np.core).multiarray
    reconstruct, scalar = multiarray._reconstruct, multiarray.scalar
    dtype_classes = [
        type(np.dtype(t))
        for t in (
            np.float64,
            np.float32,
            np.float16,
            np.int64,
            np.int32,
            np.uint8,
            np.bool_,
        )
    ]
    return [
        HistoryBuffer,
        reconstruct,
        scalar,
        np.ndarray,
        np.dtype,
        *dtype_classes,
        (history_buffer_getattr, 'builtins.getattr'),
    ]


def allow_runner_checkpoints() -> None:
    """Let ``torch.load(weights_only=True)`` read Runner checkpoints."""
    torch.serialization.add_safe_globals(runner_checkpoint_globals())


def fix_ssd_head_loss_cls() -> None:
    """Give mmdet's ``SSDHead`` the ``loss_cls`` its ``predict`` reads."""
    from mmdet.models.dense_heads import SSDHead
    from mmdet.registry import MODELS

    original_init = SSDHead.__init__
    if getattr(original_init, '_mixdet_fixed', False):
        return

    @functools.wraps(original_init)
    def __init__(self, *args, **kwargs) -> None:
        original_init(self, *args, **kwargs)
        if 'loss_cls' not in self._modules:
            # SSDHead.loss_by_feat computes exactly this loss itself.
            self.loss_cls = MODELS.build(
                dict(type='CrossEntropyLoss', use_sigmoid=False)
            )

    __init__._mixdet_fixed = True
    SSDHead.__init__ = __init__


def apply() -> None:
    """Apply every fix once."""
    global _applied
    if _applied:
        return
    allow_runner_checkpoints()
    fix_ssd_head_loss_cls()
    _applied = True
