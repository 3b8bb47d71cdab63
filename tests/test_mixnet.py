"""MixNet backbone: timm parity, paper sizes, the mmdet backbone contract."""

import subprocess
import sys
import textwrap

import pytest
import torch

from mixdet.analysis.complexity import count_madds
from mixdet.analysis.paper import TABLE2
from mixdet.converters import convert_timm_mixnet
from mixdet.models.backbones import MixNet

from .helpers import REPO_DIR
from .seeded_weights import seeded_input, seeded_state_dict

GOLDEN = [
    'mixnet_s',
    'mixnet_m',
    'mixnet_l',
    'mixnet_xl',
    'tf_mixnet_s',
    'tf_mixnet_m',
    'tf_mixnet_l',
]
ALL_OUTPUTS = (0, 1, 2, 3, 4, 5)


def mixnet_for(timm_name: str, **kwargs) -> MixNet:
    """The mixdet MixNet configured like a timm model."""
    tf = timm_name.startswith('tf_')
    return MixNet(
        arch=timm_name.split('_')[-1],
        padding='same' if tf else 'symmetric',
        norm_cfg=dict(type='BN', eps=1e-3 if tf else 1e-5),
        **kwargs,
    )


@pytest.mark.parametrize('name', GOLDEN)
def test_parity_with_timm_golden_outputs(name, golden_file):
    golden = golden_file(name)
    timm_weights = seeded_state_dict(golden['state_dict_shapes'])
    weights = convert_timm_mixnet(timm_weights, keep_classifier=True)
    classifier = {
        k[len('classifier.') :]: weights.pop(k)
        for k in list(weights)
        if k.startswith('classifier.')
    }
    model = mixnet_for(name, out_indices=ALL_OUTPUTS).eval()
    model.load_state_dict(weights, strict=True)
    fc = torch.nn.Linear(1536, 1000)
    fc.load_state_dict(classifier)
    assert [f['num_chs'] for f in golden['feature_info']] == list(
        model.stage_channels[:5]
    )
    for case in golden['cases']:
        x = seeded_input(
            *case['input_shape'][:1],
            *case['input_shape'][2:],
            seed=case['input_seed'],
        )
        with torch.no_grad():
            outs = model(x)
            logits = fc(outs[-1].mean((2, 3)))
        expected = list(case['features']) + [case['forward_features']]
        assert len(outs) == len(expected)
        for out, ref in zip(outs, expected):
            assert out.shape == ref.shape
            assert (out - ref).abs().max() < 1e-4
        assert (logits - case['logits']).abs().max() < 1e-4


def test_live_parity_with_timm_on_random_weights():
    timm = pytest.importorskip('timm')
    for name in ('mixnet_s', 'tf_mixnet_m'):
        ref = timm.create_model(name, pretrained=False).eval()
        model = mixnet_for(name, out_indices=ALL_OUTPUTS).eval()
        model.load_state_dict(convert_timm_mixnet(ref.state_dict()))
        x = torch.randn(1, 3, 67, 83)
        with torch.no_grad():
            torch.testing.assert_close(
                model(x)[-1], ref.forward_features(x), rtol=0, atol=1e-4
            )


@pytest.mark.parametrize(
    'arch,params', [('s', 4_134_606), ('m', 5_014_382), ('l', 7_329_252)]
)
def test_params_match_timm_and_paper(arch, params):
    model = MixNet(arch, out_indices=ALL_OUTPUTS)
    classifier = 1536 * 1000 + 1000
    total = sum(p.numel() for p in model.parameters()) + classifier
    assert total == params
    paper = {'s': 4.1e6, 'm': 5.0e6, 'l': 7.3e6}[arch]
    assert abs(total - paper) / paper < 0.01


