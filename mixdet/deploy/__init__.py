"""Everything after training: how each layer is written for a runtime
(:mod:`.export_rules`, measured per runtime and CPU), BatchNorm folding and
group merging (:mod:`.fold`), the raw-output ONNX file (:mod:`.onnx_export`),
the whole detector as one graph (:mod:`.end_to_end`), running a graph
(:mod:`.runtime`), its COCO metrics (:mod:`.evaluate`) and INT8
(:mod:`.quantize`). New runtimes land here."""

from .end_to_end import (
    EndToEnd,
    check_exportable,
    compare_with_mmdet,
    detections,
    export_end_to_end,
    mmdet_predictions,
    pipeline_resize,
)
from .export_rules import (
    DEFAULT,
    EXPORT_RULES,
    POINTWISE,
    RUNTIMES,
    ExportRule,
    export_rule,
)
from .fold import batch_norm_affine, fold_bn, for_runtime, merge_groups
from .onnx_export import (
    RawOutputs,
    export_onnx,
    onnx_max_diff,
    output_names,
    write_onnx,
)
from .runtime import runtime_session

__all__ = [
    'DEFAULT',
    'EXPORT_RULES',
    'POINTWISE',
    'RUNTIMES',
    'EndToEnd',
    'ExportRule',
    'RawOutputs',
    'batch_norm_affine',
    'check_exportable',
    'compare_with_mmdet',
    'detections',
    'export_end_to_end',
    'export_onnx',
    'export_rule',
    'fold_bn',
    'for_runtime',
    'merge_groups',
    'mmdet_predictions',
    'onnx_max_diff',
    'output_names',
    'pipeline_resize',
    'runtime_session',
    'write_onnx',
]
