"""What a training run will do, read from its config before it starts: its
length against its LR warmup, CPU threads, how often it logs."""

import json
import math
import os
from typing import NamedTuple, Optional

import torch
from mmengine.config import Config

from ..utils import inner_dataset

# Schedulers that start below the base LR and reach it at their ``end``.
WARMUPS = ('LinearLR', 'ConstantLR')


class Length(NamedTuple):
    """A training run's length in iterations."""

    total: int
    per_epoch: int  # 0 for an iteration-based run
    epochs: int


def _train_images(dataset: dict) -> Optional[int]:
    """Images the (innermost) dataset will train on, counted from its
    annotation file (without images if ``filter_empty_gt``), or None."""
    ann = dataset.get('ann_file')
    if not ann:
        return None
    path = os.path.join(dataset.get('data_root') or '', ann)
    try:
        with open(path) as f:
            data = json.load(f)
        images = data['images']
        if (dataset.get('filter_cfg') or {}).get('filter_empty_gt'):
            with_boxes = {a.get('image_id') for a in data['annotations']}
            images = [i for i in images if i.get('id') in with_boxes]
        return len(images)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None  # the config checks name what is wrong


def run_length(cfg: Config) -> Optional[Length]:
    """The run's iterations, or None where they cannot be told."""
    train_cfg = cfg.get('train_cfg') or {}
    if train_cfg.get('type', 'EpochBasedTrainLoop') != 'EpochBasedTrainLoop':
        if 'max_iters' in train_cfg:
            return Length(int(train_cfg['max_iters']), 0, 0)
        return None
    loader = cfg.get('train_dataloader') or {}
    dataset, times = inner_dataset(cfg, 'train_dataloader')
    images = _train_images(dataset)
    batch = int(loader.get('batch_size', 1))
    if images is None or 'max_epochs' not in train_cfg:
        return None
    per_epoch = math.ceil(images * times / batch)
    if loader.get('drop_last') or (loader.get('sampler') or {}).get(
        'drop_last'
    ):
        per_epoch = images * times // batch
    epochs = int(train_cfg['max_epochs'])
    return Length(per_epoch * epochs, per_epoch, epochs)


def warmup_end(cfg: Config, per_epoch: int) -> Optional[tuple[int, str]]:
    """(iteration where the LR warmup ends, the option that sets it)."""
    schedulers = cfg.get('param_scheduler') or []
    if isinstance(schedulers, dict):
        schedulers = [schedulers]
    for i, scheduler in enumerate(schedulers):
        if scheduler.get('type') in WARMUPS and not scheduler.get('begin'):
            end = scheduler.get('end')
            if end is None or end == float('inf'):
                continue
            if scheduler.get('by_epoch', True):
                end *= per_epoch
            return int(end), f'param_scheduler.{i}.end'
    return None


def warmup_warning(
    cfg: Config, length: Optional[Length] = None
) -> Optional[str]:
    """One line when the run ends before its LR warmup does (it then never
    trains at the base learning rate and may learn nothing). ``length``:
    :func:`run_length`, if the caller has it."""
    length = length or run_length(cfg)
    if length is None:
        return None
    warmup = warmup_end(cfg, length.per_epoch)
    if warmup is None or length.total >= warmup[0]:
        return None
    end, option = warmup
    how = (
        f'{length.epochs} epochs x {length.per_epoch} iterations'
        if length.per_epoch
        else 'train_cfg.max_iters'
    )
    more = (
        'train_cfg.max_epochs or train_dataloader.dataset.times'
        if length.per_epoch
        else 'train_cfg.max_iters'
    )
    return (
        f'warning: this run trains {length.total} iterations ({how}), but '
        f'its learning-rate warmup ends at iteration {end} ({option}): it '
        f'never reaches the base learning rate and may not learn. Raise '
        f'{more}, or shorten the warmup (--cfg-options {option}=N)'
    )


