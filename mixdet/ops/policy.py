"""Which implementation each op runs: one switch, measured rules, an
opt-in autotuner.

Every mixdet op has a ``'reference'`` path (plain PyTorch ops, exactly as
timm / mmdet write the layer) and may have faster ones. Which one runs is
decided here and nowhere else:

1. the mode (:func:`mode`): ``'fast'`` (default) picks per the rules below,
   ``'reference'`` always takes the reference path, ``'export'`` takes the
   paths that trace to one plain graph node each (ONNX, MAdds counting);
2. a forced path (:func:`prefer`), for tests and benchmarks;
3. under ``torch.compile`` the reference path: the compiler fuses it;
4. with :func:`autotune` on, the path measured fastest for this exact call
   (shape, dtype, layout, device), timed once and remembered;
5. else :data:`RULES`: the fast path where it was *measured* faster on this
   kind of device, dtype, memory layout and phase (inference or training),
   and the reference path everywhere that nobody has measured.

The default is deterministic (rules, no timing), so a resumed run takes the
same paths as the run it resumes.
"""

import functools
import time
from contextlib import contextmanager
from typing import Callable, Iterator, NamedTuple, Optional, Sequence

import torch

MODES = ('fast', 'reference', 'export')
_settings: dict = {'mode': 'fast', 'autotune': False, 'forced': {}}
_tuned: dict = {}


class Rule(NamedTuple):
    """A fast path that was measured faster than the reference path."""

    op: str
    device: str  # see device_kind()
    dtype: str  # the compute dtype (the autocast dtype under autocast)
    layout: str  # 'nchw' or 'nhwc'
    phase: str  # 'infer' (no autograd) or 'train'
    path: str
    measured: str  # where and how much (the README has the commands)
    max_kernel: int = 0  # the rule holds up to this kernel size (0: any)


