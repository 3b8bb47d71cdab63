"""Building blocks: MixConv, grouped 1x1 conv, SE, inverted residual."""

from .channel_split import split_channels
from .conv_norm_act import ConvNormAct
from .mix_inverted_residual import MixInvertedResidual
from .mixconv import MixConv2d, check_kernel_sizes, make_depthwise_conv
from .padding import Conv2dSame, make_conv2d, pad_same
from .pointwise import (
    GroupedPointwiseConv2d,
    PointwiseConv2d,
    make_pointwise_conv,
)
from .squeeze_excite import SqueezeExcite

__all__ = [
    'Conv2dSame',
    'ConvNormAct',
    'GroupedPointwiseConv2d',
    'MixConv2d',
    'MixInvertedResidual',
    'PointwiseConv2d',
    'SqueezeExcite',
    'check_kernel_sizes',
    'make_conv2d',
    'make_depthwise_conv',
    'make_pointwise_conv',
    'pad_same',
    'split_channels',
]
