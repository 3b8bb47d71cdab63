"""Training-loop pieces: a checkpoint hook whose saves survive a kill,
resume that replays exactly, seeded randomness. Checkpoint files
themselves (safe loading, atomic writes) are :mod:`mixdet.checkpoint`'s."""

from .checkpoint_hook import AtomicCheckpointHook
from .resumable_loop import ResumableEpochBasedTrainLoop
from .resume import ResumeError, find_resume_checkpoint, read_problem
from .seeded_randomness import (
    SeededDataset,
    SeededRandomnessHook,
    SeededSampler,
    seed_resumably,
)

__all__ = [
    'AtomicCheckpointHook',
    'ResumableEpochBasedTrainLoop',
    'ResumeError',
    'SeededDataset',
    'SeededRandomnessHook',
    'SeededSampler',
    'find_resume_checkpoint',
    'read_problem',
    'seed_resumably',
]