@pytest.mark.parametrize('arch', ['s', 'm', 'l'])
def test_madds_match_paper(arch):
    # counted as the paper does: MixConv and grouped 1x1 convs by their
    # groups (not by the fused paths' padded / block-diagonal weights);
    # Table 2's FLOPs include norms and pooling (convs only: -6.6%, -5.8%,
    # -1.7%)
    model = MixNet(arch, out_indices=(5,))
    classifier = 1536 * 1000
    madds = count_madds(model, 224, convs_only=False) + classifier
    paper = TABLE2[arch][1]
    assert abs(madds - paper) / paper < 0.025  # -1.7%, -1.2%, +2.1%


def test_stage_channels_and_strides():
    model = MixNet('l', out_indices=ALL_OUTPUTS).eval()
    assert model.stage_channels == (32, 40, 56, 160, 264, 1536)
    outs = model(torch.randn(1, 3, 64, 64))
    assert [o.shape[-1] for o in outs] == [32, 16, 8, 4, 2, 2]
    assert tuple(o.shape[1] for o in outs) == model.out_channels


def test_only_needed_stages_are_built():
    model = MixNet('s', out_indices=(1, 2))
    assert model.layers == ['layer1', 'layer2', 'layer3']
    assert not hasattr(model, 'conv2')
    assert model.out_channels == (24, 40)
    assert all(p.grad is None for p in model.parameters())
    sum(o.sum() for o in model(torch.randn(1, 3, 32, 32))).backward()
    assert all(p.grad is not None for p in model.parameters())


def bn_stats(module):
    return [
        m.running_mean.clone()
        for m in module.modules()
        if isinstance(m, torch.nn.BatchNorm2d)
    ]


def test_frozen_stages_freeze_weights_and_bn_stats():
    model = MixNet('s', out_indices=(2, 3, 4), frozen_stages=2)
    model.train()
    frozen = [model.conv1, model.layer1, model.layer2]
    for module in frozen:
        assert all(not p.requires_grad for p in module.parameters())
        assert all(not m.training for m in module.modules())
    assert all(p.requires_grad for p in model.layer3.parameters())
    before_frozen = [bn_stats(m) for m in frozen]
    before_free = bn_stats(model.layer3)
    model(torch.randn(2, 3, 64, 64))
    for module, stats in zip(frozen, before_frozen):
        for a, b in zip(bn_stats(module), stats):
            assert torch.equal(a, b)
    assert not all(
        torch.equal(a, b) for a, b in zip(bn_stats(model.layer3), before_free)
    )


def test_norm_eval_keeps_bn_in_eval_mode():
    model = MixNet('s', norm_eval=True)
    model.train()
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert bns and all(not m.training for m in bns)
    before = bn_stats(model)
    model(torch.randn(2, 3, 32, 32))
    assert all(torch.equal(a, b) for a, b in zip(bn_stats(model), before))


def test_with_cp_gives_identical_outputs_and_gradients():
    plain = MixNet('s', out_indices=(3, 4))
    ckpt = MixNet('s', out_indices=(3, 4), with_cp=True)
    ckpt.load_state_dict(plain.state_dict())
    x = torch.randn(2, 3, 64, 64)
    results = []
    for model in (plain, ckpt):
        model.train()
        outs = model(x)
        sum((o * o).mean() for o in outs).backward()
        results.append((outs, [p.grad for p in model.parameters()]))
    for a, b in zip(results[0][0], results[1][0]):
        assert torch.equal(a, b)
    for a, b in zip(results[0][1], results[1][1]):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-6)


