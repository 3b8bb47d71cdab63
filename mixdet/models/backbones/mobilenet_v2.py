"""MobileNetV2 whose depthwise convs are any kernel size or MixConv."""

from mmdet.models.utils import make_divisible
from mmdet.registry import MODELS
from torch import nn

from ..layers import ConvNormAct, MixInvertedResidual, PointwiseConv2d
from .mix_mobilenet import MixMobileNet

# expand ratio, channels, blocks, stride of the first block (mmdet's table).
MOBILENET_V2_SETTINGS = [
    [1, 16, 1, 1],
    [6, 24, 2, 2],
    [6, 32, 3, 2],
    [6, 64, 4, 2],
    [6, 96, 3, 1],
    [6, 160, 3, 2],
    [6, 320, 1, 1],
]


@MODELS.register_module()
class MixMobileNetV2(MixMobileNet):
    """MobileNetV2 with every 3x3 depthwise conv replaced as the MixConv
    paper's Table 1 does (arguments: :class:`MixMobileNet`).

    ``dw_kernel_sizes=3`` is mmdet's ``MobileNetV2``: same state-dict keys
    and outputs. Outputs 0-6 are ``layer1``-``layer7``, 7 is ``conv2``
    (1x1 to 1280); the default ``out_indices`` is mmdet's ``(1, 2, 4, 7)``.
    Only the layers that feed a selected output are built.
    ``expansion_out_indices=(5,)`` with ``out_indices=(5, 7)`` gives the
    paper's SSDLite features (576 ch at stride 16, 1280 at stride 32).
    """

    num_outputs = len(MOBILENET_V2_SETTINGS) + 1
    outputs_doc = 'layer1-layer7 and conv2'
    max_frozen_stages = len(MOBILENET_V2_SETTINGS)
    default_out_indices = (1, 2, 4, 7)

    def stage_name(self, index: int) -> str:
        return 'conv2' if index == len(MOBILENET_V2_SETTINGS) else (
            f'layer{index + 1}'
        )

    def make_layer(self, index: int) -> nn.Module:
        """Stage ``index``: a row of ``MOBILENET_V2_SETTINGS`` as mmdet's
        inverted residual blocks, or the last 1x1 conv ``conv2``."""
        if index == len(MOBILENET_V2_SETTINGS):
            widen = self.widen_factor
            last = int(1280 * widen) if widen > 1 else 1280
            conv2 = ConvNormAct(
                PointwiseConv2d(self.in_channels, last),
                last,
                self.block_cfg['norm_cfg'],
                self.block_cfg['act_cfg'],
            )
            self.in_channels = last
            return conv2
        expand_ratio, width, num_blocks, stride = MOBILENET_V2_SETTINGS[index]
        out_channels = make_divisible(width * self.widen_factor, 8)
        layers = []
        for i in range(num_blocks):
            layers.append(
                MixInvertedResidual(
                    self.in_channels,
                    out_channels,
                    self.dw_kernel_sizes,
                    stride=stride if i == 0 else 1,
                    expand_ratio=expand_ratio,
                    **self.block_cfg,
                )
            )
            self.in_channels = out_channels
        return nn.Sequential(*layers)
