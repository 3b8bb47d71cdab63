"""Parameter and multiply-add counts of a model, as the paper reports."""

import torch
from mmengine.analysis import FlopAnalyzer
from torch import nn

from . import ops


def count_params(model: nn.Module) -> int:
    """Number of parameters."""
    return sum(p.numel() for p in model.parameters())


def count_madds(model: nn.Module, input_size: int = 320) -> int:
    """Multiply-adds of one forward pass on a 1x3xSxS input.

    mmengine's ``FlopAnalyzer`` counts one multiply-add as one "flop", the
    unit of the paper's FLOPs column. Detectors run in ``'tensor'`` mode
    (backbone, neck and head, no post-processing). Every op runs its
    reference path (:func:`mixdet.ops.mode`): MixConv layers are counted by
    their own kernels, as the paper does, not by the zero-padded kernel of
    the fused path; grouped 1x1 convs by their groups, not by an assembled
    (block-diagonal) weight.
    """
    was_training = model.training
    model.eval()
    analyzer = FlopAnalyzer(model, torch.zeros(1, 3, input_size, input_size))
    analyzer.unsupported_ops_warnings(False)
    analyzer.uncalled_modules_warnings(False)
    analyzer.tracer_warnings('none')
    try:
        with ops.mode('reference'):
            total = analyzer.total()
    finally:
        model.train(was_training)
    return total
