"""Every mixdet backbone and op path under bf16 autocast (CPU) and
torch.compile(fullgraph=True)."""

import pytest
import torch

from mixdet import ops
from mixdet.models.backbones import MixMobileNetV1, MixMobileNetV2, MixNet
from mixdet.models.layers import MixConv2d

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
FAST = dict(mixconv='fused', pointwise='gemm', grouped_pointwise='fused')


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


@pytest.mark.slow
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


@pytest.mark.slow
def test_inductor_compiles_mixnet_s():
    torch._dynamo.reset()
    model = MixNet('s', out_indices=(3, 5)).eval()
    x = torch.randn(1, 3, 64, 64)
    compiled = torch.compile(model, fullgraph=True)
    with torch.no_grad():
        for a, b in zip(compiled(x), model(x)):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)
