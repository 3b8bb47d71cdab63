"""Checkpoint files, safely: a restricted loader (``weights_only`` with
what mmengine's Runner checkpoints hold, a scan of the pickle before
anything is allocated), atomic writes, the file format, and whether a
state dict fits a model. The training engine and the tools share it."""

from .atomic import (
    atomic_path,
    atomic_write_bytes,
    atomic_write_text,
    check_output_path,
    partial_name,
    remove_stale_partials,
)
from .file_format import ZIP_MAGIC, is_complete_checkpoint, is_zip
from .keys import compare_keys, uncopyable_keys
from .read import UnreadableCheckpoint, read_checkpoint_file
from .safe_load import (
    CheckpointRefused,
    drop_config_text,
    load_checkpoint_file,
    load_checkpoint_url,
)

__all__ = [
    'ZIP_MAGIC',
    'CheckpointRefused',
    'UnreadableCheckpoint',
    'atomic_path',
    'atomic_write_bytes',
    'atomic_write_text',
    'check_output_path',
    'compare_keys',
    'drop_config_text',
    'is_complete_checkpoint',
    'is_zip',
    'load_checkpoint_file',
    'load_checkpoint_url',
    'partial_name',
    'read_checkpoint_file',
    'remove_stale_partials',
    'uncopyable_keys',
]