def busy_cores(seconds: float = 0.25) -> Optional[float]:
    """How many cores other work keeps busy now (from /proc/stat over
    ``seconds``), or None where that cannot be read."""
    import time

    def sample():
        with open('/proc/stat') as f:
            values = [int(v) for v in f.readline().split()[1:]]
        idle = values[3] + (values[4] if len(values) > 4 else 0)
        return sum(values), idle

    try:
        total0, idle0 = sample()
        time.sleep(seconds)
        total1, idle1 = sample()
    except (OSError, ValueError, IndexError):
        return None
    if total1 <= total0:
        return None
    cores = os.cpu_count() or 1
    return cores * (1 - (idle1 - idle0) / (total1 - total0))


def passive_waiting() -> bool:
    """Whether OpenMP's threads sleep while they wait
    (``OMP_WAIT_POLICY=PASSIVE``, which ``tools/train.py`` and
    ``tools/test.py`` set before torch loads)."""
    return os.environ.get('OMP_WAIT_POLICY', '').upper() == 'PASSIVE'


def cpu_threads() -> Optional[tuple[int, str]]:
    """(intra-op threads for a CPU run, why), or None to leave torch's
    choice: the user set ``OMP_NUM_THREADS``, or a GPU trains.

    Threads that spin while they wait (OpenMP's default) contend with other
    work on the same cores: then torch gets the cores other work leaves
    idle now, at least one. Threads that sleep (passive waiting) do not:
    then torch gets every core, which was faster idle and beside a 2-thread
    process alike (docs/performance.md, measured with
    tools/analysis/benchmark_threads.py), whenever that process starts."""
    if 'OMP_NUM_THREADS' in os.environ or torch.cuda.is_available():
        return None
    cores = len(os.sched_getaffinity(0))
    if passive_waiting():
        return cores, (
            f'{cores} cores; its threads sleep while they wait '
            '(OMP_WAIT_POLICY=PASSIVE), so other work on them slows it '
            'about 2x; set OMP_NUM_THREADS to choose'
        )
    busy = busy_cores()
    if busy is None:
        return None
    threads = max(1, min(cores, round(cores - busy)))
    return threads, (
        f'{cores} cores, {busy:.1f} busy with other work; set '
        'OMP_NUM_THREADS to choose'
    )


# The first progress line within about half a minute on a 2-core CPU.
CPU_LOG_INTERVAL = 5


def cpu_log_interval(
    cfg: Config, length: Optional[Length] = None
) -> Optional[int]:
    """A shorter logging interval for a CPU run, or None to keep the
    config's: its first loss line would come after minutes. ``length``:
    :func:`run_length`, if the caller has it."""
    if torch.cuda.is_available():
        return None
    logger = (cfg.get('default_hooks') or {}).get('logger')
    if not isinstance(logger, dict):
        return None  # no LoggerHook to set
    interval = logger.get('interval', 10)
    length = length or run_length(cfg)
    shorter = CPU_LOG_INTERVAL
    if length is not None and length.per_epoch:
        shorter = max(1, min(shorter, length.per_epoch))
    return shorter if interval > shorter else None


def plan_training(cfg: Config, cfg_options: Optional[dict]) -> None:
    """Before a training run: say how many CPU threads torch uses (and set
    them), log often enough on a CPU (unless ``--cfg-options`` set the
    interval), warn when the run ends inside its LR warmup."""
    plan_threads()
    length = run_length(cfg)  # reads the training annotations once
    interval = cpu_log_interval(cfg, length)
    if interval is not None and 'default_hooks.logger.interval' not in (
        cfg_options or {}
    ):
        cfg.default_hooks.logger.interval = interval
    warning = warmup_warning(cfg, length)
    if warning:
        print(warning)


def plan_threads() -> None:
    """Set and say torch's intra-op CPU threads (:func:`cpu_threads`)."""
    choice = cpu_threads()
    if choice is not None:
        threads, why = choice
        torch.set_num_threads(threads)
        print(f'CPU threads: torch uses {threads} ({why})')