# Measured with tools/analysis/benchmark_mixconv.py: totals over every
# layer of MixNet-S and MixNet-M at 320x320 (the README has the commands and
# tables). Batch 1 and 8 agreed unless noted. Nothing else is assumed: a
# device, dtype or layout not listed runs the reference path.
RULES: tuple[Rule, ...] = (
    # AMD EPYC (Zen 3, AVX2, no AVX-512), 2 cores, torch 2.13.0+cpu.
    # The fused MixConv loses only on the 11x11 (stride-2, 720-channel)
    # layer of MixNet-S (3.7x slower), hence max_kernel=9.
    Rule(
        'mixconv',
        'cpu-avx2',
        'float32',
        'nchw',
        'infer',
        'fused',
        'S 1.20x / M 1.19x batch 1 (layers up to 9x9)',
        max_kernel=9,
    ),
    Rule(
        'mixconv',
        'cpu-avx2',
        'float32',
        'nchw',
        'train',
        'fused',
        'S 1.59x / M 1.82x batch 8 (layers up to 9x9)',
        max_kernel=9,
    ),
    Rule(
        'pointwise',
        'cpu-avx2',
        'float32',
        'nchw',
        'infer',
        'gemm',
        'S 1.56x / M 1.76x batch 8, 1.2x batch 1',
    ),
    Rule(
        'pointwise',
        'cpu-avx2',
        'float32',
        'nchw',
        'train',
        'gemm',
        'S 1.31x / M 1.76x batch 8, 1.06x batch 1',
    ),
    Rule(
        'grouped_pointwise',
        'cpu-avx2',
        'float32',
        'nchw',
        'infer',
        'fused',
        'S 1.19x / M 1.44x batch 8',
    ),
    Rule(
        'grouped_pointwise',
        'cpu-avx2',
        'float32',
        'nchw',
        'train',
        'fused',
        'S 1.23x / M 1.68x batch 8',
    ),
    Rule(
        'linear_1x1',
        'cpu-avx2',
        'float32',
        'nchw',
        'infer',
        'linear',
        'S 1.67x / M 1.65x batch 8',
    ),
    Rule(
        'linear_1x1',
        'cpu-avx2',
        'float32',
        'nchw',
        'train',
        'linear',
        'S 1.28x / M 1.25x batch 8',
    ),
    Rule(
        'grouped_pointwise',
        'cpu-avx2',
        'float32',
        'nhwc',
        'infer',
        'fused',
        'S 1.81x / M 1.81x batch 8',
    ),
    Rule(
        'grouped_pointwise',
        'cpu-avx2',
        'float32',
        'nhwc',
        'train',
        'fused',
        'S 1.12x / M 1.11x batch 8',
    ),
    # bf16 autocast on this CPU (no native bf16 math): fused MixConv
    # (0.66x) and GEMM 1x1 (0.52x) lose; only SE's linear wins.
    Rule(
        'linear_1x1',
        'cpu-avx2',
        'bfloat16',
        'nchw',
        'infer',
        'linear',
        'S 1.11x / M 1.23x batch 8',
    ),
    Rule(
        'linear_1x1',
        'cpu-avx2',
        'bfloat16',
        'nchw',
        'train',
        'linear',
        'S 2.63x / M 3.16x batch 8',
    ),
    # A 2-core x86 CPU with AVX-512, torch 2.13.0+cpu
    # (benchmark_mixconv.py; MixConv: every MixNet-S/M layer faster fused,
    # the least 1.19x).
    Rule(
        'mixconv',
        'cpu-avx512',
        'float32',
        'nchw',
        'infer',
        'fused',
        'S 1.86x / M 1.74x batch 1',
    ),
    Rule(
        'mixconv',
        'cpu-avx512',
        'float32',
        'nchw',
        'train',
        'fused',
        'S 2.10x / M 2.17x batch 8',
    ),
    Rule(
        'pointwise',
        'cpu-avx512',
        'float32',
        'nchw',
        'infer',
        'gemm',
        'MixNet 1x1 shapes 3x, batch 1',
    ),
    Rule(
        'pointwise',
        'cpu-avx512',
        'float32',
        'nchw',
        'train',
        'gemm',
        'MixNet 1x1 shapes 2.6x, batch 8',
    ),
    Rule(
        'grouped_pointwise',
        'cpu-avx512',
        'float32',
        'nchw',
        'infer',
        'fused',
        'with the SE linear: SSDLite-MixNet-S 7% faster',
    ),
    Rule(
        'linear_1x1',
        'cpu-avx512',
        'float32',
        'nchw',
        'infer',
        'linear',
        'with the grouped 1x1: SSDLite-MixNet-S 7% faster',
    ),
    # conv_norm 'folded' (BatchNorm folded into the conv per call) has no
    # rule: on the AMD EPYC above, whole SSDLite-MixNet-S inference was
    # 1.05x slower at batch 1, 1.02x at 2, 0.99x at 4, 0.93-0.97x the time
    # at batch 8 (noisy), so no phase-wide rule holds there.
    # NVIDIA H100, torch 2.11 + CUDA 13 (a user's measurement): fused MixConv
    # backward 10x slower than split, inference equal: no rule, the
    # reference path everywhere on CUDA.
)


def _index(rules: Sequence[Rule]) -> dict:
    return {r[:5]: (r.path, r.max_kernel) for r in rules}


_RULES = _index(RULES)
_RULED_OPS = frozenset(r.op for r in RULES)
_rules: tuple[Rule, ...] = RULES


def set_rules(rules: Sequence[Rule]) -> None:
    """Replace the rules (e.g. with ones measured on your own machine)."""
    global _RULES, _RULED_OPS, _rules
    _rules = tuple(rules)
    _RULES = _index(_rules)
    _RULED_OPS = frozenset(r.op for r in _rules)


def get_rules() -> tuple[Rule, ...]:
    """The rules in use (:data:`RULES` unless :func:`set_rules` replaced
    them)."""
    return _rules


