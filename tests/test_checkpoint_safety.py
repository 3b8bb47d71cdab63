"""Checkpoints cannot run code or build objects beyond plain data, and
saves survive a kill (mixdet.engine)."""

import copyreg
import dataclasses
import os
import pickle
import signal
import subprocess
import sys
import textwrap
from typing import NamedTuple

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer
from mmengine.runner import load_checkpoint

from mixdet.checkpoint import (
    CheckpointRefused,
    is_complete_checkpoint,
    load_checkpoint_file,
)
from mixdet.engine import ResumeError, find_resume_checkpoint, read_problem

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


class NewTensor:
    """Pickles as NEWOBJ ``Tensor.__new__(Tensor, 1 << 20)``."""

    __class__ = property(lambda self: torch.Tensor)

    def __reduce_ex__(self, protocol):
        return (copyreg.__newobj__, (torch.Tensor, 1 << 20))


def numpy_core():
    return getattr(np, '_core', None) or np.core


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
    buffer = HistoryBuffer([1.0, 3.0], [1, 1])  # sets the defaults
    before = dict(HistoryBuffer._statistics_methods)
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
    # The pickled methods are names only, and ignored.
    loaded = load_checkpoint_file(path)['b']
    assert HistoryBuffer._statistics_methods == before
    assert buffer.statistics('mean') == 2.0
    assert loaded.statistics('mean') == 1.0
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


def test_another_thread_allow_listing_getattr_changes_nothing(tmp_path):
    """mixdet's allow-list is the loading thread's own: another thread
    adding the real getattr while loads run cannot get it admitted, and
    other threads' torch.load keeps torch's own list."""
    import threading

    from .test_compat import GetattrEscape

    escape = save_raw(tmp_path / 'escape.pth', {'m': GetattrEscape()})
    stop = threading.Event()

    def allow_list_getattr():
        while not stop.is_set():
            torch.serialization.add_safe_globals([getattr])
            torch.serialization.clear_safe_globals()

    thread = threading.Thread(target=allow_list_getattr)
    thread.start()
    try:
        for _ in range(300):
            with pytest.raises(pickle.UnpicklingError):
                load_checkpoint_file(escape)
    finally:
        stop.set()
        thread.join()
    torch.serialization.clear_safe_globals()
    # Outside mixdet's load, torch's own list applies as before.
    with torch.serialization.safe_globals([getattr, HistoryBuffer]):
        assert 'm' in torch.load(escape, weights_only=True)


@pytest.mark.slow
def test_escape_refused_under_every_hash_seed(tmp_path):
    from .test_compat import GetattrEscape

    escape = save_raw(tmp_path / 'escape.pth', {'m': GetattrEscape()})
    script = textwrap.dedent(f"""
        import pickle, torch
        import mixdet
        from mixdet.checkpoint import load_checkpoint_file
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


@pytest.mark.slow
def test_sigkill_during_save_leaves_the_last_checkpoint_whole(tmp_path):
    """A kill in the middle of a save: the previous checkpoint is still
    there, complete, and what --resume picks (that resuming from it gives
    the uninterrupted run's weights: test_tools.py)."""
    work_dir = tmp_path / 'atomic'
    kill_during_second_save(work_dir, 'AtomicCheckpointHook')
    found, note = find_resume_checkpoint(str(work_dir))
    assert found == str(work_dir / 'iter_2.pth') and note == ''
    assert is_complete_checkpoint(found)
    assert not (work_dir / 'iter_4.pth').exists()


@pytest.mark.slow
def test_mmengine_hook_loses_the_checkpoint_on_the_same_kill(tmp_path):
    """The same kill with mmengine's own hook: what the atomic hook fixes."""
    work_dir = tmp_path / 'plain'
    kill_during_second_save(work_dir, 'CheckpointHook')
    assert not (work_dir / 'iter_2.pth').exists()  # deleted before saving
    assert not is_complete_checkpoint(str(work_dir / 'iter_4.pth'))


def test_resume_skips_saves_cut_short(tmp_path, runner_checkpoint):
    data = open(runner_checkpoint, 'rb').read()
    for name in ('iter_2.pth', 'iter_4.pth'):
        (tmp_path / name).write_bytes(data)
    (tmp_path / 'iter_6.pth').write_bytes(data[: len(data) // 2])
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'iter_6.pth'))
    found, note = find_resume_checkpoint(str(tmp_path))
    assert found == str(tmp_path / 'iter_4.pth')
    assert 'cut short' in note and 'iter_6.pth' in note
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'gone.pth'))
    found, note = find_resume_checkpoint(str(tmp_path))
    assert found == str(tmp_path / 'iter_4.pth') and 'does not exist' in note


