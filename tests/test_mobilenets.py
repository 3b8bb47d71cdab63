"""MixMobileNetV1/V2: the MobileNets of the paper's Table 1."""

import pytest
import torch
from mmdet.models.backbones import MobileNetV2

from mixdet.models.backbones import MixMobileNetV1, MixMobileNetV2
from mixdet.models.layers import MixConv2d


@pytest.mark.parametrize('out_indices', [(1, 2, 4, 7), (0, 3, 5, 6)])
def test_v2_baseline_is_mmdet_mobilenetv2(out_indices):
    ref = MobileNetV2(out_indices=(1, 2, 4, 7))
    ref.init_weights()
    for m in ref.modules():  # non-trivial BN statistics
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.1, 0.1)
    ours = MixMobileNetV2(dw_kernel_sizes=3, out_indices=(1, 2, 4, 7))
    assert list(ours.state_dict()) == list(ref.state_dict())
    ours.load_state_dict(ref.state_dict(), strict=True)
    ref.out_indices = ours.out_indices = out_indices
    x = torch.randn(2, 3, 96, 80)
    for mode in ('eval', 'train'):
        getattr(ref, mode)()
        getattr(ours, mode)()
        torch.manual_seed(0)
        expected = ref(x)
        outs = ours(x)
        assert len(outs) == len(expected) == len(out_indices)
        for a, b in zip(outs, expected):
            # the same network; its 1x1 convs run as GEMMs, which round
            # differently from oneDNN's convolution
            assert b.abs().max() > 0.1
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(
    'kernels', [5, 7, (3, 5), (3, 5, 7), (3, 5, 7, 9, 11, 13)]
)
def test_v2_kernel_variants(kernels):
    model = MixMobileNetV2(dw_kernel_sizes=kernels, out_indices=(4, 7))
    assert model.out_channels == (96, 1280)
    dws = [
        b.depthwise_conv.conv
        for n in model.layers[:-1]
        for b in getattr(model, n)
    ]
    assert len(dws) == 17
    for conv in dws:
        if isinstance(kernels, int):
            assert conv.kernel_size == (kernels, kernels)
        else:
            assert isinstance(conv, MixConv2d)
            assert conv.kernel_sizes == kernels
    outs = model.eval()(torch.randn(1, 3, 64, 64))
    assert [tuple(o.shape) for o in outs] == [(1, 96, 4, 4), (1, 1280, 2, 2)]


@pytest.mark.parametrize('kernels', [3, (3, 5, 7)])
def test_v1_outputs_conv11_and_conv13(kernels):
    model = MixMobileNetV1(dw_kernel_sizes=kernels).eval()
    assert model.out_channels == (512, 1024)
    outs = model(torch.randn(1, 3, 64, 64))
    assert [tuple(o.shape) for o in outs] == [(1, 512, 4, 4), (1, 1024, 2, 2)]
    n_params = sum(
        p.numel() for p in MixMobileNetV1(out_indices=(12,)).parameters()
    )
    assert n_params == 3_206_976  # the standard MobileNetV1 without its FC


def test_v1_frozen_stages_and_norm_eval():
    model = MixMobileNetV1(frozen_stages=3, norm_eval=False)
    model.train()
    for name in ('conv1', 'layer1', 'layer2', 'layer3'):
        module = getattr(model, name)
        assert all(not p.requires_grad for p in module.parameters())
        assert not any(m.training for m in module.modules())
    assert all(p.requires_grad for p in model.layer4.parameters())
    model = MixMobileNetV2(norm_eval=True).train()
    assert not any(
        m.training
        for m in model.modules()
        if isinstance(m, torch.nn.BatchNorm2d)
    )


def test_v2_with_cp_matches():
    plain = MixMobileNetV2(dw_kernel_sizes=(3, 5), out_indices=(2, 4))
    ckpt = MixMobileNetV2(
        dw_kernel_sizes=(3, 5), out_indices=(2, 4), with_cp=True
    )
    ckpt.load_state_dict(plain.state_dict())
    x = torch.randn(2, 3, 64, 64)
    grads = []
    for model in (plain, ckpt):
        outs = model.train()(x)
        sum(o.square().mean() for o in outs).backward()
        grads.append([p.grad for p in model.parameters()])
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-6)


@pytest.mark.parametrize('cls', [MixMobileNetV1, MixMobileNetV2])
@pytest.mark.parametrize(
    'kwargs,words',
    [
        (dict(dw_kernel_sizes=4), ['dw_kernel_sizes', 'odd']),
        (dict(dw_kernel_sizes=(3, 6)), ['dw_kernel_sizes', 'odd']),
        (dict(dw_kernel_sizes=()), ['dw_kernel_sizes', 'at least one']),
        (dict(widen_factor=0), ['widen_factor', 'positive']),
        (dict(widen_factor=-1.0), ['widen_factor', 'positive']),
        (dict(out_indices=(3, 99)), ['out_indices']),
        (dict(out_indices=(-1,)), ['out_indices']),
        (dict(frozen_stages=99), ['frozen_stages']),
    ],
)
def test_bad_arguments_raise_clear_errors(cls, kwargs, words):
    with pytest.raises(ValueError) as info:
        cls(**kwargs)
    for word in words:
        assert word in str(info.value)
