"""The inverted-residual block of MixNet and the MixConv MobileNetV2.

Child names follow mmdet's ``InvertedResidual`` (``expand_conv``,
``depthwise_conv``, ``linear_conv``) so that a plain 3x3 block has exactly
the state dict of mmdet's MobileNetV2.
"""

from typing import Optional, Sequence

import torch
from mmcv.cnn.bricks import DropPath
from torch import nn

from .channel_split import SplitType
from .conv_norm_act import ConvNormAct
from .pointwise import make_pointwise_conv
from .squeeze_excite import SqueezeExcite


class MixInvertedResidual(nn.Module):
    """[expand 1x1] -> MixConv -> [SE] -> project 1x1 (+ residual).

    With ``expand_ratio == 1`` there is no expansion conv (MixNet's first,
    depthwise-separable block). The defaults make MobileNetV2's block: no
    SE, ungrouped 1x1 convs. ``mixnet.make_block`` builds a MixNet block
    from its block string.

    Args:
        in_channels: Input channels.
        out_channels: Output channels.
        kernel_sizes: Depthwise kernel size per MixConv group.
        stride: Stride of the depthwise conv.
        expand_ratio: Hidden channels = ``in_channels * expand_ratio``.
        expand_groups: Groups of the expansion 1x1 conv (``a`` field).
        project_groups: Groups of the projection 1x1 conv (``p`` field).
        se_ratio: SE bottleneck = ``max(1, int(in_channels * se_ratio))``;
            0 disables SE.
        act_cfg: Activation of the block (ReLU, ReLU6 or Swish).
        norm_cfg: Norm layer config.
        padding: ``'symmetric'`` or ``'same'``.
        split: How MixConv splits its channels, see :func:`split_channels`.
        dilated: Dilated instead of large kernels (stride-1 blocks only).
        drop_path_rate: Stochastic depth rate of the residual branch.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_sizes: Sequence[int] = (3,),
        stride: int = 1,
        expand_ratio: int = 6,
        expand_groups: int = 1,
        project_groups: int = 1,
        se_ratio: float = 0.0,
        act_cfg: dict = dict(type='ReLU6'),
        norm_cfg: dict = dict(type='BN'),
        padding: str = 'symmetric',
        split: SplitType = 'equal',
        dilated: bool = False,
        drop_path_rate: float = 0.0,
    ) -> None:
        super().__init__()
        hidden = in_channels * expand_ratio
        self.out_channels = out_channels
        self.expansion_channels = hidden if expand_ratio != 1 else 0
        self.use_residual = stride == 1 and in_channels == out_channels
        self.expand_conv: Optional[nn.Module] = None
        if expand_ratio != 1:
            self.expand_conv = ConvNormAct(
                make_pointwise_conv(in_channels, hidden, expand_groups),
                hidden,
                norm_cfg,
                act_cfg,
            )
        mixconv = dict(split=split, dilated=dilated, padding=padding)
        self.depthwise_conv = ConvNormAct.depthwise(
            hidden, kernel_sizes, stride, mixconv, norm_cfg, act_cfg
        )
        self.se: Optional[nn.Module] = None
        if se_ratio > 0:
            self.se = SqueezeExcite(
                hidden, max(1, int(in_channels * se_ratio)), act_cfg
            )
        self.linear_conv = ConvNormAct(
            make_pointwise_conv(hidden, out_channels, project_groups),
            out_channels,
            norm_cfg,
            None,
        )
        self.drop_path = (
            DropPath(drop_path_rate) if drop_path_rate > 0 else nn.Identity()
        )

    def forward(
        self, x: torch.Tensor, expansion: Optional[list] = None
    ) -> torch.Tensor:
        """The block; its expansion output (TF's ``expansion_output``: the
        expansion conv's output after norm and activation, the depthwise
        conv's input) is appended to ``expansion`` if given."""
        out = x if self.expand_conv is None else self.expand_conv(x)
        if expansion is not None:
            expansion.append(out)
        out = self.depthwise_conv(out)
        if self.se is not None:
            out = self.se(out)
        out = self.linear_conv(out)
        if self.use_residual:
            out = x + self.drop_path(out)
        return out
