"""The paper's claims as tests: each stated once, with its rule, on one experiment's
measurements (``hierarchy.Measured``) and their hierarchical bootstrap.

Every claim compares contrasts of pooled means (over base draws and seeds) against their
noise. A contrast is *beyond its interval* when its interval excludes 0; the intervals of a
claim's family of contrasts are simultaneous by Bonferroni (each at level 1 − α/m, from the
estimate ± t_{D−1}·(corrected bootstrap standard error), ``pacbound.analysis.inference``:
valid with few base draws); Spearman's ρ of the optimum's path takes a percentile interval
of replicates widened to the same width, and C6 the t interval of a least-squares slope
over draws. Within one draw the units are its seeds. An experiment with one base draw
judges that base only: its pooled verdicts are "undecided (too few base draws)", with the
base's own verdict in the detail. A verdict is "holds", "fails" or "undecided"; each rule
below says which evidence gives which. theory/claims.md states the rules with their
reasons; they were written before the runs they judge.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import numpy as np

from pacbound.analysis import inference
from pacbound.analysis.hierarchy import RESAMPLES, Measured, Replicates, resample
from pacbound.analysis.optimum import _ranks, percentile_interval, trend_p_value
from pacbound.numeric.argmin import first_minimum

ALPHA = 0.05  # family-wise, per claim
CLAIMS_SEED = 20_261  # the bootstrap's stream: a report regenerates to the same bytes
HOLDS, FAILS, UNDECIDED = "holds", "fails", "undecided"

CLAIMS = {
    "C1": "no difficulty is optimal at every budget",
    "C2": "at some fixed budget the optimum is interior",
    "C3": "the optimum moves toward harder data as n grows",
    "C4": "hard data at the smallest budget lowers accuracy on every test level",
    "C5": "easy data improves the easy levels and not the harder ones, at every budget",
    "C6": "a stronger base has a harder optimum",
    "M1": "the in-distribution gap grows with difficulty and shrinks with n",
    "M2": "the extrapolation gap shrinks with difficulty and does not depend on n",
}


@dataclass(frozen=True)
class Verdict:
    claim: str
    verdict: str  # holds / fails / undecided (or undecided (too few base draws))
    statistic: float | None  # the claim's headline number (see each rule)
    low: float | None  # its interval, at ``level``
    high: float | None
    detail: str  # the evidence in one line
    level: float | None = None  # the interval's coverage (simultaneous within the family)
    draws_needed: int | None = None  # undecided: base draws that would decide it, at this
    # effect and spread (None: decided, or not estimable)


@dataclass(frozen=True)
class Contrasts:
    """A family of contrasts: point estimates and simultaneous intervals, same shape."""

    estimate: np.ndarray
    low: np.ndarray
    high: np.ndarray
    se: np.ndarray | float = 0.0  # corrected standard errors
    units: int = 1  # base draws (or seeds within one draw) the intervals are t over
    level: float = 1 - ALPHA  # each member's level (1 − α/m)

    def draws_needed(self, index=()) -> int | None:
        """Draws that would put member ``index`` beyond its interval at this effect."""
        se = np.broadcast_to(self.se, self.estimate.shape)[index]
        return inference.draws_needed(
            float(self.estimate[index]), float(se), self.units, self.level
        )

    @property
    def below(self) -> np.ndarray:
        """Beyond the interval, negative."""
        return self.high < 0

    @property
    def above(self) -> np.ndarray:
        return self.low > 0


def contrasts(
    estimate: np.ndarray, replicates: np.ndarray, draws: int, alpha: float = ALPHA
) -> Contrasts:
    """Simultaneous intervals of a family of contrasts (the last axes of ``replicates``,
    the replicate axis first): estimate ± t_{D−1, 1−α/(2m)} · corrected bootstrap standard
    error (``inference``; normal within one draw)."""
    estimate = np.asarray(estimate, float)
    level = 1 - alpha / max(estimate.size, 1)
    low, high = inference.interval(estimate, replicates, draws, level)
    se = inference.standard_error(replicates, draws)
    return Contrasts(estimate, np.asarray(low), np.asarray(high), se, draws, level)


def pooled(array: np.ndarray, draw_axis: int) -> np.ndarray:
    """Mean over seeds within each draw, then over draws (the axes after ``draw_axis``: B,
    N, S, …; seeds are axis draw_axis + 3)."""
    return array.mean(axis=draw_axis + 3).mean(axis=draw_axis)


# --- the rules ---------------------------------------------------------------------------


def c1_no_fixed_optimum(error, replicates, units) -> Verdict:
    """C1. Contrasts: E[a, n] − E[b, n] for every budget and pair of buckets. Holds: every
    bucket is beaten beyond the intervals at some budget. Fails: one bucket beats every
    other at every budget beyond the intervals. Statistic: buckets beaten somewhere."""
    buckets = error.shape[0]
    pairs = [(a, b) for a in range(buckets) for b in range(buckets) if a < b]
    family = contrasts(
        np.stack([error[a] - error[b] for a, b in pairs]),
        np.stack([replicates[:, a] - replicates[:, b] for a, b in pairs], axis=1),
        units,
    )
    beaten = np.zeros(buckets, bool)  # some bucket is below it somewhere
    beats_all = np.ones(buckets, bool)  # below every other bucket at every budget
    for i, (a, b) in enumerate(pairs):
        beaten[b] |= family.below[i].any()
        beaten[a] |= family.above[i].any()
        beats_all[a] &= family.below[i].all()
        beats_all[b] &= family.above[i].all()
    verdict = HOLDS if beaten.all() else FAILS if beats_all.any() else UNDECIDED
    detail = f"{int(beaten.sum())} of {buckets} buckets beaten at some budget"
    if beats_all.any():
        detail = f"bucket index {int(np.argmax(beats_all))} best at every budget"
    return Verdict("C1", verdict, float(beaten.sum()), None, None, detail, family.level)


def c2_interior_optimum(error, replicates, units) -> Verdict:
    """C2. Contrasts: E[i, n] − E[end, n] for every interior bucket i, both ends, every
    budget. Holds: at some budget an interior bucket is below both ends. Fails: at every
    budget each interior bucket is above some end. Statistic: the largest margin by which
    an interior bucket beats its nearer-scoring end (> 0: beats both)."""
    buckets = error.shape[0]
    if buckets < 3:
        return Verdict("C2", UNDECIDED, None, None, None, "needs three buckets or more")
    ends = (0, buckets - 1)
    interior = range(1, buckets - 1)
    estimate = np.stack([[error[i] - error[e] for e in ends] for i in interior])  # IxExN
    draws = np.stack([[replicates[:, i] - replicates[:, e] for e in ends] for i in interior])
    family = contrasts(estimate, np.moveaxis(draws, 2, 0), units)
    wins = family.below.all(axis=1)  # IxN: below both ends
    loses = family.above.any(axis=1)  # IxN: above some end
    verdict = HOLDS if wins.any() else FAILS if loses.all() else UNDECIDED
    margin = float((-estimate).min(axis=1).max())
    return Verdict(
        "C2",
        verdict,
        margin,
        None,
        None,
        f"an interior bucket beats both ends at {int(wins.any(axis=0).sum())} budgets",
        family.level,
    )


def c3_harder_with_n(error, replicates, budgets, units) -> Verdict:
    """C3. Statistic: Spearman ρ of the pooled optimum's bucket index with n. Holds: the
    one-sided permutation test of the pooled optimum's order (``optimum.trend_p_value``)
    gives p ≤ α and the lower one-sided 95% bound on ρ is > 0 (a trend beyond the order's
    chance and beyond sampling noise). Fails: the upper one-sided bound is ≤ 0 (no upward
    trend). The bounds are the ends of a 90% percentile interval of the replicates widened
    to the t interval's width (``inference.widened``). The detail gives the path, its
    monotonicity and p."""
    optimum = first_minimum(error, axis=0)
    rho = _spearman(budgets, optimum)
    level = 1 - 2 * ALPHA
    widened = inference.widened(replicates, error, units, level)
    rhos = np.array([_spearman(budgets, first_minimum(r, axis=0)) for r in widened])
    low, high = percentile_interval(rhos, level=level)
    p = trend_p_value(budgets, optimum)[1]
    verdict = HOLDS if low > 0 and p <= ALPHA else FAILS if high <= 0 else UNDECIDED
    monotone = bool(np.all(np.diff(optimum) >= 0))
    path = "→".join(str(int(o)) for o in _runs(optimum))
    return Verdict(
        "C3",
        verdict,
        rho,
        float(low),
        float(high),
        f"optimum index by budget {path} ({'monotone' if monotone else 'not monotone'}); "
        f"permutation p = {p:.2g}",
        level,
    )


def c4_hard_hurts_small_n(gain, replicates, units) -> Verdict:
    """C4. Contrasts: the hardest bucket's gain over the base on each level at the smallest
    budget. Holds: every level's gain is below 0. Fails: some level's gain is above 0.
    Statistic: the largest of the gains."""
    family = contrasts(gain[-1, 0], replicates[:, -1, 0], units)
    verdict = HOLDS if family.below.all() else FAILS if family.above.any() else UNDECIDED
    worst = int(np.argmax(family.estimate))
    return Verdict(
        "C4",
        verdict,
        float(family.estimate[worst]),
        float(family.low[worst]),
        float(family.high[worst]),
        f"{int(family.below.sum())} of {len(family.estimate)} levels lose beyond the interval",
        family.level,
        None if verdict != UNDECIDED else family.draws_needed(worst),
    )


def c5_easy_helps_easy(gain, replicates, easy_levels, units) -> Verdict:
    """C5. Contrasts: the easiest bucket's gain on every level at every budget. Holds: at
    every budget every easy level (up to the bucket's hardest) gains beyond the interval
    and no harder level does. Fails: some harder level gains, or some easy level loses,
    beyond the interval. Statistic: the largest gain on a harder level."""
    family = contrasts(gain[0], replicates[:, 0], units)  # NxK
    easy = np.asarray(easy_levels, bool)
    if easy.all():
        return Verdict("C5", UNDECIDED, None, None, None, "no level is harder than the bucket")
    harder_gains = family.above[:, ~easy].any()
    easy_loses = family.below[:, easy].any()
    holds = family.above[:, easy].all() and not harder_gains
    verdict = HOLDS if holds else FAILS if harder_gains or easy_loses else UNDECIDED
    top = family.estimate[:, ~easy]
    n, k = np.unravel_index(np.argmax(top), top.shape)
    return Verdict(
        "C5",
        verdict,
        float(top[n, k]),
        float(family.low[:, ~easy][n, k]),
        float(family.high[:, ~easy][n, k]),
        f"every easy level gains at {int(family.above[:, easy].all(axis=1).sum())} of "
        f"{len(family.estimate)} budgets, an easy level loses at "
        f"{int(family.below[:, easy].any(axis=1).sum())}, a harder level gains at "
        f"{int(family.above[:, ~easy].any(axis=1).sum())}",
        family.level,
    )


def c6_stronger_base_harder(optimum_index, base_error) -> Verdict:
    """C6. Statistic: the least-squares slope of a draw's mean optimum index (over budgets)
    on its base's target error (< 0: stronger bases, lower error, have harder optima), each
    draw one observation. Holds: the slope's 95% t interval on D − 2 degrees of freedom
    (``inference.slope_interval``) is below 0. Fails: above 0. Needs 3 draws."""
    if len(optimum_index) < 3:
        return Verdict("C6", UNDECIDED, None, None, None, "needs three base draws or more")
    slope, low, high = inference.slope_interval(base_error, optimum_index)
    if np.isnan(slope):
        return Verdict("C6", UNDECIDED, None, None, None, "the bases' errors do not vary")
    verdict = HOLDS if high < 0 else FAILS if low > 0 else UNDECIDED
    return Verdict(
        "C6",
        verdict,
        slope,
        low,
        high,
        f"{len(optimum_index)} base draws, target error "
        f"{min(base_error):.3f}–{max(base_error):.3f}",
        1 - ALPHA,
    )


def gap_claim(name, gap, replicates, units, difficulty_sign: int, depends_on_n: bool) -> Verdict:
    """M1, M2. Contrasts: difficulty (mean over n of the hardest bucket's gap minus the
    easiest's) and budget (mean over buckets of the gap at the largest n minus the
    smallest). M1 (``depends_on_n``): holds when the difficulty contrast is above 0 and
    the budget contrast below 0; fails when either is beyond its interval the other way.
    M2: holds when the difficulty contrast is below 0 and the budget contrast is not beyond
    its interval (no dependence on n detected, a weaker thing than its absence); fails
    when the difficulty contrast is above 0 or the budget contrast is beyond its interval.
    Statistic: the difficulty contrast."""

    def pair(g):  # g: ...xBxN
        return np.stack(
            [(g[..., -1, :] - g[..., 0, :]).mean(-1), (g[..., :, -1] - g[..., :, 0]).mean(-1)],
            axis=-1,
        )

    family = contrasts(pair(gap), pair(replicates), units)
    up, down = family.above, family.below
    difficulty_right = (up if difficulty_sign > 0 else down)[0]
    difficulty_wrong = (down if difficulty_sign > 0 else up)[0]
    if depends_on_n:
        holds = difficulty_right and down[1]
        fails = difficulty_wrong or up[1]
    else:
        holds = difficulty_right and not (up[1] or down[1])
        fails = difficulty_wrong or up[1] or down[1]
    verdict = HOLDS if holds else FAILS if fails else UNDECIDED
    return Verdict(
        name,
        verdict,
        float(family.estimate[0]),
        float(family.low[0]),
        float(family.high[0]),
        f"difficulty contrast {family.estimate[0]:+.3f} [{family.low[0]:+.3f}, "
        f"{family.high[0]:+.3f}], budget contrast {family.estimate[1]:+.3f} "
        f"[{family.low[1]:+.3f}, {family.high[1]:+.3f}]",
        family.level,
        None if verdict != UNDECIDED else family.draws_needed(0),
    )


# --- one experiment --------------------------------------------------------------------


def claims_document(
    name: str, measured: Measured, easy_high_level: int, rng, resamples: int = RESAMPLES
) -> dict:
    """Every claim on the pooled draws, then on each draw alone (the same rules, its seeds
    and problems resampled), and the share of draws in which each claim holds. With one
    noisy base draw the pooled verdicts say nothing about bases in general: each decided
    one becomes "undecided (too few base draws)", the base's own verdict in its detail."""
    pooled_verdicts = judge(measured, resample(measured, rng, resamples), easy_high_level)
    per_draw = {str(measured.draws[0]): [replace(v, draws_needed=None) for v in pooled_verdicts]}
    if len(measured.draws) > 1:
        # A draw alone says nothing about how many draws would decide a claim.
        per_draw = {
            str(seed): [
                replace(v, draws_needed=None)
                for v in judge(alone, resample(alone, rng, resamples), easy_high_level)
            ]
            for alone, seed in ((measured.draw(i), seed) for i, seed in enumerate(measured.draws))
        }
    elif measured.noise_levels:
        pooled_verdicts = [_one_draw(v) for v in pooled_verdicts]
    # C6 compares draws: within one draw it is not judged.
    holds = {
        v.claim: None
        if v.claim == "C6"
        else sum(draw[i].verdict == HOLDS for draw in per_draw.values()) / len(per_draw)
        for i, v in enumerate(pooled_verdicts)
    }
    return {
        "experiment": name,
        "draws": list(measured.draws),
        "resampled": list(measured.noise_levels),
        "resamples": resamples,
        "alpha": ALPHA,
        "inference": inference_text(measured),
        "base_target_error": measured.base_target_error.tolist(),
        "pooled": [asdict(v) for v in pooled_verdicts],
        "per_draw": {seed: [asdict(v) for v in draw] for seed, draw in per_draw.items()},
        "holds_in_draws": holds,
    }


def _one_draw(verdict: Verdict) -> Verdict:
    """A decided verdict of a one-draw experiment, as a statement about base draws (one
    draw shows no between-draw spread: the draws an undecided one needs are unknown)."""
    if verdict.verdict == UNDECIDED:
        return replace(verdict, draws_needed=None)
    detail = f"this base alone: {verdict.verdict}; {verdict.detail}"
    return replace(verdict, verdict=inference.TOO_FEW_DRAWS, detail=detail, draws_needed=2)


def inference_text(measured: Measured) -> str:
    """What the intervals are, in words."""
    if not measured.noise_levels:
        return "exact risks: nothing is resampled"
    units = measured.units
    over = "base draws" if len(measured.draws) > 1 else "seeds of the one base draw"
    return (
        f"t intervals on {units - 1} degrees of freedom over {units} {over} (hierarchical "
        "bootstrap standard errors corrected for the number of units)"
    )


def judge(measured: Measured, replicates: Replicates, easy_high_level: int) -> list[Verdict]:
    """Every claim on one experiment's measurements and their replicates."""
    units = replicates.units
    target = pooled(measured.target_error, 0)  # BxN
    target_r = pooled(replicates.level_error @ measured.target_weights, 1)  # RxBxN
    base = measured.base_level_error.mean(axis=0)  # K
    base_r = replicates.base_level_error.mean(axis=1)  # RxK
    level = pooled(measured.level_error, 0)  # BxNxK
    level_r = pooled(replicates.level_error, 1)  # RxBxNxK
    gain, gain_r = base - level, base_r[:, None, None] - level_r
    weights = measured.bucket_weights
    in_bucket = measured.in_bucket_error
    in_bucket_r = np.einsum("rdbnsk,bk->rdbns", replicates.level_error, weights)
    generalization = pooled(in_bucket - measured.train_error, 0)
    generalization_r = pooled(in_bucket_r - replicates.train_error, 1)
    extrapolation = pooled(measured.target_error - in_bucket, 0)
    extrapolation_r = pooled(replicates.level_error @ measured.target_weights - in_bucket_r, 1)
    easy = np.array([k <= easy_high_level for k in measured.levels])
    return [
        c1_no_fixed_optimum(target, target_r, units),
        c2_interior_optimum(target, target_r, units),
        c3_harder_with_n(target, target_r, measured.budgets, units),
        c4_hard_hurts_small_n(gain, gain_r, units),
        c5_easy_helps_easy(gain, gain_r, easy, units),
        c6_stronger_base_harder(
            _per_draw_optimum(measured.target_error), measured.base_target_error
        ),
        gap_claim("M1", generalization, generalization_r, units, +1, depends_on_n=True),
        gap_claim("M2", extrapolation, extrapolation_r, units, -1, depends_on_n=False),
    ]


def _per_draw_optimum(target_DxBxNxS) -> np.ndarray:
    """D: each draw's optimum bucket index (of its seed means) averaged over budgets."""
    return first_minimum(target_DxBxNxS.mean(axis=-1), axis=1).mean(axis=-1)


def _spearman(x, y) -> float:
    """Spearman ρ with average ranks; 0 when either is constant (no trend to speak of)."""
    rx, ry = _ranks(np.asarray(x, float)), _ranks(np.asarray(y, float))
    if rx.std() == 0 or ry.std() == 0:
        return 0.0
    return float(np.corrcoef(rx, ry)[0, 1])


def _runs(values) -> list:
    """Consecutive repeats collapsed: 0 0 1 1 2 → 0 1 2."""
    values = list(values)
    return [v for i, v in enumerate(values) if i == 0 or v != values[i - 1]]
