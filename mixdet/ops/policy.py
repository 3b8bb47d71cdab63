"""Which implementation a layer runs: the measured rules, one switch.

A layer with a fast path asks :func:`choose` on every call and runs its
plain steps (exactly timm's and mmdet's) unless a rule says otherwise:

1. :func:`mode` ``'reference'`` (or tracing for ONNX / FLOP counting, or
   ``torch.compile``, whose compiler fuses the plain ops itself): plain;
2. a path forced with :func:`prefer` (tests, benchmarks);
3. :data:`RULES`: the fast path where it was *measured* faster on this
   kind of device, compute dtype, memory layout and phase (inference or
   training); the plain path everywhere nobody has measured.

The choice is a dictionary lookup (``docs/performance.md`` has its cost),
deterministic, so a resumed run takes the paths of the run it resumes.
"""

import functools
from contextlib import contextmanager
from typing import Iterator, NamedTuple, Sequence

import torch

MODES = ('fast', 'reference')
REFERENCE = 'reference'
_settings: dict = {'mode': 'fast', 'forced': {}}


class Rule(NamedTuple):
    """A fast path that was measured faster than the plain one."""

    op: str  # 'mixconv', 'pointwise' or 'grouped_pointwise'
    device: str  # see device_kind()
    dtype: str  # the compute dtype (the autocast dtype under autocast)
    layout: str  # 'nchw' or 'nhwc'
    phase: str  # 'infer' (no autograd) or 'train'
    path: str  # 'fused' (mixconv, grouped_pointwise) or 'gemm' (pointwise)
    measured: str  # how much faster (docs/performance.md: the commands)
    max_kernel: int = 0  # the rule holds up to this kernel size (0: any)


def _rules(device: str, rows: str) -> tuple[Rule, ...]:
    """Rules from a table: op, dtype, layout, phase, path, max_kernel,
    then what was measured."""
    rules = []
    for row in rows.strip().splitlines():
        op, dtype, layout, phase, path, max_kernel, measured = (
            row.split(maxsplit=6)
        )
        rules.append(
            Rule(op, device, dtype, layout, phase, path, measured)._replace(
                max_kernel=int(max_kernel)
            )
        )
    return tuple(rules)


# Measured with tools/analysis/benchmark_mixconv.py, totals over every
# layer of MixNet-S and MixNet-M at 320x320. Nothing else is assumed: a
# device, dtype or layout not listed runs the plain path.
RULES: tuple[Rule, ...] = (
    # AMD EPYC (Zen 3, AVX2, no AVX-512), 2 cores, torch 2.13.0+cpu. The
    # fused MixConv loses only on MixNet-S's 11x11 layer (3.7x slower),
    # hence max_kernel 9. In bf16 (no native bf16 math) the fused MixConv
    # (0.66x) and the GEMM (0.52x) lose: no bf16 rule.
    *_rules(
        'cpu-avx2',
        """
        mixconv           float32 nchw infer fused 9 S 1.20x, M 1.19x batch 1
        mixconv           float32 nchw train fused 9 S 1.59x, M 1.82x batch 8
        pointwise         float32 nchw infer gemm  0 S 1.56x, M 1.76x batch 8
        pointwise         float32 nchw train gemm  0 S 1.31x, M 1.76x batch 8
        grouped_pointwise float32 nchw infer fused 0 S 1.19x, M 1.44x batch 8
        grouped_pointwise float32 nchw train fused 0 S 1.23x, M 1.68x batch 8
        grouped_pointwise float32 nhwc infer fused 0 S 1.81x, M 1.81x batch 8
        grouped_pointwise float32 nhwc train fused 0 S 1.12x, M 1.11x batch 8
        """,
    ),
    # A 2-core Intel Xeon with AVX-512, torch 2.13.0+cpu (every MixNet-S/M
    # MixConv layer faster fused, the least 1.19x).
    *_rules(
        'cpu-avx512',
        """
        mixconv           float32 nchw infer fused 0 S 1.86x, M 1.74x batch 1
        mixconv           float32 nchw train fused 0 S 2.10x, M 2.17x batch 8
        pointwise         float32 nchw infer gemm  0 1x1 layers 3x batch 1
        pointwise         float32 nchw train gemm  0 1x1 layers 2.6x batch 8
        grouped_pointwise float32 nchw infer fused 0 SSDLite-MixNet-S 1.07x
        """,
    ),
    # NVIDIA H100, torch 2.11 + CUDA 13: the fused MixConv backward was 10x
    # slower than split, inference equal. No rule: CUDA runs the plain ops.
)


