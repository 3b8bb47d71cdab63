"""What the paper's Table-1 MobileNets share: a width multiplier, the 3x3/2
stem, and one depthwise kernel setting for every layer."""

from typing import Optional, Sequence, Union

from mmdet.models.utils import make_divisible
from torch import nn

from ..layers import ConvNormAct, check_kernel_sizes, make_conv2d
from ..layers.channel_split import SplitType
from .base import MixBackbone, check_widen_factor


def make_stem(
    widen_factor: float, padding: str, norm_cfg: dict, act_cfg: dict
) -> tuple[nn.Module, int]:
    """The MobileNets' stem: 3x3/2 conv to 32 * widen_factor channels
    (rounded to 8), norm, act. Returns the module and its channels."""
    channels = make_divisible(32 * widen_factor, 8)
    stem = ConvNormAct(
        make_conv2d(3, channels, 3, 2, padding=padding),
        channels,
        norm_cfg,
        act_cfg,
    )
    return stem, channels


class MixMobileNet(MixBackbone):
    """A MobileNet whose every depthwise conv is any odd kernel size or a
    MixConv kernel list (MixConv paper, Table 1).

    A subclass sets ``default_out_indices`` and the output attributes of
    :class:`MixBackbone`, and builds stage ``i`` in ``make_layer(i)``
    from ``self.in_channels`` with ``self.block_cfg``.

    Args:
        widen_factor: Width multiplier.
        out_indices: Outputs to return; ``None`` is the class's
            ``default_out_indices``.
        frozen_stages: -1 none, 0 ``conv1``, ``i`` also ``layer1..i``.
        dw_kernel_sizes: Depthwise kernel: one odd size (``3``, ``5``,
            ``7``) or a MixConv list (``(3, 5)``, ``(3, 5, 7)``, ...).
        split: MixConv channel split, see :func:`split_channels`.
        dilated: Dilated 3x3 kernels instead of large ones (stride 1 only).
        padding: ``'symmetric'`` or ``'same'`` (TensorFlow).
        norm_cfg: Norm config.
        act_cfg: Activation config.
        norm_eval: Keep norm layers in eval mode while training.
        with_cp: Use gradient checkpointing in the layers.
        expansion_out_indices: Out indices whose feature is the expansion
            1x1 output of that stage's first block (TF's
            ``layer_N/expansion_output``); MobileNetV2 only.
        init_cfg: Initialization config.
    """

    default_out_indices: tuple[int, ...]

    def __init__(
        self,
        widen_factor: float = 1.0,
        out_indices: Optional[Sequence[int]] = None,
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
        if out_indices is None:
            out_indices = self.default_out_indices
        super().__init__(
            out_indices, frozen_stages, norm_eval, with_cp, init_cfg
        )
        self.widen_factor = check_widen_factor(widen_factor)
        self.dw_kernel_sizes = check_kernel_sizes(
            dw_kernel_sizes, 'dw_kernel_sizes'
        )
        self.block_cfg = dict(
            split=split,
            dilated=dilated,
            padding=padding,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg,
        )
        self.conv1, self.in_channels = make_stem(
            widen_factor, padding, norm_cfg, act_cfg
        )
        self.build_stages()
        self.select_outputs(expansion_out_indices)
        self.freeze_stages()
