"""tools/model_converters/timm2mixdet.py: timm weights -> Pretrained init."""

import os
import subprocess
import sys

import pytest
import torch

from mixdet.converters import ConversionError, convert_timm_mixnet
from mixdet.models.backbones import MixNet

from .helpers import REPO_DIR
from .seeded_weights import seeded_input, seeded_state_dict

TOOL = os.path.join(REPO_DIR, 'tools', 'model_converters', 'timm2mixdet.py')


def run_tool(*args):
    return subprocess.run(
        [sys.executable, TOOL, *map(str, args)],
        capture_output=True,
        text=True,
        cwd=REPO_DIR,
    )


@pytest.fixture(scope='module')
def golden(golden_file):
    return golden_file('tf_mixnet_s')


@pytest.mark.slow
def test_cli_output_loads_as_pretrained_and_matches_timm(tmp_path, golden):
    src, dst = tmp_path / 'tf_mixnet_s.pth', tmp_path / 'out' / 'mixnet-s.pth'
    # timm checkpoints come bare or wrapped; use a DataParallel-style one.
    weights = seeded_state_dict(golden['state_dict_shapes'])
    torch.save({'model': {f'module.{k}': v for k, v in weights.items()}}, src)
    result = run_tool(src, dst)
    assert result.returncode == 0, result.stderr
    assert 'MixNet-S' in result.stdout and "padding='same'" in result.stdout
    saved = torch.load(dst, weights_only=True)
    assert not any(k.startswith('classifier') for k in saved['state_dict'])

    # The printed hint, pasted into a config on top of SSDLite-MixNet-S.
    lines = result.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith('use'))
    assert 'ssdlite_mixnet-s_8xb24-600e_coco.py' in lines[start]
    base = os.path.join(
        REPO_DIR, 'configs/mixnet/ssdlite_mixnet-s_8xb24-600e_coco.py'
    )
    config = tmp_path / 'pasted.py'
    config.write_text(
        f'_base_ = {base!r}\n' + '\n'.join(lines[start + 1 :]) + '\n'
    )
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    from mmengine.config import Config

    register_all_modules()
    detector = MODELS.build(Config.fromfile(str(config)).model)
    detector.init_weights()
    model = detector.backbone
    model.out_indices = (2, 3, 4, 5)  # every level, as timm's features
    model.expansion_out_indices = ()
    model.eval()
    case = golden['cases'][1]
    shape = case['input_shape']
    x = seeded_input(shape[0], shape[2], shape[3], seed=case['input_seed'])
    with torch.no_grad():
        outs = model(x)
    expected = list(case['features'][2:]) + [case['forward_features']]
    for out, ref in zip(outs, expected):
        assert (out - ref).abs().max() < 1e-4


def _pasted_backbone(tmp_path, printed: str, arch: str):
    """The backbone of a config made of the converter's printed lines on
    top of a MixNet SSDLite config (MixNet-S's for XL, which has none),
    initialised as training would."""
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    from mmengine.config import Config

    lines = printed.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith('use'))
    name = arch if arch in ('s', 'm', 'l') else 's'
    assert arch != name or f'ssdlite_mixnet-{arch}_' in lines[start]
    base = os.path.join(
        REPO_DIR, f'configs/mixnet/ssdlite_mixnet-{name}_8xb24-600e_coco.py'
    )
    config = tmp_path / 'pasted.py'
    config.write_text(
        f'_base_ = {base!r}\n' + '\n'.join(lines[start + 1 :]) + '\n'
    )
    register_all_modules()
    cfg = Config.fromfile(str(config))
    backbone = MODELS.build(cfg.model.backbone)
    backbone.init_weights()
    return backbone


