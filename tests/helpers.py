"""What several test modules share: paths, loading tool scripts and golden
files, and assertions on detectors and layers. (Fixtures are in
``conftest.py``.)"""

import copy
import importlib.util
import os
from types import ModuleType

import torch

from mixdet.testing import random_det_batch

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_DIR = os.path.dirname(TESTS_DIR)
GOLDEN_DIR = os.path.join(TESTS_DIR, 'data', 'golden')
DEMO_CONFIG = os.path.join(
    REPO_DIR, 'configs', 'demo', 'ssdlite_mixnet-s_1xb16-10e_shapes.py'
)


def load_tool(*parts: str) -> ModuleType:
    """Import a script under ``tools/`` (``load_tool('train.py')``)."""
    path = os.path.join(REPO_DIR, 'tools', *parts)
    spec = importlib.util.spec_from_file_location(parts[-1][:-3], path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def pip_install_into(target: str, packages: list[str]) -> str:
    """Install ``packages`` (exact pins, ``--no-deps``) into the folder
    ``target`` for a subprocess's PYTHONPATH, leaving the venv as it is."""
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, '-m', 'pip', 'install', '-q', '--no-deps',
         '--target', target, *packages],
        capture_output=True,
        text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    return target


def load_golden(name: str) -> dict:
    """A golden file, loaded safely (its torch_version is a TorchVersion)."""
    with torch.serialization.safe_globals([torch.torch_version.TorchVersion]):
        return torch.load(
            os.path.join(GOLDEN_DIR, f'{name}.pt'), weights_only=True
        )


def data_options(root: str) -> list[str]:
    """``--cfg-options`` pointing the demo config at a shapes dataset."""
    return [
        f'train_dataloader.dataset.dataset.data_root={root}',
        f'val_dataloader.dataset.data_root={root}',
        f'test_dataloader.dataset.data_root={root}',
        f'val_evaluator.ann_file={root}instances_val.json',
        f'test_evaluator.ann_file={root}instances_val.json',
    ]


def check_error(
    tmp_path, capsys, options, *words, extra=(), tool='train.py', args=()
) -> None:
    """``tool`` (tools/train.py; tools/test.py with ``args`` = the
    checkpoint) on the demo config with ``options`` exits 2, its error
    names every one of ``words``, and no work dir is created."""
    work_dir = tmp_path / 'work'
    code = load_tool(tool).main(
        [
            DEMO_CONFIG,
            *args,
            '--work-dir',
            str(work_dir),
            *extra,
            '--cfg-options',
            *options,
        ]
    )
    err = capsys.readouterr().err
    assert code == 2, err
    for word in words:
        assert word in err
    assert not work_dir.exists()


def check_missing_data_root(tmp_path, capsys) -> None:
    """tools/train.py on a data root that does not exist: one line, exit
    2, no work dir."""
    check_error(
        tmp_path,
        capsys,
        data_options(str(tmp_path / 'nope') + '/'),
        'data_root',
        'does not exist',
    )


def amp_loss_backward(
    model, num_classes: int, size: int = 320, dtype=torch.bfloat16
) -> None:
    """Loss + backward under CPU autocast: the loss is finite and close to
    the float32 loss on the same batch, and every gradient is finite and
    in its parameter's dtype.

    Two-stage detectors: mmcv's CPU RoIAlign and NMS have no bf16 kernels
    (its CUDA ones take half), so there only the backbone and neck run
    under autocast on CPU."""
    if getattr(model, 'roi_head', None) is not None:
        return _amp_features_backward(model, size, dtype)
    model.train()
    data = model.data_preprocessor(
        random_det_batch(2, size, num_classes, seed=2), training=True
    )
    with torch.no_grad():
        reference = float(model.parse_losses(model(**data, mode='loss'))[0])
    model.zero_grad()
    with torch.autocast('cpu', dtype=dtype):
        loss = model.parse_losses(model(**data, mode='loss'))[0]
    assert torch.isfinite(loss)
    assert abs(float(loss) - reference) <= 0.05 * abs(reference) + 0.05
    loss.backward()
    params = [p for p in model.parameters() if p.requires_grad]
    assert any(p.grad is not None for p in params)
    for p in params:
        if p.grad is not None:
            assert p.grad.dtype == p.dtype and torch.isfinite(p.grad).all()


