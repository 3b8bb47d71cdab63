"""Export a detector's raw head outputs to ONNX and check the file.

The exported graph is backbone + neck + head, from a normalised 1x3xHxW
image to every level's class scores and box deltas (what ``model(x,
mode='tensor')`` returns). Anchors, box decoding and NMS stay outside the
graph: they are cheap, differ by detector, and mmdet's ``predict_by_feat``
applies them to these outputs.
"""

import copy
import warnings

import numpy as np
import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from . import ops
from .models.layers import GroupedPointwiseConv2d, MixConv2d
from .utils.atomic import atomic_path


def fold_bn(model: nn.Module) -> nn.Module:
    """A copy of ``model`` for inference with every BatchNorm that follows
    a conv folded into it: mmcv's ``fuse_conv_bn`` for plain convs, and
    group by group for :class:`MixConv2d` and
    :class:`GroupedPointwiseConv2d` (which ``fuse_conv_bn`` skips)."""
    from mmcv.cnn import fuse_conv_bn

    model = copy.deepcopy(model).eval()
    for module in list(model.modules()):
        conv = getattr(module, 'conv', None)
        bn = getattr(module, 'bn', None)
        if isinstance(conv, (MixConv2d, GroupedPointwiseConv2d)) and (
            isinstance(bn, _BatchNorm)
        ):
            _fold_into_groups(conv, bn)
            module.bn = nn.Identity()
    return fuse_conv_bn(model)


@torch.no_grad()
def _fold_into_groups(conv: nn.Module, bn: _BatchNorm) -> None:
    """Fold ``bn`` into the group convs whose outputs it normalises."""
    weights, biases = ops.folded_weights(conv, bn)
    for group, weight, bias in zip(conv.convs, weights, biases):
        group.weight.copy_(weight)
        group.bias = nn.Parameter(bias)


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
    wrapper = RawOutputs(detector).eval()
    names = output_names(detector, size)
    with atomic_path(out_file) as tmp:
        # One Conv node per MixConv and grouped 1x1 (kernels assembled from
        # the groups' weights, folded into constants).
        with torch.no_grad(), ops.mode('export'), warnings.catch_warnings():
            # Shapes read while tracing are constants: what we want.
            warnings.simplefilter('ignore', torch.jit.TracerWarning)
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
    return out_file


def onnx_max_diff(
    detector: nn.Module, onnx_file: str, size: int = 320, seed: int = 0
) -> tuple[float, float]:
    """Largest absolute difference between onnxruntime and PyTorch on a
    random normalised image, and the largest absolute PyTorch output (the
    scale the difference is to be read against)."""
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
    diff = max(
        float(np.abs(a - b.numpy()).max()) for a, b in zip(got, expected)
    )
    return diff, max(float(b.abs().max()) for b in expected)
