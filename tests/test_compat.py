"""The upstream fixes: safe Runner checkpoints and mmdet's SSDHead."""

import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.logging import HistoryBuffer
from mmengine.model import BaseModel
from mmengine.runner import Runner, load_checkpoint
from torch import nn
from torch.utils.data import Dataset

import mixdet  # noqa: F401  (applies the fixes)
from mixdet.checkpoint import load_checkpoint_file

from .helpers import loss_backward_predict


class ToyModel(BaseModel):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(4, 1)

    def forward(self, inputs, targets=None, mode='tensor'):
        out = self.linear(inputs)
        if mode == 'loss':
            return dict(loss=((out - targets) ** 2).mean())
        return out


class ToyData(Dataset):
    def __len__(self):
        return 8

    def __getitem__(self, index):
        g = torch.Generator().manual_seed(index)
        return dict(
            inputs=torch.randn(4, generator=g),
            targets=torch.randn(1, generator=g),
        )


def make_runner(work_dir, max_iters, checkpoint=None, **kwargs):
    torch.manual_seed(0)  # the same initial weights for every run
    kwargs.setdefault(
        'param_scheduler',
        dict(
            type='LinearLR', start_factor=0.5, by_epoch=False, begin=0, end=3
        ),
    )
    return Runner(
        model=ToyModel(),
        work_dir=str(work_dir),
        train_dataloader=dict(
            dataset=ToyData(),
            sampler=dict(type='DefaultSampler', shuffle=False),
            batch_size=2,
            collate_fn=dict(type='default_collate'),
        ),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9)),
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        default_hooks=dict(
            checkpoint=checkpoint
            or dict(type='CheckpointHook', interval=2, by_epoch=False)
        ),
        randomness=dict(seed=0),
        **kwargs,
    )


def test_runner_checkpoint_loads_and_restores_a_runner(tmp_path):
    runner = make_runner(tmp_path / 'a', max_iters=4)
    runner.train()
    path = str(tmp_path / 'a' / 'iter_4.pth')
    checkpoint = load_checkpoint_file(path)
    buffer = next(iter(checkpoint['message_hub']['log_scalars'].values()))
    assert type(buffer) is HistoryBuffer
    assert type(buffer._log_history) is np.ndarray
    # torch.load itself is as without mixdet: it refuses the numpy data.
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path)
    model = ToyModel()
    load_checkpoint(model, path)
    assert torch.equal(model.linear.weight, runner.model.linear.weight)

    resumed = make_runner(
        tmp_path / 'b',
        max_iters=6,
        resume=True,
        load_from=str(tmp_path / 'a' / 'iter_2.pth'),
    )
    resumed.load_or_resume()  # through mixdet's loader
    assert resumed.iter == 2
    assert torch.equal(
        resumed.model.linear.weight,
        load_checkpoint_file(str(tmp_path / 'a' / 'iter_2.pth'))['state_dict'][
            'linear.weight'
        ],
    )


class Exploit:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (os.system, (f'touch {self.path}',))


def test_malicious_checkpoint_is_refused(tmp_path):
    marker = tmp_path / 'pwned'
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'meta': Exploit(marker)}, path)
    with pytest.raises(pickle.UnpicklingError):
        load_checkpoint(ToyModel(), str(path))
    runner = make_runner(tmp_path / 'w', max_iters=1, load_from=str(path))
    with pytest.raises(pickle.UnpicklingError):
        runner.load_or_resume()
    assert not marker.exists()


class GetattrEscape:
    """Tries to reach a module's globals through an allowed class."""

    def __reduce__(self):
        from mmengine.logging.history_buffer import HistoryBuffer

        return (getattr, (HistoryBuffer, '__init__'))


def test_getattr_is_limited_to_history_buffer_methods(tmp_path):
    path = tmp_path / 'escape.pth'
    torch.save({'state_dict': {}, 'meta': GetattrEscape()}, path)
    with pytest.raises(pickle.UnpicklingError, match='getattr'):
        load_checkpoint_file(path)


def test_mmdet_ssdlite_mobilenetv2_config_trains_and_predicts():
    import mmdet
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules

    register_all_modules()
    path = os.path.join(
        os.path.dirname(mmdet.__file__),
        '.mim',
        'configs',
        'ssd',
        'ssdlite_mobilenetv2-scratch_8xb24-600e_coco.py',
    )
    model = MODELS.build(Config.fromfile(path).model)
    model.init_weights()
    loss_backward_predict(model, num_classes=80)


def test_every_fix_is_listed_gated_and_applied_here():
    from mixdet import compat

    present = [f for f in compat.FIXES if compat.installed(f.package)]
    assert compat.applied() == [fix.name for fix in present]
    for fix in present:
        assert compat.applies_to(fix)  # the versions installed here
        gated = fix._replace(versions='<0.0.1')
        assert not compat.applies_to(gated)


def run_python(code: str, **env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, '-c', code],
        capture_output=True,
        text=True,
        env=dict(os.environ, **env),
    )


@pytest.mark.slow
def test_fixes_can_be_turned_off_and_bad_names_are_refused():
    code = (
        'import mixdet, mixdet.compat as c\n'
        'from mmdet.models.dense_heads import SSDHead\n'
        'print(c.applied(), hasattr(SSDHead.__init__, "_mixdet_fixed"))'
    )
    off = run_python(code, MIXDET_DISABLE_FIXES='ssd_head_loss_cls')
    assert off.returncode == 0, off.stderr
    assert "'ssd_head_loss_cls'" not in off.stdout
    assert "'checkpoint_loads'" in off.stdout
    assert off.stdout.strip().endswith('False')  # mmdet left as shipped
    none = run_python(code, MIXDET_DISABLE_FIXES='all')
    assert none.stdout.startswith('[] False'), none.stderr
    bad = run_python(code, MIXDET_DISABLE_FIXES='ssd_head')
    assert bad.returncode != 0
    assert "unknown fixes ['ssd_head']" in bad.stderr
    assert 'ssd_head_loss_cls' in bad.stderr.splitlines()[-1]


def test_a_fix_for_other_versions_is_not_applied_and_says_so(monkeypatch):
    from mixdet import compat

    calls = []
    fix = compat.Fix('probe', 'mmdet', '<3.0', lambda: calls.append(1))
    monkeypatch.setattr(compat, 'FIXES', (fix,))
    monkeypatch.setattr(compat, '_done', False)
    monkeypatch.setattr(compat, '_applied', [])
    with pytest.warns(UserWarning, match=r"fix 'probe' is for mmdet<3.0"):
        compat.apply()
    assert calls == [] and compat.applied() == []


def test_pkg_resources_warning_is_quiet_for_mmengine_only():
    """mmengine's is_installed no longer warns about pkg_resources; another
    package's import of it still does (no process-wide filter)."""
    import subprocess
    import sys

    code = (
        'import warnings\n'
        'import mixdet\n'
        'from mmengine.config import config\n'
        'with warnings.catch_warnings(record=True) as caught:\n'
        "    warnings.simplefilter('always')\n"
        "    config.is_installed('mmdet')\n"
        '    quiet = [str(w.message) for w in caught]\n'
        'with warnings.catch_warnings(record=True) as caught:\n'
        "    warnings.simplefilter('always')\n"
        '    import importlib, pkg_resources\n'
        '    importlib.reload(pkg_resources)\n'
        '    loud = [str(w.message) for w in caught]\n'
        "print(any('pkg_resources is deprecated' in m for m in quiet),\n"
        "      any('pkg_resources is deprecated' in m for m in loud))\n"
    )
    out = subprocess.run(
        [sys.executable, '-c', code], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ['False', 'True']
