"""How MixConv and grouped 1x1 layers are written to ONNX for a runtime on
a kind of CPU, from what was measured there (like :data:`RULES` for
PyTorch): a MixConv exports as one depthwise conv with its kernels
zero-padded to the largest (``fused``) or as its own ops, one conv per
group and a Concat (``split``); a grouped 1x1 conv as one grouped Conv or
one dense Conv with a block-diagonal weight. Both give the same outputs.
``tools/analysis/benchmark_export.py`` measures every choice on the whole
detector and prints the rule it supports.
"""

from typing import NamedTuple

import torch

from ..ops import device_kind

RUNTIMES = ('onnxruntime', 'openvino')
POINTWISE = ('grouped', 'dense')


class ExportRule(NamedTuple):
    """How to export for ``runtime`` on a CPU of kind ``device``."""

    runtime: str  # one of RUNTIMES
    device: str  # a device_kind(), e.g. 'cpu-avx512'
    mixconv_max_kernel: int  # fused up to this largest kernel, else split
    pointwise: str  # grouped 1x1 convs: 'grouped' or 'dense'
    measured: str  # what it gained (docs/deployment.md: the command)


# Measured with tools/analysis/benchmark_export.py (SSDLite-MixNet-S and
# -M at 320x320, batch 1, float32, BN folded) on a 2-core Intel Xeon with
# AVX-512, onnxruntime 1.32, OpenVINO 2026.4. A runtime or CPU not listed
# gets every MixConv fused and grouped 1x1 convs grouped (DEFAULT): fused
# beat split in both runtimes measured, by 8% to 39%.
EXPORT_RULES: tuple[ExportRule, ...] = (
    # ORT: all fused + dense 16.7 vs plain 22.3 ms (S), 20.4 vs 28.7 (M);
    # each step towards it (fusing up to 5, 7, 9, 11; dense) was faster.
    ExportRule('onnxruntime', 'cpu-avx512', 11, 'dense',
               'S 1.37x, M 1.41x the plain graph'),
    # OpenVINO: fused up to 9 + grouped 14.3 vs plain 15.4 ms (S), 19.0 vs
    # 21.6 (M); 11 and dense within 3% of it.
    ExportRule('openvino', 'cpu-avx512', 9, 'grouped',
               'S 1.08x, M 1.14x the plain graph'),
)  # fmt: skip


# where nothing was measured (see above)
DEFAULT = ExportRule(
    '',
    '',
    99,
    'grouped',
    'not measured there: fused, which won on every CPU measured; '
    'tools/analysis/benchmark_export.py measures',
)


def export_rule(runtime: str, device: str | None = None) -> ExportRule:
    """The rule for ``runtime`` on ``device`` (default: this machine's
    CPU), or :data:`DEFAULT` where nothing was measured."""
    if runtime not in RUNTIMES:
        raise ValueError(f'runtime={runtime!r}: expected one of {RUNTIMES}')
    device = device or device_kind(torch.device('cpu'))
    for rule in EXPORT_RULES:
        if (rule.runtime, rule.device) == (runtime, device):
            return rule
    return DEFAULT._replace(runtime=runtime, device=device)
