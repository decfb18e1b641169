"""The measured optimal difficulty and its uncertainty, drawn as the runs were drawn.

Every cell (base draw, bucket, budget, seed) owns its data and its PRNG key
(``pacbound.tasks.base.cell_seed``), so cells in different buckets, budgets or draws are
independent. The intervals come from the hierarchical bootstrap of
``pacbound.analysis.hierarchy`` (base draws, then each cell's seeds on their own, then the
held-out problems shared by every model), read as t intervals over the base draws
(``pacbound.analysis.inference``): a gain's interval from the replicates' corrected standard
error, the frequencies (which arm wins, the switch) from replicates widened to the same
width. The base is an arm without seed variation: one network per draw, scored on the same
problems as every cell; tests against it are one-sided t tests over the same units as the
intervals (the base draws, or within one draw its seeds), on the gain's corrected standard
error, so a test and an interval never disagree. (Exact sign-flip tests over three draws
cannot go below p = 1/8.)

Bucket indices are returned; ``len(buckets)`` stands for the base where an arm can be the
base.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from math import comb, factorial

import numpy as np
from sympy.utilities.iterables import multiset_permutations

from pacbound.analysis import inference
from pacbound.analysis.hierarchy import Measured, resample
from pacbound.numeric.argmin import first_minimum

RESAMPLES = 4000
EXACT_SIGN_FLIPS = 16  # up to this many differences every sign assignment; beyond, drawn
SIGN_FLIP_DRAWS = 65_536
EXACT_ORDERINGS = 200_000  # the trend test enumerates up to this many orderings
PERMUTATION_DRAWS = 200_000  # and draws this many beyond


def distinct_resamples(seeds: int, samples: int = 1) -> int:
    """Distinct unpaired bootstrap resamples of ``samples`` independent groups of ``seeds``
    runs each: C(2S − 1, S) multisets per group."""
    return comb(2 * seeds - 1, seeds) ** samples


def switch_index(optimum_N: np.ndarray, hardest: int) -> int:
    """The first budget index from which the hardest bucket stays optimal; N (one past the
    last budget) when it is not optimal at the largest budget."""
    optimum_N = np.asarray(optimum_N)
    index = len(optimum_N)
    while index > 0 and optimum_N[index - 1] == hardest:
        index -= 1
    return index


def per_seed_argmin_counts(error_BxNxS: np.ndarray) -> np.ndarray:
    """counts_NxB: at each budget, how often bucket b has the lowest error among the cells
    of one seed index (each such triple is one independent draw per bucket)."""
    buckets = error_BxNxS.shape[0]
    winners_NxS = first_minimum(error_BxNxS, axis=0)
    return np.stack([np.bincount(w, minlength=buckets) for w in winners_NxS])


def trend_p_value(budgets, optimum_N, rng=None) -> tuple[float | None, float]:
    """(Spearman ρ of the optimum's bucket index with n, its one-sided permutation p-value
    for "harder with more data"): the fraction of the distinct orderings of the observed
    optima over the budgets whose ρ is at least the observed one. Exact (every ordering)
    up to ``EXACT_ORDERINGS`` orderings; beyond, estimated from ``PERMUTATION_DRAWS``
    random orderings drawn from ``rng``. ρ is None and p = 1 for a constant optimum."""
    optimum_N = np.asarray(optimum_N)
    if len(set(optimum_N.tolist())) < 2:
        return None, 1.0
    ranks = _ranks(np.asarray(budgets, float))
    values = _ranks(optimum_N.astype(float))
    observed = float(np.corrcoef(ranks, values)[0, 1])
    # ρ of a reordering is an increasing function of Σ rank_i · value_π(i): the centred
    # norms do not change under reordering, so compare the dot products.
    centred = ranks - ranks.mean()
    threshold = values @ centred - 1e-9
    if orderings(optimum_N) <= EXACT_ORDERINGS:
        reordered = np.array(list(multiset_permutations(values.tolist())))
        return observed, float(np.mean(reordered @ centred >= threshold))
    # Random orderings, the observed one counted among them: (k + 1) / (draws + 1) is a
    # valid p-value, never 0.
    rng = rng or np.random.default_rng(0)
    reordered = rng.permuted(np.broadcast_to(values, (PERMUTATION_DRAWS, len(values))), axis=1)
    hits = int(np.sum(reordered @ centred >= threshold))
    return observed, (hits + 1) / (PERMUTATION_DRAWS + 1)


def orderings(values) -> int:
    """Distinct orderings of a multiset: N! / Π count!."""
    counts = np.unique(np.asarray(values), return_counts=True)[1]
    total = factorial(int(counts.sum()))
    for count in counts:
        total //= factorial(int(count))
    return total


def _ranks(x: np.ndarray) -> np.ndarray:
    """Average ranks (ties share their mean rank), as Spearman's ρ uses."""
    order = np.argsort(x, kind="stable")
    ranks = np.empty(len(x))
    ranks[order] = np.arange(len(x), dtype=float)
    for value in np.unique(x):
        tied = x == value
        ranks[tied] = ranks[tied].mean()
    return ranks


