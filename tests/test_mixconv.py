"""MixConv2d against an explicit split -> conv -> concat reference."""

import math

import pytest
import torch
import torch.nn.functional as F

from mixdet import ops
from mixdet.deploy import merge_groups
from mixdet.models.layers import (
    GroupedPointwiseConv2d,
    MixConv2d,
    make_conv2d,
    make_depthwise_conv,
    pad_same,
    split_channels,
)

from .helpers import OnPath, assert_same_outputs_and_grads


def tf_same_pad(size, k, s, d=1):
    out = math.ceil(size / s)
    total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
    return total // 2, total - total // 2


def reference_mixconv(
    x, weights, kernel_sizes, splits, stride, padding, dilations
):
    outs, start = [], 0
    for w, k, c, d in zip(weights, kernel_sizes, splits, dilations):
        part = x[:, start : start + c]
        start += c
        size = w.shape[-1]
        assert size == (3 if d > 1 else k)  # the kernel the list asked for
        if padding == 'same':
            top, bottom = tf_same_pad(part.shape[2], size, stride, d)
            left, right = tf_same_pad(part.shape[3], size, stride, d)
        else:
            top = bottom = left = right = d * (size - 1) // 2
        part = F.pad(part, (left, right, top, bottom))
        outs.append(F.conv2d(part, w, stride=stride, dilation=d, groups=c))
    return torch.cat(outs, 1)


@pytest.mark.parametrize(
    'channels,groups,expected',
    [
        (40, 3, [14, 13, 13]),
        (120, 4, [30, 30, 30, 30]),
        (7, 2, [4, 3]),
        (16, 1, [16]),
    ],
)
def test_equal_split_matches_reference_rule(channels, groups, expected):
    assert split_channels(channels, groups) == expected


def test_exponential_and_explicit_split():
    assert split_channels(32, 4, 'exponential') == [16, 8, 4, 4]
    assert split_channels(10, 2, [3, 7]) == [3, 7]
    conv = MixConv2d(32, 32, (3, 5, 7, 9), split='exponential')
    assert conv.splits == [16, 8, 4, 4]
    assert [c.weight.shape[0] for c in conv.convs] == [16, 8, 4, 4]


@pytest.mark.parametrize('path', ['reference', 'fused', 'merged'])
@pytest.mark.parametrize('padding', ['symmetric', 'same'])
@pytest.mark.parametrize('stride', [1, 2])
@pytest.mark.parametrize('size', [(15, 15), (16, 11)])
def test_mixconv_equals_reference(path, padding, stride, size):
    g = torch.Generator().manual_seed(stride * 100 + size[0])
    for _ in range(3):
        num = int(torch.randint(1, 5, (1,), generator=g))
        kernels = sorted(
            int(k) * 2 + 3 for k in torch.randint(0, 4, (num,), generator=g)
        )
        channels = int(torch.randint(num, 24, (1,), generator=g))
        mix = MixConv2d(channels, channels, kernels, stride, padding=padding)
        # merged: one nn.Conv2d, as exported (mixdet.deploy)
        conv = (
            merge_groups(torch.nn.Sequential(mix))
            if path == 'merged'
            else OnPath(mix, mixconv=path)
        )
        x = torch.randn(2, channels, *size, generator=g)
        weights = [c.weight for c in mix.convs]
        expected = reference_mixconv(
            x, weights, kernels, mix.splits, stride, padding, [1] * num
        )
        out = conv(x)
        assert out.shape == expected.shape
        assert out.shape[-2:] == (
            math.ceil(size[0] / stride),
            math.ceil(size[1] / stride),
        )
        torch.testing.assert_close(out, expected, rtol=0, atol=1e-6)