def test_resume_never_passes_a_whole_unreadable_checkpoint(
    tmp_path, runner_checkpoint
):
    """A complete file the loader refuses stops --resume: resuming from an
    older one, or afresh, would later overwrite it."""
    data = open(runner_checkpoint, 'rb').read()
    (tmp_path / 'iter_2.pth').write_bytes(data)
    evil = save_raw(
        tmp_path / 'iter_4.pth', {'meta': Reduce(os.system, ('true',))}
    )
    before = open(evil, 'rb').read()
    with pytest.raises(ResumeError, match='iter_4.pth cannot be read'):
        find_resume_checkpoint(str(tmp_path))
    assert open(evil, 'rb').read() == before
    # Only saves cut short: nothing to resume, and nothing starts either.
    os.remove(tmp_path / 'iter_2.pth')
    (tmp_path / 'iter_4.pth').write_bytes(data[:100])
    with pytest.raises(ResumeError, match='cut short'):
        find_resume_checkpoint(str(tmp_path))
    # An empty work dir starts afresh.
    found, note = find_resume_checkpoint(str(tmp_path / 'new'))
    assert found is None and 'starting afresh' in note


def test_legacy_format_checkpoint_resumes(tmp_path, runner_checkpoint):
    """torch.save(..., _use_new_zipfile_serialization=False): what the
    Runner and tools/test.py read, --resume reads too."""
    state = torch.load(runner_checkpoint, weights_only=False)
    legacy = tmp_path / 'iter_2.pth'
    torch.save(state, legacy, _use_new_zipfile_serialization=False)
    assert not is_complete_checkpoint(str(legacy))  # not a zip
    assert read_problem(str(legacy)) is None
    assert_same(load_checkpoint_file(str(legacy)), drop_config(state))
    assert find_resume_checkpoint(str(tmp_path)) == (str(legacy), '')
    resumed = make_runner(
        tmp_path / 'w', max_iters=4, resume=True, load_from=str(legacy)
    )
    resumed.train()
    straight = make_runner(tmp_path / 'straight', max_iters=4)
    straight.train()
    assert torch.equal(
        resumed.model.linear.weight, straight.model.linear.weight
    )


def test_train_tool_resume_refuses_before_writing(tmp_path, capsys):
    """tools/train.py --resume over an unreadable checkpoint exits 2 with
    one line and leaves the work dir as it was."""
    from .helpers import DEMO_CONFIG, load_tool

    work_dir = tmp_path / 'work'
    work_dir.mkdir()
    evil = save_raw(
        work_dir / 'epoch_1.pth', {'x': Reduce(os.system, ('true',))}
    )
    before = sorted(os.listdir(work_dir)), open(evil, 'rb').read()
    for resume in (['--resume'], ['--resume', evil]):
        code = load_tool('train.py').main(
            [DEMO_CONFIG, '--work-dir', str(work_dir), *resume]
        )
        err = capsys.readouterr().err
        assert code == 2 and 'epoch_1.pth' in err and 'cannot be read' in err
        assert len(err.strip().splitlines()) == 1
        assert (
            sorted(os.listdir(work_dir)),
            open(evil, 'rb').read(),
        ) == before


# --- config text: never executed, wherever mmengine / mmdet read it -------


def config_text_readers() -> set:
    """Every file of the installed mmengine, mmdet and mmcv that calls
    ``Config.fromstring`` (which executes Python), but its definition."""
    import mmcv
    import mmdet
    import mmengine

    found = set()
    for package in (mmengine, mmdet, mmcv):
        root = os.path.dirname(package.__file__)
        for folder, _, files in os.walk(root):
            for name in files:
                path = os.path.join(folder, name)
                if not name.endswith('.py') or '.mim' in path:
                    continue
                text = open(path, encoding='utf-8').read()
                if 'fromstring(' in text.replace('def fromstring(', ''):
                    found.add(os.path.relpath(path, os.path.dirname(root)))
    return found


def test_every_place_that_reads_config_text_is_covered():
    """The places mmengine / mmdet read config text from a checkpoint and
    run it; a new one in an upgrade fails here until CONFIG_TEXT_KEYS
    covers it."""
    from mixdet.checkpoint.safe_load import CONFIG_TEXT_KEYS

    assert config_text_readers() == {
        'mmengine/runner/runner.py',
        'mmengine/runner/_flexible_runner.py',
        'mmengine/infer/infer.py',
    }
    import mmengine

    root = os.path.dirname(mmengine.__file__)
    infer = open(os.path.join(root, 'infer', 'infer.py')).read()
    runner = open(os.path.join(root, 'runner', 'runner.py')).read()
    assert "checkpoint['message_hub']['runtime_info']['cfg']" in infer
    assert "meta['cfg']" in infer
    assert "checkpoint['meta']['config']" in runner
    assert set(CONFIG_TEXT_KEYS) == {
        ('meta', 'config'),
        ('meta', 'cfg'),
        ('message_hub', 'runtime_info', 'cfg'),
    }


