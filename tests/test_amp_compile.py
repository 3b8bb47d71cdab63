"""Every mixdet backbone and op path under bf16 autocast (CPU) and
torch.compile(fullgraph=True); the ops policy."""

from contextlib import nullcontext

import pytest
import torch

from mixdet import ops
from mixdet.models.backbones import MixMobileNetV1, MixMobileNetV2, MixNet
from mixdet.models.layers import GroupedPointwiseConv2d, MixConv2d

from .helpers import OnPath

BACKBONES = {
    'mixnet-s': lambda: MixNet('s', out_indices=(2, 3, 5)),
    'mixnet-m-same': lambda: MixNet(
        'm', out_indices=(3, 4), padding='same', drop_path_rate=0.1
    ),
    'mobilenetv2-mixconv357': lambda: MixMobileNetV2(
        dw_kernel_sizes=(3, 5, 7)
    ),
    'mobilenetv2-3x3': lambda: MixMobileNetV2(
        dw_kernel_sizes=3, out_indices=(2, 4)
    ),
    'mobilenetv1-mixconv35': lambda: MixMobileNetV1(
        dw_kernel_sizes=(3, 5), out_indices=(10, 12)
    ),
}
FAST = dict(
    mixconv='fused',
    pointwise='gemm',
    grouped_pointwise='fused',
    linear_1x1='linear',
)


def rel_close(a, b, tol):
    scale = b.float().abs().max().clamp_min(1e-3)
    assert float((a.float() - b.float()).abs().max() / scale) < tol


def run(model, x, autocast):
    torch.manual_seed(1)  # the same drop-path draws in every run
    x = x.clone().requires_grad_()
    with torch.autocast('cpu', dtype=torch.bfloat16, enabled=autocast):
        outs = model(x)
    sum(o.float().square().mean() for o in outs).backward()
    grads = [p.grad for p in model.parameters()]
    return outs, x.grad, grads


@pytest.mark.parametrize('name', list(BACKBONES))
def test_bf16_autocast_every_path_agrees_with_reference(name):
    torch.manual_seed(0)
    # BN on running statistics: batch statistics of a few 2x2 maps would
    # amplify rounding far beyond what a real batch sees. Gradients still
    # flow through every path's backward.
    model = BACKBONES[name]().eval()
    x = torch.randn(2, 3, 64, 64)
    ref = run(OnPath(model, **{k: 'reference' for k in FAST}), x, True)
    fast = run(OnPath(model, **FAST), x, True)
    for a, b in zip(fast[0], ref[0]):
        assert a.dtype == b.dtype
        rel_close(a, b, 0.05)  # two bf16 paths
    rel_close(fast[1], ref[1], 0.05)
    # bf16 vs float32
    with torch.no_grad(), ops.prefer(**FAST):
        with torch.autocast('cpu', dtype=torch.bfloat16):
            half = model(x)
        full = model(x)
    for a, b in zip(half, full):
        rel_close(a, b, 0.08)
    for ga, gb, p in zip(fast[2], ref[2], model.parameters()):
        assert ga.dtype == p.dtype == torch.float32  # fp32 weight grads
        rel_close(ga, gb, 0.1)


def test_fused_function_under_autocast_matches_split_in_float32():
    """bf16 inputs, fp32 weights: the custom backward casts correctly."""
    conv = MixConv2d(24, 24, (3, 5, 7), 2, padding='same')
    x = torch.randn(2, 24, 17, 15)
    outs = {}
    for path in ('reference', 'fused'):
        xi = x.clone().requires_grad_()
        m = OnPath(conv, mixconv=path)
        with torch.autocast('cpu', dtype=torch.bfloat16):
            out = m(xi)
        assert out.dtype == torch.bfloat16
        out.float().sum().backward()
        outs[path] = (out, xi.grad, [c.weight.grad for c in m.module.convs])
    a, b = outs['fused'], outs['reference']
    rel_close(a[0], b[0], 0.02)
    assert a[1].dtype == torch.float32
    rel_close(a[1], b[1], 0.02)
    for ga, gb in zip(a[2], b[2]):
        assert ga.dtype == torch.float32
        rel_close(ga, gb, 0.03)


