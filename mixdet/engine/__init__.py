"""Training-loop pieces: safe checkpoint loading and atomic saving."""

from .checkpoint_hook import AtomicCheckpointHook
from .resume import (
    ResumeError,
    find_resume_checkpoint,
    is_complete_checkpoint,
    read_problem,
)
from .safe_load import (
    CheckpointRefused,
    drop_config_text,
    load_checkpoint_bytes,
    load_checkpoint_file,
    load_checkpoint_url,
)

__all__ = [
    'AtomicCheckpointHook',
    'CheckpointRefused',
    'ResumeError',
    'find_resume_checkpoint',
    'read_problem',
    'is_complete_checkpoint',
    'drop_config_text',
    'load_checkpoint_bytes',
    'load_checkpoint_file',
    'load_checkpoint_url',
]
