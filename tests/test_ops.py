"""mixdet.ops: the policy that picks a fast path, and the 1x1 fast paths
against F.conv2d (MixConv's fused path: test_mixconv.py)."""

import pytest
import torch
import torch.nn.functional as F

from mixdet import ops
from mixdet.models.layers import (
    GroupedPointwiseConv2d,
    MixConv2d,
    PointwiseConv2d,
    make_pointwise_conv,
)

from .helpers import OnPath, assert_same_outputs_and_grads


def rule(op='mixconv', device=None, phase='infer', path='fused', **kw):
    device = device or ops.device_kind(torch.device('cpu'))
    return ops.Rule(op, device, 'float32', 'nchw', phase, path, 'test', **kw)


def paths_taken(module, x, grad=False) -> list[str]:
    """The paths :func:`ops.choose` returned while ``module`` ran."""
    seen, original = [], ops.policy.choose

    def record(*args, **kwargs):
        seen.append(original(*args, **kwargs))
        return seen[-1]

    ops.choose = ops.pointwise.choose = record  # the layers' and conv1x1's
    try:
        with torch.set_grad_enabled(grad):
            module(x.detach().requires_grad_(grad))
    finally:
        ops.choose = ops.pointwise.choose = original
    return seen


@pytest.fixture
def rules():
    """Restore the rules after the test."""
    original = ops.get_rules()
    yield
    ops.set_rules(original)
    assert ops.get_rules() == ops.RULES


def test_a_rule_is_followed_only_where_it_was_measured(rules):
    conv = MixConv2d(16, 16, (3, 5))
    x = torch.randn(1, 16, 12, 12)
    ops.set_rules([rule()])
    assert paths_taken(conv, x) == ['fused']
    # training (autograd records the call) has no rule: plain
    assert paths_taken(conv, x, grad=True) == ['reference']
    # a frozen layer in a training model is inference for the policy
    conv.requires_grad_(False)
    assert paths_taken(conv, x.detach()) == ['fused']
    # another layout, dtype or device kind: plain
    assert paths_taken(
        conv, x.contiguous(memory_format=torch.channels_last)
    ) == ['reference']
    ops.set_rules([rule(device='cpu-other')])
    assert paths_taken(conv, x) == ['reference']
    # a rule that holds up to 3x3 does not cover a 5x5 group
    ops.set_rules([rule(max_kernel=3)])
    assert paths_taken(conv, x) == ['reference']
    with torch.autocast('cpu', dtype=torch.bfloat16):
        ops.set_rules([rule()])
        assert paths_taken(conv, x) == ['reference']


def test_reference_mode_tracing_and_compile_take_the_plain_ops(rules):
    conv = MixConv2d(16, 16, (3, 5))
    x = torch.randn(1, 16, 12, 12)
    ops.set_rules([rule()])
    with ops.mode('reference'):
        assert paths_taken(conv, x) == ['reference']
    with ops.prefer(mixconv='fused'), ops.mode('reference'):
        assert paths_taken(conv, x) == ['reference']
    # tracing (ONNX export, FLOP counting): one Conv per group
    graph = torch.jit.trace(conv, x).inlined_graph
    kinds = [n.kind() for n in graph.nodes()]
    assert kinds.count('aten::_convolution') == 2
    with pytest.raises(ValueError, match='mode must be one of'):
        ops.set_mode('turbo')
    assert ops.get_mode() == 'fast'


def test_layers_without_a_choice_never_ask():
    """A MixConv that cannot fuse (dilated) and plain convs run their
    steps without the policy looking at their inputs."""
    x = torch.randn(1, 12, 9, 9)
    assert paths_taken(MixConv2d(12, 12, (3, 5, 7), dilated=True), x) == []
    assert paths_taken(torch.nn.Conv2d(12, 12, 3), x) == []


@pytest.mark.parametrize('groups', [1, 2, 3])
@pytest.mark.parametrize('bias', [False, True])
@pytest.mark.parametrize('channels_last', [False, True])
@pytest.mark.parametrize('path', ['gemm', 'reference'])
def test_conv1x1_equals_conv2d(groups, bias, channels_last, path):
    g = torch.Generator().manual_seed(groups)
    x = torch.randn(3, 12, 7, 5, generator=g)
    if channels_last:  # not NCHW-contiguous: runs F.conv2d
        x = x.contiguous(memory_format=torch.channels_last)
    w = torch.randn(18, 12 // groups, 1, 1, generator=g)
    b = torch.randn(18, generator=g) if bias else None
    inputs = [t.clone().requires_grad_() for t in (x, w)]
    refs = [t.clone().requires_grad_() for t in (x, w)]
    with ops.prefer(pointwise=path):
        out = ops.conv1x1(*inputs, b, groups)
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
def test_grouped_pointwise_fused_and_split_agree(cin, cout, groups):
    g = torch.Generator().manual_seed(cin + groups)
    pw = GroupedPointwiseConv2d(cin, cout, groups)
    weight, fused_groups = ops.block_diagonal_weight(pw.weights)
    equal = cin % groups == 0 and cout % groups == 0
    assert fused_groups == (groups if equal else 1)
    assert weight.shape == (cout, cin // fused_groups, 1, 1)
    x = torch.randn(2, cin, 9, 7, generator=g)
    assert_same_outputs_and_grads(
        OnPath(pw, grouped_pointwise='reference'),
        OnPath(pw, grouped_pointwise='fused'),
        x,
        g,
    )
