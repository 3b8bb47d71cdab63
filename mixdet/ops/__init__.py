"""mixdet's one home for speed: the ops the layers call, and the policy
that picks each op's implementation per device, dtype, layout and phase.

    import mixdet.ops as ops
    with ops.mode('reference'):   # plain PyTorch ops everywhere
        ...
    with ops.mode('export'):      # one graph node per conv (ONNX, MAdds)
        ...
    ops.autotune(True)            # time each path once per shape
"""

from .fused_depthwise import FusedDepthwiseConv, pad_kernels
from .mixconv import can_fuse, mixconv2d
from .norm_folding import (
    batch_norm_affine,
    can_fold,
    conv_norm,
    folded_weights,
)
from .padding import pad_same, same_padding
from .pointwise import (
    fused_pointwise_weight,
    grouped_pointwise_conv,
    linear_1x1,
    pointwise_conv,
)
from .policy import (
    MODES,
    RULES,
    Rule,
    autotune,
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
    'autotune',
    'batch_norm_affine',
    'can_fold',
    'conv_norm',
    'can_fuse',
    'device_kind',
    'folded_weights',
    'fused_pointwise_weight',
    'get_mode',
    'get_rules',
    'grouped_pointwise_conv',
    'linear_1x1',
    'mixconv2d',
    'mode',
    'pad_kernels',
    'pad_same',
    'pointwise_conv',
    'prefer',
    'same_padding',
    'set_mode',
    'set_rules',
]