def _index(rules: Sequence[Rule]) -> dict:
    return {r[:5]: (r.path, r.max_kernel) for r in rules}


_RULES = _index(RULES)
_RULED_OPS = frozenset(r.op for r in RULES)
_rules_in_use: tuple[Rule, ...] = RULES


def set_rules(rules: Sequence[Rule]) -> None:
    """Replace the rules (e.g. with ones measured on your own machine)."""
    global _RULES, _RULED_OPS, _rules_in_use
    _rules_in_use = tuple(rules)
    _RULES = _index(_rules_in_use)
    _RULED_OPS = frozenset(r.op for r in _rules_in_use)


def get_rules() -> tuple[Rule, ...]:
    """The rules in use (:data:`RULES` unless :func:`set_rules` replaced
    them)."""
    return _rules_in_use


def device_kind(device: torch.device) -> str:
    """``'cpu-avx512'``, ``'cpu-avx2'``, ... (the instruction set PyTorch
    uses), ``'cuda-sm90'``, ... (the compute capability), else the type."""
    return _device_kind(device.type, device.index)


@functools.cache
def _device_kind(device_type: str, index: int | None) -> str:
    device = torch.device(device_type, index)
    if device.type == 'cpu':
        return f'cpu-{torch.backends.cpu.get_cpu_capability().lower()}'
    if device.type == 'cuda':
        major, minor = torch.cuda.get_device_capability(device)
        return f'cuda-sm{major}{minor}'
    return device.type


def compute_dtype(x: torch.Tensor) -> torch.dtype:
    """The dtype a conv on ``x`` runs in (the autocast dtype if enabled)."""
    if torch.is_autocast_enabled(x.device.type):
        return torch.get_autocast_dtype(x.device.type)
    return x.dtype


@functools.cache
def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).replace('torch.', '')


def layout(x: torch.Tensor) -> str:
    """``'nchw'``, ``'nhwc'`` (channels_last) or ``'other'``."""
    if x.is_contiguous():
        return 'nchw'
    if x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last):
        return 'nhwc'
    return 'other'


def needs_grad(x: torch.Tensor, weight: torch.Tensor) -> bool:
    """Whether autograd records an op on ``x`` and ``weight``."""
    return torch.is_grad_enabled() and (
        x.requires_grad or weight.requires_grad
    )


def choose(
    op: str, x: torch.Tensor, weight: torch.Tensor, kernel_size: int = 1
) -> str:
    """The path to run ``op`` on ``x`` with: ``'reference'`` (the plain
    ops) or the fast path a rule or :func:`prefer` names. Call it only
    where the fast path is exact.

    Args:
        op: The op's name in :data:`RULES`.
        x: Its input.
        weight: One of its weights (frozen or not: training or inference).
        kernel_size: The call's largest kernel (for rules that hold only
            up to a size).
    """
    if _settings['mode'] != 'fast' or torch.jit.is_tracing():
        return REFERENCE
    forced = _settings['forced'].get(op)
    if forced is not None:
        return forced
    if op not in _RULED_OPS or torch.compiler.is_compiling():
        return REFERENCE
    phase = 'train' if needs_grad(x, weight) else 'infer'
    dtype = _dtype_name(compute_dtype(x))
    key = (op, device_kind(x.device), dtype, layout(x), phase)
    path, max_kernel = _RULES.get(key, (REFERENCE, 0))
    if max_kernel and kernel_size > max_kernel:
        return REFERENCE
    return path


@contextmanager
def mode(name: str) -> Iterator[None]:
    """Run the block in mode ``'fast'`` (the rules, the default) or
    ``'reference'`` (the plain ops everywhere)."""
    previous = get_mode()
    set_mode(name)
    try:
        yield
    finally:
        set_mode(previous)


def set_mode(name: str) -> None:
    """Set the mode for the process, see :func:`mode`."""
    if name not in MODES:
        raise ValueError(f'mode must be one of {MODES}, got {name!r}')
    _settings['mode'] = name


def get_mode() -> str:
    return _settings['mode']


@contextmanager
def prefer(**paths: str) -> Iterator[None]:
    """Force paths in the block, e.g. ``prefer(mixconv='fused')``; a layer
    whose fast path is not exact for it runs the plain ops anyway."""
    previous = dict(_settings['forced'])
    _settings['forced'].update(paths)
    try:
        yield
    finally:
        _settings['forced'] = previous