def max_error_to_timm(backbone, golden) -> float:
    """Largest difference between every level of ``backbone`` and timm's
    stored features (all cases of the golden file)."""
    backbone.out_indices = (1, 2, 3, 4, 5)  # every level, as timm's
    backbone.expansion_out_indices = ()
    backbone.eval()
    error = 0.0
    for case in golden['cases']:
        shape = case['input_shape']
        x = seeded_input(shape[0], shape[2], shape[3], seed=case['input_seed'])
        with torch.no_grad():
            outs = backbone(x)
        expected = list(case['features'][1:]) + [case['forward_features']]
        assert len(outs) == len(expected)
        for out, ref in zip(outs, expected):
            error = max(error, (out - ref).abs().max().item())
    return error


@pytest.mark.parametrize(
    'timm_model',
    ['mixnet_s', 'mixnet_m', 'mixnet_l', 'mixnet_xl']
    + ['tf_mixnet_s', 'tf_mixnet_m', 'tf_mixnet_l'],
)
def test_printed_lines_give_timms_outputs(
    tmp_path, golden_file, tool, capsys, timm_model
):
    """Every timm MixNet, converted and loaded with exactly the lines the
    converter prints, reproduces timm's outputs (BN eps 1e-5 for mixnet_*,
    'same' padding and eps 1e-3 for tf_mixnet_*)."""
    golden = golden_file(timm_model)
    src = tmp_path / f'{timm_model}-0123abcd.pth'  # as timm names them
    torch.save(seeded_state_dict(golden['state_dict_shapes']), src)
    dst = tmp_path / 'converted.pth'
    converter = tool('model_converters', 'timm2mixdet.py')
    assert converter.main([str(src), str(dst)]) == 0
    printed = capsys.readouterr().out
    arch = timm_model.rsplit('_', 1)[1]
    assert f'timm {timm_model}' in printed
    backbone = _pasted_backbone(tmp_path, printed, arch)
    assert max_error_to_timm(backbone, golden) < 1e-4
    meta = torch.load(dst, weights_only=True)['meta']
    assert meta['family'] == timm_model.rsplit('_', 1)[0]


def test_family_flag_overrides_the_file_name(tmp_path, golden, tool, capsys):
    """A hub file (no timm name) of TF weights: --family tf_mixnet prints
    the TF lines; without it, the PyTorch ones (and says it guessed)."""
    src = tmp_path / 'pytorch_model.bin'
    torch.save(seeded_state_dict(golden['state_dict_shapes']), src)
    converter = tool('model_converters', 'timm2mixdet.py')
    assert converter.main([str(src), str(tmp_path / 'a.pth')]) == 0
    guessed = capsys.readouterr().out
    assert 'from the file name; --family to choose' in guessed
    assert 'eps=1e-05' in guessed and "padding='same'" not in guessed
    args = [str(src), str(tmp_path / 'b.pth'), '--family', 'tf_mixnet']
    assert converter.main(args) == 0
    chosen = capsys.readouterr().out
    assert "padding='same'" in chosen and 'eps=0.001' in chosen
    assert (
        max_error_to_timm(_pasted_backbone(tmp_path, chosen, 's'), golden)
        < 1e-4
    )


def test_keep_classifier(tmp_path, golden):
    src, dst = tmp_path / 'a.pth', tmp_path / 'b.pth'
    torch.save(seeded_state_dict(golden['state_dict_shapes']), src)
    assert run_tool(src, dst, '--keep-classifier').returncode == 0
    saved = torch.load(dst, weights_only=True)['state_dict']
    assert saved['classifier.weight'].shape == (1000, 1536)


def test_unknown_keys_are_listed_and_nothing_written(tmp_path, golden):
    weights = seeded_state_dict(golden['state_dict_shapes'])
    weights['blocks.2.0.attn.weight'] = torch.zeros(1)
    weights['fc_extra.bias'] = torch.zeros(1)
    src, dst = tmp_path / 'a.pth', tmp_path / 'b.pth'
    torch.save(weights, src)
    result = run_tool(src, dst)
    assert result.returncode == 1
    assert 'blocks.2.0.attn.weight' in result.stderr
    assert 'fc_extra.bias' in result.stderr
    assert not dst.exists() and os.listdir(tmp_path) == ['a.pth']
    with pytest.raises(ConversionError, match='2 keys'):
        convert_timm_mixnet(weights)


