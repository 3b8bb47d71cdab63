"""Write files so that a reader (or a crash) never sees half of one."""

import os
import tempfile
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
    fd, tmp = tempfile.mkstemp(
        dir=directory, prefix=f'.{os.path.basename(path)}.', suffix='.part'
    )
    os.close(fd)
    try:
        yield tmp
        with open(tmp, 'rb') as f:
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~current_umask() if mode is None else mode)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
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
