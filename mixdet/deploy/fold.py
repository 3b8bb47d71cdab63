"""BatchNorm folded into the convs before export, and the groups of
MixConv and grouped 1x1 convs merged into one conv where the export rule
says so: outputs unchanged."""

import copy
from typing import Optional

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from ..models.layers import GroupedPointwiseConv2d, MixConv2d, make_conv2d
from ..ops import block_diagonal_weight, pad_kernels
from .export_rules import ExportRule, export_rule

GROUPED = (MixConv2d, GroupedPointwiseConv2d)
# The forwards that are nothing but a batch norm in eval mode. A subclass
# with its own forward (timm's BatchNormAct2d adds an activation) is left
# as it is: folding it would drop what its forward adds.
PLAIN_BN_FORWARDS = (_BatchNorm.forward, nn.SyncBatchNorm.forward)


def fold_bn(model: nn.Module) -> nn.Module:
    """A copy of ``model`` for inference with every BatchNorm that directly
    follows a conv (its next sibling, as in mmcv's ``ConvModule`` and
    mixdet's ``ConvNormAct``) folded into that conv: plain convs, and
    group by group :class:`MixConv2d` and :class:`GroupedPointwiseConv2d`
    (which mmcv's ``fuse_conv_bn`` skips). Affine or not. A norm whose
    class has its own forward (timm's ``BatchNormAct2d``: norm + activation)
    is not folded, so outputs never change (mmcv's ``fuse_conv_bn`` would
    replace it, activation and all, by an identity)."""
    return _fold_all(copy.deepcopy(model).eval())


def _fold_all(model: nn.Module) -> nn.Module:
    """:func:`fold_bn` in place."""
    for parent in list(model.modules()):
        conv = None
        for name, child in list(parent.named_children()):
            if is_plain_bn(child) and conv is not None:
                _fold(conv, child)
                setattr(parent, name, nn.Identity())
                conv = None
            elif isinstance(child, (nn.Conv2d, *GROUPED)):
                conv = child
            else:
                conv = None
    return model


def is_plain_bn(module: nn.Module) -> bool:
    """Whether ``module`` is a batch norm whose forward is only that."""
    return (
        isinstance(module, _BatchNorm)
        and type(module).forward in PLAIN_BN_FORWARDS
    )


def batch_norm_affine(
    norm: _BatchNorm,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(scale, shift)`` with ``norm(y) == y * scale + shift`` per channel
    in inference (running statistics)."""
    scale = torch.rsqrt(norm.running_var + norm.eps)
    if norm.weight is not None:
        scale = scale * norm.weight
    if norm.bias is None:
        return scale, -norm.running_mean * scale
    return scale, torch.addcmul(norm.bias, norm.running_mean, scale, value=-1)


@torch.no_grad()
def _fold(conv: nn.Module, bn: _BatchNorm) -> None:
    """Fold ``bn`` into ``conv`` (into each group conv whose outputs it
    normalises)."""
    scale, shift = batch_norm_affine(bn)
    convs = conv.convs if isinstance(conv, GROUPED) else [conv]
    sizes = [c.out_channels for c in convs]
    for c, s, b in zip(convs, scale.split(sizes), shift.split(sizes)):
        bias = b if c.bias is None else torch.addcmul(b, c.bias, s)
        c.weight.mul_(s.view(-1, 1, 1, 1))
        c.bias = nn.Parameter(bias)


@torch.no_grad()
def merge_groups(
    model: nn.Module,
    mixconv_max_kernel: int = 99,
    pointwise: str = 'grouped',
) -> nn.Module:
    """A copy of ``model`` with every :class:`MixConv2d` that can run as
    one conv (``fusable``) and whose largest kernel is at most
    ``mixconv_max_kernel`` replaced by that conv (the groups' kernels
    zero-padded to the largest; the others stay split), and every
    :class:`GroupedPointwiseConv2d` by one 1x1 conv (``pointwise``:
    ``'grouped'``, or ``'dense'`` with a block-diagonal weight): one Conv
    node each in ONNX. Outputs are unchanged."""
    return _merge_all(copy.deepcopy(model), mixconv_max_kernel, pointwise)


@torch.no_grad()
def _merge_all(model: nn.Module, max_kernel: int, pointwise: str) -> nn.Module:
    """:func:`merge_groups` in place."""
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            merged = _merged(child, max_kernel, pointwise == 'dense')
            if merged is not None:
                setattr(parent, name, merged)
    return model


def _merged(
    module: nn.Module, max_kernel: int, dense: bool
) -> Optional[nn.Conv2d]:
    biases = getattr(module, 'biases', [None])
    bias = None if biases[0] is None else torch.cat(biases)
    if (
        isinstance(module, MixConv2d)
        and module.fusable
        and max(module.kernel_sizes) <= max_kernel
    ):
        weight = pad_kernels(module.weights)
        conv = make_conv2d(
            module.in_channels,
            module.out_channels,
            weight.shape[-1],
            module.stride,
            groups=module.in_channels,
            bias=bias is not None,
            padding=module.padding,
        )
    elif isinstance(module, GroupedPointwiseConv2d):
        weight, groups = block_diagonal_weight(module.weights, dense)
        conv = nn.Conv2d(
            module.in_channels,
            module.out_channels,
            1,
            groups=groups,
            bias=bias is not None,
        )
    else:
        return None
    conv.weight.copy_(weight)
    if bias is not None:
        conv.bias.copy_(bias)
    return conv.to(weight.device)


def for_runtime(
    detector: nn.Module, rule: Optional[ExportRule] = None
) -> nn.Module:
    """A copy of ``detector`` (one deep copy) to export as ``rule`` says
    (default: the rule for onnxruntime on this CPU,
    :func:`mixdet.deploy.export_rule`):
    BatchNorm folded into the convs (also into a split MixConv's group
    convs, which a runtime cannot do behind the Concat), MixConvs fused up
    to ``rule.mixconv_max_kernel`` and grouped 1x1 convs as
    ``rule.pointwise``."""
    rule = rule or export_rule('onnxruntime')
    model = _fold_all(copy.deepcopy(detector).eval())
    return _merge_all(model, rule.mixconv_max_kernel, rule.pointwise)