def payload_checkpoint(tmp_path, runner_checkpoint, marker) -> str:
    """A real Runner checkpoint whose every config text creates ``marker``
    when executed."""
    checkpoint = torch.load(runner_checkpoint, weights_only=False)
    code = f"x = __import__('os').system('touch {marker}')"
    checkpoint['meta']['config'] = code
    checkpoint['meta']['cfg'] = code
    checkpoint['message_hub']['runtime_info']['cfg'] = code
    return save_raw(tmp_path / 'evil.pth', checkpoint)


def test_config_text_is_never_executed(tmp_path, runner_checkpoint):
    from mmdet.apis import DetInferencer

    marker = tmp_path / 'pwned'
    evil = payload_checkpoint(tmp_path, runner_checkpoint, marker)
    loaded = load_checkpoint_file(evil)
    assert 'config' not in loaded['meta'] and 'cfg' not in loaded['meta']
    assert 'cfg' not in loaded['message_hub']['runtime_info']
    # Runner.resume (meta['config']).
    runner = make_runner(
        tmp_path / 'w', max_iters=3, resume=True, load_from=evil
    )
    runner.train()
    assert runner.iter == 3
    # mmengine's "config from the checkpoint" inferencer path.
    with pytest.raises(ValueError, match='pass the config file'):
        DetInferencer(model=None, weights=evil)
    assert not marker.exists()


def test_resume_keeps_mmengines_gpu_count_check(tmp_path, runner_checkpoint):
    """The config text is never run, but the GPU ids mmengine's resume
    compares with the world size are kept (read as literals): a 4-GPU
    checkpoint is refused on one process as mmengine would refuse it."""
    marker = tmp_path / 'pwned'
    checkpoint = torch.load(runner_checkpoint, weights_only=False)
    checkpoint['meta']['config'] = (
        'gpu_ids = range(0, 4)\n'
        f"x = __import__('os').system('touch {marker}')\n"
    )
    path = save_raw(tmp_path / 'four_gpus.pth', checkpoint)
    assert load_checkpoint_file(path)['meta']['config'] == (
        'gpu_ids = [0, 1, 2, 3]\n'
    )
    runner = make_runner(
        tmp_path / 'w', max_iters=3, resume=True, load_from=path
    )
    with pytest.raises(RuntimeError, match='Number of GPUs'):
        runner.train()
    assert not marker.exists()


class LoopbackServer:
    """Serves one folder over http on 127.0.0.1 (a thread, stopped on exit)."""

    def __init__(self, folder):
        import functools
        import http.server
        import threading

        handler = functools.partial(
            http.server.SimpleHTTPRequestHandler, directory=str(folder)
        )
        handler.log_message = lambda *args: None
        self.server = http.server.ThreadingHTTPServer(
            ('127.0.0.1', 0), handler
        )
        self.url = f'http://127.0.0.1:{self.server.server_address[1]}'
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def test_http_checkpoints_go_through_the_same_loader(
    tmp_path, runner_checkpoint, monkeypatch
):
    """load_from / resume from an http URL: no config text runs, no pickle
    code runs (mmengine's own http path unpickles with weights_only=False)."""
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    served = tmp_path / 'served'
    served.mkdir()
    marker = tmp_path / 'pwned'
    evil = payload_checkpoint(served, runner_checkpoint, marker)
    save_raw(
        served / 'code.pth',
        {'state_dict': Reduce(os.system, (f'touch {marker}',))},
    )
    with LoopbackServer(served) as server:
        runner = make_runner(
            tmp_path / 'w',
            max_iters=3,
            resume=True,
            load_from=f'{server.url}/{os.path.basename(evil)}',
        )
        runner.train()
        assert runner.iter == 3
        with pytest.raises(pickle.UnpicklingError, match=r'\.system'):
            load_checkpoint(ToyModel(), f'{server.url}/code.pth')
    assert not marker.exists()


