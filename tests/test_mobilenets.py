"""MixMobileNetV1/V2: the MobileNets of the paper's Table 1."""

import pytest
import torch
from mmdet.models.backbones import MobileNetV2

from mixdet.models.backbones import MixMobileNetV1, MixMobileNetV2, MixNet
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


@pytest.mark.parametrize(
    'cls, kwargs, block, channels',
    [
        # the paper's SSDLite feature: layer 15 = layer6's first block
        (MixMobileNetV2, dict(out_indices=(5, 7)), 'layer6.0', (576, 1280)),
        (
            MixMobileNetV2,
            dict(out_indices=(2, 5, 7), dw_kernel_sizes=(3, 5, 7)),
            'layer6.0',
            (32, 576, 1280),
        ),
        (MixNet, dict(arch='s', out_indices=(3, 4)), 'layer5.0', (120, 720)),
        (MixNet, dict(arch='l', out_indices=(4, 5)), 'layer5.0', (960, 1536)),
    ],
)
def test_expansion_output_is_the_blocks_expansion(
    cls, kwargs, block, channels
):
    index = int(block[len('layer')]) - 1
    model = cls(expansion_out_indices=(index,), **kwargs).eval()
    assert model.out_channels == channels
    seen = []
    expand = model.get_submodule(block).expand_conv
    handle = expand.register_forward_hook(lambda m, i, o: seen.append(o))
    x = torch.randn(2, 3, 96, 96)
    with torch.no_grad():
        outs = model(x)
    handle.remove()
    assert [o.shape[1] for o in outs] == list(channels)
    position = kwargs['out_indices'].index(index)
    assert torch.equal(outs[position], seen[0])
    assert outs[position].shape[-1] == 96 // 16  # before the strided conv
    # the other outputs are those of the model without expansion outputs
    plain = cls(**kwargs).eval()
    plain.load_state_dict(model.state_dict())
    with torch.no_grad():
        reference = plain(x)
    for i, (a, b) in enumerate(zip(outs, reference)):
        if i != position:
            torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_expansion_output_last_trains_and_checkpoints():
    model = MixMobileNetV2(
        out_indices=(4, 5), expansion_out_indices=5, with_cp=True
    )
    outs = model(torch.randn(1, 3, 64, 64, requires_grad=True))
    assert [o.shape[1] for o in outs] == [96, 576]
    sum(o.mean() for o in outs).backward()
    assert model.layer6[0].expand_conv.conv.weight.grad is not None


@pytest.mark.parametrize(
    'cls, kwargs, allowed',
    [
        # MobileNetV2's layer1 has no expansion (expand ratio 1), conv2 is
        # not a block; MobileNetV1 has none at all
        (
            MixMobileNetV2,
            dict(out_indices=(0, 7), expansion_out_indices=0),
            '[]',
        ),
        (
            MixMobileNetV2,
            dict(out_indices=(5, 7), expansion_out_indices=(7,)),
            '[5]',
        ),
        (
            MixMobileNetV2,
            dict(out_indices=(5, 7), expansion_out_indices=(4,)),
            '[5]',
        ),
        (MixMobileNetV1, dict(expansion_out_indices=(10,)), '[]'),
        (
            MixNet,
            dict(out_indices=(0, 5), expansion_out_indices=(0, 5)),
            '[]',
        ),
        (
            MixNet,
            dict(out_indices=(3, 4), expansion_out_indices='4'),
            '[3, 4]',
        ),
    ],
)
def test_expansion_output_of_a_block_without_expansion(cls, kwargs, allowed):
    with pytest.raises(ValueError) as info:
        cls(**kwargs)
    message = str(info.value)
    assert (
        'expansion_out_indices' in message and f'any of {allowed}' in message
    )
