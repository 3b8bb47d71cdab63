"""Training-loop pieces: safe checkpoint loading and atomic saving."""

from .checkpoint_hook import AtomicCheckpointHook
from .resume import find_resume_checkpoint, is_complete_checkpoint
from .safe_load import (
    CheckpointRefused,
    load_checkpoint_bytes,
    load_checkpoint_file,
)

__all__ = [
    'AtomicCheckpointHook',
    'CheckpointRefused',
    'find_resume_checkpoint',
    'is_complete_checkpoint',
    'load_checkpoint_bytes',
    'load_checkpoint_file',
]