def test_every_mmengine_scheme_reads_through_mixdet():
    """Each scheme loader of mmengine's CheckpointLoader reads with its
    module's torch.load / load_url, which are mixdet's; and mmengine calls
    torch.load nowhere else."""
    import mmengine
    from mmengine.runner import checkpoint
    from mmengine.runner.checkpoint import CheckpointLoader

    from mixdet.checkpoint import load_checkpoint_url

    for prefix, loader in CheckpointLoader._schemes.items():
        assert loader.__globals__ is vars(checkpoint), prefix
    assert checkpoint.load_url is load_checkpoint_url
    assert checkpoint.torch.load.__module__ == 'mixdet.compat'
    assert checkpoint.torch.Tensor is torch.Tensor
    root = os.path.dirname(mmengine.__file__)
    callers = set()
    for folder, _, files in os.walk(root):
        for name in files:
            if name.endswith('.py'):
                path = os.path.join(folder, name)
                if 'torch.load(' in open(path, encoding='utf-8').read():
                    callers.add(os.path.relpath(path, root))
    # hub.py is load_url, replaced in the checkpoint module.
    assert callers == {'runner/checkpoint.py', 'utils/dl_utils/hub.py'}


# --- every checkpoint a stock mmengine Runner writes ----------------------


def assert_same(a, b, where='checkpoint'):
    """Deep equality of two loaded checkpoints (tensors, arrays, buffers,
    functions by identity)."""
    assert type(a) is type(b), (where, type(a), type(b))
    if isinstance(a, dict):
        assert list(a) == list(b), where
        for key in a:
            assert_same(a[key], b[key], f'{where}.{key}')
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f'{where}[{i}]')
    elif isinstance(a, torch.Tensor):
        assert torch.equal(a, b), where
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and np.array_equal(a, b), where
    elif isinstance(a, HistoryBuffer):
        assert_same(a.data, b.data, where)
        assert a.max_length == b.max_length, where
    elif isinstance(a, float) and np.isnan(a):
        assert np.isnan(b), where
    else:
        assert a == b, (where, a, b)


def drop_config(checkpoint):
    from mixdet.checkpoint import drop_config_text

    drop_config_text(checkpoint)
    return checkpoint


# Arguments that build each registered parameter scheduler; a scheduler
# added to mmengine fails the test until it is listed here.
SCHEDULER_ARGS = {
    'ConstantParamScheduler': dict(factor=0.5),
    'CosineAnnealingParamScheduler': dict(T_max=4),
    'ExponentialParamScheduler': dict(gamma=0.9),
    'LinearParamScheduler': dict(),
    'MultiStepParamScheduler': dict(milestones=[1, 2]),
    'OneCycleParamScheduler': dict(eta_max=0.5, total_steps=10),
    'PolyParamScheduler': dict(),
    'StepParamScheduler': dict(step_size=2),
    'CosineRestartParamScheduler': dict(
        periods=[2, 2], restart_weights=[1, 0.5], eta_min=0.0
    ),
    'ReduceOnPlateauParamScheduler': dict(monitor='loss'),
}


def registered_schedulers() -> dict:
    import mmengine.optim  # noqa: F401  (registers them)
    from mmengine.registry import PARAM_SCHEDULERS

    return dict(PARAM_SCHEDULERS.module_dict)


@pytest.mark.parametrize('name', sorted(registered_schedulers()))
def test_every_param_scheduler_state_loads_as_pickle_does(tmp_path, name):
    base = name
    for suffix in ('LR', 'Momentum'):
        base = base.removesuffix(suffix)
    base = base if base.endswith('ParamScheduler') else base + 'ParamScheduler'
    assert base in SCHEDULER_ARGS, f'no arguments known for {name}'
    kwargs = dict(SCHEDULER_ARGS[base])
    if name.endswith('ParamScheduler'):
        kwargs['param_name'] = 'lr'
    optimizer = torch.optim.SGD(nn_params(), lr=0.1, momentum=0.9)
    scheduler = registered_schedulers()[name](optimizer, **kwargs)
    for _ in range(3):
        optimizer.step()
        if 'ReduceOnPlateau' in name:
            scheduler.step({'loss': 1.0})
        else:
            scheduler.step()
    path = save_raw(
        tmp_path / 'sched.pth',
        {'param_schedulers': [scheduler.state_dict()], 'meta': {'iter': 3}},
    )
    assert_same(
        load_checkpoint_file(path), torch.load(path, weights_only=False)
    )


def nn_params():
    return [torch.nn.Parameter(torch.zeros(2))]


