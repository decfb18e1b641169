"""What the benchmarks share: the best of several timed calls, after a warm-up."""

from __future__ import annotations

import time


def best_time(fn, repeats: int) -> float:
    """Seconds of the fastest of ``repeats`` calls of ``fn``, after one call that compiles
    and warms up (the machines are shared and noisy, so the minimum is the estimate)."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)
