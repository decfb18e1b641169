"""Throughput and accuracy of kl_inv_upper against the per-point solvers PAC-Bayes code uses.

    python benchmarks/bench_kl_inv.py [--points 1000000] [--baseline-points 2000]

Measured in one run on the same inputs (q ~ U[0, 1], c log-uniform on [1e-6, 1e2]):
- pacbound: jit(vmap(kl_inv_upper)) in float64 on all points, after compilation;
- scipy: a Python loop of scipy.optimize.brentq per point (relative tolerance 4 eps), on a
  subset;
- bisection: a Python loop of plain bisection per point, 60 halvings, the usual hand-written
  inverse in PAC-Bayes code, on the same subset.
Then the worst relative error of each against the mpmath reference (50 digits) on a sample.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import time

import jax
import numpy as np
from scipy.optimize import brentq

import pacbound  # noqa: F401  (float64 on)
from pacbound.numeric.kl import kl_inv_upper
from pacbound.symbolic.core import mp_kl_inv_upper


def _kl(q: float, p: float) -> float:
    head = q * math.log(q / p) if q > 0 else 0.0
    tail = (1 - q) * math.log((1 - q) / (1 - p)) if q < 1 else 0.0
    return head + tail


def brentq_inverse(q: float, c: float) -> float:
    if c == 0 or q == 1:
        return 1.0 if q == 1 else q
    hi = 1 - 1e-16
    if _kl(q, hi) <= c:
        return hi
    return brentq(lambda p: _kl(q, p) - c, q, hi, xtol=1e-300)  # rtol: scipy's 4 eps


def bisection_inverse(q: float, c: float, halvings: int = 60) -> float:
    lo, hi = q, 1.0
    for _ in range(halvings):
        mid = 0.5 * (lo + hi)
        if mid >= 1 or _kl(q, mid) > c:
            hi = mid
        else:
            lo = mid
    return lo


def per_second(count: int, seconds: float) -> float:
    return count / seconds


def time_python_loop(solver, q, c) -> tuple[float, np.ndarray]:
    start = time.perf_counter()
    out = np.array([solver(float(a), float(b)) for a, b in zip(q, c, strict=True)])
    return time.perf_counter() - start, out


def worst_relative_error(values, q, c) -> float:
    worst = 0.0
    for value, a, b in zip(values, q, c, strict=True):
        reference = mp_kl_inv_upper(float(a), float(b))
        worst = max(worst, float(abs(value - reference) / reference))
    return worst


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=10**6)
    parser.add_argument("--baseline-points", type=int, default=2000)
    parser.add_argument("--accuracy-points", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    q = rng.uniform(0.0, 1.0, args.points)
    c = 10.0 ** rng.uniform(-6.0, 2.0, args.points)

    solve = jax.jit(jax.vmap(kl_inv_upper))
    q_dev, c_dev = jax.device_put(q), jax.device_put(c)
    solve(q_dev, c_dev).block_until_ready()  # compile

    # Rounds interleave the three solvers, so that a slow spell of a shared machine slows
    # all of them; each solver's best round is reported, and the spread of the per-round
    # ratios shows how much the machine moved.
    subset = slice(0, args.baseline_points)
    times = {"pacbound": [], "brentq": [], "bisection": []}
    for _ in range(args.rounds):
        start = time.perf_counter()
        ours = solve(q_dev, c_dev).block_until_ready()
        times["pacbound"].append(time.perf_counter() - start)
        seconds, brentq_values = time_python_loop(brentq_inverse, q[subset], c[subset])
        times["brentq"].append(seconds)
        seconds, bisect_values = time_python_loop(bisection_inverse, q[subset], c[subset])
        times["bisection"].append(seconds)
    ours = np.asarray(ours)
    ours_rate = per_second(args.points, min(times["pacbound"]))
    brentq_rate = per_second(args.baseline_points, min(times["brentq"]))
    bisect_rate = per_second(args.baseline_points, min(times["bisection"]))
    round_ratios = [
        (args.points / ours_s) / (args.baseline_points / brentq_s)
        for ours_s, brentq_s in zip(times["pacbound"], times["brentq"], strict=True)
    ]

    sample = slice(0, args.accuracy_points)
    errors = {
        "pacbound": worst_relative_error(ours[sample], q[sample], c[sample]),
        "scipy brentq": worst_relative_error(brentq_values[sample], q[sample], c[sample]),
        "bisection": worst_relative_error(bisect_values[sample], q[sample], c[sample]),
    }

    backend = f"jax {jax.__version__} on {jax.default_backend()}"
    print(f"machine: {cpu_name()}, {os.cpu_count()} cores; {backend}")
    print("inputs: q ~ U[0, 1], c ~ 10^U[-6, 2]; float64")
    header = f"{'solver':<28}{'points':>10}{'evals/s':>14}{'vs brentq':>12}{'vs bisection':>14}"
    print(f"{header}{'worst rel. err':>16}")
    rows = [
        ("pacbound jit(vmap(kl_inv))", args.points, ours_rate, errors["pacbound"]),
        ("scipy brentq loop", args.baseline_points, brentq_rate, errors["scipy brentq"]),
        ("python bisection loop", args.baseline_points, bisect_rate, errors["bisection"]),
    ]
    for name, points, rate, error in rows:
        print(
            f"{name:<28}{points:>10}{rate:>14.3e}{rate / brentq_rate:>11.0f}x"
            f"{rate / bisect_rate:>13.0f}x{error:>16.2e}"
        )
    low, middle, high = np.percentile(round_ratios, [0, 50, 100])
    print(
        f"(best of {args.rounds} interleaved rounds for each solver; per-round ratio to "
        f"brentq: min {low:.0f}x, median {middle:.0f}x, max {high:.0f}x; accuracy against "
        f"mpmath on {args.accuracy_points} points)"
    )


if __name__ == "__main__":
    main()
