"""The numbers of a config that the tools read, checked before anything
runs: a NaN epoch count, a batch of 0 images or an infinite learning rate
would otherwise end in a traceback, in no training at all (exit 0), or in
NaN checkpoints."""

import math
from typing import Any

from mmengine.config import Config

from ..utils import ConfigError, wrapped_datasets
from .config_check import DATALOADERS

# Larger test/train scales are refused: a 40000 x 40000 resize allocated
# 4.8 GB before failing.
MAX_IMAGE_SIDE = 8192


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_count(value: Any, where: str, minimum: int = 1) -> None:
    """A whole number >= ``minimum`` (an int, or a float that is one)."""
    if not (
        _is_number(value)
        and math.isfinite(value)
        and float(value).is_integer()
        and value >= minimum
    ):
        raise ConfigError(
            f'{where}={value!r}: expected a whole number >= {minimum}'
        )


def check_real(
    value: Any, where: str, positive: bool = False, infinite: bool = False
) -> None:
    """A finite number (> 0 with ``positive``, >= 0 otherwise); ``inf``
    allowed with ``infinite`` (a scheduler's open ``end``)."""
    ok = _is_number(value) and not math.isnan(value)
    ok = ok and (infinite or math.isfinite(value))
    ok = ok and (value > 0 if positive else value >= 0)
    if not ok:
        kind = 'a finite number' + (' > 0' if positive else ' >= 0')
        raise ConfigError(f'{where}={value!r}: expected {kind}')


def _check_scale(step: dict, where: str) -> None:
    for key in ('scale', 'img_scale'):
        if key not in step:
            continue
        scale = step[key]
        sides = scale if isinstance(scale, (list, tuple)) else [scale]
        flat = []
        for side in sides:  # RandomResize: a list of (w, h)
            flat += list(side) if isinstance(side, (list, tuple)) else [side]
        for side in flat:
            if not (_is_number(side) and 1 <= side <= MAX_IMAGE_SIDE):
                raise ConfigError(
                    f'{where}.{key}={scale!r}: expected sides from 1 to '
                    f'{MAX_IMAGE_SIDE} pixels'
                )


def check_numbers(cfg: Config, training: bool = True) -> None:
    """Raise :class:`ConfigError` for the first number the tools read that
    is not finite or not in range: epochs / iterations, intervals, batch
    sizes, workers, dataset ``times``, pipeline scales, learning rate,
    momentum and weight decay, scheduler bounds."""
    loaders = DATALOADERS if training else DATALOADERS[1:]
    for name in loaders:
        loader = cfg.get(name)
        if not isinstance(loader, dict):
            continue
        if 'batch_size' in loader:
            check_count(loader['batch_size'], f'{name}.batch_size')
        if 'num_workers' in loader:
            check_count(loader['num_workers'], f'{name}.num_workers', 0)
        for where, dataset in wrapped_datasets(cfg, name):
            if 'times' in dataset:
                check_count(dataset['times'], f'{where}.times')
            for i, step in enumerate(dataset.get('pipeline') or []):
                if isinstance(step, dict):
                    _check_scale(step, f'{where}.pipeline.{i}')
    if not training:
        return
    train = cfg.get('train_cfg') or {}
    for key in ('max_epochs', 'max_iters', 'val_interval', 'val_begin'):
        if key in train:
            check_count(
                train[key], f'train_cfg.{key}', 0 if key == 'val_begin' else 1
            )
    hooks = cfg.get('default_hooks') or {}
    for hook in ('checkpoint', 'logger'):
        interval = (hooks.get(hook) or {}).get('interval')
        if interval is not None and interval != -1:
            check_count(interval, f'default_hooks.{hook}.interval')
    optimizer = (cfg.get('optim_wrapper') or {}).get('optimizer') or {}
    if 'lr' in optimizer:
        check_real(optimizer['lr'], 'optim_wrapper.optimizer.lr', True)
    for key in ('momentum', 'weight_decay', 'eps'):
        if key in optimizer:
            check_real(optimizer[key], f'optim_wrapper.optimizer.{key}')
    schedulers = cfg.get('param_scheduler') or []
    if isinstance(schedulers, dict):
        schedulers = [schedulers]
    for i, scheduler in enumerate(schedulers):
        where = f'param_scheduler.{i}'
        for key in ('begin', 'T_max', 'eta_min', 'start_factor', 'end_factor',
                    'factor', 'gamma', 'power', 'eta_min_ratio'):  # fmt: skip
            if key in scheduler:
                check_real(scheduler[key], f'{where}.{key}')
        if 'end' in scheduler:
            check_real(scheduler['end'], f'{where}.end', infinite=True)
            if scheduler['end'] <= scheduler.get('begin', 0):
                raise ConfigError(
                    f'{where}: end={scheduler["end"]!r} is not after '
                    f'begin={scheduler.get("begin", 0)!r}'
                )
