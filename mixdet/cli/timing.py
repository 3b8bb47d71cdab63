"""Timing for the benchmarks on a noisy machine."""

import time
from typing import Callable

import torch


def timed(fn: Callable[[], object]) -> float:
    """Seconds one call of ``fn`` takes."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def interleaved(
    fns: dict[str, Callable[[], object]], rounds: int
) -> dict[str, list[float]]:
    """Seconds per call of each function, one call each per round.

    The order alternates between rounds, so a slow spell of the machine
    hits every function alike; compare them round by round.
    """
    times = {name: [] for name in fns}
    names = list(fns)
    for r in range(rounds):
        for name in names if r % 2 == 0 else names[::-1]:
            times[name].append(timed(fns[name]))
    return times


# The --amp choices of the benchmarks.
AMP_DTYPES = {'fp16': torch.float16, 'bf16': torch.bfloat16}


def add_device_arguments(parser) -> None:
    """The benchmarks' ``--device``, ``--amp`` and ``--channels-last``."""
    parser.add_argument(
        '--device', default='cpu', help="where to run: 'cpu' or 'cuda[:N]'"
    )
    parser.add_argument(
        '--amp',
        choices=sorted(AMP_DTYPES),
        default=None,
        help='autocast to this dtype (default: float32)',
    )
    parser.add_argument(
        '--channels-last',
        action='store_true',
        help='inputs (and models) in channels_last memory format',
    )


def memory_format(channels_last: bool) -> torch.memory_format:
    """The memory format the benchmarks' ``--channels-last`` asks for."""
    return torch.channels_last if channels_last else torch.contiguous_format


def synchronize(device: torch.device) -> None:
    """Wait for the device's queued work (CUDA) before a clock is read."""
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def op_breakdown(
    fns: dict[str, Callable[[], object]], calls: int = 10, top: int = 8
) -> dict[str, dict[str, float]]:
    """Milliseconds per call that each function spends in each op.

    Args:
        fns: The functions to profile (e.g. one model call each).
        calls: Calls of each function under torch.profiler.
        top: Keep the ``top`` costliest ops of each function (their union
            is reported for every function).

    Returns:
        ``{op name: {function name: ms per call}}``: self time on the CPU,
        or on the GPU where the profile has CUDA kernels; 0 where a
        function does not run the op. The last row, ``'all ops'``, is
        the total over every op.
    """
    from torch.profiler import ProfilerActivity, profile

    activities = [ProfilerActivity.CPU]
    if torch.cuda.is_available():
        activities.append(ProfilerActivity.CUDA)
    per_fn = {}
    for name, fn in fns.items():
        with profile(activities=activities) as prof:
            for _ in range(calls):
                fn()
        events = prof.key_averages()
        on_gpu = any(e.self_device_time_total > 0 for e in events)
        per_fn[name] = {
            e.key: (
                e.self_device_time_total if on_gpu else e.self_cpu_time_total
            )
            / calls
            / 1e3
            for e in events
        }
    ops = []
    for times in per_fn.values():
        for op in sorted(times, key=times.get, reverse=True)[:top]:
            if op not in ops:
                ops.append(op)
    table = {
        op: {name: per_fn[name].get(op, 0.0) for name in fns} for op in ops
    }
    table['all ops'] = {name: sum(per_fn[name].values()) for name in fns}
    return table