@pytest.mark.parametrize('name', list(BACKBONES))
def test_backbone_compiles_fullgraph_and_equals_eager(name):
    torch._dynamo.reset()  # every backbone shares MixBackbone.forward
    torch.manual_seed(0)
    model = BACKBONES[name]().eval()
    x = torch.randn(1, 3, 64, 64)
    compiled = torch.compile(model, fullgraph=True, backend='aot_eager')
    # Compiled code runs the reference paths, eager the fast ones: equal up
    # to float32 rounding, relative to each tensor's scale.
    with torch.no_grad():
        for a, b in zip(compiled(x), model(x)):
            rel_close(a, b, 1e-5)
    # Training (BN on batch statistics of tiny maps amplifies rounding):
    # against eager on the same reference ops.
    model.train()
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    torch.manual_seed(1)  # the same drop-path draws in both runs
    # (a sum of BN outputs would have a zero gradient: square them)
    sum(o.square().mean() for o in compiled(xa)).backward()
    grads = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    torch.manual_seed(1)
    with ops.mode('reference'):
        sum(o.square().mean() for o in model(xb)).backward()
    rel_close(xa.grad, xb.grad, 1e-4)
    # Each parameter's gradient relative to the model's largest: some are
    # zero up to rounding (e.g. ~1e-7 under BN on 2x2 maps), whose rounding
    # differs between compiled and eager code from torch 2.15 on.
    scale = max(p.grad.abs().max() for p in model.parameters())
    for g, p in zip(grads, model.parameters()):
        assert float((g - p.grad).abs().max() / scale) < 1e-4


def test_inductor_compiles_mixnet_s():
    torch._dynamo.reset()
    model = MixNet('s', out_indices=(3, 5)).eval()
    x = torch.randn(1, 3, 64, 64)
    compiled = torch.compile(model, fullgraph=True)
    with torch.no_grad():
        for a, b in zip(compiled(x), model(x)):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)


def test_ops_without_a_rule_skip_choosing():
    """An op with no rule, forced path or autotuner runs the reference
    path without the policy looking at its inputs."""
    considers = ops.policy.considers_fast_paths
    assert not considers('conv_norm')  # no rule folds BatchNorm
    assert considers('mixconv')
    with ops.prefer(conv_norm='folded'):
        assert considers('conv_norm')
    with ops.mode('reference'):
        assert not considers('mixconv')
    ops.autotune(True)
    try:
        assert considers('conv_norm')
    finally:
        ops.autotune(False)
    original = ops.get_rules()
    try:
        ops.set_rules([r for r in original if r.op != 'mixconv'])
        assert not considers('mixconv')
        conv = MixConv2d(16, 16, (3, 5))
        assert _path(conv, torch.randn(1, 16, 12, 12)) == 'reference'
    finally:
        ops.set_rules(original)


def test_policy_rules_modes_and_autotune():
    conv = MixConv2d(16, 16, (3, 5))
    x = torch.randn(1, 16, 12, 12)
    kind = ops.device_kind(x.device)
    assert kind.startswith('cpu-')
    original = ops.get_rules()
    try:
        # A rule for this very device is followed ...
        ops.set_rules(
            [
                ops.Rule(
                    'mixconv',
                    kind,
                    'float32',
                    'nchw',
                    'infer',
                    'fused',
                    'test',
                )
            ]
        )
        assert _path(conv, x) == 'fused'
        # ... a device nobody measured runs the reference path,
        ops.set_rules(
            [
                ops.Rule(
                    'mixconv',
                    'cpu-other',
                    'float32',
                    'nchw',
                    'infer',
                    'fused',
                    'test',
                )
            ]
        )
        assert _path(conv, x) == 'reference'
        # and so does training without a rule for it.
        assert _path(conv, x.requires_grad_()) == 'reference'
    finally:
        ops.set_rules(original)
    assert ops.get_rules() == ops.RULES
    with ops.mode('export'):
        assert _path(conv, x.detach()) == 'export'
    with ops.mode('reference'):
        assert _path(conv, x.detach()) == 'reference'
    with pytest.raises(ValueError, match='mode must be one of'):
        ops.set_mode('turbo')
    # The autotuner times each path once per shape and keeps the fastest.
    ops.autotune(True)
    try:
        first = _path(conv, x.detach())
        assert first in ('reference', 'fused')
        assert len(ops.policy._tuned) == 1
        assert _path(conv, x.detach()) == first
        assert len(ops.policy._tuned) == 1
    finally:
        ops.autotune(False)


def _path(module, x) -> str:
    """The path the policy picks for ``module``'s op on ``x``."""
    seen = []
    original = ops.policy.choose

    def record(*args, **kwargs):
        seen.append(original(*args, **kwargs))
        return seen[-1]

    import mixdet.ops.mixconv as mixconv

    mixconv.choose = record
    try:
        with torch.no_grad() if not x.requires_grad else nullcontext():
            module(x)
    finally:
        mixconv.choose = original
    return seen[-1]


def test_grouped_pointwise_export_has_no_block_diag():
    pw = GroupedPointwiseConv2d(7, 10, 2)
    x = torch.randn(1, 7, 5, 5)
    with ops.mode('export'):
        graph = torch.jit.trace(pw, x).graph
    kinds = [n.kind() for n in graph.nodes()]
    assert 'aten::block_diag' not in kinds
    assert kinds.count('aten::_convolution') == 1
