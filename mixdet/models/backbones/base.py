"""What every mixdet backbone shares: argument checks, freezing, norm_eval
and gradient checkpointing."""

import numbers
from typing import Iterable, Optional, Sequence, Union

import torch
import torch.utils.checkpoint as cp
from mmengine.model import BaseModule
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from ..layers.arg_checks import check_bool, check_int

DEFAULT_INIT_CFG = [
    dict(type='Kaiming', layer='Conv2d'),
    dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm']),
]


def check_out_indices(
    out_indices: Sequence[int], num_outputs: int, meaning: str
) -> tuple[int, ...]:
    """Return ``out_indices`` as a tuple, or raise naming the valid range."""
    error = ValueError(
        f'out_indices must be increasing ints in '
        f'0..{num_outputs - 1} ({meaning}), got {out_indices!r}'
    )
    if isinstance(out_indices, numbers.Integral) and not isinstance(
        out_indices, bool
    ):
        out_indices = (out_indices,)
    if isinstance(out_indices, (str, bytes)) or not isinstance(
        out_indices, Iterable
    ):
        raise error
    indices = tuple(out_indices)
    if (
        not indices
        or any(
            isinstance(i, bool)
            or not isinstance(i, numbers.Integral)
            or not 0 <= i < num_outputs
            for i in indices
        )
        or list(indices) != sorted(set(indices))
    ):
        raise error
    return tuple(int(i) for i in indices)


def check_frozen_stages(frozen_stages: int, num_stages: int) -> int:
    """Return ``frozen_stages`` or raise naming the valid range."""
    return check_int(frozen_stages, 'frozen_stages', -1, num_stages)


# Wider than 8x the paper's widths, a backbone's memory is out of reach of
# any one GPU: a larger value is a typo, refused before anything is
# allocated.
MAX_WIDEN_FACTOR = 8.0


def check_widen_factor(widen_factor: float) -> float:
    """Return ``widen_factor`` or raise unless it is in (0, 8]."""
    if (
        isinstance(widen_factor, bool)
        or not isinstance(widen_factor, numbers.Real)
        or not 0 < widen_factor <= MAX_WIDEN_FACTOR  # False for nan
    ):
        raise ValueError(
            f'widen_factor must be a positive number up to '
            f'{MAX_WIDEN_FACTOR}, got {widen_factor!r}'
        )
    return float(widen_factor)