def test_missing_keys_are_listed_and_nothing_written(tmp_path, golden):
    weights = seeded_state_dict(golden['state_dict_shapes'])
    del weights['blocks.3.1.conv_dw.0.weight']
    src, dst = tmp_path / 'a.pth', tmp_path / 'b.pth'
    torch.save(weights, src)
    result = run_tool(src, dst, '--arch', 's')
    assert result.returncode == 1
    # named as in the user's (timm) file, not by mixdet's keys
    assert '1 missing: blocks.3.1.conv_dw.0.weight' in result.stderr
    assert 'layer4' not in result.stderr
    assert not dst.exists()


def test_typo_and_wrong_shape_are_named_as_in_the_users_file(tmp_path, golden):
    weights = seeded_state_dict(golden['state_dict_shapes'])
    weights['blocks.1.0.conv_pw.0.weigth'] = weights.pop(
        'blocks.1.0.conv_pw.0.weight'
    )
    weights['conv_head.weight'] = torch.zeros(1536, 100, 1, 1)
    src, dst = tmp_path / 'a.pth', tmp_path / 'b.pth'
    torch.save(weights, src)
    result = run_tool(src, dst, '--arch', 's')
    assert result.returncode == 1
    assert '1 missing: blocks.1.0.conv_pw.0.weight' in result.stderr
    assert '1 unexpected: blocks.1.0.conv_pw.0.weigth' in result.stderr
    assert 'conv_head.weight: (1536, 100, 1, 1) vs (1536, 200, 1, 1)' in (
        result.stderr
    )
    assert not dst.exists()


def test_missing_source_file(tmp_path):
    result = run_tool(tmp_path / 'nope.pth', tmp_path / 'b.pth')
    assert result.returncode == 1 and 'does not exist' in result.stderr
    assert not (tmp_path / 'b.pth').exists()


@pytest.mark.slow
def test_arch_is_found_from_shapes(tmp_path, golden_file):
    for name, arch in (('mixnet_m', 'm'), ('mixnet_xl', 'xl')):
        weights = seeded_state_dict(golden_file(name)['state_dict_shapes'])
        torch.save(weights, tmp_path / f'{name}.pth')
        result = run_tool(tmp_path / f'{name}.pth', tmp_path / f'{arch}.pth')
        assert result.returncode == 0, result.stderr
        assert f"arch='{arch}'" in result.stdout
        model = MixNet(arch, out_indices=range(6))
        model.load_state_dict(
            torch.load(tmp_path / f'{arch}.pth', weights_only=True)[
                'state_dict'
            ]
        )


def test_output_file_handling(tmp_path, golden, capsys, tool):
    converter = tool('model_converters', 'timm2mixdet.py')

    def run(*args):
        code = converter.main([str(a) for a in args])
        return code, capsys.readouterr().err

    src = tmp_path / 'tf_mixnet_s.pth'
    torch.save(seeded_state_dict(golden['state_dict_shapes']), src)
    dst = tmp_path / 'mixnet-s.pth'
    old = os.umask(0o027)
    try:
        assert run(src, dst)[0] == 0
    finally:
        os.umask(old)
    assert os.stat(dst).st_mode & 0o777 == 0o640  # the user's umask
    # an existing output is replaced only with --force
    code, err = run(src, dst)
    assert code == 1 and '--force' in err
    assert run(src, dst, '--force')[0] == 0
    # never over the input, not even with --force
    code, err = run(src, src, '--force')
    assert code == 1 and 'input' in err
    assert torch.load(src, weights_only=True)  # untouched
    # a directory as output
    code, err = run(src, tmp_path)
    assert code == 1 and 'is a directory' in err
    # a text file as source: one line, nothing written
    text = tmp_path / 'notes.txt'
    text.write_text('hello')
    code, err = run(text, tmp_path / 'x.pth')
    assert code == 1 and 'not a readable PyTorch checkpoint' in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / 'x.pth').exists()
    assert not [p for p in os.listdir(tmp_path) if p.endswith('.part')]
