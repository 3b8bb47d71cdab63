"""mixdet's one home for speed: the fast paths a few layers may take, and
the policy that picks them per device, dtype, layout and phase from what
was measured (:data:`RULES`). Every layer's ``forward`` shows its plain
steps; with no rule for the device it runs only those.

    import mixdet.ops as ops
    with ops.mode('reference'):      # plain PyTorch ops everywhere
        ...
    with ops.prefer(mixconv='fused'):  # force a path (tests, benchmarks)
        ...
"""

from .fused_depthwise import FusedDepthwiseConv, pad_kernels
from .mixconv import can_fuse, fused_mixconv
from .pointwise import block_diagonal_weight, conv1x1, gemm_1x1
from .policy import (
    MODES,
    RULES,
    Rule,
    choose,
    device_kind,
    get_mode,
    get_rules,
    mode,
    prefer,
    set_mode,
    set_rules,
)

__all__ = [
    'MODES',
    'RULES',
    'FusedDepthwiseConv',
    'Rule',
    'block_diagonal_weight',
    'can_fuse',
    'choose',
    'conv1x1',
    'device_kind',
    'fused_mixconv',
    'gemm_1x1',
    'get_mode',
    'get_rules',
    'mode',
    'pad_kernels',
    'prefer',
    'set_mode',
    'set_rules',
]