def test_builds_from_config_with_custom_imports(tmp_path):
    config = tmp_path / 'cfg.py'
    config.write_text(
        textwrap.dedent("""
        custom_imports = dict(imports=['mixdet'], allow_failed_imports=False)
        backbone = dict(type='MixNet', arch='m', out_indices=(3, 5))
        """)
    )
    script = textwrap.dedent(f"""
        from mmengine.config import Config
        from mmdet.registry import MODELS
        from mmdet.utils import register_all_modules
        import torch
        register_all_modules()
        cfg = Config.fromfile({str(config)!r})
        model = MODELS.build(cfg.backbone).eval()
        outs = model(torch.randn(1, 3, 64, 64))
        print(type(model).__name__, [tuple(o.shape) for o in outs])
        """)
    out = subprocess.run(
        [sys.executable, '-c', script],
        cwd=REPO_DIR,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert 'MixNet [(1, 120, 4, 4), (1, 1536, 2, 2)]' in out


@pytest.mark.parametrize(
    'kwargs,words',
    [
        (dict(arch='xs'), ['arch', "'s'", "'xl'"]),
        (dict(out_indices=(2, 6)), ['out_indices', '0..5']),
        (dict(out_indices=(4, 2)), ['out_indices', 'increasing']),
        (dict(out_indices=()), ['out_indices']),
        (dict(frozen_stages=7), ['frozen_stages', '-1..6']),
        (dict(frozen_stages=-2), ['frozen_stages', '-1..6']),
        (dict(widen_factor=0), ['widen_factor', 'positive']),
        (dict(padding='valid'), ['padding', "'symmetric'", "'same'"]),
        (dict(arch=['r1_k4_a1_p1_s11_e1_i16_o16']), ['malformed block spec']),
        (dict(arch=['r1_k3_a1_p1_s12_e1_i16_o16']), ['malformed block spec']),
        (dict(arch=['r1_k3_a1_p1_s11_e1_i16']), ['malformed block spec']),
        (
            dict(arch=['r1_k3_a1_p1_s11_e1_i16_o16_zz']),
            ['malformed block spec'],
        ),
        (dict(arch=['r1_k3_a1_p1_s22_e1_i16_o16']), ['malformed arch']),
        (dict(widen_factor=float('nan')), ['widen_factor', 'positive']),
        (dict(widen_factor=float('inf')), ['widen_factor', 'up to 8']),
        (dict(widen_factor=1000), ['widen_factor', 'up to 8']),
        (dict(frozen_stages=2.0), ['frozen_stages', 'int']),
        (dict(frozen_stages=True), ['frozen_stages', 'int']),
        (dict(head_channels=0), ['head_channels', '>= 1']),
        (dict(drop_path_rate='0.1'), ['drop_path_rate', '[0, 1)']),
        (dict(drop_path_rate=float('nan')), ['drop_path_rate', '[0, 1)']),
        # checked as a whole, even where the stage is not built
        (
            dict(arch=['r1000000000_k3_a1_p1_s11_e1_i16_o16']),
            ['repeats', '1..64'],
        ),
        (dict(arch=['r1_k4001_a1_p1_s11_e1_i16_o16']), ['kernel', '1..31']),
        (dict(out_indices=(True, 2)), ['out_indices']),
        (dict(out_indices='23'), ['out_indices']),
        (
            dict(
                arch=[
                    'r1_k3_a1_p1_s11_e1_i16_o16',
                    'r1_k3_a1_p1_s22_e1_i24_o24',
                ]
            ),
            ['malformed arch', 'i24'],
        ),
    ],
)
def test_bad_arguments_raise_clear_errors(kwargs, words):
    with pytest.raises(ValueError) as info:
        MixNet(**kwargs)
    for word in words:
        assert word in str(info.value)


def test_custom_block_list():
    blocks = [
        'r1_k3_a1_p1_s11_e1_i8_o8',
        'r1_k3.5_a1_p1_s22_e3_i8_o16',
        'r1_k3.5.7_a1.1_p1.1_s22_e3_i16_o24_se0.25_sw',
        'r2_k3_a1_p1_s22_e3_i24_o32',
        'r1_k3_a1_p1_s22_e3_i32_o40',
    ]
    model = MixNet(blocks, out_indices=(2, 3, 4)).eval()
    assert model.out_channels == (24, 32, 40)
    outs = model(torch.randn(1, 3, 64, 64))
    assert [tuple(o.shape[1:]) for o in outs] == [
        (24, 8, 8),
        (32, 4, 4),
        (40, 2, 2),
    ]
