"""Intervals that stay valid with few base draws.

The unit of replication is the base draw: seeds and held-out problems nest inside it, and a
rerun on another CPU is effectively a new draw. A percentile bootstrap over D draws is too
narrow when D is small: resampling D clusters shrinks the between-draw variance by
(D − 1)/D, and its 2.5% point is about the smallest draw (simulated coverage 59–66% at
D = 2, 73–75% at D = 3 for a nominal 95%). Here every interval over draws is

    estimate ± t_{D−1, 1−α/2} · √(D/(D − 1)) · (standard deviation of the bootstrap replicates)

the t interval over draw-level summaries (Cameron & Miller 2015, §VI.C): for a mean over
draws the corrected bootstrap variance is s²/D, the between-draw variance of the draw means
over D, whatever the seeds and problems inside a draw add to it. Problems shared by every
draw add a variance the draw means do not show; the bootstrap replicates carry it, so it is
part of the standard error too. With one draw there is nothing to learn the between-draw
variance from: intervals are then about that base alone (over its seeds and problems, a
normal interval) and a verdict about draws in general is "undecided (too few base draws)".
Within one draw the same reasoning applies one level down: the fine-tuning seeds are the
units (independent in every cell), and the intervals are t intervals on S − 1 degrees of
freedom with the √(S/(S − 1)) correction. The argument ``draws`` of the functions below is
the number of units of the outermost level that varies: base draws, or seeds within a draw.

Discrete summaries (which bucket wins, the switch budget, Spearman's ρ of the optimum's
path) take their distribution from replicates *widened* about the point estimate by the
same factor, √(D/(D − 1)) · t_{D−1, 0.975} / z_{0.975}, so that a linear summary of widened
replicates has the t interval's 95% width. theory/claims.md has the coverage of each family,
measured by simulation (tests/analysis/test_inference.py).
"""

from __future__ import annotations

import functools
import math
from statistics import NormalDist

import numpy as np
from scipy import stats

LEVEL = 0.95
TOO_FEW_DRAWS = "undecided (too few base draws)"


def outer_units(draws: int, runs: int) -> int:
    """The units of the outermost level that varies: the base draws when there are
    several; within one draw its ``runs`` per cell (seeds); 1 when neither varies."""
    return draws if draws > 1 else runs if runs > 1 else 1


@functools.cache  # a frozen law costs about a millisecond to build
def _law(draws: int):
    """Student t on D − 1 degrees of freedom over D ≥ 2 units; the normal law with one."""
    return stats.t(draws - 1) if draws >= 2 else stats.norm()


@functools.cache
def critical(draws: int, level: float = LEVEL) -> float:
    """The two-sided multiplier of a ``level`` interval: Student t on D − 1 degrees of
    freedom over D ≥ 2 units, the normal quantile with one (only problems vary)."""
    return float(_law(draws).ppf(1 - (1 - level) / 2))


def degrees_of_freedom(draws: int) -> int | None:
    """D − 1 over several units; None (a normal interval) with one."""
    return draws - 1 if draws >= 2 else None


def draw_correction(draws: int) -> float:
    """√(D/(D − 1)): undoes the bootstrap's (D − 1)/D shrinkage of the between-unit
    variance (1 with one unit: only the many held-out problems vary, or nothing)."""
    return math.sqrt(draws / (draws - 1)) if draws >= 2 else 1.0


def standard_error(replicates, draws: int, axis: int = 0) -> np.ndarray:
    """The standard error of an estimate from its bootstrap replicates along ``axis``,
    corrected for the number of draws; 0 from fewer than two replicates."""
    replicates = np.asarray(replicates, float)
    if replicates.shape[axis] < 2:
        return np.zeros(np.delete(replicates.shape, axis)) if replicates.ndim > 1 else 0.0
    return np.std(replicates, axis=axis, ddof=1) * draw_correction(draws)


def interval(estimate, replicates, draws: int, level: float = LEVEL, axis: int = 0):
    """(low, high): estimate ± critical · standard error, elementwise."""
    estimate = np.asarray(estimate, float)
    half = critical(draws, level) * standard_error(replicates, draws, axis)
    return estimate - half, estimate + half


def widening(draws: int, level: float = LEVEL) -> float:
    """The factor by which replicates are stretched about the estimate so that a linear
    summary's percentile interval at ``level`` has the t interval's width."""
    normal = NormalDist().inv_cdf(1 - (1 - level) / 2)
    return draw_correction(draws) * critical(draws, level) / normal


def widened(replicates, estimate, draws: int, level: float = LEVEL) -> np.ndarray:
    """Replicates (first axis) stretched about ``estimate`` by ``widening(draws)``."""
    replicates = np.asarray(replicates, float)
    estimate = np.asarray(estimate, float)
    return estimate + widening(draws, level) * (replicates - estimate)


def draws_needed(estimate: float, se: float, draws: int, level: float = LEVEL) -> int | None:
    """How many base draws an interval like this one would need to exclude 0, if the effect
    and the between-draw spread stayed as measured: the smallest D' with
    t_{D'−1} · s / √D' < |estimate|, s = se · √D the spread of one draw's summary. None
    when the estimate is 0 or not finite; at most 10,000 (beyond: None)."""
    if not (math.isfinite(estimate) and math.isfinite(se)) or estimate == 0:
        return None
    spread = se * math.sqrt(max(draws, 1))
    if spread == 0:
        return max(draws, 2)
    counts = np.arange(2, 10_001)
    half = stats.t.ppf(1 - (1 - level) / 2, counts - 1) * spread / np.sqrt(counts)
    enough = np.flatnonzero(half < abs(estimate))
    return int(counts[enough[0]]) if len(enough) else None


def p_above_zero(estimate, se, draws: int) -> np.ndarray:
    """One-sided p-value that the true value is above 0: P(T ≥ estimate/se), T Student t on
    units − 1 degrees of freedom (normal with one unit), elementwise; the same t as the
    intervals, so p ≤ 0.025 exactly when the 95% interval lies above 0. With se = 0 it is 0
    for a positive estimate and 1 otherwise."""
    estimate, se = np.broadcast_arrays(np.asarray(estimate, float), np.asarray(se, float))
    ratio = np.divide(estimate, se, out=np.where(estimate > 0, np.inf, -np.inf), where=se > 0)
    return _law(draws).sf(ratio)


def slope_interval(x, y, level: float = LEVEL) -> tuple[float, float, float]:
    """(slope, low, high): the least-squares slope of draw-level ``y`` on draw-level ``x``
    with its t interval on D − 2 degrees of freedom (each draw one observation, its
    within-draw noise part of the residual). NaN throughout with fewer than three draws or
    an ``x`` that does not vary."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    if len(x) < 3 or np.ptp(x) == 0:
        return math.nan, math.nan, math.nan
    fit = stats.linregress(x, y)
    half = float(stats.t.ppf(1 - (1 - level) / 2, len(x) - 2)) * fit.stderr
    return float(fit.slope), float(fit.slope - half), float(fit.slope + half)
