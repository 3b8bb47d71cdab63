"""An epoch loop that continues an epoch where an iteration checkpoint
left it.

mmengine's ``EpochBasedTrainLoop`` restarts the current epoch from its
first batch after a resume: from an iteration checkpoint in mid-epoch it
trains the epoch's first batches twice, and from one saved at an epoch's
last iteration (``iter_16`` of 8-iteration epochs) it trains the whole
epoch again and runs past ``max_iters``. Here an epoch starts at the batch
after the last one trained (none left: only the epoch's end runs, i.e. its
hooks, the by-epoch LR step, validation and epoch checkpoint, as the
uninterrupted run did after that checkpoint), and the log counts batches
within the whole epoch (``[2][3/8]``).
"""

from typing import Optional

from mmengine.registry import LOOPS
from mmengine.runner import EpochBasedTrainLoop
from torch.utils.data import BatchSampler, DataLoader

from .seeded_randomness import SeededSampler


def samples_to_skip(loader: DataLoader, done: int) -> Optional[int]:
    """How many of the sampler's indices the first ``done`` batches of an
    epoch took, or None where that cannot be told: a batch sampler that
    groups samples (mmdet's ``AspectRatioBatchSampler``) makes batches in
    another order than the sampler's. A finished epoch skips every index
    whatever the batch sampler."""
    if done >= len(loader):
        return len(loader.sampler)
    if type(loader.batch_sampler) is not BatchSampler:
        return None
    return done * loader.batch_size


@LOOPS.register_module()
class ResumableEpochBasedTrainLoop(EpochBasedTrainLoop):
    """``EpochBasedTrainLoop`` (same arguments) for a
    :class:`SeededSampler` dataloader, resuming mid-epoch exactly."""

    def run_epoch(self) -> None:
        self.runner.call_hook('before_train_epoch')
        self.runner.model.train()
        done = max(0, self._iter - self._epoch * len(self.dataloader))
        sampler = self.dataloader.sampler
        skip = samples_to_skip(self.dataloader, done) if done else 0
        if isinstance(sampler, SeededSampler) and skip is not None:
            sampler.skip = skip
        elif done:
            # restarts the epoch, as mmengine's loop does; said, not silent
            print(
                f'resume: {done} batches of epoch {self._epoch + 1} were '
                'trained, but this dataloader cannot start after them '
                f'({type(self.dataloader.batch_sampler).__name__}): the '
                'epoch restarts from its first batch, as mmengine does, '
                'and the run is not identical to an uninterrupted one'
            )
            done = 0
        for idx, data_batch in enumerate(self.dataloader, start=done):
            self.run_iter(idx, data_batch)
        self.runner.call_hook('after_train_epoch')
        self._epoch += 1
