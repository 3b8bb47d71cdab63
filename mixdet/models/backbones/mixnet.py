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
from ..layers.arg_checks import check_int, check_rate
from ..layers.padding import check_padding_mode
from .base import MixBackbone, check_widen_factor
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
            1x1 output of that stage's first block (TF's
            ``layer_N/expansion_output``, not timm's
            ``feature_location='expansion'``: see :class:`MixBackbone`):
            ``4`` gives the first stride-32 block's 720 channels (S, M;
            960 for L) at stride 16.
        init_cfg: Initialization config (e.g. ``Pretrained``).
    """

    num_outputs = HEAD_INDEX + 1
    outputs_doc = 'strides 2, 4, 8, 16, 32 and the head conv'
    max_frozen_stages = HEAD_INDEX + 1

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
        super().__init__(
            out_indices, frozen_stages, norm_eval, with_cp, init_cfg
        )
        blocks = decode_arch(arch, widen_factor)
        head_channels = check_int(head_channels, 'head_channels')
        drop_path_rate = check_rate(drop_path_rate, 'drop_path_rate')
        self.block_cfg = dict(
            norm_cfg=norm_cfg, padding=check_padding_mode(padding)
        )

        self.in_channels = blocks[0].in_channels
        self.conv1 = ConvNormAct(
            make_conv2d(3, self.in_channels, 3, stride=2, padding=padding),
            self.in_channels,
            norm_cfg,
            dict(type='ReLU'),
        )
        self.head_channels = head_channels
        self.stage_specs = split_stages(blocks)
        self.stage_channels = tuple(
            stage[-1][1].out_channels for stage in self.stage_specs
        ) + (head_channels,)
        self.drop_path_rate, self.num_blocks = drop_path_rate, len(blocks)
        self.build_stages()
        self.select_outputs(expansion_out_indices)
        self.freeze_stages()

    def stage_name(self, index: int) -> str:
        return 'conv2' if index == HEAD_INDEX else f'layer{index + 1}'

    def make_layer(self, index: int) -> nn.Module:
        """Stage ``index``: a block per spec (one repeat each), stochastic
        depth growing with the block's index; or the head conv."""
        if index == HEAD_INDEX:
            conv2 = ConvNormAct(
                PointwiseConv2d(self.in_channels, self.head_channels),
                self.head_channels,
                self.block_cfg['norm_cfg'],
                dict(type='ReLU'),
            )
            self.in_channels = self.head_channels
            return conv2
        blocks = []
        for block_index, spec in self.stage_specs[index]:
            rate = self.drop_path_rate * block_index / self.num_blocks
            blocks.append(
                make_block(spec, drop_path_rate=rate, **self.block_cfg)
            )
            self.in_channels = spec.out_channels
        return nn.Sequential(*blocks)


def make_block(spec: BlockSpec, **kwargs) -> MixInvertedResidual:
    """The block one MixNet block string describes (one repeat).

    Args:
        spec: The decoded block string, see :class:`BlockSpec`.
        **kwargs: ``norm_cfg``, ``padding``, ``drop_path_rate``, ...
            (the activation follows the spec: Swish or ReLU).
    """
    act = dict(type='SiLU') if spec.swish else dict(type='ReLU')
    return MixInvertedResidual(
        spec.in_channels,
        spec.out_channels,
        kernel_sizes=spec.kernel_sizes,
        stride=spec.stride,
        expand_ratio=spec.expand_ratio,
        expand_groups=spec.expand_groups,
        project_groups=spec.project_groups,
        se_ratio=spec.se_ratio,
        act_cfg=act,
        **kwargs,
    )


def split_stages(blocks: list[BlockSpec]) -> list[list[tuple[int, BlockSpec]]]:
    """Group the blocks (with their index) into stages: a new stage starts
    at every stride-2 block. Raises unless there are 5 stages."""
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
    return stages