def test_one_cycle_runner_checkpoint_resumes(tmp_path, monkeypatch):
    """mmengine's OneCycle scheduler keeps its annealing function in its
    state: it loads as that function, never as a call, and the run resumes
    exactly as it does from torch.load(weights_only=False). (mmengine's
    OneCycle resume is not bit-identical to an uninterrupted run either
    way.)"""
    from mmengine.runner import checkpoint

    scheduler = dict(
        type='OneCycleLR', eta_max=0.2, total_steps=6, by_epoch=False
    )
    make_runner(tmp_path / 'a', max_iters=2, param_scheduler=scheduler).train()
    path = str(tmp_path / 'a' / 'iter_2.pth')
    state = load_checkpoint_file(path)
    assert_same(state, drop_config(torch.load(path, weights_only=False)))
    weights = []
    for name, load in [
        ('mixdet', checkpoint.torch.load),
        ('pickle', lambda f, map_location=None, **kw: torch.load(
            f, map_location=map_location, weights_only=False
        )),
    ]:  # fmt: skip
        monkeypatch.setattr(type(checkpoint.torch), 'load', staticmethod(load))
        resumed = make_runner(
            tmp_path / name,
            max_iters=6,
            resume=True,
            load_from=path,
            param_scheduler=scheduler,
        )
        resumed.train()
        weights.append(resumed.model.linear.weight.detach().clone())
    assert torch.equal(*weights)


def test_ema_and_numpy_runtime_info_load_as_pickle_does(tmp_path):
    """EMAHook's averaged model and numpy values in the message hub (as
    dataset metas and save_best records put there) load exactly."""
    runner = make_runner(
        tmp_path, max_iters=2, custom_hooks=[dict(type='EMAHook')]
    )
    runner.message_hub.update_info('classes_seen', np.arange(3))
    runner.message_hub.update_info('best_score', np.float32(0.5))
    runner.train()
    path = str(tmp_path / 'iter_2.pth')
    state = load_checkpoint_file(path)
    assert 'module.linear.weight' in state['ema_state_dict']
    assert_same(state, drop_config(torch.load(path, weights_only=False)))


def test_custom_history_statistics_load_by_name(tmp_path):
    """After HistoryBuffer.register_statistics, Runner checkpoints still
    load; the statistic is named in the file and never imported or run."""

    def weighted_mean(self, window_size):
        raise AssertionError('a checkpoint load must not call this')

    weighted_mean.__qualname__ = 'weighted_mean'
    weighted_mean.__module__ = __name__
    globals()['weighted_mean'] = weighted_mean
    methods = HistoryBuffer._statistics_methods
    saved = dict(methods)
    HistoryBuffer.register_statistics(weighted_mean)
    try:
        make_runner(tmp_path, max_iters=2).train()
        path = str(tmp_path / 'iter_2.pth')
        del methods['weighted_mean']  # a later process never registered it
        state = load_checkpoint_file(path)
        assert methods == saved
        assert_same(state, drop_config(torch.load(path, weights_only=False)))
    finally:
        methods.clear()
        methods.update(saved)
        globals().pop('weighted_mean', None)


def test_refusal_names_the_global_and_gives_working_advice(tmp_path):
    path = save_raw(tmp_path / 'x.pth', {'x': Reduce(os.system, ('true',))})
    with pytest.raises(CheckpointRefused) as info:
        load_checkpoint_file(path)
    text = str(info.value)
    assert 'os.system' in text or 'posix.system' in text
    assert 'add_safe_globals' not in text
    assert 'weights_only=False' in text


@pytest.mark.parametrize(
    'payload',
    [
        Reduce(bytearray, (1 << 40,)),  # 1 TiB from a 5-byte number
        Reduce(torch.FloatTensor, (1 << 20,)),  # leftover heap data
        Reduce(torch.UntypedStorage, (1 << 20,)),
        Reduce(torch.Tensor, (1 << 20,)),
        NewTensor(),
    ],
    ids=['bytearray', 'FloatTensor', 'UntypedStorage', 'Tensor', 'NEWOBJ'],
)
@pytest.mark.parametrize('legacy', [False, True], ids=['zip', 'legacy'])
def test_allocating_globals_are_refused_before_unpickling(
    tmp_path, payload, legacy
):
    path = tmp_path / 'bomb.pth'
    torch.save(
        {'state_dict': {}, 'meta': payload},
        path,
        _use_new_zipfile_serialization=not legacy,
    )
    with pytest.raises(CheckpointRefused, match='builds memory'):
        load_checkpoint_file(path)


