"""Export a detector's raw head outputs to ONNX and check the file.

The exported graph is backbone + neck + head, from a normalised 1x3xHxW
image to every level's class scores and box deltas (what ``model(x,
mode='tensor')`` returns). Anchors, box decoding and NMS stay outside the
graph: they are cheap, differ by detector, and mmdet's ``predict_by_feat``
applies them to these outputs.
"""

import copy
import os
import tempfile
from typing import Optional

import numpy as np
import torch
from torch import nn

from .models.layers import (
    GroupedPointwiseConv2d,
    MixConv2d,
    PointwiseConv2d,
    make_conv2d,
)
from .models.layers.fused_depthwise import pad_kernels


def fuse_convs(model: nn.Module, plain: bool = True) -> nn.Module:
    """A copy of ``model`` with each multi-kernel :class:`MixConv2d` as one
    depthwise conv holding the zero-padded kernel and each fused
    :class:`GroupedPointwiseConv2d` as one 1x1 conv holding its fused
    weight (both exact).

    Args:
        model: The model (left unchanged).
        plain: Make every 1x1 conv, :class:`PointwiseConv2d` included, an
            ``nn.Conv2d``: what exporters need (a Conv node, not a
            MatMul). False keeps them GEMMs (:class:`PointwiseConv2d`), for
            inference in PyTorch, e.g. before mmcv's ``fuse_conv_bn``.
    """
    model = copy.deepcopy(model)
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, MixConv2d):
                conv = _fused_mixconv(child)
            elif isinstance(child, GroupedPointwiseConv2d) and child.fused:
                with torch.no_grad():
                    weight = child.fused_weight()
                conv = _pointwise(weight, None, child.fused_groups, plain)
            elif isinstance(child, PointwiseConv2d) and plain:
                conv = _pointwise(
                    child.weight, child.bias, child.groups, plain
                )
            else:
                continue
            if conv is not None:
                setattr(parent, name, conv)
    return model


def _fused_mixconv(mixconv: MixConv2d) -> Optional[nn.Module]:
    if len(mixconv.splits) < 2 or not mixconv.use_fused():
        return None
    convs = mixconv.convs
    with torch.no_grad():
        weight = pad_kernels([c.weight for c in convs])
    conv = make_conv2d(
        mixconv.channels,
        mixconv.out_channels,
        weight.shape[-1],
        mixconv.stride,
        groups=mixconv.channels,
        bias=convs[0].bias is not None,
        padding=mixconv.padding,
    )
    conv.weight.data.copy_(weight)
    if conv.bias is not None:
        conv.bias.data.copy_(torch.cat([c.bias.detach() for c in convs]))
    return conv


def _pointwise(
    weight: torch.Tensor,
    bias: Optional[torch.Tensor],
    groups: int,
    plain: bool,
) -> nn.Conv2d:
    """A 1x1 conv holding ``weight`` and ``bias``."""
    out_channels, in_channels = weight.shape[0], weight.shape[1] * groups
    if plain:
        conv = nn.Conv2d(
            in_channels, out_channels, 1, bias=bias is not None, groups=groups
        )
    else:
        conv = PointwiseConv2d(
            in_channels, out_channels, bias=bias is not None, groups=groups
        )
    with torch.no_grad():
        conv.weight.copy_(weight)
        if bias is not None:
            conv.bias.copy_(bias)
    return conv


class RawOutputs(nn.Module):
    """A detector as a module returning a flat tuple of tensors."""

    def __init__(self, detector: nn.Module) -> None:
        super().__init__()
        self.detector = detector

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        outs = self.detector(x, mode='tensor')
        flat = []
        for item in outs:
            flat += list(item) if isinstance(item, (list, tuple)) else [item]
        return tuple(flat)


def output_names(detector: nn.Module, size: int) -> list[str]:
    """Names of the flat outputs, e.g. cls_score_0 ... bbox_pred_5."""
    with torch.no_grad():
        outs = detector(torch.zeros(1, 3, size, size), mode='tensor')
    names = []
    for kind, item in zip(('cls_score', 'bbox_pred', 'extra'), outs):
        count = len(item) if isinstance(item, (list, tuple)) else 1
        names += [f'{kind}_{i}' for i in range(count)]
    return names


def export_onnx(
    detector: nn.Module, out_file: str, size: int = 320, opset: int = 17
) -> str:
    """Write ``out_file`` (all or nothing) and check it with onnx."""
    import onnx

    detector.eval()
    wrapper = RawOutputs(fuse_convs(detector)).eval()
    names = output_names(detector, size)
    out_dir = os.path.dirname(os.path.abspath(out_file))
    os.makedirs(out_dir, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out_dir, suffix='.onnx.tmp')
    os.close(fd)
    try:
        with torch.no_grad():
            torch.onnx.export(
                wrapper,
                (torch.zeros(1, 3, size, size),),
                tmp,
                input_names=['image'],
                output_names=names,
                opset_version=opset,
                dynamo=False,
                do_constant_folding=True,
            )
        onnx.checker.check_model(onnx.load(tmp))
        os.replace(tmp, out_file)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return out_file


def onnx_max_diff(
    detector: nn.Module, onnx_file: str, size: int = 320, seed: int = 0
) -> float:
    """Largest absolute difference between onnxruntime and PyTorch on a
    random normalised image."""
    import onnxruntime as ort

    x = torch.randn(
        1, 3, size, size, generator=torch.Generator().manual_seed(seed)
    )
    with torch.no_grad():
        expected = RawOutputs(detector.eval())(x)
    session = ort.InferenceSession(
        onnx_file, providers=['CPUExecutionProvider']
    )
    got = session.run(None, {'image': x.numpy()})
    return max(
        float(np.abs(a - b.numpy()).max()) for a, b in zip(got, expected)
    )
