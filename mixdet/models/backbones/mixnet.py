"""MixNet-S/M/L/XL backbones (Tan & Le, BMVC 2019) for mmdet."""

from typing import Optional, Sequence, Union

from mmdet.registry import MODELS
from torch import nn

from ..layers import (
    ConvNormAct,
    MixInvertedResidual,
    PointwiseConv2d,
    make_conv2d,
)
from ..layers.arg_checks import check_int
from ..layers.padding import check_padding_mode
from .base import (
    MixBackbone,
    check_frozen_stages,
    check_out_indices,
    check_widen_factor,
)
from .block_spec import (
    BlockSpec,
    expand_repeats,
    parse_block_string,
    scale_depth,
    scale_width,
)
from .mixnet_archs import MIXNET_ARCHS

ArchType = Union[str, Sequence[Union[str, Sequence[str]]]]

NUM_STAGES = 5  # stride 2, 4, 8, 16, 32
HEAD_INDEX = NUM_STAGES  # out index of the 1x1 head conv


def decode_arch(arch: ArchType, widen_factor: float = 1.0) -> list[BlockSpec]:
    """Turn an arch name or block strings into one :class:`BlockSpec` per
    block, widths and depths scaled.

    Args:
        arch: ``'s'``, ``'m'``, ``'l'``, ``'xl'``, or a list of block strings
            (or of lists of them, each list scaled in depth together).
        widen_factor: Extra width multiplier on top of the arch's own.
    """
    if isinstance(arch, str):
        if arch not in MIXNET_ARCHS:
            raise ValueError(
                f'arch must be one of {sorted(MIXNET_ARCHS)} '
                f'or a list of block strings, got {arch!r}'
            )
        setting = MIXNET_ARCHS[arch]
        groups, width, depth = (
            setting['blocks'],
            setting['width'],
            setting['depth'],
        )
    elif isinstance(arch, Sequence) and len(arch) > 0:
        groups = [[g] if isinstance(g, str) else list(g) for g in arch]
        width, depth = 1.0, 1.0
    else:
        raise ValueError(
            f'arch must be one of {sorted(MIXNET_ARCHS)} or a '
            f'non-empty list of block strings, got {arch!r}'
        )
    width *= check_widen_factor(widen_factor)
    blocks = []
    for group in groups:
        specs = [scale_width(parse_block_string(s), width) for s in group]
        blocks += expand_repeats(scale_depth(specs, depth))
    for prev, block in zip(blocks, blocks[1:]):
        if block.in_channels != prev.out_channels:
            raise ValueError(
                f'malformed arch: a block with i{block.in_channels} follows '
                f'one with o{prev.out_channels}'
            )
    return blocks