def _amp_features_backward(model, size: int, dtype) -> None:
    g = torch.Generator().manual_seed(2)
    x = torch.randn(2, 3, size, size, generator=g)
    model.eval()  # BN on running statistics: a fair bf16 vs fp32 check
    with torch.no_grad():
        reference = [f.float() for f in model.extract_feat(x)]
        with torch.autocast('cpu', dtype=dtype):
            feats = model.extract_feat(x)
    for f, r in zip(feats, reference):
        assert f.dtype == dtype
        scale = float(r.abs().max())
        assert float((f.float() - r).abs().max()) <= 0.05 * scale + 1e-3
    model.train()
    model.zero_grad()
    with torch.autocast('cpu', dtype=dtype):
        feats = model.extract_feat(x)
    sum(f.float().square().mean() for f in feats).backward()
    for p in model.backbone.parameters():
        if p.requires_grad:
            assert p.grad is not None and p.grad.dtype == p.dtype
            assert torch.isfinite(p.grad).all()


def loss_backward_predict(model, num_classes: int, size: int = 320) -> list:
    """Run loss + backward and predict on a random batch; check the losses
    are finite and return the predictions."""
    model.train()
    data = model.data_preprocessor(
        random_det_batch(2, size, num_classes), training=True
    )
    total = model.parse_losses(model(**data, mode='loss'))[0]
    assert torch.isfinite(total)
    total.backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert any(g is not None and g.abs().sum() > 0 for g in grads)
    model.eval()
    data = model.data_preprocessor(
        random_det_batch(1, size, num_classes, seed=1), training=False
    )
    with torch.no_grad():
        results = model(**data, mode='predict')
    for result in results:
        pred = result.pred_instances
        n = len(pred)
        assert pred.bboxes.shape == (n, 4)
        assert pred.scores.shape == (n,) and pred.labels.shape == (n,)
        if n:
            assert (
                0 <= int(pred.labels.min())
                and int(pred.labels.max()) < num_classes
            )
    return results


def assert_same_outputs_and_grads(
    a: torch.nn.Module, b: torch.nn.Module, x: torch.Tensor, g: torch.Generator
) -> None:
    """Modules ``a`` and ``b`` holding the same parameters give the same
    output on ``x``, the same input and parameter gradients for a random
    output gradient, and the same output without autograd."""
    x1, x2 = x.clone().requires_grad_(), x.clone().requires_grad_()
    out1, out2 = a(x1), b(x2)
    torch.testing.assert_close(out1, out2, rtol=0, atol=1e-5)
    grad = torch.randn(out1.shape, generator=g)
    out1.backward(grad)
    out2.backward(grad)
    torch.testing.assert_close(x1.grad, x2.grad, rtol=0, atol=1e-5)
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert pa.shape == pb.shape
        torch.testing.assert_close(pa.grad, pb.grad, rtol=0, atol=1e-4)
    with torch.no_grad():  # inference (no autograd Function)
        torch.testing.assert_close(a(x), b(x), rtol=0, atol=1e-5)


class OnPath(torch.nn.Module):
    """A copy of ``module`` that always runs with ``ops.prefer(**paths)``
    (its own parameters, so gradients of two paths can be compared)."""

    def __init__(self, module: torch.nn.Module, **paths: str) -> None:
        super().__init__()
        self.module = copy.deepcopy(module)
        self.paths = paths

    def forward(self, *args):
        from mixdet import ops

        with ops.prefer(**self.paths):
            return self.module(*args)
