"""Read a checkpoint file, or say in one line why it cannot be read."""

from .safe_load import CheckpointRefused, load_checkpoint_file


class UnreadableCheckpoint(ValueError):
    """A file mixdet's loader cannot read; the message says why."""


def read_checkpoint_file(path: str) -> object:
    """What ``path`` holds, loaded on the CPU by mixdet's restricted loader.

    Raises:
        UnreadableCheckpoint: Why it cannot be read, in one line: a refused
            object's whole message (it ends with the advice), else the
            error's type and its first 300 characters.
    """
    try:
        return load_checkpoint_file(path, map_location='cpu')
    except CheckpointRefused as error:
        raise UnreadableCheckpoint(' '.join(str(error).split())) from None
    except Exception as error:  # torch raises many kinds for a bad file
        # (a MemoryError has no message at all)
        text = ' '.join(str(error).split()) or 'no message'
        raise UnreadableCheckpoint(
            f'{type(error).__name__}: {text[:300]}'
        ) from None
