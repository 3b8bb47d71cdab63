"""Parameter and multiply-add counts of a model, as the paper reports."""

from collections import Counter
from typing import Union

import torch
from mmengine.analysis import FlopAnalyzer
from torch import nn

# What mmengine counts besides convolutions and fully connected layers.
NOT_CONV_OPS = (
    'batch_norm',
    'group_norm',
    'layer_norm',
    'instance_norm',
    'upsample_nearest2d',
    'upsample_bilinear2d',
    'adaptive_avg_pool2d',
    'grid_sampler',
)


def _count_nothing(inputs: list, outputs: list) -> Counter:
    return Counter()


def count_params(model: nn.Module) -> int:
    """Number of parameters."""
    return sum(p.numel() for p in model.parameters())


def count_madds(
    model: nn.Module,
    input_size: Union[int, tuple[int, int]] = 320,
    convs_only: bool = True,
) -> int:
    """Multiply-adds of one forward pass on a 1x3xSxS input.

    mmengine's ``FlopAnalyzer`` counts one multiply-add as one "flop", the
    unit of the paper's FLOPs column. Detectors run in ``'tensor'`` mode
    (backbone, neck and head, no post-processing). Traced, every layer
    runs its plain steps (:func:`mixdet.ops.choose`): MixConv layers are
    counted by their own kernels, as the paper does, not by the
    zero-padded kernel of the fused path; grouped 1x1 convs by their
    groups, not by an assembled (block-diagonal) weight.

    Args:
        model: The model.
        input_size: Side of the square input, or its (height, width).
        convs_only: Count convolutions and fully connected layers only
            (batch norm folds into the conv before deployment). The paper's
            Table 1 (SSDLite) matches this count within 1%; its Table 2
            (MixNet on ImageNet) matches mmengine's full count, which adds
            norms and pooling (``False``), within 2.1%.
    """
    was_training = model.training
    model.eval()
    h, w = (
        (input_size, input_size)
        if isinstance(input_size, int)
        else tuple(input_size)
    )
    analyzer = FlopAnalyzer(model, torch.zeros(1, 3, h, w))
    analyzer.unsupported_ops_warnings(False)
    analyzer.uncalled_modules_warnings(False)
    analyzer.tracer_warnings('none')
    if convs_only:
        # A handle of None only marks an op ignored and goes on counting it
        # (mmengine 0.10.7): count nothing instead.
        analyzer.set_op_handle(
            **{f'aten::{op}': _count_nothing for op in NOT_CONV_OPS}
        )
    try:
        total = analyzer.total()
    finally:
        model.train(was_training)
    return total
