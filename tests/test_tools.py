"""tools/train.py and tools/test.py: checks, resume, distributed, metrics."""

import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
import torch

from mixdet.checkpoint import load_checkpoint_file
from mixdet.cli import check_config
from mixdet.testing.shapes import make_shapes_dataset

from .helpers import (
    DEMO_CONFIG,
    REPO_DIR,
    check_error,
    check_missing_data_root,
    data_options,
    load_tool,
)

train_tool = load_tool('train.py')


@pytest.fixture(scope='module')
def tiny_data(tmp_path_factory):
    """16 train / 8 val images of 96 px: enough to run the real pipeline."""
    root = tmp_path_factory.mktemp('data') / 'shapes'
    make_shapes_dataset(str(root), num_train=16, num_val=8, size=96, seed=3)
    return str(root) + '/'


def tiny_run_options(root: str, epochs: int) -> list[str]:
    return data_options(root) + [
        f'train_cfg.max_epochs={epochs}',
        f'train_cfg.val_interval={epochs}',
        'train_dataloader.batch_size=4',
        'train_dataloader.num_workers=1',
        'train_dataloader.persistent_workers=False',
        'val_dataloader.num_workers=0',
        'val_dataloader.persistent_workers=False',
        'val_dataloader.batch_size=8',
        'default_hooks.checkpoint.interval=1',
        'default_hooks.checkpoint.max_keep_ckpts=-1',
        'default_hooks.logger.interval=1',
        'randomness.seed=0',
        'randomness.deterministic=True',
        'param_scheduler.0.end=4',
        f'param_scheduler.1.T_max={epochs}',
        f'param_scheduler.1.end={epochs}',
    ]


# The same thread count in every run (the tools choose it from the idle
# cores otherwise): bit-identical weights need the same float sum order.
PINNED_THREADS = dict(os.environ, OMP_NUM_THREADS='2')


def run_train(work_dir, options, *extra, wait=True, env=None):
    cmd = [
        sys.executable,
        os.path.join(REPO_DIR, 'tools', 'train.py'),
        DEMO_CONFIG,
        '--work-dir',
        str(work_dir),
        *extra,
        '--cfg-options',
        *options,
    ]
    if not wait:
        return subprocess.Popen(
            cmd,
            cwd=REPO_DIR,
            env=PINNED_THREADS,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    return subprocess.run(
        cmd,
        cwd=REPO_DIR,
        capture_output=True,
        text=True,
        env=PINNED_THREADS if env is None else env,
    )


def final_weights(work_dir, epochs=None):
    """The weights of ``epoch_N.pth``, or of the last checkpoint."""
    path = (
        os.path.join(work_dir, f'epoch_{epochs}.pth')
        if epochs
        else open(os.path.join(work_dir, 'last_checkpoint')).read().strip()
    )
    return load_checkpoint_file(path)['state_dict']


@pytest.mark.slow
def test_resume_after_sigkill_is_bit_identical(tmp_path, tiny_data):
    """The demo pipeline (RandomFlip) in a persistent worker, a kill after
    an iteration checkpoint in the middle of an epoch: --resume neither
    replays the epoch's first iterations nor draws other flips."""
    epochs = 3  # 16 images / 4 a batch: 4 iterations an epoch
    options = tiny_run_options(tiny_data, epochs) + [
        'train_dataloader.persistent_workers=True',
        'default_hooks.checkpoint.by_epoch=False',
        'default_hooks.checkpoint.interval=3',
    ]
    straight = run_train(tmp_path / 'straight', options)
    assert straight.returncode == 0, straight.stderr[-3000:]

    crashed = tmp_path / 'crashed'
    proc = run_train(crashed, options, wait=False)
    deadline = time.time() + 240
    pointer = crashed / 'last_checkpoint'
    while not pointer.exists() or 'iter_6.pth' not in pointer.read_text():
        assert proc.poll() is None and time.time() < deadline
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)  # in epoch 2, after its 2nd iteration
    proc.wait()
    assert not (crashed / 'iter_12.pth').exists()
    # `--resume` with no path continues from the latest checkpoint.
    resumed = run_train(crashed, options, '--resume')
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    log = resumed.stdout + resumed.stderr
    assert 'resumed epoch: 1, iter: 6' in log
    # the rest of epoch 2 only: iterations 7 and 8, counted in the epoch
    assert 'Epoch(train) [2][3/4]' in log and 'Epoch(train) [2][4/4]' in log
    assert (
        'Epoch(train) [2][1/' not in log and 'Epoch(train) [2][2/' not in log
    )
    assert_same_weights(tmp_path / 'straight', crashed)


