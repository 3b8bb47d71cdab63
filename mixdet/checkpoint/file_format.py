"""What a checkpoint file is on disk: torch's zip format (``torch.save``'s
default) or the legacy pickle stream."""

import os.path as osp
import zipfile

ZIP_MAGIC = b'PK\x03\x04'


def is_zip(path: str) -> bool:
    """Whether ``path`` starts as a zip file does (whole or not)."""
    with open(path, 'rb') as f:
        return f.read(4) == ZIP_MAGIC


def is_complete_checkpoint(path: str) -> bool:
    """Whether ``path`` is a whole torch zip checkpoint (a truncated save
    lacks the zip directory at its end)."""
    if not osp.isfile(path) or not zipfile.is_zipfile(path):
        return False
    try:
        with zipfile.ZipFile(path) as archive:
            return any(n.endswith('data.pkl') for n in archive.namelist())
    except (zipfile.BadZipFile, OSError):
        return False
