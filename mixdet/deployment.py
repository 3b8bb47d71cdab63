"""Export a detector's raw head outputs to ONNX and check the file.

The exported graph is backbone + neck + head, from a normalised 1x3xHxW
image to every level's class scores and box deltas (what ``model(x,
mode='tensor')`` returns). Anchors, box decoding and NMS stay outside the
graph: they are cheap, differ by detector, and mmdet's ``predict_by_feat``
applies them to these outputs.
"""

import copy
import warnings
from typing import Optional

import numpy as np
import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from .engine.atomic import atomic_path
from .models.layers import GroupedPointwiseConv2d, MixConv2d, make_conv2d
from .ops import ExportRule, block_diagonal_weight, export_rule, pad_kernels

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
    model = copy.deepcopy(model).eval()
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
    model = copy.deepcopy(model)
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            merged = _merged(child, mixconv_max_kernel, pointwise == 'dense')
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
    """A copy of ``detector`` to export as ``rule`` says (default: the
    rule for onnxruntime on this CPU, :func:`mixdet.ops.export_rule`):
    BatchNorm folded into the convs (also into a split MixConv's group
    convs, which a runtime cannot do behind the Concat), MixConvs fused up
    to ``rule.mixconv_max_kernel`` and grouped 1x1 convs as
    ``rule.pointwise``."""
    rule = rule or export_rule('onnxruntime')
    return merge_groups(
        fold_bn(detector.eval()), rule.mixconv_max_kernel, rule.pointwise
    )


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


def runtime_session(
    runtime: str,
    onnx_file: str,
    spin: bool = True,
    threads: Optional[int] = None,
):
    """A function running ``onnx_file`` on this CPU in ``runtime``
    (``'onnxruntime'`` or ``'openvino'``, float32) on one input array and
    returning the outputs. ``spin=False``: onnxruntime's idle threads do
    not spin (for timing several graphs in turn). ``threads``: the
    runtime's thread count (default: its own, every core)."""
    if runtime == 'onnxruntime':
        import onnxruntime as ort

        options = ort.SessionOptions()
        if not spin:
            options.add_session_config_entry(
                'session.intra_op.allow_spinning', '0'
            )
        if threads:
            options.intra_op_num_threads = threads
        session = ort.InferenceSession(
            onnx_file, options, providers=['CPUExecutionProvider']
        )
        name = session.get_inputs()[0].name
        return lambda x: session.run(None, {name: x})
    if runtime == 'openvino':
        import openvino as ov

        # f32: the CPU plugin's default is bf16 where the CPU has it
        config = {'INFERENCE_PRECISION_HINT': 'f32'}
        if threads:
            config['INFERENCE_NUM_THREADS'] = threads
        compiled = ov.Core().compile_model(onnx_file, 'CPU', config)
        request = compiled.create_infer_request()

        def run(x):
            result = request.infer([x])
            return [result[output] for output in compiled.outputs]

        return run
    raise ValueError(
        f"runtime={runtime!r}: expected 'onnxruntime' or 'openvino'"
    )


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
