"""Every weight change shows at once in the output (no stale assembled
weights), and in-place activations give the same results."""

import pytest
import torch

from mixdet import ops
from mixdet.models.layers import (
    ConvNormAct,
    GroupedPointwiseConv2d,
    MixConv2d,
    MixInvertedResidual,
)


def split_output(module, x):
    """The output of the split path with the same weights."""
    with torch.no_grad(), ops.mode('reference'):
        return module(x)


@pytest.mark.parametrize(
    'make',
    [
        lambda: MixConv2d(12, 12, (3, 5, 7)),
        lambda: GroupedPointwiseConv2d(12, 18, 2),
        lambda: ConvNormAct(
            MixConv2d(12, 12, (3, 5)), 12, dict(type='BN'), None
        ),
    ],
    ids=['mixconv', 'grouped-1x1', 'mixconv-bn'],
)
def test_output_follows_every_kind_of_parameter_change(make):
    torch.manual_seed(0)
    module = make().eval()  # BN on running statistics
    x = torch.randn(1, 12, 8, 8)

    def fast():
        return ops.prefer(mixconv='fused', grouped_pointwise='fused')

    with torch.no_grad(), fast():
        first = module(x)
        assert torch.equal(module(x), first)

    def check():
        with torch.no_grad(), fast():
            out = module(x)
        assert not torch.equal(out, first)
        # fp32 rounding differs between paths
        ref = split_output(module, x)
        torch.testing.assert_close(out, ref, rtol=1e-4, atol=1e-5)
        return out

    # an optimizer step (in place)
    optim = torch.optim.SGD(module.parameters(), lr=0.5)
    module(x).square().sum().backward()
    optim.step()
    first = check()
    # load_state_dict (copy_ in place)
    state = {
        k: torch.rand_like(v) + 0.5 if v.is_floating_point() else v
        for k, v in module.state_dict().items()
    }
    module.load_state_dict(state)
    first = check()
    # .data replaced (new storage)
    param = next(module.parameters())
    param.data = torch.randn_like(param)
    first = check()
    # in place through .data (EMA-style weight swaps): no version bump
    for param in module.parameters():
        param.data.mul_(3)
    first = check()
    with torch.no_grad():
        for param in module.parameters():
            param.copy_(torch.randn_like(param))
    first = check()
    # dtype change
    module.double()
    with torch.no_grad():
        out = module(x.double())
    assert out.dtype == torch.float64
    torch.testing.assert_close(out, split_output(module, x.double()))


def test_activations_run_in_place_with_the_same_gradients():
    def block(inplace):
        torch.manual_seed(0)
        act = dict(type='SiLU', inplace=inplace)
        return MixInvertedResidual(
            8, 8, (3, 5), 1, 6, 2, 2, 0.5, act, dict(type='BN')
        )

    a, b = block(True), block(False)
    assert a.expand_conv.activate.inplace
    assert not b.expand_conv.activate.inplace
    x = torch.randn(2, 8, 10, 10)
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    out_a, out_b = a(xa), b(xb)
    assert torch.equal(out_a, out_b)
    out_a.square().sum().backward()
    out_b.square().sum().backward()
    assert torch.equal(xa.grad, xb.grad)
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa.grad, pb.grad)
    # the default is in place, as mmcv's ConvModule
    conv = ConvNormAct(
        torch.nn.Conv2d(3, 4, 1), 4, dict(type='BN'), dict(type='ReLU')
    )
    assert conv.activate.inplace
