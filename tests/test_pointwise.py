"""1x1 convs as GEMMs: plain, grouped (fused and split), against F.conv2d."""

import pytest
import torch
import torch.nn.functional as F

from mixdet import ops
from mixdet.models.layers import (
    GroupedPointwiseConv2d,
    PointwiseConv2d,
    make_pointwise_conv,
)
from mixdet.ops import pointwise_conv

from .helpers import OnPath, assert_same_outputs_and_grads


@pytest.mark.parametrize('groups', [1, 2, 3])
@pytest.mark.parametrize('bias', [False, True])
@pytest.mark.parametrize('channels_last', [False, True])
@pytest.mark.parametrize('path', ['gemm', 'reference'])
def test_pointwise_conv_equals_conv2d(groups, bias, channels_last, path):
    g = torch.Generator().manual_seed(groups)
    x = torch.randn(3, 12, 7, 5, generator=g)
    if channels_last:  # not NCHW-contiguous: runs F.conv2d
        x = x.contiguous(memory_format=torch.channels_last)
    w = torch.randn(18, 12 // groups, 1, 1, generator=g)
    b = torch.randn(18, generator=g) if bias else None
    inputs = [t.clone().requires_grad_() for t in (x, w)]
    refs = [t.clone().requires_grad_() for t in (x, w)]
    with ops.prefer(pointwise=path):
        out = pointwise_conv(*inputs, b, groups)
    ref = F.conv2d(*refs, b, groups=groups)
    torch.testing.assert_close(out, ref, rtol=0, atol=1e-5)
    grad = torch.randn(ref.shape, generator=g)
    out.backward(grad)
    ref.backward(grad)
    for a, r in zip(inputs, refs):
        torch.testing.assert_close(a.grad, r.grad, rtol=0, atol=1e-4)


def test_pointwise_conv2d_is_a_conv2d():
    conv = make_pointwise_conv(8, 16)
    assert isinstance(conv, PointwiseConv2d)
    assert isinstance(conv, torch.nn.Conv2d)  # init_cfg, fuse_conv_bn
    assert list(conv.state_dict()) == ['weight']
    x = torch.randn(2, 8, 4, 4)
    torch.testing.assert_close(
        conv(x), F.conv2d(x, conv.weight), rtol=0, atol=1e-5
    )


def test_grouped_pointwise_equals_block_diagonal_conv():
    pw = GroupedPointwiseConv2d(7, 10, 2)
    x = torch.randn(1, 7, 5, 5)
    w = torch.zeros(10, 7, 1, 1)
    w[:5, :4] = pw._modules['0'].weight
    w[5:, 4:] = pw._modules['1'].weight
    torch.testing.assert_close(pw(x), F.conv2d(x, w), rtol=0, atol=1e-6)


@pytest.mark.parametrize(
    'cin,cout,groups',
    [(16, 96, 2), (7, 10, 2), (24, 36, 3), (32, 64, 4), (10, 13, 3)],
)
@pytest.mark.parametrize('path', ['fused', 'export'])
def test_grouped_pointwise_fused_and_split_agree(cin, cout, groups, path):
    g = torch.Generator().manual_seed(cin + groups)
    pw = GroupedPointwiseConv2d(cin, cout, groups)
    weight, fused_groups = ops.fused_pointwise_weight(
        [c.weight for c in pw.convs]
    )
    equal = cin % groups == 0 and cout % groups == 0
    assert fused_groups == (groups if equal else 1)
    assert weight.shape == (cout, cin // fused_groups, 1, 1)
    x = torch.randn(2, cin, 9, 7, generator=g)
    assert_same_outputs_and_grads(
        OnPath(pw, grouped_pointwise='reference'),
        OnPath(pw, grouped_pointwise=path),
        x,
        g,
    )
