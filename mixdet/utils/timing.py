"""Timing for the benchmarks on a noisy machine."""

import time
from typing import Callable


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
