"""MobileNetV1 whose depthwise convs are any kernel size or MixConv."""

from typing import Optional, Sequence, Union

from mmdet.models.utils import make_divisible
from mmdet.registry import MODELS
from torch import nn

from ..layers import (
    ConvNormAct,
    PointwiseConv2d,
    check_kernel_sizes,
    make_depthwise_conv,
)
from ..layers.channel_split import SplitType
from .base import MixBackbone, check_widen_factor, make_stem

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
    """Depthwise (or MixConv) conv -> BN -> act -> 1x1 conv -> BN -> act."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_sizes: tuple[int, ...],
        stride: int,
        split: SplitType,
        dilated: bool,
        padding: str,
        norm_cfg: dict,
        act_cfg: dict,
    ) -> None:
        super().__init__()
        self.depthwise_conv = ConvNormAct(
            make_depthwise_conv(
                in_channels, kernel_sizes, stride, split, dilated, padding
            ),
            in_channels,
            norm_cfg,
            act_cfg,
        )
        self.pointwise_conv = ConvNormAct(
            PointwiseConv2d(in_channels, out_channels),
            out_channels,
            norm_cfg,
            act_cfg,
        )


@MODELS.register_module()
class MixMobileNetV1(MixBackbone):
    """The 13-layer MobileNetV1 with configurable depthwise kernels.

    Outputs 0-12 are ``layer1``-``layer13``; SSDLite uses 10 (conv11,
    stride 16, 512 channels) and 12 (conv13, stride 32, 1024 channels).
    Only the layers that feed a selected output are built.

    Args:
        widen_factor: Width multiplier.
        out_indices: Outputs to return, in 0-12.
        frozen_stages: -1 none, 0 ``conv1``, ``i`` also ``layer1..i``.
        dw_kernel_sizes: One odd kernel size or a MixConv list.
        split: MixConv channel split, see :func:`split_channels`.
        dilated: Dilated 3x3 kernels instead of large ones (stride 1 only).
        padding: ``'symmetric'`` or ``'same'`` (TensorFlow).
        norm_cfg: Norm config.
        act_cfg: Activation config.
        norm_eval: Keep norm layers in eval mode while training.
        with_cp: Use gradient checkpointing in the layers.
        expansion_out_indices: Must stay empty: MobileNetV1 has no
            expansion convs (kept for one backbone contract).
        init_cfg: Initialization config.
    """

    num_outputs = len(MOBILENET_V1_SETTINGS)
    outputs_doc = 'layer1-layer13'
    max_frozen_stages = len(MOBILENET_V1_SETTINGS)

    def __init__(
        self,
        widen_factor: float = 1.0,
        out_indices: Sequence[int] = (10, 12),
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
        self.layer_cfg = dict(
            split=split,
            dilated=dilated,
            padding=padding,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg,
        )
        self.conv1, self.in_channels = make_stem(
            widen_factor, padding, norm_cfg, act_cfg
        )
        settings = MOBILENET_V1_SETTINGS[: self.num_stages_to_build]
        for i, (width, stride) in enumerate(settings):
            out_channels = make_divisible(width * widen_factor, 8)
            layer = self.make_layer(out_channels, stride)
            self.add_stage(f'layer{i + 1}', layer, out_channels)
        self.select_outputs(expansion_out_indices)

    def make_layer(self, out_channels: int, stride: int) -> nn.Module:
        """One depthwise-separable layer."""
        layer = DepthwiseSeparable(
            self.in_channels,
            out_channels,
            self.dw_kernel_sizes,
            stride,
            **self.layer_cfg,
        )
        self.in_channels = out_channels
        return layer
