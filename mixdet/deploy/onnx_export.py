"""Export a detector's raw head outputs to ONNX and check the file.

The exported graph is backbone + neck + head, from a normalised 1x3xHxW
image to every level's class scores and box deltas (what ``model(x,
mode='tensor')`` returns). Anchors, box decoding and NMS stay outside the
graph: they are cheap, differ by detector, and mmdet's ``predict_by_feat``
applies them to these outputs.
"""

import warnings
from typing import Optional

import numpy as np
import torch
from torch import nn

from ..checkpoint.atomic import atomic_path
from .export_rules import ExportRule
from .fold import for_runtime
from .runtime import runtime_session


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


def write_onnx(
    module: nn.Module,
    out_file: str,
    size: int,
    output_names: list[str],
    opset: int = 17,
    dynamic_batch: bool = False,
    channels: int = 3,
) -> str:
    """Trace ``module`` on ``image`` (1 x channels x size x size; the batch
    dimension of the input and of every output dynamic with
    ``dynamic_batch``) into ``out_file`` (all or nothing) and check the
    file with onnx."""
    import onnx

    batch = 2 if dynamic_batch else 1  # 2: no step may assume batch 1
    axes = None
    if dynamic_batch:
        axes = {name: {0: 'batch'} for name in ['image', *output_names]}
    with atomic_path(out_file) as tmp:
        with torch.no_grad(), warnings.catch_warnings():
            # Shapes read while tracing are constants: what we want.
            warnings.simplefilter('ignore', torch.jit.TracerWarning)
            # torch warns that advanced indexing gives wrong results for
            # negative indices; every index here is non-negative (TopK
            # positions, NonMaxSuppression's selected_indices, the BGR
            # swap [2, 1, 0]), so the warning does not apply.
            warnings.filterwarnings(
                'ignore', message='Exporting aten::index operator'
            )
            torch.onnx.export(
                module.eval(),
                (torch.zeros(batch, channels, size, size),),
                tmp,
                input_names=['image'],
                output_names=output_names,
                dynamic_axes=axes,
                opset_version=opset,
                dynamo=False,
                do_constant_folding=True,
            )
        onnx.checker.check_model(onnx.load(tmp))
    return out_file


def export_onnx(
    detector: nn.Module,
    out_file: str,
    size: int = 320,
    opset: int = 17,
    rule: Optional[ExportRule] = None,
) -> str:
    """Write ``out_file``: the raw head outputs, exported as ``rule`` says
    (:func:`for_runtime`)."""
    detector.eval()
    return write_onnx(
        RawOutputs(for_runtime(detector, rule)),
        out_file,
        size,
        output_names(detector, size),
        opset,
    )


def onnx_max_diff(
    detector: nn.Module, onnx_file: str, size: int = 320, seed: int = 0
) -> tuple[float, float]:
    """Largest absolute difference between onnxruntime and PyTorch on a
    random normalised image, and the largest absolute PyTorch output (the
    scale the difference is to be read against)."""
    x = torch.randn(
        1, 3, size, size, generator=torch.Generator().manual_seed(seed)
    )
    with torch.no_grad():
        expected = RawOutputs(detector.eval())(x)
    got = runtime_session('onnxruntime', onnx_file)(x.numpy())
    diff = max(
        float(np.abs(a - b.numpy()).max()) for a, b in zip(got, expected)
    )
    return diff, max(float(b.abs().max()) for b in expected)