def test_compressed_record_bomb_is_refused(tmp_path, runner_checkpoint):
    """A zip record that inflates far beyond its stored size (torch never
    compresses records) is refused before it is read."""
    import zipfile

    bomb = tmp_path / 'bomb.pth'
    with (
        zipfile.ZipFile(runner_checkpoint) as src,
        zipfile.ZipFile(bomb, 'w') as dst,
    ):
        for info in src.infolist():
            dst.writestr(info, src.read(info))
        prefix = src.namelist()[0].split('/')[0]
        dst.writestr(
            f'{prefix}/data/999',
            bytes(64 << 20),
            compress_type=zipfile.ZIP_DEFLATED,
        )
    with pytest.raises(CheckpointRefused, match='expands'):
        load_checkpoint_file(bomb)


def test_stand_ins_cannot_hide_in_sets_keys_or_tensor_hooks(tmp_path):
    from collections import OrderedDict

    hooked = Reduce(
        torch._utils._rebuild_parameter,
        (torch.zeros(2), False, OrderedDict([(0, HistoryBuffer)])),
    )
    ordered = OrderedDict(a=1)
    ordered.dtype = np.dtype('f4')  # pickled as the OrderedDict's state
    loaded = load_checkpoint_file(save_raw(tmp_path / 'od.pth', ordered))
    assert loaded.dtype == np.dtype('f4')  # converted, not left a stand-in
    for name, obj in {
        'set': {'s': {HistoryBuffer}},
        'key': {(1, np.dtype('f4')): 1},
        'hooks': {'w': hooked},
    }.items():
        path = save_raw(tmp_path / f'{name}.pth', obj)
        with pytest.raises(pickle.UnpicklingError):
            load_checkpoint_file(path)


def test_memory_error_is_one_line(tmp_path, runner_checkpoint, monkeypatch):
    """A load that runs out of memory (MemoryError has no message) is one
    ConfigError line, not an IndexError."""
    from mixdet.checkpoint import read
    from mixdet.cli import checkpoint_fit
    from mixdet.utils import ConfigError

    def out_of_memory(*args, **kwargs):
        raise MemoryError()

    monkeypatch.setattr(read, 'load_checkpoint_file', out_of_memory)
    with pytest.raises(ConfigError, match='MemoryError: no message'):
        checkpoint_fit.read_checkpoint(runner_checkpoint, 'checkpoint')


# --- the atomic hook in shared and odd work dirs ---------------------------


def atomic(**kwargs):
    return dict(
        type='AtomicCheckpointHook', interval=2, by_epoch=False, **kwargs
    )


def test_atomic_hook_writes_into_a_template_subfolder(tmp_path):
    work_dir = tmp_path / 'w'
    make_runner(
        work_dir,
        max_iters=4,
        checkpoint=atomic(filename_tmpl='ckpts/iter_{}.pth'),
    ).train()
    assert sorted(os.listdir(work_dir / 'ckpts')) == [
        'iter_2.pth',
        'iter_4.pth',
    ]
    assert (work_dir / 'last_checkpoint').read_text() == str(
        work_dir / 'ckpts' / 'iter_4.pth'
    )
    os.remove(work_dir / 'last_checkpoint')
    found, _ = find_resume_checkpoint(str(work_dir), str(work_dir / 'ckpts'))
    assert found == str(work_dir / 'ckpts' / 'iter_4.pth')


def dead_pid() -> int:
    code = 'import os; print(os.getpid())'
    proc = subprocess.run(
        [sys.executable, '-c', code], capture_output=True, text=True
    )
    return int(proc.stdout)


def test_atomic_hook_removes_only_leftovers_of_gone_writers(tmp_path):
    """Two runs in one work dir: a live writer's partial file stays; a
    killed writer's is removed at the next save."""
    import socket

    work_dir = tmp_path / 'w'
    work_dir.mkdir()
    host = socket.gethostname().split('.')[0]
    live = work_dir / f'.iter_2.pth.{host}-{os.getppid()}.part'
    dead = work_dir / f'.iter_2.pth.{host}-{dead_pid()}.part'
    other_host = work_dir / '.iter_2.pth.elsewhere-1.part'
    for path in (live, dead, other_host):
        path.write_bytes(b'half a checkpoint')
    make_runner(work_dir, max_iters=2, checkpoint=atomic()).train()
    assert live.exists() and other_host.exists() and not dead.exists()
    assert is_complete_checkpoint(str(work_dir / 'iter_2.pth'))