def sign_flip_p_value(differences_S: np.ndarray, rng=None) -> float:
    """One-sided p-value that the mean of ``differences_S`` is > 0 (null: each difference is
    symmetric about 0): the fraction of sign assignments whose mean is at least the observed
    one. Exact over all 2^S up to ``EXACT_SIGN_FLIPS`` differences (floor 2^−S); beyond,
    (k + 1)/(M + 1) over M random assignments from ``rng``, the observed one counted."""
    differences_S = np.asarray(differences_S, float)
    observed = differences_S.mean() - 1e-12
    if len(differences_S) <= EXACT_SIGN_FLIPS:
        signs = np.array(list(itertools.product((1.0, -1.0), repeat=len(differences_S))))
        return float(np.mean((signs * differences_S).mean(axis=1) >= observed))
    rng = rng or np.random.default_rng(0)
    signs = rng.choice((1.0, -1.0), size=(SIGN_FLIP_DRAWS, len(differences_S)))
    hits = int(np.sum((signs * differences_S).mean(axis=1) >= observed))
    return (hits + 1) / (SIGN_FLIP_DRAWS + 1)


@dataclass(frozen=True)
class Optimum:
    """Everything measured about the optimum at every budget (see ``measure_optimum``)."""

    mean_BxN: np.ndarray
    optimum_N: np.ndarray  # the bucket with the lowest mean target error
    frequency_NxB: np.ndarray  # bootstrap: how often each bucket is the optimum
    interior_N: np.ndarray  # bootstrap probability that an interior bucket is optimal
    seed_counts_NxB: np.ndarray
    gain_NxB: np.ndarray  # base error − mean error (> 0: better than not fine-tuning)
    gain_low_NxB: np.ndarray  # 95% t interval of the gain over the units
    gain_high_NxB: np.ndarray
    better_p_NxB: np.ndarray  # one-sided t p over the units: bucket better than the base
    worse_p_NxB: np.ndarray  # one-sided t p over the units: bucket worse than the base
    any_better_p_N: np.ndarray  # p of "some bucket beats the base", Holm over buckets
    best_arm_frequency_NxA: np.ndarray  # bootstrap, arms = buckets + the base (last)
    switch: int  # budget index (N: never)
    switch_frequency: np.ndarray  # bootstrap distribution over 0 … N
    rho: float | None
    trend_p: float
    resamples: int
    levels: tuple[str, ...]  # what the bootstrap resampled, outermost first
    units: int = 1  # the outermost level's units: base draws, or seeds within one draw

    @property
    def critical(self) -> float:
        """The multiplier of the 95% intervals (t on units − 1 degrees of freedom)."""
        return inference.critical(self.units)


