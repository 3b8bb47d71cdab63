"""Parameter and multiply-add counts of a model, as the paper reports."""

import torch
from mmengine.analysis import FlopAnalyzer
from torch import nn


def count_params(model: nn.Module) -> int:
    """Number of parameters."""
    return sum(p.numel() for p in model.parameters())


def count_madds(model: nn.Module, input_size: int = 320) -> int:
    """Multiply-adds of one forward pass on a 1x3xSxS input.

    mmengine's ``FlopAnalyzer`` counts one multiply-add as one "flop", the
    unit of the paper's FLOPs column. Detectors run in ``'tensor'`` mode
    (backbone, neck and head, no post-processing). MixConv layers are
    counted by their own kernels (the split path), as the paper does, not
    by the zero-padded kernel of the fused path; grouped 1x1 convs by
    their groups, not by the fused path's weight (block-diagonal for
    unequal groups).
    """
    from .models.layers import GroupedPointwiseConv2d, MixConv2d

    kinds = (MixConv2d, GroupedPointwiseConv2d)
    fused = [m for m in model.modules() if isinstance(m, kinds)]
    modes = [m.fused for m in fused]
    for m in fused:
        m.fused = False
    was_training = model.training
    model.eval()
    analyzer = FlopAnalyzer(model, torch.zeros(1, 3, input_size, input_size))
    analyzer.unsupported_ops_warnings(False)
    analyzer.uncalled_modules_warnings(False)
    analyzer.tracer_warnings('none')
    try:
        total = analyzer.total()
    finally:
        model.train(was_training)
        for m, mode in zip(fused, modes):
            m.fused = mode
    return total
