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
from .base import (
    DEFAULT_INIT_CFG,
    MixBackbone,
    check_frozen_stages,
    check_out_indices,
    check_widen_factor,
    make_stem,
)

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
        super().__init__(init_cfg=init_cfg or DEFAULT_INIT_CFG)
        check_widen_factor(widen_factor)
        self.dw_kernel_sizes = check_kernel_sizes(
            dw_kernel_sizes, 'dw_kernel_sizes'
        )
        self.out_indices = check_out_indices(
            out_indices,
            len(MOBILENET_V2_SETTINGS) + 1,
            'layer1-layer7 and conv2',
        )
        self.frozen_stages = check_frozen_stages(
            frozen_stages, len(MOBILENET_V2_SETTINGS)
        )
        self.norm_eval = norm_eval
        self.with_cp = with_cp

        self.conv1, in_channels = make_stem(
            widen_factor, padding, norm_cfg, act_cfg
        )
        self.layers: list[str] = []
        channels = []
        num_built = max(self.out_indices) + 1
        for i, (ratio, width, blocks, stride) in enumerate(
            MOBILENET_V2_SETTINGS[:num_built]
        ):
            out_channels = make_divisible(width * widen_factor, 8)
            layer = nn.Sequential(
                *[
                    MixInvertedResidual(
                        in_channels if b == 0 else out_channels,
                        out_channels,
                        self.dw_kernel_sizes,
                        stride if b == 0 else 1,
                        expand_ratio=ratio,
                        expand_groups=1,
                        project_groups=1,
                        se_ratio=0,
                        act_cfg=act_cfg,
                        norm_cfg=norm_cfg,
                        padding=padding,
                        split=split,
                        dilated=dilated,
                    )
                    for b in range(blocks)
                ]
            )
            self.add_module(f'layer{i + 1}', layer)
            self.layers.append(f'layer{i + 1}')
            channels.append(out_channels)
            in_channels = out_channels
        if num_built > len(MOBILENET_V2_SETTINGS):
            last = int(1280 * widen_factor) if widen_factor > 1 else 1280
            self.conv2 = ConvNormAct(
                PointwiseConv2d(in_channels, last),
                last,
                norm_cfg,
                act_cfg,
            )
            self.layers.append('conv2')
            channels.append(last)
        self.set_expansion_out_indices(expansion_out_indices)
        self.out_channels = self.output_channels(channels)
        self._freeze_stages()
