"""Checkpoints cannot run code or build objects beyond plain data, and
saves survive a kill (mixdet.engine)."""

import os
import pickle
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer
from mmengine.runner import load_checkpoint

from mixdet.engine import (
    CheckpointRefused,
    find_resume_checkpoint,
    is_complete_checkpoint,
    load_checkpoint_file,
)

from .helpers import REPO_DIR
from .test_compat import ToyModel, make_runner


@pytest.fixture(scope='module')
def runner_checkpoint(tmp_path_factory):
    """A real Runner checkpoint (HistoryBuffers, numpy data) after 2 iters."""
    work_dir = tmp_path_factory.mktemp('runner')
    make_runner(work_dir, max_iters=2).train()
    return str(work_dir / 'iter_2.pth')


def save_raw(path, obj) -> str:
    torch.save(obj, path)
    return str(path)


class Reduce:
    """Pickles as ``func(*args)``, optionally followed by BUILD ``state``."""

    def __init__(self, func, args, state=None):
        self.reduced = (func, args) if state is None else (func, args, state)

    def __reduce__(self):
        return self.reduced


def numpy_core():
    return getattr(np, '_core', None) or np.core


def test_config_source_in_meta_is_never_executed(tmp_path, runner_checkpoint):
    marker = tmp_path / 'pwned'
    checkpoint = load_checkpoint_file(runner_checkpoint)
    checkpoint['meta']['config'] = (
        f"x = __import__('os').system('touch {marker}')"
    )
    evil = save_raw(tmp_path / 'evil.pth', checkpoint)
    # mmengine's Runner.resume would pass this to Config.fromstring.
    runner = make_runner(
        tmp_path / 'w', max_iters=3, resume=True, load_from=evil
    )
    runner.train()
    assert runner.iter == 3
    assert not marker.exists()
    assert 'config' not in load_checkpoint_file(evil)['meta']


def test_object_array_from_raw_bytes_is_refused(tmp_path):
    # np.ndarray((2,), dtype('O'), buffer): elements are pointers from
    # the file.
    direct = Reduce(np.ndarray, ((2,), np.dtype('O'), b'\0' * 16))
    # _reconstruct + BUILD with an object dtype.
    built = Reduce(
        numpy_core().multiarray._reconstruct,
        (np.ndarray, (0,), b'b'),
        (1, (2,), np.dtype('O'), False, b'\0' * 16),
    )
    # A numeric dtype whose bytes do not match the shape (heap over-read).
    short = Reduce(
        numpy_core().multiarray._reconstruct,
        (np.ndarray, (0,), b'b'),
        (1, (1000,), np.dtype('f8'), False, b'\0' * 8),
    )
    # A structured dtype hiding an object field.
    fields = Reduce(np.dtype, ([('a', 'O')],))
    for i, payload in enumerate([direct, built, short, fields]):
        path = save_raw(tmp_path / f'{i}.pth', {'x': payload})
        with pytest.raises(pickle.UnpicklingError):
            load_checkpoint_file(path)
        with pytest.raises(pickle.UnpicklingError):
            load_checkpoint(ToyModel(), path)
        with pytest.raises(pickle.UnpicklingError):
            torch.load(path)  # torch itself, after import mixdet


def test_numeric_arrays_and_scalars_round_trip(tmp_path):
    data = {
        'f': np.arange(6, dtype=np.float32).reshape(2, 3),
        'fortran': np.asfortranarray(np.arange(6.0).reshape(2, 3)),
        'big': np.arange(3, dtype='>i4'),
        'b': np.array([True, False]),
        's': np.float64(2.5),
        'i': np.int64(7),
        'empty': np.zeros((0, 4)),
    }
    got = load_checkpoint_file(save_raw(tmp_path / 'ok.pth', data))
    for key, value in data.items():
        assert type(got[key]) is type(value), key
        assert got[key].dtype == value.dtype, key
        np.testing.assert_array_equal(got[key], value)


def test_history_buffer_state_cannot_change_class_state(tmp_path):
    before = dict(HistoryBuffer._statistics_methods)
    buffer = HistoryBuffer([1.0, 3.0], [1, 1])
    # A checkpoint that maps 'mean' to HistoryBuffer.max.
    forged = Reduce(
        HistoryBuffer,
        (),
        dict(
            max_length=10,
            _log_history=np.array([1.0]),
            _count_history=np.array([1]),
            statistics_methods={'mean': HistoryBuffer.max},
        ),
    )
    path = save_raw(tmp_path / 'forged.pth', {'b': forged})
    with pytest.raises(CheckpointRefused, match='statistics_methods'):
        load_checkpoint_file(path)
    assert HistoryBuffer._statistics_methods == before
    assert buffer.statistics('mean') == 2.0
    # A real Runner checkpoint leaves the class alone too.
    for bad_state in (
        dict(max_length=10, _log_history=np.array([1.0])),  # missing key
        dict(
            max_length=10,
            _log_history=np.array([1.0]),
            _count_history=np.array([1, 2]),
        ),  # lengths differ
    ):
        path = save_raw(
            tmp_path / 'bad.pth', {'b': Reduce(HistoryBuffer, (), bad_state)}
        )
        with pytest.raises(CheckpointRefused):
            load_checkpoint_file(path)


def test_runner_checkpoint_leaves_class_state_alone(runner_checkpoint):
    before = dict(HistoryBuffer._statistics_methods)
    checkpoint = load_checkpoint_file(runner_checkpoint)
    assert HistoryBuffer._statistics_methods == before
    buffers = checkpoint['message_hub']['log_scalars']
    assert buffers and all(type(b) is HistoryBuffer for b in buffers.values())
    loss = buffers['train/loss']
    assert loss.statistics('mean') == pytest.approx(loss.data[0].mean())


