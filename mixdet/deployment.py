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


def fuse_convs(model: nn.Module) -> nn.Module:
    """A copy of ``model`` with mixdet's convs as plain ``nn.Conv2d``:
    every fusable :class:`MixConv2d` one depthwise conv holding the
    zero-padded kernel, every fused :class:`GroupedPointwiseConv2d` one 1x1
    conv holding its fused weight, every :class:`PointwiseConv2d` (a GEMM
    in PyTorch) an ``nn.Conv2d`` (all exact).

    Exporters need each conv's kernel as a constant, and a Conv node rather
    than a MatMul; the fused paths build the kernel in ``forward``, so it
    is built once here instead.
    """
    model = copy.deepcopy(model)
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, MixConv2d):
                conv = _fused_mixconv(child)
            elif isinstance(child, GroupedPointwiseConv2d) and child.fused:
                conv = _fused_pointwise(child)
            elif isinstance(child, PointwiseConv2d):
                conv = _plain_conv(child)
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


def _plain_conv(pointwise: PointwiseConv2d) -> nn.Module:
    conv = nn.Conv2d(
        pointwise.in_channels,
        pointwise.out_channels,
        1,
        bias=pointwise.bias is not None,
    )
    conv.load_state_dict(pointwise.state_dict())
    return conv


def _fused_pointwise(pointwise: GroupedPointwiseConv2d) -> nn.Module:
    with torch.no_grad():
        weight = pointwise.fused_weight()
    conv = nn.Conv2d(
        weight.shape[1] * pointwise.fused_groups,
        weight.shape[0],
        1,
        groups=pointwise.fused_groups,
        bias=False,
    )
    conv.weight.data.copy_(weight)
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
