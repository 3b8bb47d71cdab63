"""MixConv2d as an mmcv conv type: ConvModule(conv_cfg=...) and configs."""

import os

import pytest
import torch
from mmcv.cnn import ConvModule, DepthwiseSeparableConvModule
from mmdet.registry import MODELS
from mmdet.utils import register_all_modules
from mmengine.config import Config

from mixdet.models.layers import MixConv2d

from .helpers import REPO_DIR

MIXCONV = dict(type='MixConv2d', kernel_sizes=(3, 5, 7))


def test_conv_module_builds_a_depthwise_mixconv():
    module = ConvModule(
        24,
        24,
        3,
        padding=1,
        groups=24,
        conv_cfg=MIXCONV,
        norm_cfg=dict(type='BN'),
        act_cfg=dict(type='ReLU'),
    )
    conv = module.conv
    assert isinstance(conv, MixConv2d)
    # the cfg's kernel_sizes win over the positional kernel_size
    assert conv.kernel_sizes == (3, 5, 7) and conv.splits == [8, 8, 8]
    assert [c.padding for c in conv.convs] == [(1, 1), (2, 2), (3, 3)]
    assert list(module.state_dict())[:3] == [
        'conv.0.weight',
        'conv.1.weight',
        'conv.2.weight',
    ]
    module.init_weights()  # ConvModule's init leaves the MixConv alone
    module.eval()
    x = torch.randn(2, 24, 11, 11)
    plain = MixConv2d(24, 24, (3, 5, 7))
    plain.load_state_dict(conv.state_dict())
    expected = module.activate(module.bn(plain(x)))
    torch.testing.assert_close(module(x), expected, rtol=0, atol=0)


def test_conv_module_same_padding_and_multiplier():
    module = ConvModule(
        8,
        16,
        (3, 5),
        stride=2,
        padding='same',
        groups=8,
        conv_cfg=dict(type='MixConv2d'),
        norm_cfg=None,
        act_cfg=None,
    )
    assert module.conv.kernel_sizes == (3, 5)
    assert module(torch.randn(1, 8, 9, 10)).shape == (1, 16, 5, 5)


@pytest.mark.parametrize(
    'args, kwargs, words',
    [
        ((24, 24, 3), dict(padding=1, groups=1), ['groups', 'in_channels']),
        ((24, 24, 3), dict(padding=1, groups=8), ['groups', 'depthwise']),
        (
            (24, 30, 3),
            dict(padding=1, groups=24),
            ['out_channels', 'multiple'],
        ),
        ((24, 24, 3), dict(padding=0, groups=24), ['padding', 'kernel_size']),
        ((24, 24, 3), dict(padding=2, groups=24, dilation=2), ['dilation']),
        ((24, 24, 4), dict(padding=2, groups=24), ['kernel_size', 'odd']),
    ],
)
def test_what_mixconv_cannot_do_is_one_clear_error(args, kwargs, words):
    cfg = dict(type='MixConv2d')
    with pytest.raises(ValueError) as info:
        ConvModule(*args, conv_cfg=cfg, **kwargs)
    for word in words:
        assert word in str(info.value)


def test_depthwise_mixconv_type_leaves_other_convs_plain():
    module = DepthwiseSeparableConvModule(
        16,
        32,
        3,
        stride=2,
        padding=1,
        conv_cfg=dict(type='DepthwiseMixConv2d', kernel_sizes=(3, 5)),
        norm_cfg=dict(type='BN'),
    )
    assert isinstance(module.depthwise_conv.conv, MixConv2d)
    assert type(module.pointwise_conv.conv) is torch.nn.Conv2d
    assert module(torch.randn(1, 16, 9, 9)).shape == (1, 32, 5, 5)


def test_ssdlite_config_with_mixconv_neck_and_head():
    # the config itself trains and predicts in test_configs.py
    register_all_modules()
    path = 'configs/mixnet/ssdlite-mixconv357head_mixnet-s_8xb24-600e_coco.py'
    model = MODELS.build(Config.fromfile(os.path.join(REPO_DIR, path)).model)
    in_neck = [m for m in model.neck.modules() if isinstance(m, MixConv2d)]
    in_head = [
        m for m in model.bbox_head.modules() if isinstance(m, MixConv2d)
    ]
    assert len(in_neck) == 4  # one depthwise conv per extra level
    assert len(in_head) == 12  # class and box depthwise conv per level
    for m in in_neck + in_head:
        assert m.kernel_sizes == (3, 5, 7)