@pytest.mark.parametrize('padding', ['symmetric', 'same'])
@pytest.mark.parametrize('stride', [1, 2])
def test_fused_and_split_agree_in_outputs_and_gradients(padding, stride):
    g = torch.Generator().manual_seed(7 + stride)
    for kernels, size, multiplier in [
        ((3, 5, 7), (20, 20), 1),
        ((3, 5, 7, 9, 11), (9, 14), 1),
        ((1, 3, 5), (12, 12), 2),
        ((5, 3), (7, 8), 1),
    ]:
        conv = MixConv2d(24, 24 * multiplier, kernels, stride, padding=padding)
        x = torch.randn(2, 24, *size, generator=g)
        assert_same_outputs_and_grads(
            OnPath(conv, mixconv='reference'),
            OnPath(conv, mixconv='fused'),
            x,
            g,
        )


@pytest.mark.parametrize('seed', range(8))
def test_fused_and_split_agree_on_random_layers(seed):
    g = torch.Generator().manual_seed(100 + seed)

    def pick(options):
        return options[int(torch.randint(len(options), (1,), generator=g))]

    groups = pick([2, 3, 4, 5])
    kernels = [pick([1, 3, 5, 7, 9, 11]) for _ in range(groups)]
    channels = groups * pick([1, 2, 3]) + pick([0, 1])
    stride, padding = pick([1, 2]), pick(['symmetric', 'same'])
    size = (pick([5, 8, 13, 16]), pick([6, 9, 12]))
    kwargs = dict(stride=stride, padding=padding)
    conv = MixConv2d(channels, channels, kernels, **kwargs)
    x = torch.randn(2, channels, *size, generator=g)
    assert_same_outputs_and_grads(
        OnPath(conv, mixconv='reference'), OnPath(conv, mixconv='fused'), x, g
    )


def test_fusing_only_where_it_is_exact():
    assert ops.can_fuse((3, 5), (1, 1), 2, 'same')
    assert ops.can_fuse((1, 3), (1, 1), 2, 'symmetric')
    assert not ops.can_fuse((1, 3), (1, 1), 2, 'same')  # TF pads 1x1 apart
    assert not ops.can_fuse((3, 3), (1, 2), 1, 'symmetric')  # dilated
    assert not ops.can_fuse((3,), (1,), 1, 'symmetric')  # one group
    # A forced fused path falls back to the reference where inexact.
    conv = MixConv2d(12, 12, (1, 3), 2, padding='same')
    assert not conv.fusable
    x = torch.randn(1, 12, 9, 9)
    with ops.prefer(mixconv='fused'):
        out = conv(x)
    with ops.mode('reference'):
        torch.testing.assert_close(out, conv(x), rtol=0, atol=0)


def test_dilated_mixconv_equals_reference():
    conv = MixConv2d(12, 12, (3, 5, 7), dilated=True)
    assert [tuple(c.weight.shape[-2:]) for c in conv.convs] == [(3, 3)] * 3
    assert [c.dilation[0] for c in conv.convs] == [1, 2, 3]
    x = torch.randn(1, 12, 13, 10)
    expected = reference_mixconv(
        x,
        [c.weight for c in conv.convs],
        (3, 5, 7),
        conv.splits,
        1,
        'symmetric',
        [1, 2, 3],
    )
    torch.testing.assert_close(conv(x), expected, rtol=0, atol=1e-6)


def test_channel_multiplier():
    conv = MixConv2d(6, 12, (3, 5))
    assert conv(torch.randn(1, 6, 8, 8)).shape == (1, 12, 8, 8)


def test_state_dict_keys_follow_timm():
    assert list(MixConv2d(8, 8, (3, 5)).state_dict()) == [
        '0.weight',
        '1.weight',
    ]
    assert list(make_depthwise_conv(8, 3).state_dict()) == ['weight']
    pw = GroupedPointwiseConv2d(16, 96, 2)
    assert [tuple(v.shape) for v in pw.state_dict().values()] == [
        (48, 8, 1, 1),
        (48, 8, 1, 1),
    ]


