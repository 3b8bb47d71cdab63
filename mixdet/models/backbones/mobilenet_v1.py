"""MobileNetV1 whose depthwise convs are any kernel size or MixConv."""

from mmdet.models.utils import make_divisible
from mmdet.registry import MODELS
from torch import nn

from ..layers import ConvNormAct, PointwiseConv2d
from .mix_mobilenet import MixMobileNet

# Output channels and stride of the 13 depthwise-separable layers
# (Howard et al. 2017, Table 1). conv11 is index 10, conv13 index 12.
MOBILENET_V1_SETTINGS = [
    (64, 1),
    (128, 2),
    (128, 1),
    (256, 2),
    (256, 1),
    (512, 2),
    (512, 1),
    (512, 1),
    (512, 1),
    (512, 1),
    (512, 1),
    (1024, 2),
    (1024, 1),
]


class DepthwiseSeparable(nn.Sequential):
    """Depthwise (or MixConv) conv -> BN -> act -> 1x1 conv -> BN -> act.

    Args:
        in_channels: Input channels.
        out_channels: Output channels.
        kernel_sizes: Depthwise kernel size(s).
        stride: Stride of the depthwise conv.
        norm_cfg: Norm config.
        act_cfg: Activation config.
        **mixconv: ``split``, ``dilated``, ``padding`` of the depthwise
            conv, see :func:`make_depthwise_conv`.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_sizes: tuple[int, ...],
        stride: int,
        norm_cfg: dict,
        act_cfg: dict,
        **mixconv,
    ) -> None:
        super().__init__()
        self.depthwise_conv = ConvNormAct.depthwise(
            in_channels, kernel_sizes, stride, mixconv, norm_cfg, act_cfg
        )
        self.pointwise_conv = ConvNormAct(
            PointwiseConv2d(in_channels, out_channels),
            out_channels,
            norm_cfg,
            act_cfg,
        )


@MODELS.register_module()
class MixMobileNetV1(MixMobileNet):
    """The 13-layer MobileNetV1 with configurable depthwise kernels
    (arguments: :class:`MixMobileNet`; it has no expansion convs).

    Outputs 0-12 are ``layer1``-``layer13``; SSDLite uses 10 (conv11,
    stride 16, 512 channels) and 12 (conv13, stride 32, 1024 channels), the
    default ``out_indices``. Only the layers that feed a selected output
    are built.
    """

    num_outputs = len(MOBILENET_V1_SETTINGS)
    outputs_doc = 'layer1-layer13'
    max_frozen_stages = len(MOBILENET_V1_SETTINGS)
    default_out_indices = (10, 12)

    def make_layer(self, index: int) -> nn.Module:
        """Layer ``index``: one depthwise-separable layer of
        ``MOBILENET_V1_SETTINGS``."""
        width, stride = MOBILENET_V1_SETTINGS[index]
        out_channels = make_divisible(width * self.widen_factor, 8)
        layer = DepthwiseSeparable(
            self.in_channels,
            out_channels,
            self.dw_kernel_sizes,
            stride,
            **self.block_cfg,
        )
        self.in_channels = out_channels
        return layer