def measure_optimum(
    measured: Measured, rng: np.random.Generator, resamples: int = RESAMPLES
) -> Optimum:
    """The optimum's statistics on the target error, pooled over base draws and seeds, with
    ``resamples`` hierarchical bootstrap replicates."""
    error_DxBxNxS = measured.target_error
    draws, buckets, count, seeds = error_DxBxNxS.shape
    base_D = measured.base_target_error
    base_error = float(base_D.mean())
    mean_BxN = error_DxBxNxS.mean(axis=-1).mean(axis=0)
    optimum_N = first_minimum(mean_BxN, axis=0)
    replicates = resample(measured, rng, resamples)
    units = replicates.units
    weights = measured.target_weights
    means_RxBxN = (replicates.level_error @ weights).mean(axis=-1).mean(axis=1)
    base_R = (replicates.base_level_error @ weights).mean(axis=1)
    gain_low_BxN, gain_high_BxN = inference.interval(
        base_error - mean_BxN, base_R[:, None, None] - means_RxBxN, units
    )
    # Tests against the base, on the units of the intervals (the base draws): one-sided t
    # on the gain's corrected standard error, so that they agree with the gain's interval.
    gain_se_BxN = inference.standard_error(base_R[:, None, None] - means_RxBxN, units)
    better = inference.p_above_zero(base_error - mean_BxN, gain_se_BxN, units)
    worse = inference.p_above_zero(mean_BxN - base_error, gain_se_BxN, units)
    # Which arm wins, and the switch: from replicates widened to the t interval's width.
    means_RxBxN = inference.widened(means_RxBxN, mean_BxN, units)
    base_R = inference.widened(base_R, base_error, units)
    winners_RxN = first_minimum(means_RxBxN, axis=1)
    frequency_NxB = _frequencies(winners_RxN, buckets)
    interior_N = frequency_NxB[:, 1:-1].sum(axis=1) if buckets > 2 else np.zeros(count)
    base_RxAxN = np.broadcast_to(base_R[:, None, None], (resamples, 1, count))
    best_RxN = first_minimum(np.concatenate([means_RxBxN, base_RxAxN], axis=1), axis=1)
    switches = np.array([switch_index(w, buckets - 1) for w in winners_RxN])
    rho, trend_p = trend_p_value(measured.budgets, optimum_N)
    runs_BxNxDS = np.moveaxis(error_DxBxNxS, 0, 2).reshape(buckets, count, draws * seeds)
    return Optimum(
        mean_BxN=mean_BxN,
        optimum_N=optimum_N,
        frequency_NxB=frequency_NxB,
        interior_N=interior_N,
        seed_counts_NxB=per_seed_argmin_counts(runs_BxNxDS),
        gain_NxB=(base_error - mean_BxN).T,
        gain_low_NxB=gain_low_BxN.T,
        gain_high_NxB=gain_high_BxN.T,
        better_p_NxB=better.T,
        worse_p_NxB=worse.T,
        any_better_p_N=np.array([holm_minimum(better[:, i]) for i in range(count)]),
        best_arm_frequency_NxA=_frequencies(best_RxN, buckets + 1),
        switch=switch_index(optimum_N, buckets - 1),
        switch_frequency=np.bincount(switches, minlength=count + 1) / len(switches),
        rho=rho,
        trend_p=trend_p,
        resamples=len(winners_RxN),
        levels=replicates.levels,
        units=units,
    )


def _frequencies(winners_RxN: np.ndarray, arms: int) -> np.ndarray:
    """frequency_NxA: at each budget, the share of resamples in which each arm wins."""
    return np.stack([np.bincount(w, minlength=arms) for w in winners_RxN.T]) / len(winners_RxN)


def holm_minimum(p_values) -> float:
    """The smallest Holm-adjusted p-value of a family: min_i p_(i)·(m − i), i.e. the
    smallest p times the family size (capped at 1); rejects "no member differs" at level α
    when it is ≤ α, whatever the dependence between members."""
    p_values = np.asarray(p_values, float)
    return float(min(1.0, p_values.min() * len(p_values)))


def interval_of(frequency: np.ndarray, level: float = 0.95) -> tuple[int, int]:
    """The central ``level`` interval (indices) of a discrete bootstrap distribution."""
    cumulative = np.cumsum(frequency)
    tail = (1 - level) / 2
    low = int(np.searchsorted(cumulative, tail + 1e-12))
    high = int(np.searchsorted(cumulative, 1 - tail - 1e-12))
    return low, min(high, len(frequency) - 1)


def is_inverted_u(best: int, tied_B) -> bool:
    """The inverted U at one budget: the optimal bucket ``best`` is an interior one and
    neither end bucket is tied with it (``tied_B``: the buckets tied with the optimum, a
    mask in difficulty order; the tolerance is the caller's measure of noise)."""
    return bool(0 < best < len(tied_B) - 1 and not tied_B[0] and not tied_B[-1])


def percentile_interval(values, level: float = 0.95, axis=None):
    """The central ``level`` percentile interval of bootstrap draws along ``axis``: (low,
    high) arrays, or floats with ``axis=None``."""
    tail = round(50 * (1 - level), 10)  # 2.5 exactly at level 0.95
    low, high = np.percentile(values, [tail, 100 - tail], axis=axis)
    return low, high
