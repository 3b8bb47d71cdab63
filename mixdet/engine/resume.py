"""Which checkpoint ``--resume`` (auto) continues from.

A checkpoint is resumable when mixdet's loader reads it (zip or legacy
format). A save cut short (a zip without its directory, a file that ends
early) is skipped for an older readable one, saying so: it holds nothing to
lose. A whole file that cannot be read stops the resume: training afresh or
from an older checkpoint would later overwrite it.
"""

import os
import os.path as osp
import re
from typing import Optional

from ..checkpoint import (
    UnreadableCheckpoint,
    is_complete_checkpoint,
    is_zip,
    read_checkpoint_file,
    remove_stale_partials,
)

# mmengine's CheckpointHook names: epoch_N.pth, iter_N.pth.
_STEP = re.compile(r'(?:epoch|iter)_(\d+)\.pth$')


class ResumeError(ValueError):
    """No checkpoint to resume from that can be read, while a checkpoint
    that cannot be read is there (so nothing may start)."""


def read_problem(path: str) -> Optional[str]:
    """Why ``path`` cannot be resumed from: mixdet's loader cannot read it,
    or its ``meta`` epoch / iter is not a count (None: it can)."""
    try:
        checkpoint = read_checkpoint_file(path)
    except UnreadableCheckpoint as error:
        return str(error)
    meta = checkpoint.get('meta') if isinstance(checkpoint, dict) else None
    if not isinstance(meta, dict):
        return 'no meta: a bare state dict, not a Runner checkpoint'
    for key in ('epoch', 'iter'):
        value = meta.get(key, 0)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            return f"meta['{key}'] is {value!r}, not a count of steps"
    return None


def is_cut_short(path: str, problem: str) -> bool:
    """Whether an unreadable ``path`` is a save that was cut short."""
    if is_zip(path):
        return not is_complete_checkpoint(path)
    return os.path.getsize(path) == 0 or 'EOF' in problem


def _candidates(folders: list[str], named: Optional[str]) -> list[str]:
    """``named`` first, then every ``epoch_N`` / ``iter_N`` checkpoint in
    ``folders`` (not below them: another run's work dir may sit there),
    highest N first, newest file first."""
    found = {
        osp.join(folder, name)
        for folder in folders
        if osp.isdir(folder)
        for name in os.listdir(folder)
        if _STEP.search(name)
    }
    found = sorted(
        (p for p in found if osp.isfile(p)),
        key=lambda p: (
            int(_STEP.search(osp.basename(p)).group(1)),
            os.stat(p).st_mtime,
        ),
        reverse=True,
    )
    first = [named] if named and osp.isfile(named) else []
    return first + [p for p in found if not first or p != named]


def find_resume_checkpoint(
    work_dir: str, checkpoint_dir: Optional[str] = None
) -> tuple[Optional[str], str]:
    """The checkpoint to resume from in ``work_dir``, and a note.

    The file named by ``last_checkpoint``, else the newest
    ``epoch_N.pth`` / ``iter_N.pth`` in ``work_dir`` or ``checkpoint_dir``
    (where the checkpoint hook writes, if elsewhere), that mixdet's loader
    reads; saves cut short are skipped, with a note that says so. Partial
    saves of writers that are gone are removed first. ``(None, note)`` when
    there is no checkpoint at all.

    Raises:
        ResumeError: A whole checkpoint cannot be read (or every one was cut
            short): resuming past it, or starting afresh, would overwrite
            it later.
    """
    folders = list(dict.fromkeys([work_dir, checkpoint_dir or work_dir]))
    for folder in folders:
        remove_stale_partials(folder)
    named = None
    pointer = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(pointer):
        with open(pointer) as f:
            named = f.read().strip() or None
    notes = []
    if named and not osp.isfile(named):
        notes.append(f'last_checkpoint names {named}, which does not exist')
    skipped = []
    for path in _candidates(folders, named):
        problem = read_problem(path)
        if problem is None:
            if skipped:
                notes.append(
                    f'skipped {", ".join(skipped)} (cut short: an '
                    'interrupted save)'
                )
            if notes:
                notes.append(f'resuming from {path}, the newest readable one')
            return path, '; '.join(notes)
        if not is_cut_short(path, problem):
            raise ResumeError(
                f'--resume: {path} cannot be read ({problem}); nothing was '
                'started or overwritten. Move it out of the work dir to '
                'resume from an older checkpoint, or pass --resume CKPT'
            )
        skipped.append(path)
    if skipped:
        raise ResumeError(
            f'--resume: every checkpoint in {work_dir} was cut short '
            f'({", ".join(skipped)}); nothing was started or overwritten. '
            'Move them away (or drop --resume) to start afresh'
        )
    notes.append(f'{work_dir} holds no checkpoint: starting afresh')
    return None, '; '.join(notes)
