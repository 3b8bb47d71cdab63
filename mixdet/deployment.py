"""Export a detector's raw head outputs to ONNX and check the file.

The exported graph is backbone + neck + head, from a normalised 1x3xHxW
image to every level's class scores and box deltas (what ``model(x,
mode='tensor')`` returns). Anchors, box decoding and NMS stay outside the
graph: they are cheap, differ by detector, and mmdet's ``predict_by_feat``
applies them to these outputs.
"""

import os
import tempfile

import numpy as np
import torch
from torch import nn


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