def test_failed_save_leaves_no_partial_file(tmp_path, monkeypatch):
    """A full disk: the save fails with its error and leaves nothing."""
    import errno

    from mmengine.runner import Runner

    def disk_full(self, out_dir, filename, *args, **kwargs):
        with open(os.path.join(out_dir, filename), 'wb') as f:
            f.write(b'PK\x03\x04 half')
        raise OSError(errno.ENOSPC, 'No space left on device')

    monkeypatch.setattr(Runner, 'save_checkpoint', disk_full)
    work_dir = tmp_path / 'w'
    with pytest.raises(OSError, match='No space left'):
        make_runner(work_dir, max_iters=2, checkpoint=atomic()).train()
    assert not [p for p in os.listdir(work_dir) if 'pth' in p]


def test_resume_ignores_other_runs_and_symlink_loops(
    tmp_path, runner_checkpoint
):
    """No last_checkpoint: only this work dir (and the hook's folder) is
    searched, not subfolders (another run's work dir), and a symlink loop
    cannot make it hang."""
    work_dir = tmp_path / 'w'
    (work_dir / 'other_run').mkdir(parents=True)
    data = open(runner_checkpoint, 'rb').read()
    (work_dir / 'other_run' / 'iter_8.pth').write_bytes(data)
    (work_dir / 'iter_2.pth').write_bytes(data)
    os.symlink(work_dir, work_dir / 'loop')
    os.symlink(work_dir / 'loop2', work_dir / 'loop1')
    os.symlink(work_dir / 'loop1', work_dir / 'loop2')
    found, _ = find_resume_checkpoint(str(work_dir))
    assert found == str(work_dir / 'iter_2.pth')


def test_sparse_tensor_out_of_its_shape_is_refused(tmp_path):
    """torch 2.13 loaded these unchecked (a later to_dense() writes out of
    bounds); mixdet checks them on every torch."""
    bad = torch.sparse_coo_tensor(
        torch.tensor([[0, 5_000_000]]),
        torch.tensor([1.0, 2.0]),
        (10,),
        check_invariants=False,
    )
    path = save_raw(tmp_path / 'sparse.pth', {'w': bad})
    with pytest.raises((CheckpointRefused, RuntimeError), match='indices'):
        load_checkpoint_file(path)


@pytest.mark.parametrize('epoch', [float('nan'), -1, True, '3'])
def test_resume_refuses_a_step_count_that_is_not_one(
    tmp_path, runner_checkpoint, epoch
):
    """meta.epoch = NaN made --resume exit 0 having trained nothing."""
    state = torch.load(runner_checkpoint, weights_only=False)
    state['meta']['epoch'] = epoch
    path = save_raw(tmp_path / 'iter_2.pth', state)
    assert "meta['epoch']" in read_problem(path)
    with pytest.raises(ResumeError, match='not a count'):
        find_resume_checkpoint(str(tmp_path))


def test_ddp_and_plain_keys_of_one_weight_are_refused(tmp_path):
    """'module.x' silently replaced 'x' (or the other way round)."""
    from mixdet.cli.checkpoint_fit import fitting_state_dict
    from mixdet.utils import ConfigError

    model = ToyModel()
    state = model.state_dict()
    state['module.linear.weight'] = torch.zeros_like(state['linear.weight'])
    path = save_raw(tmp_path / 'both.pth', {'state_dict': state})
    with pytest.raises(ConfigError, match="'module.linear.weight'"):
        fitting_state_dict(model, path, 'toy.py')


def test_seed_resumably_wraps_epoch_based_default_sampler_configs():
    from mmengine.config import Config

    from mixdet.engine import seed_resumably

    def config(**train_cfg):
        return Config(
            dict(
                train_dataloader=dict(
                    sampler=dict(type='DefaultSampler', shuffle=True),
                    dataset=dict(type='CocoDataset'),
                ),
                train_cfg=train_cfg,
            )
        )

    cfg = config(by_epoch=True, max_epochs=2)
    assert seed_resumably(cfg) and seed_resumably(cfg)  # idempotent
    loader = cfg.train_dataloader
    assert loader.sampler == dict(type='SeededSampler', shuffle=True)
    assert loader.dataset == dict(
        type='SeededDataset', dataset=dict(type='CocoDataset')
    )
    assert cfg.custom_hooks == [dict(type='SeededRandomnessHook')]
    assert cfg.train_cfg.type == 'ResumableEpochBasedTrainLoop'
    # Iteration-based loops and other samplers are left as they are.
    cfg = config(type='IterBasedTrainLoop', max_iters=10)
    assert not seed_resumably(cfg)
    assert cfg.train_dataloader.sampler.type == 'DefaultSampler'


def test_resume_refuses_a_bare_state_dict(tmp_path):
    """A plain state dict has no meta: Runner.resume would die on it."""
    path = save_raw(tmp_path / 'epoch_1.pth', ToyModel().state_dict())
    assert 'not a Runner checkpoint' in read_problem(path)
    with pytest.raises(ResumeError, match='epoch_1.pth cannot be read'):
        find_resume_checkpoint(str(tmp_path))