def assert_same_weights(a_dir, b_dir):
    a, b = final_weights(a_dir), final_weights(b_dir)
    assert list(a) == list(b)
    for key in a:
        assert torch.equal(a[key], b[key]), key


@pytest.mark.slow
def test_resume_at_an_epochs_end_trains_the_next_epoch(tmp_path, tiny_data):
    """An iteration checkpoint saved at an epoch's last iteration: the
    resumed run goes on with the next epoch (not the same one again) and
    ends where the uninterrupted run did, bit-identical, using the thread
    count kept in the checkpoint; resuming the finished run trains
    nothing."""
    import shutil

    epochs = 3  # 4 iterations an epoch: iter_8 ends epoch 2
    options = tiny_run_options(tiny_data, epochs) + [
        'default_hooks.checkpoint.by_epoch=False',
        'default_hooks.checkpoint.interval=4',
    ]
    straight = tmp_path / 'straight'
    one_thread = dict(PINNED_THREADS, OMP_NUM_THREADS='1')
    assert run_train(straight, options, env=one_thread).returncode == 0
    saved = load_checkpoint_file(str(straight / 'iter_8.pth'))['meta']
    assert saved['torch_threads'] == 1
    # as if killed right after iter_8.pth was written
    crashed = tmp_path / 'crashed'
    crashed.mkdir()
    shutil.copy(straight / 'iter_8.pth', crashed)
    (crashed / 'last_checkpoint').write_text(str(crashed / 'iter_8.pth'))
    free = {k: v for k, v in PINNED_THREADS.items() if k != 'OMP_NUM_THREADS'}
    resumed = run_train(crashed, options, '--resume', env=free)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    log = resumed.stdout + resumed.stderr
    if 'CPU threads: torch uses 2' in log:  # an idle machine
        assert (
            'resume: torch uses 1 CPU threads, as the run it continues' in log
        )
    assert 'Epoch(train) [2][' not in log
    assert 'Epoch(train) [3][1/4]' in log and 'Epoch(train) [3][4/4]' in log
    assert not (crashed / 'iter_16.pth').exists()
    assert_same_weights(straight, crashed)
    # a finished run, resumed: nothing more is trained
    again = run_train(straight, options, '--resume', env=one_thread)
    assert again.returncode == 0, again.stderr[-3000:]
    assert 'Epoch(train) [' not in again.stdout + again.stderr
    assert not (straight / 'iter_16.pth').exists()


@pytest.mark.slow
def test_mmengine_compile_trains_ssdlite_mixnet_s(tmp_path, tiny_data):
    """mmengine's ``compile`` (torch.compile of train_step) with mixdet's
    ops; the 'eager' backend keeps the CPU test short (dynamo tracing)."""
    options = tiny_run_options(tiny_data, 1) + [
        'compile.backend=eager',
        # one iteration (2 images): dynamo traces the loss per image
        'train_dataloader.batch_size=2',
        'train_dataloader.dataset.dataset.indices=2',
    ]
    done = run_train(tmp_path / 'compiled', options)
    assert done.returncode == 0, done.stderr[-3000:]
    log = done.stdout + done.stderr
    assert 'Epoch(train) [1][1/1]' in log and 'coco/bbox_mAP' in log
    weights = final_weights(tmp_path / 'compiled', 1)
    assert all(torch.isfinite(v).all() for v in weights.values())