def test_other_code_safe_globals_cannot_change_the_outcome(
    tmp_path, runner_checkpoint
):
    from .test_compat import GetattrEscape

    escape = save_raw(tmp_path / 'escape.pth', {'m': GetattrEscape()})
    # An unrelated scope used to drop mixdet's allow-list on exit.
    with torch.serialization.safe_globals([np.ndarray, np.dtype]):
        pass
    load_checkpoint_file(runner_checkpoint)
    # Code elsewhere that allow-lists the real getattr and numpy classes.
    real = [getattr, (getattr, 'builtins.getattr'), np.ndarray, np.dtype]
    torch.serialization.add_safe_globals(real)
    try:
        with pytest.raises(pickle.UnpicklingError, match='getattr'):
            load_checkpoint_file(escape)
        load_checkpoint_file(runner_checkpoint)
        # ... and their own list is back afterwards.
        assert set(map(str, real)) <= set(
            map(str, torch.serialization.get_safe_globals())
        )
    finally:
        torch.serialization.clear_safe_globals()
    # importing mixdet allow-lists nothing process-wide.
    assert torch.serialization.get_safe_globals() == []


def test_escape_refused_under_every_hash_seed(tmp_path):
    from .test_compat import GetattrEscape

    escape = save_raw(tmp_path / 'escape.pth', {'m': GetattrEscape()})
    script = textwrap.dedent(f"""
        import pickle, torch
        import mixdet
        from mixdet.engine import load_checkpoint_file
        torch.serialization.add_safe_globals([(getattr, 'builtins.getattr')])
        try:
            load_checkpoint_file({escape!r})
        except pickle.UnpicklingError:
            print('refused')
    """)
    for seed in ('0', '1'):
        out = subprocess.run(
            [sys.executable, '-c', script],
            env={**os.environ, 'PYTHONHASHSEED': seed},
            capture_output=True,
            text=True,
        )
        assert out.stdout.strip() == 'refused', out.stderr[-2000:]


KILL_DURING_SAVE = textwrap.dedent("""
    import os, signal, sys
    sys.path.insert(0, {repo!r})
    from mmengine.fileio import LocalBackend
    from tests.test_compat import make_runner
    import mixdet

    saves = []
    put = LocalBackend.put

    def put_then_die(self, obj, filepath):
        saves.append(filepath)
        if len(saves) == 2:  # the second save: half the bytes, then SIGKILL
            with open(filepath, 'wb') as f:
                f.write(obj[: len(obj) // 2])
            os.kill(os.getpid(), signal.SIGKILL)
        put(self, obj, filepath)

    LocalBackend.put = put_then_die
    runner = make_runner({work_dir!r}, max_iters=6, checkpoint=dict(
        type='{hook}', interval=2, by_epoch=False, max_keep_ckpts=1))
    runner.train()
""")


def kill_during_second_save(work_dir, hook):
    proc = subprocess.run(
        [
            sys.executable,
            '-c',
            KILL_DURING_SAVE.format(
                repo=REPO_DIR, work_dir=str(work_dir), hook=hook
            ),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-3000:]


def test_sigkill_during_save_then_resume_continues(tmp_path):
    work_dir = tmp_path / 'atomic'
    kill_during_second_save(work_dir, 'AtomicCheckpointHook')
    # The old checkpoint is still there, complete, and named.
    found, note = find_resume_checkpoint(str(work_dir))
    assert found == str(work_dir / 'iter_2.pth') and note == ''
    assert not (work_dir / 'iter_4.pth').exists()
    resumed = make_runner(
        work_dir,
        max_iters=6,
        resume=True,
        load_from=found,
        checkpoint=dict(
            type='AtomicCheckpointHook',
            interval=2,
            by_epoch=False,
            max_keep_ckpts=1,
        ),
    )
    resumed.train()
    straight = make_runner(tmp_path / 'straight', max_iters=6)
    straight.train()
    assert torch.equal(
        resumed.model.linear.weight, straight.model.linear.weight
    )
    # The leftover partial file is gone, one checkpoint is kept.
    assert sorted(p for p in os.listdir(work_dir) if 'pth' in p) == [
        'iter_6.pth'
    ]


def test_mmengine_hook_loses_the_checkpoint_on_the_same_kill(tmp_path):
    """The same kill with mmengine's own hook: what the atomic hook fixes."""
    work_dir = tmp_path / 'plain'
    kill_during_second_save(work_dir, 'CheckpointHook')
    assert not (work_dir / 'iter_2.pth').exists()  # deleted before saving
    assert not is_complete_checkpoint(str(work_dir / 'iter_4.pth'))


def test_resume_falls_back_to_newest_complete(tmp_path, runner_checkpoint):
    data = open(runner_checkpoint, 'rb').read()
    for name in ('iter_2.pth', 'iter_4.pth'):
        (tmp_path / name).write_bytes(data)
    (tmp_path / 'iter_6.pth').write_bytes(data[: len(data) // 2])
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'iter_6.pth'))
    found, note = find_resume_checkpoint(str(tmp_path))
    assert found == str(tmp_path / 'iter_4.pth')
    assert 'incomplete' in note and 'iter_4.pth' in note
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'gone.pth'))
    found, note = find_resume_checkpoint(str(tmp_path))
    assert found == str(tmp_path / 'iter_4.pth') and 'does not exist' in note