class MixBackbone(BaseModule):
    """Base class of mixdet's backbones, laid out as mmdet's MobileNetV2.

    ``__init__`` checks and stores the contract every backbone shares.
    The subclass then sets ``block_cfg`` (the settings every block shares),
    builds its stem ``conv1`` and ``self.in_channels`` (the stem's
    channels), and calls :meth:`build_stages`, which adds
    ``make_layer(i)`` as output ``i`` for every output that feeds a
    selected one, then :meth:`select_outputs` and :meth:`freeze_stages`.

    ``frozen_stages = i`` freezes the stem and the first ``i`` stages
    (weights and BN statistics); ``norm_eval`` keeps every BN in eval mode;
    ``with_cp`` checkpoints every block of a stage while training.
    An index in ``expansion_out_indices`` returns the expansion output of
    that stage's first block instead of the stage's output: TF's
    ``layer_N/expansion_output`` (the expansion 1x1 conv's output after
    norm and activation, at the previous stage's stride). timm's
    ``feature_location='expansion'`` is another tensor: the input of the
    projection 1x1 conv of the *previous* stage's last block (MixNet-S at
    stride 16: mixdet 720 channels, timm 360).

    Args:
        out_indices: Outputs to return, in ``0 .. num_outputs - 1``.
        frozen_stages: -1 (none) up to ``max_frozen_stages``.
        norm_eval: Keep norm layers in eval mode while training.
        with_cp: Use gradient checkpointing in the blocks.
        init_cfg: Initialization config; ``None`` is mmdet's MobileNetV2
            default (Kaiming convs, BN weights 1).
    """

    #: What the outputs are, set by each subclass.
    num_outputs: int
    outputs_doc: str
    max_frozen_stages: int

    conv1: nn.Module
    block_cfg: dict
    in_channels: int
    expansion_out_indices: tuple[int, ...] = ()

    def __init__(
        self,
        out_indices: Sequence[int],
        frozen_stages: int = -1,
        norm_eval: bool = False,
        with_cp: bool = False,
        init_cfg: Optional[Union[dict, list]] = None,
    ) -> None:
        super().__init__(
            init_cfg=DEFAULT_INIT_CFG if init_cfg is None else init_cfg
        )
        self.out_indices = check_out_indices(
            out_indices, self.num_outputs, self.outputs_doc
        )
        self.frozen_stages = check_frozen_stages(
            frozen_stages, self.max_frozen_stages
        )
        self.norm_eval = check_bool(norm_eval, 'norm_eval')
        self.with_cp = check_bool(with_cp, 'with_cp')
        self.layers: list[str] = []
        self._stage_channels: list[int] = []

    @property
    def num_stages_to_build(self) -> int:
        """Stages that feed a selected output."""
        return max(self.out_indices) + 1

    def make_layer(self, index: int) -> nn.Module:
        """Output ``index``'s stage, built from ``self.in_channels`` with
        ``self.block_cfg``; it leaves ``self.in_channels`` at the stage's
        output channels."""
        raise NotImplementedError

    def stage_name(self, index: int) -> str:
        """``'layer{index + 1}'``, as mmdet names stages."""
        return f'layer{index + 1}'

    def build_stages(self) -> None:
        """Add ``make_layer(i)`` for every output that feeds a selected
        one; the rest are never built, so DDP sees no parameter without a
        gradient."""
        for i in range(self.num_stages_to_build):
            name = self.stage_name(i)
            self.add_module(name, self.make_layer(i))
            self.layers.append(name)
            self._stage_channels.append(self.in_channels)

    def select_outputs(self, expansion_out_indices: Sequence[int]) -> None:
        """Check ``expansion_out_indices`` and set ``out_channels``."""
        self.set_expansion_out_indices(expansion_out_indices)
        self.out_channels = self.output_channels(self._stage_channels)

    def freezable_modules(self) -> list[nn.Module]:
        """Stem first, then the stages in order."""
        return [self.conv1] + [getattr(self, name) for name in self.layers]

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        x = self.conv1(x)
        outs = []
        for i, name in enumerate(self.layers):
            stage = getattr(self, name)
            if i in self.expansion_out_indices:
                # The first block's expansion output, before its (strided)
                # depthwise conv: TF's layer_N/expansion_output.
                block = stage[0]
                if i == self.out_indices[-1]:  # nothing after it is needed
                    outs.append(block.expand_conv(x))
                    break
                expansion: list[torch.Tensor] = []
                x = block(x, expansion)
                outs.append(expansion[0])
                x = self.run_stage(stage[1:], x)
            else:
                x = self.run_stage(stage, x)
                if i in self.out_indices:
                    outs.append(x)
        return tuple(outs)

    def set_expansion_out_indices(self, indices: Sequence[int]) -> None:
        """Check and store ``expansion_out_indices`` once the stages exist.

        Raises ValueError unless every index is in ``out_indices`` and names
        a stage whose first block has an expansion 1x1 conv.
        """
        if isinstance(indices, numbers.Integral) and not isinstance(
            indices, bool
        ):
            indices = (indices,)
        allowed = [i for i in self.out_indices if self._expansion_channels(i)]
        if (
            isinstance(indices, (str, bytes))
            or not isinstance(indices, Iterable)
            or any(
                isinstance(i, bool)
                or not isinstance(i, numbers.Integral)
                or i not in allowed
                for i in indices
            )
        ):
            raise ValueError(
                f'expansion_out_indices must be out indices whose stage '
                f'starts with an expansion 1x1 conv: any of {allowed} for '
                f'{type(self).__name__} with out_indices='
                f'{self.out_indices}, got {indices!r}'
            )
        self.expansion_out_indices = tuple(sorted({int(i) for i in indices}))

    def _expansion_channels(self, index: int) -> int:
        """Channels of output ``index``'s first expansion conv, 0 if none."""
        stage = getattr(self, self.layers[index])
        first = stage[0] if isinstance(stage, nn.Sequential) else stage
        return getattr(first, 'expansion_channels', 0)

    def output_channels(self, stage_channels: Sequence[int]) -> tuple:
        """``out_channels``: each selected stage's channels, or its first
        block's expansion channels where asked."""
        return tuple(
            self._expansion_channels(i)
            if i in self.expansion_out_indices
            else stage_channels[i]
            for i in self.out_indices
        )

    def freeze_stages(self) -> None:
        """Freeze the stem and the first ``frozen_stages`` stages (weights
        and norm statistics)."""
        for module in self.freezable_modules()[: self.frozen_stages + 1]:
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def train(self, mode: bool = True) -> 'MixBackbone':
        """Set train mode, keeping frozen stages (and with ``norm_eval`` all
        norm layers) in eval mode."""
        super().train(mode)
        self.freeze_stages()
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, _BatchNorm):
                    module.eval()
        return self

    def run_stage(self, stage: nn.Module, x: torch.Tensor) -> torch.Tensor:
        """Run a stage, checkpointing each block if ``with_cp``."""
        blocks = stage if isinstance(stage, nn.Sequential) else [stage]
        for block in blocks:
            if self.with_cp and x.requires_grad:
                x = cp.checkpoint(block, x, use_reentrant=False)
            else:
                x = block(x)
        return x


def is_mixdet_backbone(type_: Union[str, type, None]) -> bool:
    """Whether a config's ``type`` (``'MixNet'``, ``'mmdet.MixNet'`` or the
    class) names one of mixdet's backbones: the one rule for the question.
    """
    from mmdet.registry import MODELS

    cls = MODELS.get(type_) if isinstance(type_, str) else type_
    return isinstance(cls, type) and issubclass(cls, MixBackbone)


def mixdet_backbones() -> list[str]:
    """The registered names of mixdet's backbones."""
    from mmdet.registry import MODELS

    return sorted(
        name
        for name, cls in MODELS.module_dict.items()
        if is_mixdet_backbone(cls)
    )
