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


# Measured with tools/analysis/benchmark_mixconv.py (--ops for the 1x1s
# and SE), totals over every layer shape of MixNet-S at 320x320; see the
# README's Performance section for the commands and full tables.
RULES: tuple[Rule, ...] = (
    # 2-core AVX-512 x86 CPU, torch 2.13, batch 1 / 8 (earlier sessions).
    Rule(
        'mixconv',
        'cpu-avx512',
        'float32',
        'nchw',
        'infer',
        'fused',
        'MixNet-S layers 1.86x split, batch 1',
    ),
    Rule(
        'mixconv',
        'cpu-avx512',
        'float32',
        'nchw',
        'train',
        'fused',
        'MixNet-S layers 2.10x split, fwd+bwd batch 8',
    ),
    Rule(
        'pointwise',
        'cpu-avx512',
        'float32',
        'nchw',
        'infer',
        'gemm',
        'MixNet 1x1 shapes 3x conv2d, batch 1',
    ),
    Rule(
        'pointwise',
        'cpu-avx512',
        'float32',
        'nchw',
        'train',
        'gemm',
        'MixNet 1x1 shapes 2.6x conv2d, fwd+bwd batch 8',
    ),
)


def _index(rules: Sequence[Rule]) -> dict:
    return {r[:5]: r.path for r in rules}


_RULES = _index(RULES)


def set_rules(rules: Sequence[Rule]) -> None:
    """Replace the rules (e.g. with ones measured on your own machine)."""
    global _RULES
    _RULES = _index(rules)


def device_kind(device: torch.device) -> str:
    """``'cpu-avx512'``, ``'cpu-avx2'``, ... (the instruction set PyTorch
    uses), ``'cuda-sm90'``, ... (the compute capability), else the type."""
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
    """
    current = _settings['mode']
    if current != 'fast':
        return current if current in candidates else 'reference'
    forced = _settings['forced'].get(op)
    if forced is not None:
        return forced if forced in candidates else 'reference'
    if torch.compiler.is_compiling():
        return 'reference'
    fast = [c for c in candidates if c != 'export']
    if fast == ['reference']:
        return 'reference'
    phase = 'train' if train else 'infer'
    dtype = str(compute_dtype(x)).replace('torch.', '')
    key = (op, device_kind(x.device), dtype, layout(x), phase)
    if _settings['autotune'] and make_run is not None:
        shape_key = key + (tuple(x.shape),) + tuple(signature)
        if shape_key not in _tuned:
            timings = {c: _time_path(make_run(c), x.device) for c in fast}
            _tuned[shape_key] = min(timings, key=timings.get)
        return _tuned[shape_key]
    path: Optional[str] = _RULES.get(key)
    return path if path in fast else 'reference'