def considers_fast_paths(op: str) -> bool:
    """Whether :func:`choose` may pick a fast path for ``op`` now (mode
    ``'fast'`` with a forced path, the autotuner or a rule for ``op``), so
    that an op with nothing to choose skips checking what it could offer."""
    return _settings['mode'] == 'fast' and (
        op in _settings['forced'] or _settings['autotune'] or op in _RULED_OPS
    )


def device_kind(device: torch.device) -> str:
    """``'cpu-avx512'``, ``'cpu-avx2'``, ... (the instruction set PyTorch
    uses), ``'cuda-sm90'``, ... (the compute capability), else the type."""
    return _device_kind(device.type, device.index)


@functools.cache
def _device_kind(device_type: str, index: Optional[int]) -> str:
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


def needs_grad(x: torch.Tensor, params: Sequence[torch.Tensor]) -> bool:
    """Whether autograd records an op on ``x`` and ``params``."""
    return torch.is_grad_enabled() and (
        x.requires_grad or any(p.requires_grad for p in params)
    )


@contextmanager
def mode(name: str) -> Iterator[None]:
    """Run the block in mode ``'fast'``, ``'reference'`` or ``'export'``."""
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
    """Force paths in the block, e.g. ``prefer(mixconv='fused')``; a path
    that cannot run an op exactly falls back to the reference path."""
    previous = dict(_settings['forced'])
    _settings['forced'].update(paths)
    try:
        yield
    finally:
        _settings['forced'] = previous


def autotune(enabled: bool = True) -> None:
    """Time every path of each new (op, shape, dtype, layout, device,
    phase) once and keep the fastest, as ``cudnn.benchmark`` does. Off by
    default: timings differ between runs, so the chosen paths may too."""
    _settings['autotune'] = bool(enabled)
    _tuned.clear()


def _synchronize(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def _time_path(run: Callable[[], object], device: torch.device) -> float:
    run()  # warm up (and let cuDNN pick its algorithm)
    _synchronize(device)
    best = float('inf')
    for _ in range(3):
        start = time.perf_counter()
        run()
        _synchronize(device)
        best = min(best, time.perf_counter() - start)
    return best


def choose(
    op: str,
    x: torch.Tensor,
    candidates: Sequence[str],
    train: bool,
    signature: tuple = (),
    make_run: Optional[Callable[[str], Callable[[], object]]] = None,
    kernel_size: int = 1,
) -> str:
    """The path to run ``op`` on ``x`` with.

    Args:
        op: The op's name in :data:`RULES`.
        x: Its input.
        candidates: The paths that are exact for this call; ``'reference'``
            always, ``'export'`` where export needs its own.
        train: Whether autograd records the call.
        signature: What else tells two calls apart (kernel sizes, ...).
        make_run: ``make_run(path)`` gives a function that runs the call
            once on copies of its inputs (forward and, when ``train``,
            backward); needed only by the autotuner.
        kernel_size: The call's largest kernel (for rules that hold only
            up to a size).
    """
    current = _settings['mode']
    if current != 'fast':
        return current if current in candidates else 'reference'
    forced = _settings['forced'].get(op)
    if forced is not None:
        return forced if forced in candidates else 'reference'
    if not considers_fast_paths(op):  # no rule for op, no autotuner
        return 'reference'
    if torch.compiler.is_compiling():
        return 'reference'
    fast = [c for c in candidates if c != 'export']
    if fast == ['reference']:
        return 'reference'
    phase = 'train' if train else 'infer'
    dtype = _dtype_name(compute_dtype(x))
    key = (op, device_kind(x.device), dtype, layout(x), phase)
    if _settings['autotune'] and make_run is not None:
        shape_key = key + (tuple(x.shape),) + tuple(signature)
        if shape_key not in _tuned:
            timings = {c: _time_path(make_run(c), x.device) for c in fast}
            _tuned[shape_key] = min(timings, key=timings.get)
        return _tuned[shape_key]
    path, max_kernel = _RULES.get(key, ('reference', 0))
    if max_kernel and kernel_size > max_kernel:
        return 'reference'
    return path if path in fast else 'reference'