@pytest.mark.slow
def test_distributed_two_ranks_stay_identical(tmp_path, tiny_data):
    config = tmp_path / 'dist.py'
    config.write_text(
        f'_base_ = {DEMO_CONFIG!r}\n'
        "custom_imports = dict(imports=['mixdet', 'tests.dist_hooks'])\n"
        "custom_hooks = [dict(type='DumpRankWeightsHook')]\n"
    )
    options = tiny_run_options(tiny_data, 1) + ['train_cfg.val_interval=100']
    env = dict(
        os.environ,
        PYTHON=sys.executable,
        PORT='29533',
        PYTHONPATH=REPO_DIR,
        OMP_NUM_THREADS='1',
    )
    result = subprocess.run(
        [
            'bash',
            os.path.join(REPO_DIR, 'tools', 'dist_train.sh'),
            str(config),
            '2',
            '--work-dir',
            str(tmp_path / 'work'),
            '--cfg-options',
            *options,
        ],
        cwd=REPO_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    log = result.stdout + result.stderr
    assert 'Distributed launcher: pytorch' in log
    assert 'GPU number: 2' in log  # mmengine's name for the world size
    w0 = torch.load(tmp_path / 'work' / 'weights_rank0.pth')
    w1 = torch.load(tmp_path / 'work' / 'weights_rank1.pth')
    assert list(w0) == list(w1)
    for key in w0:
        assert torch.equal(w0[key], w1[key]), key


def test_missing_data_root(tmp_path, capsys):
    check_missing_data_root(tmp_path, capsys)


def test_missing_annotation_file(tmp_path, capsys, tiny_data):
    root = tmp_path / 'copy'
    shutil.copytree(tiny_data, root)
    os.remove(root / 'instances_train.json')
    check_error(
        tmp_path,
        capsys,
        data_options(str(root) + '/'),
        'annotation file',
        'instances_train.json',
        'does not exist',
    )


def test_invalid_annotation_json(tmp_path, capsys, tiny_data):
    root = tmp_path / 'copy'
    shutil.copytree(tiny_data, root)
    (root / 'instances_train.json').write_text('{"images": [')
    check_error(
        tmp_path,
        capsys,
        data_options(str(root) + '/'),
        'instances_train.json',
        'not valid JSON',
    )
    (root / 'instances_train.json').write_text('{"images": []}')
    check_error(
        tmp_path, capsys, data_options(str(root) + '/'), 'not COCO format'
    )


def test_classes_do_not_match_num_classes(tmp_path, capsys, tiny_data):
    check_error(
        tmp_path,
        capsys,
        data_options(tiny_data) + ['model.bbox_head.num_classes=7'],
        '4 classes',
        'num_classes=7',
    )


def test_unknown_backbone_lists_ours(tmp_path, capsys, tiny_data):
    check_error(
        tmp_path,
        capsys,
        data_options(tiny_data) + ['model.backbone.type=MixNetXXL'],
        "'MixNetXXL'",
        'MixMobileNetV1',
        'MixMobileNetV2',
        'MixNet',
    )


def test_missing_config(tmp_path, capsys):
    code = train_tool.main([str(tmp_path / 'x.py')])
    assert code == 2 and 'does not exist' in capsys.readouterr().err


@pytest.mark.skipif(torch.cuda.is_available(), reason='needs a CPU-only host')
def test_amp_without_a_gpu_is_one_clear_error(tmp_path, capsys, tiny_data):
    check_error(
        tmp_path,
        capsys,
        data_options(tiny_data),
        '--amp needs a CUDA GPU',
        extra=('--amp',),
    )


@pytest.mark.parametrize('where', ['load_from', 'init_cfg'])
def test_missing_or_truncated_checkpoints_stop_before_work(
    tmp_path, capsys, tiny_data, where
):
    truncated = tmp_path / 'cut.pth'
    torch.save({'state_dict': {'w': torch.zeros(1000)}}, truncated)
    truncated.write_bytes(truncated.read_bytes()[:500])
    for path, words in (
        (tmp_path / 'nope.pth', ['does not exist']),
        (truncated, ['incomplete or damaged']),
    ):
        if where == 'load_from':
            options, key = [f'load_from={path}'], 'load_from'
        else:
            options = [
                'model.backbone.init_cfg.type=Pretrained',
                f'model.backbone.init_cfg.checkpoint={path}',
            ]
            key = 'model.backbone.init_cfg.checkpoint'
        check_error(
            tmp_path,
            capsys,
            data_options(tiny_data) + options,
            f'{key} {str(path)!r}',
            *words,
        )


def test_test_tool_refuses_a_checkpoint_that_does_not_fit(
    tmp_path, capsys, tiny_data
):
    # mmengine's Runner would load it non-strictly and evaluate a
    # half-random model
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    from mmengine.config import Config

    register_all_modules()
    cfg = Config.fromfile(DEMO_CONFIG)
    cfg.model.bbox_head.num_classes = 7
    checkpoint = tmp_path / 'seven.pth'
    torch.save(
        {'state_dict': MODELS.build(cfg.model).state_dict()}, checkpoint
    )
    check_error(
        tmp_path,
        capsys,
        data_options(tiny_data),
        'does not fit the model of',
        'wrong shape',
        'bbox_head.cls_convs.0.1.weight',
        tool='test.py',
        args=[str(checkpoint)],
    )


def _uncopyable(tensor, kind):
    """``tensor`` of the same shape in a form a model cannot copy in."""
    if kind == 'meta':
        return torch.empty(tensor.shape, device='meta')
    if kind == 'sparse':
        return tensor.to_sparse()
    if kind == 'quantized':
        return torch.quantize_per_tensor(tensor, 0.01, 0, torch.qint8)
    return tensor.to(torch.complex64)


UNCOPYABLE = ['meta', 'sparse', 'quantized', 'complex']


@pytest.mark.parametrize('kind', UNCOPYABLE)
def test_test_tool_refuses_weights_that_cannot_be_copied(
    tmp_path, capsys, tiny_data, kind
):
    """A weight of the right shape that cannot be copied in: mmengine only
    warns and evaluates the random init."""
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    from mmengine.config import Config

    register_all_modules()
    state = MODELS.build(Config.fromfile(DEMO_CONFIG).model).state_dict()
    key = 'bbox_head.cls_convs.0.1.weight'
    state[key] = _uncopyable(state[key], kind)
    checkpoint = tmp_path / f'{kind}.pth'
    torch.save({'state_dict': state}, checkpoint)
    check_error(
        tmp_path,
        capsys,
        data_options(tiny_data),
        'not plain dense tensors of a real dtype',
        key,
        tool='test.py',
        args=[str(checkpoint)],
    )
    # training from it (load_from) is refused too, before the work dir;
    # a head of another shape (fine-tuning to other classes) is not
    check_error(
        tmp_path,
        capsys,
        data_options(tiny_data) + [f'load_from={checkpoint}'],
        'load_from',
        'not plain dense tensors of a real dtype',
        key,
    )


COCO_CONFIG = os.path.join(
    REPO_DIR, 'configs', 'mixnet', 'ssdlite_mixnet-s_8xb24-600e_coco.py'
)


@pytest.mark.slow
def own_data_config(tiny_data, *options):
    """The COCO config on the tiny data, as tools/train.py builds it."""
    args = train_tool.parse_args(
        [
            COCO_CONFIG,
            '--data-root',
            tiny_data,
            '--train-ann',
            'instances_train.json',
            '--val-ann',
            'instances_val.json',
            *(['--cfg-options', *options] if options else []),
        ]
    )
    return train_tool.build_config(args)


def test_own_data_in_one_command(tmp_path, tiny_data):
    from mmdet.registry import DATASETS

    cfg = own_data_config(tiny_data)
    check_config(cfg, training=True)  # every path exists, classes match
    classes = ('ellipse', 'rectangle', 'triangle', 'cross')
    assert cfg.model.bbox_head.num_classes == 4
    assert cfg.val_evaluator.ann_file == tiny_data + 'instances_val.json'
    train = DATASETS.build(cfg.train_dataloader.dataset)  # RepeatDataset
    assert train.metainfo['classes'] == classes
    assert len(train) == 5 * 16
    val = DATASETS.build(cfg.val_dataloader.dataset)
    assert len(val) == 8 and val.metainfo['classes'] == classes


OWN_DATA = ['--data-root', '{root}', '--train-ann', 'instances_train.json',
            '--val-ann', 'instances_val.json']  # fmt: skip


@pytest.mark.parametrize(
    'extra, words',
    [
        (['--val-ann', 'instances_val.json'], ['need --data-root']),
        (['--data-root', '{root}'], ['--data-root needs --val-ann']),
        (
            [
                '--data-root',
                '{root}nope',
                '--val-ann',
                'v',
                '--train-ann',
                't',
            ],
            ['--data-root', 'does not exist'],
        ),
        (
            ['--data-root', '{root}', '--val-ann', 'instances_val.json'],
            ['--data-root needs --train-ann'],
        ),
        (
            [*OWN_DATA, '--classes', 'ellipse', 'circle'],
            ["--classes ['circle'] are not categories", "'rectangle'"],
        ),
        (
            [*OWN_DATA, '--classes', 'ellipse', 'ellipse'],
            ["--classes names ['ellipse'] more than once"],
        ),
    ],
)
def test_own_data_argument_errors(tmp_path, capsys, tiny_data, extra, words):
    work_dir = tmp_path / 'work'
    extra = [e.format(root=tiny_data) for e in extra]
    code = train_tool.main([COCO_CONFIG, '--work-dir', str(work_dir), *extra])
    err = capsys.readouterr().err
    assert code == 2
    for word in words:
        assert word in err
    assert not work_dir.exists()


def test_a_run_inside_its_warmup_is_warned_before_it_starts(
    tiny_data, capsys, monkeypatch
):
    monkeypatch.delenv('OMP_NUM_THREADS', raising=False)
    monkeypatch.setenv('OMP_WAIT_POLICY', 'PASSIVE')  # the tools' choice
    threads = torch.get_num_threads()
    try:
        # 16 images x 5 repeats / 24 a batch = 4 iterations an epoch
        cfg = own_data_config(tiny_data, 'train_cfg.max_epochs=2')
    finally:
        torch.set_num_threads(threads)
    out = capsys.readouterr().out
    assert (
        'this run trains 8 iterations (2 epochs x 4 iterations), but its '
        'learning-rate warmup ends at iteration 500 (param_scheduler.0.end)'
    ) in out
    assert 'train_cfg.max_epochs or train_dataloader.dataset.times' in out
    # CPU: torch gets every core, its threads waiting passively (as the
    # tools set OMP_WAIT_POLICY before torch loads), and says so
    cores = len(os.sched_getaffinity(0))
    line = f'CPU threads: torch uses {cores} ({cores} cores; its threads '
    assert line in out
    assert 'sleep while they wait' in out
    # the first loss line within a few iterations on a CPU
    assert cfg.default_hooks.logger.interval == 4
    # long enough: no warning; an interval the user sets stays
    cfg = own_data_config(
        tiny_data,
        'train_cfg.max_epochs=200',
        'default_hooks.logger.interval=50',
    )
    assert 'warmup' not in capsys.readouterr().out
    assert cfg.default_hooks.logger.interval == 50


def test_threads_the_user_chose_are_left_alone(tiny_data, capsys, monkeypatch):
    monkeypatch.setenv('OMP_NUM_THREADS', '2')
    own_data_config(tiny_data, 'train_cfg.max_epochs=200')
    assert 'CPU threads' not in capsys.readouterr().out


def test_a_config_without_a_logger_hook_keeps_none():
    from mmengine.config import Config

    from mixdet.cli import run_plan

    cfg = Config(dict(train_cfg=dict(max_epochs=1)))
    assert run_plan.cpu_log_interval(cfg) is None
    run_plan.plan_training(cfg, None)  # sets nothing, raises nothing
    assert 'default_hooks' not in cfg


def test_threads_are_the_cores_other_work_leaves(monkeypatch):
    from mixdet.cli import run_plan

    monkeypatch.delenv('OMP_NUM_THREADS', raising=False)
    monkeypatch.setenv('OMP_WAIT_POLICY', 'ACTIVE')  # spinning threads
    monkeypatch.setattr(os, 'sched_getaffinity', lambda pid: {0, 1, 2, 3})
    for busy, threads in ((0.1, 4), (1.6, 2), (3.9, 1), (8.0, 1)):
        monkeypatch.setattr(run_plan, 'busy_cores', lambda b=busy: b)
        assert run_plan.cpu_threads()[0] == threads
    busy = run_plan.busy_cores(0.05)  # read off this machine
    assert busy is not None and 0 <= busy <= os.cpu_count() + 0.01


def test_browse_dataset_draws_each_image_once_and_ends(tiny_data, tmp_path):
    """Repeated 5 times, as the SSDLite configs repeat theirs: the browser
    draws the 16 images once each, with their boxes, and ends."""
    browse = load_tool('misc', 'browse_dataset.py')
    out = tmp_path / 'vis'
    options = data_options(tiny_data) + ['train_dataloader.dataset.times=5']
    code = browse.main(
        [DEMO_CONFIG, '--output-dir', str(out), '--num', '100',
         '--cfg-options', *options]
    )  # fmt: skip
    assert code == 0
    drawn = sorted(os.listdir(out))
    assert len(drawn) == 16
    assert all(name.endswith('.jpg') for name in drawn)
    # again: only with --force; never into the dataset's own image folder
    args = [DEMO_CONFIG, '--output-dir', str(out), '--num', '100',
            '--cfg-options', *options]  # fmt: skip
    assert browse.main(args) == 1
    assert browse.main(args + ['--force']) == 0
    images = os.path.join(tiny_data, 'train')
    before = {n: os.path.getmtime(os.path.join(images, n))
              for n in os.listdir(images)}  # fmt: skip
    args[2] = images
    assert browse.main(args + ['--force']) == 1
    assert before == {n: os.path.getmtime(os.path.join(images, n))
                      for n in os.listdir(images)}  # fmt: skip


@pytest.mark.parametrize(
    'option, words',
    [
        ('train_cfg.max_epochs=nan',
         'train_cfg.max_epochs=nan: expected a whole number >= 1'),
        ('train_cfg.max_epochs=inf', 'train_cfg.max_epochs=inf'),
        ('train_cfg.max_epochs=0', 'train_cfg.max_epochs=0'),
        ('train_cfg.max_epochs=-1', 'train_cfg.max_epochs=-1'),
        ('train_dataloader.batch_size=0', 'train_dataloader.batch_size=0'),
        ('train_dataloader.dataset.times=0',
         'train_dataloader.dataset.times=0'),
        ('param_scheduler.0.end=nan', 'param_scheduler.0.end=nan'),
        ('optim_wrapper.optimizer.lr=inf',
         'optim_wrapper.optimizer.lr=inf: expected a finite number > 0'),
        ('test_dataloader.dataset.pipeline.1.scale=(40000,40000)',
         'expected sides from 1 to 8192'),
    ],
)  # fmt: skip
def test_numbers_that_are_not_numbers_are_one_error(
    tmp_path, capsys, tiny_data, option, words
):
    """Each number the tools read, refused in one line before the work dir
    (a traceback, "-2 iterations" with exit 0, NaN checkpoints or a 4.8 GB
    allocation otherwise)."""
    check_error(tmp_path, capsys, data_options(tiny_data) + [option], words)


def test_tools_wait_passively_and_take_every_core(monkeypatch):
    """tools/train.py and tools/test.py set OMP_WAIT_POLICY=PASSIVE before
    anything loads torch (so OpenMP reads it); with it, every core is
    torch's, however busy the machine is when the run starts."""
    import ast

    from mixdet.cli import run_plan

    for name in ('train.py', 'test.py'):
        tree = ast.parse(open(os.path.join(REPO_DIR, 'tools', name)).read())
        body = [n for n in tree.body if not isinstance(n, ast.Expr)
                or 'OMP_WAIT_POLICY' in ast.unparse(n)]  # fmt: skip
        first = next(
            i
            for i, n in enumerate(body)
            if 'OMP_WAIT_POLICY' in ast.unparse(n)
        )
        imported = [ast.unparse(n) for n in body[:first]]
        assert imported == ['import os'], (name, imported)
    monkeypatch.delenv('OMP_NUM_THREADS', raising=False)
    monkeypatch.setenv('OMP_WAIT_POLICY', 'PASSIVE')
    monkeypatch.setattr(os, 'sched_getaffinity', lambda pid: {0, 1, 2, 3})
    monkeypatch.setattr(run_plan, 'busy_cores', lambda: 3.9)
    threads, why = run_plan.cpu_threads()
    assert threads == 4 and 'sleep while they wait' in why


def test_every_flag_of_every_tool_has_help():
    import ast
    import glob

    bare = []
    files = glob.glob(
        os.path.join(REPO_DIR, 'tools', '**', '*.py'), recursive=True
    )
    files += glob.glob(os.path.join(REPO_DIR, 'mixdet', 'cli', '*.py'))
    for path in files:
        for node in ast.walk(ast.parse(open(path).read())):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, 'attr', '') == 'add_argument'
                and not any(k.arg == 'help' for k in node.keywords)
            ):
                rel = os.path.relpath(path, REPO_DIR)
                bare.append(f'{rel}:{node.lineno}')
    assert not bare, bare


def test_no_tool_is_named_like_a_test_file():
    import glob

    tools = os.path.join(REPO_DIR, 'tools', '**', '*.py')
    named = [
        p
        for p in glob.glob(tools, recursive=True)
        if os.path.basename(p).startswith('test_')
    ]
    assert not named, named
