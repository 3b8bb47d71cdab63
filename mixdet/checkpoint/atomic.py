"""Write files so that a reader (or a crash) never sees half of one: each
is written to a hidden partial file beside it, named after its writer,
and renamed into place when whole."""

import contextlib
import os
import os.path as osp
import re
import socket
from contextlib import contextmanager
from typing import Iterator, Optional


def current_umask() -> int:
    """The process umask (read by setting it and putting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def check_output_path(
    out: str, inputs: tuple = (), force: bool = True, name: str = 'out'
) -> None:
    """Raise ``ValueError`` naming ``name`` if ``out`` cannot be written.

    Args:
        out: The file to write.
        inputs: Files the tool reads; ``out`` may not be one of them.
        force: Whether an existing ``out`` may be replaced.
        name: How the user named the argument (for the message).
    """
    if os.path.islink(out):  # a dangling one too
        raise ValueError(
            f'{name} {out!r} is a symbolic link (to '
            f'{os.readlink(out)!r}); mixdet never writes through one: give '
            'the real path'
        )
    if os.path.isdir(out):
        raise ValueError(f'{name} {out!r} is a directory; give a file path')
    for path in inputs:
        if path is not None and os.path.exists(path):
            if os.path.exists(out) and os.path.samefile(out, path):
                raise ValueError(
                    f'{name} {out!r} is also an input file; write '
                    'somewhere else'
                )
    if os.path.exists(out) and not force:
        raise ValueError(
            f'{name} {out!r} already exists; pass --force to replace it'
        )


PARTIAL_SUFFIX = '.part'
# .<checkpoint name>.<host>-<pid>.part: the writer is named, so a run only
# removes leftovers of writers that are gone, never another live run's.
_PARTIAL = re.compile(r'^\..+\.(?P<host>[^.]+)-(?P<pid>\d+)\.part$')


def _host() -> str:
    """This machine's short name, as partial-file names carry it."""
    return socket.gethostname().split('.')[0] or 'host'


def partial_name(path: str) -> str:
    """Where this process writes ``path`` before renaming it into place."""
    folder, name = osp.split(path)
    return osp.join(folder, f'.{name}.{_host()}-{os.getpid()}{PARTIAL_SUFFIX}')


def remove_stale_partials(folder: str) -> list[str]:
    """Remove the partial saves in ``folder`` whose writer (a process on
    this host) is gone; returns them. Other hosts' and live writers' files
    are left alone."""
    host = _host()
    removed = []
    for name in os.listdir(folder) if osp.isdir(folder) else []:
        match = _PARTIAL.match(name)
        if match and match['host'] == host and not _alive(int(match['pid'])):
            path = osp.join(folder, name)
            with contextlib.suppress(FileNotFoundError):
                os.remove(path)
                removed.append(path)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, under another user
    return True


@contextmanager
def atomic_path(path: str, mode: Optional[int] = None) -> Iterator[str]:
    """Yield a temporary path beside ``path``; when the block ends without
    an error, the file written there is flushed to disk and renamed to
    ``path`` (an atomic replace). On an error it is removed.

    Args:
        path: The final file.
        mode: Its permission bits; default ``0o666`` less the umask, as
            ``open(path, 'w')`` would give.
    """
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    tmp = partial_name(os.path.join(directory, os.path.basename(path)))
    with contextlib.suppress(FileNotFoundError):
        os.remove(tmp)  # a leftover of this process (its pid is ours)
    # created anew, never through a link; a second writer of the same file
    # in this process fails here instead of sharing the partial file
    with open(tmp, 'xb'):
        pass
    try:
        yield tmp
        with open(tmp, 'rb') as f:
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~current_umask() if mode is None else mode)
        os.replace(tmp, path)
    finally:
        if os.path.lexists(tmp):
            os.remove(tmp)


def atomic_write_text(path: str, text: str) -> None:
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, 'w') as f:
            f.write(text)


def atomic_write_bytes(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically: on any error (a full disk)
    the old file stays and the error propagates."""
    with atomic_path(path) as tmp:
        with open(tmp, 'wb') as f:
            f.write(data)
