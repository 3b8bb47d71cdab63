"""ONNX export of SSDLite detectors: the file runs in onnxruntime and
matches PyTorch."""

import os
import subprocess
import sys

import pytest
import torch
from mmdet.registry import MODELS
from mmdet.utils import register_all_modules
from mmengine.config import Config

from mixdet import ops
from mixdet.deploy import (
    RawOutputs,
    export_onnx,
    fold_bn,
    onnx_max_diff,
)
from mixdet.models.layers import GroupedPointwiseConv2d, MixConv2d

from .helpers import DEMO_CONFIG, REPO_DIR, load_tool

pytest.importorskip('onnxruntime')

CONFIGS = [
    'configs/mixnet/ssdlite_mixnet-s_8xb24-600e_coco.py',
    'configs/mixconv_mobilenets/ssdlite_mobilenetv2-mixconv357_8xb24-600e_coco.py',
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
    diff, scale = onnx_max_diff(model, out, size=320)
    assert diff < 1e-4 and scale > 0
    assert os.listdir(tmp_path) == ['model.onnx']  # no temp files left


def test_fold_bn_removes_every_batchnorm_and_keeps_outputs():
    model = randomised(CONFIGS[0])
    x = torch.randn(1, 3, 192, 192)
    with torch.no_grad():
        expected = RawOutputs(model)(x)
    mixed = (MixConv2d, GroupedPointwiseConv2d)
    folded = fold_bn(model)
    assert not any(
        isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules()
    )
    assert sum(isinstance(m, mixed) for m in folded.modules()) > 30
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
    with torch.no_grad():
        for path in ('reference', 'fused'):
            with ops.prefer(mixconv=path, grouped_pointwise=path):
                outs = RawOutputs(folded)(x)
            for a, b in zip(outs, expected):
                torch.testing.assert_close(a, b, rtol=0, atol=1e-4)


def test_export_follows_the_rule_for_the_runtime_and_cpu(
    tmp_path, monkeypatch
):
    """Where a rule says fused (and where nothing was measured), one Conv
    node per conv module; where it says split, one Conv per group."""
    import onnx

    from mixdet.deploy import ExportRule, export_rule, export_rules

    split = ExportRule('onnxruntime', 'test-cpu', 0, 'grouped', 'test')
    monkeypatch.setattr(export_rules, 'EXPORT_RULES', (split,))
    model = randomised(CONFIGS[0])
    mixed = (MixConv2d, GroupedPointwiseConv2d)
    inside = {
        id(c) for m in model.modules() if isinstance(m, mixed) for c in m.convs
    }
    plain_convs = sum(
        isinstance(m, torch.nn.Conv2d) and id(m) not in inside
        for m in model.modules()
    )
    mixconvs = [m for m in model.modules() if isinstance(m, MixConv2d)]
    grouped = sum(
        isinstance(m, GroupedPointwiseConv2d) for m in model.modules()
    )

    def nodes(target):
        rule = export_rule('onnxruntime', target)
        path = str(tmp_path / f'{target}.onnx')
        out = export_onnx(model, path, 192, rule=rule)
        return [node.op_type for node in onnx.load(out).graph.node]

    ops_fused = nodes('unmeasured-cpu')
    assert ops_fused.count('Conv') == len(mixconvs) + grouped + plain_convs
    assert 'Split' not in ops_fused
    ops_plain = nodes('test-cpu')
    group_convs = sum(len(m.convs) for m in mixconvs)
    assert ops_plain.count('Conv') == group_convs + grouped + plain_convs
    assert ops_plain.count('Split') == len(mixconvs)


def export_cli(*args):
    return subprocess.run(
        [sys.executable, 'tools/deployment/export_onnx.py', *map(str, args)],
        cwd=REPO_DIR,
        capture_output=True,
        text=True,
    )


@pytest.mark.slow
def test_cli(tmp_path):
    out = tmp_path / 'ssdlite.onnx'
    old = os.umask(0o027)
    try:
        result = export_cli(CONFIGS[0], out, '--size', '192')
    finally:
        os.umask(old)
    assert result.returncode == 0, result.stderr[-2000:]
    assert 'max abs diff' in result.stdout and out.exists()
    assert 'random init: no checkpoint given' in result.stdout
    assert 'largest output' in result.stdout
    # quiet: no line per initialised parameter
    assert len((result.stdout + result.stderr).splitlines()) < 20
    assert os.stat(out).st_mode & 0o777 == 0o640  # the user's umask
    bad = export_cli(CONFIGS[0], tmp_path / 'missing.pth', tmp_path / 'x.onnx')
    assert bad.returncode == 2 and 'does not exist' in bad.stderr
    assert not (tmp_path / 'x.onnx').exists()


@pytest.mark.slow
def test_cli_refuses_a_checkpoint_of_another_num_classes(tmp_path):
    # a 4-class model (the demo's classes) against the 80-class config
    register_all_modules()
    cfg = Config.fromfile(os.path.join(REPO_DIR, CONFIGS[0]))
    cfg.model.bbox_head.num_classes = 4
    model = MODELS.build(cfg.model)
    checkpoint = tmp_path / 'four.pth'
    torch.save({'state_dict': model.state_dict()}, checkpoint)
    out = tmp_path / 'model.onnx'
    result = export_cli(CONFIGS[0], checkpoint, out, '--size', '128')
    assert result.returncode == 2, result.stderr[-2000:]
    err = result.stderr.strip().splitlines()
    assert len(err) == 1 and 'does not fit the model of' in err[0]
    assert 'bbox_head.cls_convs.0.1.bias: (30,) vs (486,)' in err[0]
    assert 'num_classes' in err[0] and not out.exists()
    fixed = export_cli(
        CONFIGS[0],
        checkpoint,
        out,
        '--size',
        '128',
        '--cfg-options',
        'model.bbox_head.num_classes=4',
    )
    assert fixed.returncode == 0, fixed.stderr[-2000:]
    assert f'weights: {checkpoint}' in fixed.stdout and out.exists()


@pytest.mark.slow
@pytest.mark.parametrize(
    'target,words',
    [
        ('existing', ['already exists', '--force']),
        ('directory', ['is a directory']),
        ('config', ['is also an input']),
    ],
)
def test_cli_refuses_outputs_it_must_not_write(tmp_path, target, words):
    out = tmp_path / 'model.onnx'
    config = CONFIGS[0]
    if target == 'existing':
        out.write_bytes(b'keep me')
    elif target == 'directory':
        out.mkdir()
    else:  # a config that happens to end in .onnx, given as the output
        out.write_text(open(os.path.join(REPO_DIR, CONFIGS[0])).read())
        config = str(out)
    force = ('--force',) if target == 'config' else ()
    result = export_cli(config, out, *force)
    assert result.returncode == 2, result.stderr[-2000:]
    for word in words:
        assert word in result.stderr
    if target == 'existing':
        assert out.read_bytes() == b'keep me'


def test_keep_ratio_configs_are_refused_not_stretched(tmp_path, capsys):
    """RetinaNet's test pipeline keeps the aspect ratio (1333x800): one
    square graph would see its images stretched. --end2end refuses in one
    line naming the Resize and the option; no file."""
    tool = load_tool('deployment', 'export_onnx.py')
    out = tmp_path / 'retinanet.onnx'
    config = os.path.join(
        REPO_DIR, 'configs/swap/retinanet_mixnet-m_fpn_1x_coco.py'
    )
    assert tool.main([config, str(out), '--end2end']) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and 'keeping the aspect ratio' in err[0]
    assert 'test_dataloader.dataset.pipeline.1.keep_ratio=False' in err[0]
    assert not out.exists()
    assert tool.main([config, str(out), '--size', '0']) == 2
    assert '--size 0: expected' in capsys.readouterr().err
    assert tool.main([config, str(out), '--opset', '3']) == 2
    assert '--opset 3: expected 11 to 21' in capsys.readouterr().err
    assert tool.main([config, str(out), '--mixconv-max-kernel', '-1']) == 2
    assert '--mixconv-max-kernel -1' in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.slow
def test_own_data_checkpoint_exports_without_options(tmp_path, capsys):
    """A checkpoint trained on 3 own classes (the demo config has 4): the
    export sizes the head from the checkpoint's classes, as tools/test.py
    and show_predictions.py do; the size is the test pipeline's."""
    register_all_modules()
    cfg = Config.fromfile(DEMO_CONFIG)
    cfg.model.bbox_head.num_classes = 3
    state = MODELS.build(cfg.model).state_dict()
    checkpoint = tmp_path / 'own.pth'
    meta = {'dataset_meta': {'classes': ('cat', 'dog', 'bird')}}
    torch.save({'state_dict': state, 'meta': meta}, checkpoint)
    tool = load_tool('deployment', 'export_onnx.py')
    out = tmp_path / 'own.onnx'
    code = tool.main([DEMO_CONFIG, str(checkpoint), str(out), '--end2end'])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert '1x3x192x192' in printed.out and out.exists()


def test_the_rule_line_names_only_what_the_model_has(tmp_path, capsys):
    tool = load_tool('deployment', 'export_onnx.py')
    config = os.path.join(
        REPO_DIR,
        'configs/mixconv_mobilenets/'
        'ssdlite_mobilenetv2-baseline3x3_8xb24-600e_coco.py',
    )
    out = tmp_path / 'plain.onnx'
    assert tool.main([config, str(out), '--size', '128']) == 0
    assert 'no MixConv or grouped 1x1 conv' in capsys.readouterr().out
