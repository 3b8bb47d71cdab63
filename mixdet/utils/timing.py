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


def memory_format(channels_last: bool) -> torch.memory_format:
    """The memory format the benchmarks' ``--channels-last`` asks for."""
    return torch.channels_last if channels_last else torch.contiguous_format


def synchronize(device: torch.device) -> None:
    """Wait for the device's queued work (CUDA) before a clock is read."""
    if device.type == 'cuda':
        torch.cuda.synchronize(device)
