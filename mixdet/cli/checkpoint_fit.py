"""Does a checkpoint fit a config's model? (A half-loaded model evaluates
or exports a random head without a word.)"""

import logging

import torch
from mmengine.logging import MMLogger
from torch import nn

from ..checkpoint import (
    UnreadableCheckpoint,
    compare_keys,
    read_checkpoint_file,
    uncopyable_keys,
)
from ..utils import ConfigError
from .config_check import check_checkpoint_file


def build_model_quietly(model_cfg: dict) -> nn.Module:
    """Build and initialise a model without mmengine's line per
    initialised parameter."""
    from mmdet.registry import MODELS

    from ..scope import mmdet_scope

    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        with mmdet_scope():
            model = MODELS.build(model_cfg)
            model.init_weights()
    finally:
        logger.setLevel(level)
    return model


def read_checkpoint(path: str, name: str) -> object:
    """What the file holds (mixdet's restricted loader), or one
    :class:`ConfigError` saying that ``name`` is not a readable
    checkpoint."""
    try:
        return read_checkpoint_file(path)
    except UnreadableCheckpoint as error:
        raise ConfigError(
            f'{name} {path!r} is not a readable PyTorch checkpoint ({error})'
        ) from None


def read_whole_checkpoint(checkpoint: str) -> object:
    """What ``checkpoint`` holds, once :func:`check_checkpoint_file` found
    it whole (one :class:`ConfigError` otherwise)."""
    check_checkpoint_file(checkpoint, 'checkpoint')
    return read_checkpoint(checkpoint, 'checkpoint')


def saved_dataset_meta(checkpoint_meta: dict) -> dict:
    """The checkpoint's ``dataset_meta``, keys in lower case (mmdet 2's
    checkpoints say ``CLASSES``)."""
    saved = checkpoint_meta.get('dataset_meta') or {}
    return {key.lower(): value for key, value in saved.items()}


def checkpoint_classes(loaded: object) -> tuple:
    """The class names a Runner checkpoint was trained with, or ()."""
    meta = loaded.get('meta') if isinstance(loaded, dict) else None
    classes = saved_dataset_meta(meta or {}).get('classes')
    return tuple(str(c) for c in classes) if classes is not None else ()


def fit_heads_to_checkpoint(cfg, loaded: object) -> tuple:
    """Size every head of ``cfg.model`` for the classes the checkpoint was
    trained with (own data), as ``tools/test.py`` and
    ``show_predictions.py`` do; returns them (``()`` when it names none)."""
    from .own_data import set_num_classes

    classes = checkpoint_classes(loaded)
    if classes:
        set_num_classes(cfg.model, len(classes))
    return classes


def fitting_state_dict(
    model: nn.Module,
    checkpoint: str,
    config: str,
    loaded: object = None,
) -> tuple[dict, dict]:
    """The state dict and the ``meta`` in ``checkpoint`` (read with the
    safe loader), or :class:`ConfigError` naming every key that does not
    fit ``model``.

    Args:
        model: The model the checkpoint is for.
        checkpoint: The file.
        config: The config's path, for the message.
        loaded: What :func:`read_whole_checkpoint` read from the file, if
            the caller read it already.
    """
    state = read_whole_checkpoint(checkpoint) if loaded is None else loaded
    meta = {}
    if isinstance(state, dict) and isinstance(state.get('state_dict'), dict):
        meta = state.get('meta') or {}
        state = state['state_dict']
    if not isinstance(state, dict):
        raise ConfigError(f'checkpoint {checkpoint!r} holds no state dict')
    # DDP-wrapped keys, as mmengine strips them; both forms of one key is
    # one model's weights over another's.
    both = sorted(
        k for k in state if k.startswith('module.') and k[7:] in state
    )
    if both:
        raise ConfigError(
            f'checkpoint {checkpoint!r} holds {both[0]!r} and '
            f'{both[0][7:]!r} ({len(both)} such keys): which one is meant?'
        )
    state = {k.removeprefix('module.'): v for k, v in state.items()}
    problems = compare_keys(model.state_dict(), state)
    if problems:
        raise ConfigError(
            f'checkpoint {checkpoint!r} does not fit the model of {config} '
            f'({"; ".join(problems)}); a checkpoint of another config or '
            'num_classes? (--cfg-options model.bbox_head.num_classes=N)'
        )
    return state, meta


def check_copyable(checkpoint: str, name: str = 'load_from') -> None:
    """Raise :class:`ConfigError` if any tensor of ``checkpoint``'s state
    dict cannot be copied into a float model (quantized, meta, sparse,
    complex): mmengine would keep those parameters' random init with only
    a logged warning. Other shapes are fine here (fine-tuning a head to
    other classes). URLs are left to mmengine."""
    if not isinstance(checkpoint, str) or '://' in checkpoint:
        return
    check_checkpoint_file(checkpoint, name)
    state = read_checkpoint(checkpoint, name)
    if isinstance(state, dict) and isinstance(state.get('state_dict'), dict):
        state = state['state_dict']
    if not isinstance(state, dict):
        raise ConfigError(f'{name} {checkpoint!r} holds no state dict')
    # a detector's parameters are float, its counters (BN's
    # num_batches_tracked) integer: compare each value with that kind
    targets = {
        key: torch.zeros((), dtype=value.dtype)
        if value.dtype in (torch.int64, torch.int32, torch.bool)
        else torch.zeros(())
        for key, value in state.items()
        if isinstance(value, torch.Tensor)
    }
    bad = uncopyable_keys(targets, state)
    if bad:
        raise ConfigError(
            f'{name} {checkpoint!r}: {len(bad)} not plain dense tensors of '
            f'a real dtype ({", ".join(bad[:5])}'
            f'{", ..." if len(bad) > 5 else ""}): mmengine would keep their '
            'random init. Dequantize / densify them first '
            '(tensor.dequantize(), .to_dense())'
        )