@MODELS.register_module()
class MixNet(MixBackbone):
    """MixNet backbone.

    Stem ``conv1`` (3x3/2), five stages ``layer1``-``layer5`` ending at
    strides 2, 4, 8, 16 and 32 (a new stage starts at every stride-2 block)
    and the 1x1 head conv ``conv2`` to 1536 channels, laid out as mmdet's
    MobileNetV2. ``out_indices`` 0-4 select the stage outputs, 5 the head.
    Only the stages that feed a selected output are built.

    Args:
        arch: ``'s'``, ``'m'``, ``'l'``, ``'xl'`` or a list of block strings
            (see :mod:`mixdet.models.backbones.block_spec`).
        widen_factor: Width multiplier on top of the arch's.
        out_indices: Outputs to return, in 0-5.
        frozen_stages: Stages to freeze (weights and BN statistics): -1
            none, 0 the stem, ``i`` the stem and stages 1..i, 6 also the
            head conv.
        padding: ``'symmetric'`` (timm ``mixnet_*``) or ``'same'``
            (TensorFlow, timm ``tf_mixnet_*``).
        head_channels: Channels of the head conv.
        norm_cfg: Norm config. Use ``eps=1e-5`` for PyTorch-trained weights
            and ``eps=1e-3`` for TF-ported ones.
        norm_eval: Keep norm layers in eval mode while training.
        with_cp: Use gradient checkpointing in the blocks.
        drop_path_rate: Stochastic depth, growing linearly to this rate.
        expansion_out_indices: Out indices whose feature is the expansion
            1x1 output of that stage's first block (timm's
            ``feature_location='expansion'``): ``4`` gives the first
            stride-32 block's 720 channels (S, M; 960 for L) at stride 16.
        init_cfg: Initialization config (e.g. ``Pretrained``).
    """

    def __init__(
        self,
        arch: ArchType = 's',
        widen_factor: float = 1.0,
        out_indices: Sequence[int] = (2, 3, 4),
        frozen_stages: int = -1,
        padding: str = 'symmetric',
        head_channels: int = 1536,
        norm_cfg: dict = dict(type='BN', eps=1e-5, momentum=0.1),
        norm_eval: bool = False,
        with_cp: bool = False,
        drop_path_rate: float = 0.0,
        expansion_out_indices: Sequence[int] = (),
        init_cfg: Optional[Union[dict, list]] = None,
    ) -> None:
        if init_cfg is None:
            init_cfg = [
                dict(type='Kaiming', layer='Conv2d', mode='fan_out'),
                dict(
                    type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm']
                ),
            ]
        super().__init__(init_cfg=init_cfg)
        blocks = decode_arch(arch, widen_factor)
        out_indices = check_out_indices(
            out_indices,
            HEAD_INDEX + 1,
            'strides 2, 4, 8, 16, 32 and the head conv',
        )
        frozen_stages = check_frozen_stages(frozen_stages, HEAD_INDEX + 1)
        head_channels = check_int(head_channels, 'head_channels')
        if not 0 <= drop_path_rate < 1:
            raise ValueError(
                f'drop_path_rate must be in [0, 1), got {drop_path_rate!r}'
            )
        check_padding_mode(padding)
        self.out_indices = out_indices
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.with_cp = with_cp

        stem_channels = blocks[0].in_channels
        relu, swish = dict(type='ReLU'), dict(type='SiLU')
        self.conv1 = ConvNormAct(
            make_conv2d(3, stem_channels, 3, stride=2, padding=padding),
            stem_channels,
            norm_cfg,
            relu,
        )

        stages: list[list[tuple[int, BlockSpec]]] = []
        for index, spec in enumerate(blocks):
            if spec.stride == 2 or not stages:
                stages.append([])
            stages[-1].append((index, spec))
        if len(stages) != NUM_STAGES:
            raise ValueError(
                f'malformed arch: MixNet needs {NUM_STAGES - 1} stride-2 '
                f'blocks (strides 4, 8, 16, 32), got {len(stages) - 1}'
            )
        self.stage_channels = tuple(
            stage[-1][1].out_channels for stage in stages
        ) + (head_channels,)

        # Only the stages that feed an output are built, so no parameter is
        # left without a gradient (DDP) and no compute is wasted.
        self.layers = []
        for i, stage in enumerate(stages[: max(out_indices) + 1]):
            self.add_module(
                f'layer{i + 1}',
                nn.Sequential(
                    *[
                        MixInvertedResidual(
                            spec.in_channels,
                            spec.out_channels,
                            spec.kernel_sizes,
                            spec.stride,
                            spec.expand_ratio,
                            spec.expand_groups,
                            spec.project_groups,
                            spec.se_ratio,
                            act_cfg=swish if spec.swish else relu,
                            norm_cfg=norm_cfg,
                            padding=padding,
                            drop_path_rate=drop_path_rate
                            * index
                            / len(blocks),
                        )
                        for index, spec in stage
                    ]
                ),
            )
            self.layers.append(f'layer{i + 1}')
        if HEAD_INDEX in out_indices:
            self.conv2 = ConvNormAct(
                PointwiseConv2d(blocks[-1].out_channels, head_channels),
                head_channels,
                norm_cfg,
                relu,
            )
            self.layers.append('conv2')
        self.set_expansion_out_indices(expansion_out_indices)
        self.out_channels = self.output_channels(self.stage_channels)
        self._freeze_stages()
