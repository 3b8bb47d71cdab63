"""conv + BatchNorm in inference: the folded path against conv then BN
(that it follows every weight change: test_weight_changes.py)."""

import copy

import pytest
import torch
from torch import nn

from mixdet import ops
from mixdet.models.layers import (
    ConvNormAct,
    GroupedPointwiseConv2d,
    MixConv2d,
    PointwiseConv2d,
)
from mixdet.models.layers.padding import Conv2dSame

CONVS = {
    'depthwise': lambda: nn.Conv2d(12, 12, 3, 2, 1, groups=12),
    'same-padding': lambda: Conv2dSame(12, 12, 5, 2, groups=12, bias=False),
    'pointwise': lambda: PointwiseConv2d(12, 18),
    'pointwise-bias': lambda: PointwiseConv2d(12, 18, bias=True),
    'grouped-equal': lambda: GroupedPointwiseConv2d(12, 18, 3),
    'grouped-unequal': lambda: GroupedPointwiseConv2d(13, 19, 2),
    'mixconv': lambda: MixConv2d(12, 12, (3, 5, 7), 2),
    'mixconv-same-bias': lambda: MixConv2d(
        12, 24, (3, 5), 2, padding='same', bias=True
    ),
}
NORMS = {
    'BN': dict(type='BN', eps=1e-3),
    'SyncBN': dict(type='SyncBN'),
    'BN-no-affine': dict(type='BN', affine=False),
}


def layer(conv_name, norm_cfg=NORMS['BN']) -> ConvNormAct:
    """An eval-mode conv + norm + SiLU with non-trivial BN statistics."""
    torch.manual_seed(0)
    conv = CONVS[conv_name]()
    out_channels = conv.out_channels
    module = ConvNormAct(conv, out_channels, norm_cfg, dict(type='SiLU'))
    bn = module.norm
    with torch.no_grad():
        bn.running_mean.uniform_(-1, 1)
        bn.running_var.uniform_(0.5, 2)
        if bn.affine:
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.uniform_(-1, 1)
    return module.eval()


def run(module, x, path):
    with torch.no_grad(), ops.prefer(conv_norm=path):
        return module(x)


def inputs(module) -> torch.Tensor:
    channels = module.conv.in_channels
    return torch.randn(2, channels, 11, 9, generator=torch.Generator())


@pytest.mark.parametrize('norm', list(NORMS))
@pytest.mark.parametrize('conv', list(CONVS))
def test_folded_equals_conv_then_norm(conv, norm):
    module = layer(conv, NORMS[norm])
    x = inputs(module)
    ref = run(module, x, 'reference')
    for x_in in (x, x.contiguous(memory_format=torch.channels_last)):
        out = run(module, x_in, 'folded')
        torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)
    # the reference path is conv, then the norm layer, then the activation
    expected = module.activate(module.norm(module.conv(x)))
    torch.testing.assert_close(ref, expected, rtol=0, atol=0)


def test_fold_only_in_inference_with_running_statistics():
    module = layer('mixconv')
    x = inputs(module)
    assert path_taken(module, x, grad=False) == 'folded'
    # autograd records the call (eval mode, gradients wanted): reference
    assert path_taken(module, x, grad=True) == 'reference'
    # training mode: batch statistics, reference
    assert path_taken(module.train(), x, grad=False) == 'reference'
    # norm_eval-style: BN in eval inside a training model is folded only
    # without autograd
    module.norm.eval()
    assert path_taken(module, x, grad=False) == 'folded'
    # a BN without running statistics, or another norm: reference
    module = ConvNormAct(
        PointwiseConv2d(12, 8), 8, dict(type='GN', num_groups=2), None
    ).eval()
    assert path_taken(module, x, grad=False) == 'reference'
    with ops.mode('reference'):
        assert path_taken(layer('pointwise'), x, grad=False) == 'reference'
    with ops.mode('export'):
        assert path_taken(layer('pointwise'), x, grad=False) == 'reference'


def path_taken(module, x, grad) -> str:
    """The path ``conv_norm`` takes for ``module`` on ``x`` when a rule
    folds BatchNorm on this device (float32 NCHW inference)."""
    import mixdet.ops.norm_folding as norm_folding

    seen = []
    original = norm_folding.choose
    rules = ops.get_rules()
    kind = ops.device_kind(x.device)

    def record(*args, **kwargs):
        seen.append(original(*args, **kwargs))
        return seen[-1]

    norm_folding.choose = record
    rule = ops.Rule(
        'conv_norm', kind, 'float32', 'nchw', 'infer', 'folded', ''
    )
    ops.set_rules([rule])
    try:
        with torch.set_grad_enabled(grad):
            module(x.clone().requires_grad_(grad))
    finally:
        norm_folding.choose = original
        ops.set_rules(rules)
    return seen[-1] if seen else 'reference'  # nothing to choose from


def test_folded_path_agrees_with_deployment_fold_bn():
    """mixdet.deployment.fold_bn (BN folded for good) and the folded path
    give the same outputs; a copy folds its own statistics."""
    from mixdet.deployment import fold_bn

    module = layer('mixconv')
    x = inputs(module)
    out = run(module, x, 'folded')
    twin = copy.deepcopy(module)
    with torch.no_grad():
        twin.norm.running_mean.add_(3)
    assert not torch.allclose(run(twin, x, 'folded'), out)
    folded = fold_bn(module)
    torch.testing.assert_close(
        run(folded, x, 'reference'), out, rtol=1e-5, atol=1e-5
    )
