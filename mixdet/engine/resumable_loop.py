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

from mmengine.registry import LOOPS
from mmengine.runner import EpochBasedTrainLoop

from .seeded_randomness import SeededSampler


@LOOPS.register_module()
class ResumableEpochBasedTrainLoop(EpochBasedTrainLoop):
    """``EpochBasedTrainLoop`` (same arguments) for a
    :class:`SeededSampler` dataloader, resuming mid-epoch exactly."""

    def run_epoch(self) -> None:
        self.runner.call_hook('before_train_epoch')
        self.runner.model.train()
        done = max(0, self._iter - self._epoch * len(self.dataloader))
        sampler = self.dataloader.sampler
        if isinstance(sampler, SeededSampler):
            sampler.skip = min(done, len(self.dataloader)) * (
                self.dataloader.batch_size or 1
            )
        elif done:
            done = 0  # another sampler restarts the epoch, as mmengine's
        for idx, data_batch in enumerate(self.dataloader, start=done):
            self.run_iter(idx, data_batch)
        self.runner.call_hook('after_train_epoch')
        self._epoch += 1
