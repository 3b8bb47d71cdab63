"""Randomness that a resumed run replays exactly.

mmengine restores weights, optimizer and schedulers on ``resume``, but not
the random state: the data pipeline's draws (``RandomFlip``: numpy, in the
data-loader workers, which persistent workers carry across epochs) and the
model's (drop path: torch) continue from wherever the new process starts, so
a resumed run drifts from the run it continues. And mmengine's epoch loop
restarts an epoch from its first batch after an iteration checkpoint, so
the iterations since the epoch began are trained twice.

Here every draw is keyed by position instead of carried state:

- :class:`SeededSampler` (mmengine's ``DefaultSampler``, same arguments)
  yields ``epoch * len(dataset) + index``, and skips the batches an
  iteration checkpoint has already trained;
- :class:`SeededDataset` seeds ``random``, numpy and torch from
  ``(seed, epoch, index)`` before each sample goes through the pipeline, in
  whichever process it runs;
- :class:`SeededRandomnessHook` seeds them from ``(seed, iter)`` before each
  training step, and keeps torch's CPU thread count in the checkpoints (a
  resumed run uses the same);
- :class:`~.resumable_loop.ResumableEpochBasedTrainLoop` starts a resumed
  epoch after the batches its checkpoint has trained.

:func:`seed_resumably` applies them to a config (``tools/train.py``
does, for epoch-based configs with mmengine's ``DefaultSampler``).
"""

import hashlib
import random
from typing import Any, Iterator, Optional

import numpy as np
import torch
from mmengine.dataset import DefaultSampler
from mmengine.hooks import Hook
from mmengine.registry import DATA_SAMPLERS, DATASETS, HOOKS


def seed_all(*key: Any) -> None:
    """Seed ``random``, numpy and torch from ``key`` (a hash of it)."""
    digest = hashlib.blake2b(repr(key).encode(), digest_size=4).digest()
    seed = int.from_bytes(digest, 'little')
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


@DATA_SAMPLERS.register_module()
class SeededSampler(DefaultSampler):
    """``DefaultSampler`` whose indices carry the epoch
    (``epoch * len(dataset) + index``, for :class:`SeededDataset`), and
    that can start an epoch ``skip`` samples in (a resumed epoch, set by
    :class:`ResumableEpochBasedTrainLoop`). Its length stays the whole
    epoch's, so that progress is counted within the epoch."""

    skip = 0

    def __iter__(self) -> Iterator[int]:
        offset = self.epoch * len(self.dataset)
        indices = list(super().__iter__())[self.skip :]
        return iter([offset + i for i in indices])

    def set_epoch(self, epoch: int) -> None:
        if epoch != self.epoch:
            self.skip = 0  # only the resumed epoch starts late
        super().set_epoch(epoch)


@DATASETS.register_module()
class SeededDataset:
    """A dataset whose samples are drawn with randomness seeded from
    ``(seed, epoch, index)``, read from :class:`SeededSampler`'s indices.

    Args:
        dataset: The dataset (config or object).
        seed: The run's seed; :class:`SeededRandomnessHook` sets it to
            the Runner's before training starts.
    """

    def __init__(self, dataset: Any, seed: Optional[int] = None) -> None:
        self.dataset = (
            DATASETS.build(dataset) if isinstance(dataset, dict) else dataset
        )
        self.seed = seed

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, key: int) -> Any:
        epoch, index = divmod(int(key), len(self.dataset))
        seed_all('sample', self.seed, epoch, index)
        return self.dataset[index]

    def __getattr__(self, name: str) -> Any:
        # metainfo, get_data_info, ...: the wrapped dataset's
        if name == 'dataset':
            raise AttributeError(name)
        return getattr(self.dataset, name)


@HOOKS.register_module()
class SeededRandomnessHook(Hook):
    """Seeds every training step from ``(seed, iter)``, hands the Runner's
    seed to :class:`SeededDataset`, and makes a resumed epoch start after
    the batches its checkpoint has trained."""

    priority = 'VERY_HIGH'

    def before_train(self, runner) -> None:
        dataset = runner.train_dataloader.dataset
        if isinstance(dataset, SeededDataset):
            dataset.seed = runner.seed

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        # what else bit-identity needs: the float sums of a CPU run depend
        # on torch's thread count
        checkpoint.setdefault('meta', {})['torch_threads'] = (
            torch.get_num_threads()
        )

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if getattr(runner, '_resume', False):  # not for load_from
            meta = checkpoint.get('meta') or {}
            restore_threads(meta.get('torch_threads'))

    def before_train_iter(self, runner, batch_idx: int, data_batch=None):
        seed_all('step', runner.seed, runner.iter)


def restore_threads(saved: Optional[int]) -> None:
    """On resume, use the torch thread count of the run being continued
    (saved in its checkpoints), saying so in one line; a count the user
    chose with ``OMP_NUM_THREADS`` stays, with a line saying that the
    result may then differ in the last bits."""
    import os

    current = torch.get_num_threads()
    if type(saved) is not int or saved < 1 or saved == current:
        return
    if 'OMP_NUM_THREADS' in os.environ or torch.cuda.is_available():
        print(
            f'resume: torch uses {current} CPU threads, the run it continues '
            f'used {saved}: the weights may differ from an uninterrupted '
            'run in the last bits (float sums in another order)'
        )
        return
    torch.set_num_threads(saved)
    print(
        f'resume: torch uses {saved} CPU threads, as the run it continues '
        'did (bit-identical results need the same count; set '
        'OMP_NUM_THREADS to choose)'
    )


def seed_resumably(cfg: Any) -> bool:
    """Make an epoch-based config with mmengine's ``DefaultSampler`` replay
    exactly on resume (in place); returns whether it could."""
    loader = cfg.get('train_dataloader')
    train = cfg.get('train_cfg') or {}
    if not loader or train.get('type', 'EpochBasedTrainLoop') not in (
        'EpochBasedTrainLoop',
        'mmengine.EpochBasedTrainLoop',
        'ResumableEpochBasedTrainLoop',
    ):
        return False
    sampler = loader.get('sampler') or {}
    if sampler.get('type') not in ('DefaultSampler', 'SeededSampler'):
        return False
    train = cfg.get('train_cfg')
    if train is not None:
        train['type'] = 'ResumableEpochBasedTrainLoop'

    if sampler['type'] == 'DefaultSampler':
        sampler['type'] = 'SeededSampler'
        loader['dataset'] = dict(
            type='SeededDataset', dataset=loader['dataset']
        )
    hooks = list(cfg.get('custom_hooks') or [])
    if not any(h.get('type') == 'SeededRandomnessHook' for h in hooks):
        hooks.append(dict(type='SeededRandomnessHook'))
    cfg.custom_hooks = hooks
    return True
