"""Training-loop pieces: safe checkpoint loading, atomic saving, resume
that replays exactly."""

from .checkpoint_hook import AtomicCheckpointHook
from .resumable_loop import ResumableEpochBasedTrainLoop
from .resume import (
    ResumeError,
    find_resume_checkpoint,
    is_complete_checkpoint,
    read_problem,
)
from .safe_load import (
    CheckpointRefused,
    drop_config_text,
    load_checkpoint_file,
    load_checkpoint_url,
)
from .seeded_randomness import (
    SeededDataset,
    SeededRandomnessHook,
    SeededSampler,
    seed_resumably,
)

__all__ = [
    'AtomicCheckpointHook',
    'CheckpointRefused',
    'ResumableEpochBasedTrainLoop',
    'ResumeError',
    'SeededDataset',
    'SeededRandomnessHook',
    'SeededSampler',
    'find_resume_checkpoint',
    'read_problem',
    'seed_resumably',
    'is_complete_checkpoint',
    'drop_config_text',
    'load_checkpoint_file',
    'load_checkpoint_url',
]
