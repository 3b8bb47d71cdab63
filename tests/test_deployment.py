"""ONNX export of SSDLite detectors: the file runs in onnxruntime and
matches PyTorch."""

import os
import subprocess
import sys

import pytest
import torch
from conftest import REPO_DIR
from mmcv.cnn import fuse_conv_bn
from mmdet.registry import MODELS
from mmdet.utils import register_all_modules
from mmengine.config import Config

from mixdet.deployment import (
    RawOutputs,
    export_onnx,
    fuse_convs,
    onnx_max_diff,
)
from mixdet.models.layers import (
    GroupedPointwiseConv2d,
    MixConv2d,
    PointwiseConv2d,
)

pytest.importorskip('onnxruntime')

CONFIGS = [
    'configs/ssdlite/ssdlite_mixnet-s_8xb24-600e_coco.py',
    'configs/ssdlite/ssdlite_mobilenetv2-mixconv357_8xb24-600e_coco.py',
]


def randomised(config: str):
    """A detector with weights and BN statistics far from their init, so
    that its outputs are of order one (the init head gives ~0)."""
    register_all_modules()
    model = MODELS.build(Config.fromfile(os.path.join(REPO_DIR, config)).model)
    g = torch.Generator().manual_seed(0)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(
                torch.randn(m.num_features, generator=g) * 0.1
            )
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
        elif isinstance(m, torch.nn.Conv2d):
            fan_in = m.weight[0].numel()
            m.weight.data = (
                torch.randn(m.weight.shape, generator=g) / fan_in**0.5
            )
    return model.eval()


@pytest.mark.parametrize('config', CONFIGS)
def test_export_matches_pytorch(config, tmp_path):
    model = randomised(config)
    assert any(isinstance(m, MixConv2d) for m in model.modules())
    out = export_onnx(model, str(tmp_path / 'model.onnx'), size=320)
    with torch.no_grad():
        outs = RawOutputs(model)(torch.randn(1, 3, 320, 320))
    assert len(outs) == 12  # 6 levels x (scores, boxes)
    assert max(float(o.abs().max()) for o in outs) > 0.1  # not trivial
    assert onnx_max_diff(model, out, size=320) < 1e-4
    assert os.listdir(tmp_path) == ['model.onnx']  # no temp files left


def test_fuse_convs_gives_plain_convs_and_the_same_outputs():
    model = randomised(CONFIGS[0])
    x = torch.randn(1, 3, 192, 192)
    with torch.no_grad():
        expected = RawOutputs(model)(x)
    mixed = (MixConv2d, GroupedPointwiseConv2d)
    assert sum(isinstance(m, mixed) for m in model.modules()) > 30
    plain = fuse_convs(model)  # for export: nn.Conv2d only
    assert not any(
        isinstance(m, (*mixed, PointwiseConv2d)) for m in plain.modules()
    )
    gemm = fuse_convs(model, plain=False)  # for PyTorch: 1x1 GEMMs kept
    assert not any(isinstance(m, mixed) for m in gemm.modules())
    assert sum(isinstance(m, PointwiseConv2d) for m in gemm.modules()) > 30
    # BN folded into the GEMM 1x1 convs (they gain a bias) by mmcv
    folded = fuse_conv_bn(fuse_convs(model, plain=False))
    assert not any(
        isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules()
    )
    for fused, atol in ((plain, 1e-5), (gemm, 1e-5), (folded, 1e-4)):
        with torch.no_grad():
            for a, b in zip(RawOutputs(fused)(x), expected):
                torch.testing.assert_close(a, b, rtol=0, atol=atol)


def test_cli(tmp_path):
    out = tmp_path / 'ssdlite.onnx'
    result = subprocess.run(
        [
            sys.executable,
            'tools/deployment/export_onnx.py',
            CONFIGS[0],
            str(out),
            '--size',
            '192',
        ],
        cwd=REPO_DIR,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert 'max abs diff' in result.stdout and out.exists()
    bad = subprocess.run(
        [
            sys.executable,
            'tools/deployment/export_onnx.py',
            CONFIGS[0],
            str(tmp_path / 'missing.pth'),
            str(tmp_path / 'x.onnx'),
        ],
        cwd=REPO_DIR,
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and 'does not exist' in bad.stderr
    assert not (tmp_path / 'x.onnx').exists()