@pytest.mark.parametrize(
    'kwargs,words',
    [
        (dict(kernel_sizes=4), ['kernel_sizes', 'odd']),
        (dict(kernel_sizes=(3, 0)), ['kernel_sizes', 'odd']),
        (dict(kernel_sizes=-3), ['kernel_sizes', 'odd']),
        (dict(kernel_sizes=()), ['kernel_sizes', 'at least one']),
        (dict(split=[4, 4]), ['split', 'sum to the channels (16)']),
        (dict(split='halves'), ['split', "'equal'", "'exponential'"]),
        (dict(dilated=True, stride=2), ['dilated', 'stride=1']),
        (dict(padding='valid'), ['padding', "'symmetric'", "'same'"]),
        (dict(kernel_sizes=(3,) * 17), ['split', 'empty group']),
        (dict(kernel_sizes=4001), ['kernel_sizes', '1 to 31']),
        (dict(dilated='no'), ['dilated', 'True or False']),
        (dict(dilated=0.5), ['dilated', 'True or False']),
        (dict(split=[float('inf'), 1]), ['split entry', 'int']),
        (dict(split=5), ['split', 'list of channel counts']),
    ],
)
def test_bad_arguments_raise_clear_errors(kwargs, words):
    args = dict(in_channels=16, out_channels=16, kernel_sizes=(3, 5))
    args.update(kwargs)
    with pytest.raises(ValueError) as info:
        MixConv2d(**args)
    for word in words:
        assert word in str(info.value)


def test_pad_same_when_only_the_width_needs_padding():
    # 9x10, k3/s3: the height needs no padding, the width one pixel on
    # each side (TF: 3x4).
    conv = make_conv2d(1, 1, 3, stride=3, padding='same')
    assert conv(torch.randn(1, 1, 9, 10)).shape[-2:] == (3, 4)
    mix = MixConv2d(4, 4, (3, 5), 3, padding='same')
    for path in ('reference', 'fused'):
        with ops.prefer(mixconv=path):
            assert mix(torch.randn(1, 4, 9, 10)).shape[-2:] == (3, 4)


@pytest.mark.parametrize('stride', [1, 2, 3, 4])
def test_pad_same_is_tensorflow_rule_for_every_size(stride):
    for k in (1, 3, 5, 7):
        for h in range(1, 13):
            for w in range(1, 13):
                x = torch.randn(1, 1, h, w)
                top, bottom = tf_same_pad(h, k, stride)
                left, right = tf_same_pad(w, k, stride)
                expected = F.pad(x, (left, right, top, bottom))
                assert torch.equal(pad_same(x, k, stride), expected), (k, h, w)


@pytest.mark.parametrize('path', ['reference', 'fused'])
@pytest.mark.parametrize(
    'kwargs',
    [
        dict(kernel_sizes=(3, 5, 7)),
        dict(kernel_sizes=(3, 5), stride=2, padding='same'),
        dict(kernel_sizes=(3, 5), dilated=True),
        dict(kernel_sizes=(3, 5), out_channels=24),
    ],
)
def test_empty_batch_through_every_path(kwargs, path):
    kwargs = dict(in_channels=12, out_channels=12) | kwargs
    conv = OnPath(MixConv2d(**kwargs), mixconv=path)
    x = torch.randn(0, 12, 9, 9, requires_grad=True)
    out = conv(x)
    assert out.shape[0] == 0 and out.shape[1] == conv.module.out_channels
    out.sum().backward()
    assert x.grad.shape == x.shape
    for c in conv.module.convs:
        assert torch.equal(c.weight.grad, torch.zeros_like(c.weight))
    with torch.no_grad():
        assert conv(x).shape == out.shape


def test_numpy_ints_are_accepted_and_bools_refused():
    import numpy as np

    conv = MixConv2d(
        np.int64(12), np.int64(12), (np.int64(3), np.int64(5)), np.int32(1)
    )
    assert conv.kernel_sizes == (3, 5) and type(conv.kernel_sizes[0]) is int
    for kwargs, word in [
        (dict(in_channels=True), 'in_channels'),
        (dict(stride=True), 'stride'),
        (dict(stride=2.0), 'stride'),
        (dict(kernel_sizes=(3, True)), 'kernel_sizes'),
        (dict(kernel_sizes='35'), 'kernel_sizes'),
    ]:
        args = dict(in_channels=12, out_channels=12, kernel_sizes=(3, 5))
        args.update(kwargs)
        with pytest.raises(ValueError, match=word):
            MixConv2d(**args)