# What training scripts commonly keep in real checkpoints.
class Settings(NamedTuple):
    lr: float
    epochs: int


@dataclasses.dataclass
class Options:
    lr: float = 0.1


def test_plain_namespace_and_string_arrays_load(tmp_path):
    """A script's ``argparse.Namespace`` of plain values loads as one (an
    attribute bag), numpy string arrays and scalars as themselves."""
    import argparse

    classes = np.array(['cat', 'dog', 'bird'])
    args = argparse.Namespace(
        lr=0.1, name='run', sizes=[1, 2], nested={'a': 1}
    )
    path = save_raw(
        tmp_path / 'x.pth',
        {'meta': {'dataset_meta': {'classes': classes}, 'args': args,
                  'tag': np.str_('v1'), 'raw': np.array([b'ab', b'c'])}},
    )  # fmt: skip
    meta = load_checkpoint_file(path)['meta']
    assert meta['args'] == args and type(meta['args']) is argparse.Namespace
    assert meta['dataset_meta']['classes'].tolist() == ['cat', 'dog', 'bird']
    assert meta['tag'] == 'v1' and meta['raw'].tolist() == [b'ab', b'c']


@pytest.mark.parametrize(
    'value, name',
    [
        (Settings(0.1, 3), 'Settings'),
        (Options(), 'Options'),
        (None, 'Options'),  # an argparse.Namespace holding an Options
    ],
    ids=['namedtuple', 'dataclass', 'namespace holding an object'],
)
def test_other_objects_are_refused_by_name_with_advice(tmp_path, value, name):
    import argparse

    if value is None:
        value = argparse.Namespace(options=Options())
    path = save_raw(tmp_path / 'args.pth', {'state_dict': {}, 'args': value})
    with pytest.raises(CheckpointRefused) as info:
        load_checkpoint_file(path)
    text = str(info.value)
    assert path in text and f'{name}' in text
    assert 'weights_only=False' in text and 'plain.pth' in text
    # resume's reason keeps the whole advice
    problem = read_problem(path)
    assert problem.endswith('and use plain.pth')


def test_a_small_file_declaring_huge_storages_is_refused(tmp_path):
    """A legacy-format file of a few hundred bytes declaring 16 GiB: refused
    before torch allocates anything."""
    from collections import OrderedDict

    marker = object()

    class Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            if obj is marker:
                return (
                    'storage',
                    torch.FloatStorage,
                    '0',
                    'cpu',
                    1 << 32,
                    None,
                )
            return None

    tensor = Reduce(
        torch._utils._rebuild_tensor_v2,
        (marker, 0, (1 << 32,), (1,), False, OrderedDict()),
    )
    path = tmp_path / 'legacy.pth'
    with open(path, 'wb') as f:
        for head in (
            0x1950A86A20F9469CFC6C,
            1001,
            dict(protocol_version=1001, little_endian=True,
                 type_sizes=dict(short=2, int=4, long=4)),
        ):  # fmt: skip
            pickle.dump(head, f, protocol=2)
        Pickler(f, protocol=2).dump({'state_dict': {'w': tensor}})
        pickle.dump(['0'], f, protocol=2)
    assert os.path.getsize(path) < 1000
    with pytest.raises(CheckpointRefused, match='declaring 4294967296'):
        load_checkpoint_file(str(path))


def test_a_resumed_epoch_skips_only_what_it_can_tell():
    """The batches an iteration checkpoint trained are skipped as sampler
    indices only where batches take them in order; a grouping batch
    sampler (mmdet's AspectRatioBatchSampler) cannot say which it took,
    so the epoch restarts (with a line), except a finished one."""
    from mmdet.datasets.samplers import AspectRatioBatchSampler
    from torch.utils.data import DataLoader

    from mixdet.engine.resumable_loop import samples_to_skip

    class Images(list):
        def get_data_info(self, i):
            return dict(width=10 + i % 3, height=10)

    data = Images(range(20))
    plain = DataLoader(data, batch_size=4)
    assert samples_to_skip(plain, 2) == 8
    assert samples_to_skip(plain, 5) == 20  # the whole epoch
    sampler = torch.utils.data.SequentialSampler(data)
    grouped = DataLoader(
        data, batch_sampler=AspectRatioBatchSampler(sampler, batch_size=4)
    )
    assert samples_to_skip(grouped, 2) is None
    assert samples_to_skip(grouped, len(grouped)) == 20
