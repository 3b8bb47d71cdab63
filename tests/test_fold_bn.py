"""BatchNorm folded into the conv before deployment, and the groups of
MixConv / grouped 1x1 convs merged into one conv: outputs unchanged."""

import pytest
import torch
from torch import nn

from mixdet import ops
from mixdet.deploy import fold_bn, merge_groups
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


def inputs(module) -> torch.Tensor:
    channels = module.conv.in_channels
    return torch.randn(2, channels, 11, 9, generator=torch.Generator())


def run(module, x, mode='reference'):
    with torch.no_grad(), ops.mode(mode):
        return module(x)


@pytest.mark.parametrize('norm', list(NORMS))
@pytest.mark.parametrize('conv', list(CONVS))
def test_fold_bn_and_merge_groups_keep_outputs(conv, norm):
    module = layer(conv, NORMS[norm])
    x = inputs(module)
    ref = run(module, x)
    # the plain path is conv, then the norm layer, then the activation
    with torch.no_grad(), ops.mode('reference'):
        expected = module.activate(module.norm(module.conv(x)))
    torch.testing.assert_close(ref, expected, rtol=0, atol=0)
    folded = fold_bn(module)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in folded.modules())
    merged = merge_groups(folded)
    groups = (MixConv2d, GroupedPointwiseConv2d)
    assert not any(isinstance(m, groups) for m in merged.modules())
    for model in (folded, merged, merge_groups(module)):
        for x_in in (x, x.contiguous(memory_format=torch.channels_last)):
            for mode in ('reference', 'fast'):
                out = run(model, x_in, mode)
                torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)
    # the originals are untouched: their own BN statistics still count
    with torch.no_grad():
        module.norm.running_mean.add_(3)
    assert not torch.allclose(run(module, x), ref)
    torch.testing.assert_close(run(folded, x), ref, rtol=1e-5, atol=1e-5)


def test_merge_groups_leaves_what_cannot_merge():
    """A dilated MixConv, or TF padding meeting a 1x1 group at stride 2,
    is not one zero-padded conv: it stays as it is."""
    for conv in (
        MixConv2d(12, 12, (3, 5, 7), 1, dilated=True),
        MixConv2d(12, 12, (1, 3), 2, padding='same'),
    ):
        assert not conv.fusable
        merged = merge_groups(nn.Sequential(conv))
        assert isinstance(merged[0], MixConv2d)
        x = torch.randn(1, 12, 9, 9)
        torch.testing.assert_close(merged(x), conv(x), rtol=0, atol=0)


class BatchNormReLU(nn.BatchNorm2d):
    """A norm with an activation in its forward, as timm's BatchNormAct2d."""

    def forward(self, x):
        return torch.relu(super().forward(x))


def test_fold_bn_keeps_a_norm_whose_forward_adds_more():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), BatchNormReLU(8))
    model[1].running_mean.normal_()
    model.eval()
    x = torch.randn(2, 3, 16, 16)
    folded = fold_bn(model)
    assert isinstance(folded[1], BatchNormReLU)
    torch.testing.assert_close(folded(x), model(x), rtol=0, atol=0)


def test_fold_bn_keeps_timm_mixnet_outputs():
    timm = pytest.importorskip('timm')
    model = timm.create_model('mixnet_s', features_only=True).eval()
    x = torch.randn(1, 3, 64, 64)
    for a, b in zip(fold_bn(model)(x), model(x)):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-4)
