"""MobileNetV2 whose depthwise convs are any kernel size or MixConv."""

from typing import Optional, Sequence, Union

from mmdet.models.utils import make_divisible
from mmdet.registry import MODELS
from torch import nn

from ..layers import (
    ConvNormAct,
    MixInvertedResidual,
    PointwiseConv2d,
    check_kernel_sizes,
)
from ..layers.channel_split import SplitType
from .base import MixBackbone, check_widen_factor, make_stem

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
class MixMobileNetV2(MixBackbone):
    """MobileNetV2 with every 3x3 depthwise conv replaced as the MixConv
    paper's Table 1 does.

    ``dw_kernel_sizes=3`` is mmdet's ``MobileNetV2``: same state-dict keys
    and outputs. Outputs 0-6 are ``layer1``-``layer7``, 7 is ``conv2``
    (1x1 to 1280); only the layers that feed a selected output are built.

    Args:
        widen_factor: Width multiplier.
        out_indices: Outputs to return, in 0-7.
        frozen_stages: -1 none, 0 ``conv1``, ``i`` also ``layer1..i``.
        dw_kernel_sizes: Depthwise kernel: one odd size (``3``, ``5``,
            ``7``) or a MixConv list (``(3, 5)``, ``(3, 5, 7)``, ...).
        split: MixConv channel split, see :func:`split_channels`.
        dilated: Dilated 3x3 kernels instead of large ones (stride 1 only).
        padding: ``'symmetric'`` or ``'same'`` (TensorFlow).
        norm_cfg: Norm config.
        act_cfg: Activation config.
        norm_eval: Keep norm layers in eval mode while training.
        with_cp: Use gradient checkpointing in the blocks.
        expansion_out_indices: Out indices whose feature is the expansion
            1x1 output of that stage's first block (TF's
            ``layer_N/expansion_output``), e.g. ``(5,)`` with
            ``out_indices=(5, 7)`` gives the paper's SSDLite features
            (576 ch at stride 16, 1280 at stride 32).
        init_cfg: Initialization config.
    """

    num_outputs = len(MOBILENET_V2_SETTINGS) + 1
    outputs_doc = 'layer1-layer7 and conv2'
    max_frozen_stages = len(MOBILENET_V2_SETTINGS)

    def __init__(
        self,
        widen_factor: float = 1.0,
        out_indices: Sequence[int] = (1, 2, 4, 7),
        frozen_stages: int = -1,
        dw_kernel_sizes: Union[int, Sequence[int]] = 3,
        split: SplitType = 'equal',
        dilated: bool = False,
        padding: str = 'symmetric',
        norm_cfg: dict = dict(type='BN'),
        act_cfg: dict = dict(type='ReLU6'),
        norm_eval: bool = False,
        with_cp: bool = False,
        expansion_out_indices: Sequence[int] = (),
        init_cfg: Optional[Union[dict, list]] = None,
    ) -> None:
        super().__init__(
            out_indices, frozen_stages, norm_eval, with_cp, init_cfg
        )
        check_widen_factor(widen_factor)
        self.dw_kernel_sizes = check_kernel_sizes(
            dw_kernel_sizes, 'dw_kernel_sizes'
        )
        self.block_cfg = dict(
            kernel_sizes=self.dw_kernel_sizes,
            act_cfg=act_cfg,
            norm_cfg=norm_cfg,
            padding=padding,
            split=split,
            dilated=dilated,
        )
        self.conv1, self.in_channels = make_stem(
            widen_factor, padding, norm_cfg, act_cfg
        )
        settings = MOBILENET_V2_SETTINGS[: self.num_stages_to_build]
        for i, (expand_ratio, width, num_blocks, stride) in enumerate(
            settings
        ):
            out_channels = make_divisible(width * widen_factor, 8)
            layer = self.make_layer(
                out_channels, num_blocks, stride, expand_ratio
            )
            self.add_stage(f'layer{i + 1}', layer, out_channels)
        if self.num_stages_to_build > len(MOBILENET_V2_SETTINGS):
            last = int(1280 * widen_factor) if widen_factor > 1 else 1280
            conv2 = ConvNormAct(
                PointwiseConv2d(self.in_channels, last),
                last,
                norm_cfg,
                act_cfg,
            )
            self.add_stage('conv2', conv2, last)
        self.select_outputs(expansion_out_indices)

    def make_layer(
        self,
        out_channels: int,
        num_blocks: int,
        stride: int,
        expand_ratio: int,
    ) -> nn.Sequential:
        """One stage of inverted residual blocks, as mmdet's."""
        layers = []
        for i in range(num_blocks):
            layers.append(
                MixInvertedResidual(
                    self.in_channels,
                    out_channels,
                    stride=stride if i == 0 else 1,
                    expand_ratio=expand_ratio,
                    **self.block_cfg,
                )
            )
            self.in_channels = out_channels
        return nn.Sequential(*layers)
