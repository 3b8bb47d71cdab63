"""Which checkpoint ``--resume`` (auto) continues from."""

import glob
import os
import os.path as osp
import re
import zipfile
from typing import Optional

from .checkpoint_hook import PARTIAL_SUFFIX

# mmengine's CheckpointHook names: epoch_N.pth, iter_N.pth.
_STEP = re.compile(r'(?:epoch|iter)_(\d+)\.pth$')


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


def find_resume_checkpoint(work_dir: str) -> tuple[Optional[str], str]:
    """The checkpoint to resume from in ``work_dir``, and a note.

    The file named by ``last_checkpoint`` if it is complete; else the newest
    complete ``epoch_N.pth`` / ``iter_N.pth`` (highest N, then newest file),
    with a note that says why. ``(None, note)`` when there is none.
    """
    named = None
    pointer = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(pointer):
        with open(pointer) as f:
            named = f.read().strip() or None
        if named and is_complete_checkpoint(named):
            return named, ''
    candidates = [
        p
        for p in glob.glob(osp.join(work_dir, '**', '*.pth'), recursive=True)
        if _STEP.search(osp.basename(p)) and not p.endswith(PARTIAL_SUFFIX)
    ]
    candidates.sort(
        key=lambda p: (
            int(_STEP.search(osp.basename(p)).group(1)),
            os.stat(p).st_mtime,
        ),
        reverse=True,
    )
    found = next((p for p in candidates if is_complete_checkpoint(p)), None)
    if named is None:
        why = f'{work_dir} has no last_checkpoint'
    elif osp.isfile(named):
        why = f'last_checkpoint names {named}, which is incomplete'
    else:
        why = f'last_checkpoint names {named}, which does not exist'
    if found is None:
        return None, f'{why} and no complete checkpoint: starting afresh'
    return found, f'{why}; resuming from {found}, the newest complete one'
