"""Predictors of the optimal difficulty: each one a score per bucket at a budget from pilot
runs (lower is better), or None; its choice is the tied argmin (theory/predictions.md)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from pacbound.analysis.runs import RunTable
from pacbound.numeric.argmin import tied_minima
from pacbound.numeric.lower import lower_to_numpy
from pacbound.symbolic import shift

_domain_adaptation_bound = lower_to_numpy(
    shift.domain_adaptation_bound,
    ("disagreement", "density_ratio", "joint_error", "outside_mass"),
)


Scores = Callable[[RunTable, np.ndarray, float, "int | None"], "np.ndarray | None"]


@dataclass(frozen=True)
class Predictor:
    name: str
    kind: str  # "baseline", "theory" (label-free or pilot-fitted) or "labelled" (target labels)
    uses: str  # the information it uses, in words
    scores: Scores  # (table, pilot budget indices, n, index of n in the table or None)
    # The RunTable inputs it reads per run besides the target errors: a resample must draw
    # them with the runs (``RunTable.per_run``) for its bootstrap to mean anything.
    inputs: tuple[str, ...] = ()


def _constant(position: str) -> Scores:
    def scores(table, pilots, n, at):
        count = len(table.buckets)
        chosen = {"easiest": 0, "middle": (count - 1) // 2, "hardest": count - 1}[position]
        return np.where(np.arange(count) == chosen, 0.0, 1.0)

    return scores


def _random(table, pilots, n, at):
    return np.zeros(len(table.buckets))


def _inverse_n(table, pilots, n, at):
    """Bucket-blind: 1/n for every bucket (it ranks cells by budget only)."""
    return np.full(len(table.buckets), 1.0 / n)


def _nearest_pilot(table, pilots, n, at):
    """The measured errors at the pilot budget nearest to n in log n (the larger on ties)."""
    distance = np.abs(np.log(table.budgets[pilots]) - np.log(n))
    nearest = pilots[np.flatnonzero(distance == distance.min())[-1]]
    return table.mean[:, nearest]


def _largest_pilot(table, pilots, n, at):
    """The measured errors at the largest pilot budget, whatever n is."""
    return table.mean[:, pilots.max()]


SCALING_EXPONENTS = np.geomspace(0.02, 2.0, 100)  # α searched, a grid wide for any task here


def _powers(table, pilots) -> np.ndarray:
    """αxP: n^(−α) of every pilot budget for every α of the grid (the power-law fits')."""
    return table.budgets[pilots].astype(float)[None, :] ** -SCALING_EXPONENTS[:, None]


def _scaling_law(table, pilots, n, at):
    """Per bucket, err(n) = E + A·n^(−α) fitted to the pilots' seed means by least squares
    (α on a grid, E and A in closed form for each α: a line in x = n^(−α)), then read at n;
    the form of Goyal et al. 2024 (Scaling Laws for Data Filtering). Three constants need
    three pilot budgets."""
    if len(pilots) < 3:
        return None
    x = _powers(table, pilots)
    y = table.mean[:, pilots]  # BxP
    x_centred = x - x.mean(axis=1, keepdims=True)
    slope = (x_centred @ y.T) / (x_centred**2).sum(axis=1, keepdims=True)  # αxB: A
    intercept = y.mean(axis=1)[None, :] - slope * x.mean(axis=1, keepdims=True)  # αxB: E
    fitted = intercept[:, :, None] + slope[:, :, None] * x[:, None, :]  # αxBxP
    residual = ((fitted - y[None]) ** 2).sum(axis=-1)  # αxB
    best = np.argmin(residual, axis=0)  # the smallest α among equal fits
    columns = np.arange(len(table.buckets))
    return intercept[best, columns] + slope[best, columns] * float(n) ** -SCALING_EXPONENTS[best]


def _learned_and_transferred(table, pilots, n, at):
    """The two gaps level by level. A bucket's own levels are learned: each level's error
    falls toward zero as A_{b,k}·n^(−α), one rate α shared by every learned level of every
    bucket and a scale A per level, fitted by least squares on the pilots' per-level seed
    means (α on the scaling-law grid). The other levels are never trained on: their error
    stays where the largest pilot measured it (the base's error plus the transfer there; the
    extrapolation gap does not depend on n). Score: Σ_k w_T(k)·err_k(n). The zero asymptote
    is the deterministic task's: where a level has irreducible noise it is too optimistic."""
    if table.level_error is None or table.bucket_weights is None:
        return None
    level_mean = np.nanmean(table.level_error[:, pilots], axis=2)  # BxPxK, the pilots only
    inside = table.bucket_weights > 0  # BxK
    learned_pilots = np.moveaxis(level_mean, 1, -1)[inside]  # RxP, R learned levels
    x = _powers(table, pilots)
    scale = (x @ learned_pilots.T) / (x**2).sum(axis=1, keepdims=True)  # αxR: each level's A
    residual = ((scale[:, :, None] * x[:, None, :] - learned_pilots[None]) ** 2).sum(axis=(1, 2))
    best = np.argmin(residual)  # the smallest α among equal fits
    errors = level_mean[:, np.argmax(pilots)].copy()  # BxK: transferred, at the largest pilot
    errors[inside] = np.clip(scale[best] * float(n) ** -SCALING_EXPONENTS[best], 0.0, 1.0)
    return errors @ table.target_weights


def _log_fit(x: np.ndarray, y: np.ndarray, at: float) -> float:
    """The least-squares line through (x, y), evaluated at ``at``."""
    slope, intercept = np.polyfit(x, y, 1)
    return float(slope * at + intercept)


def _curve_fit(table, pilots, n, at):
    """Per bucket, the target error linear in log n through the pilot budgets."""
    if len(pilots) < 2:
        return None
    log_n = np.log(table.budgets[pilots])
    return np.array([_log_fit(log_n, row[pilots], np.log(n)) for row in table.mean])


def _theory_features(table: RunTable, complexity_BxP: np.ndarray, budgets: np.ndarray):
    """Features of the two-gap model per bucket and budget (see ``_two_gap``): target mass
    inside the bucket m_b, in-bucket generalization m_b·√(C/n), out-of-bucket interference
    (1 − m_b)·√C; and the base's error on the target levels outside the bucket."""
    inside = table.bucket_weights > 0  # BxK
    mass = (table.target_weights * inside).sum(axis=1)[:, None]  # Bx1
    outside = (table.target_weights * ~inside * table.base_level_error).sum(axis=1)[:, None]
    root = np.sqrt(np.maximum(complexity_BxP, 0.0))
    features = np.stack(
        [np.broadcast_to(mass, root.shape), mass * root / np.sqrt(budgets), (1 - mass) * root],
        axis=-1,
    )
    return features, np.broadcast_to(outside, root.shape)


def _two_gap(table, pilots, n, at):
    """The theory-shaped predictor: R̂_T(b, n) = Σ_{k∉b} w_T(k)·R_base(k) + c₀·m_b +
    c₁·m_b·√(C_b(n)/n) + c₂·(1 − m_b)·√C_b(n). Target levels inside the bucket are learned
    (an in-bucket risk c₀ plus a generalization gap shrinking as √(C/n)); those outside keep
    the base's error plus an interference growing with how far the weights moved (c₂ < 0
    is transfer). C_b(n), the complexity of the fine-tuned weights, is extrapolated to n by a
    per-bucket line in log–log through the pilots; the three constants c are fitted by least
    squares on the pilot cells' measured target errors only."""
    if table.complexity is None or table.bucket_weights is None or len(pilots) < 2:
        return None
    complexity = np.nanmean(table.complexity, axis=-1)[:, pilots]  # BxP
    if np.any(complexity <= 0):
        return None  # no log-log extrapolation through a zero
    budgets = table.budgets[pilots].astype(float)
    features, outside = _theory_features(table, complexity, budgets)
    target = table.mean[:, pilots] - outside
    constants, *_ = np.linalg.lstsq(features.reshape(-1, 3), target.ravel(), rcond=None)
    log_n = np.log(budgets)
    at_n = np.array([np.exp(_log_fit(log_n, np.log(row), np.log(n))) for row in complexity])
    features_n, outside_n = _theory_features(table, at_n[:, None], np.array([float(n)]))
    return (features_n @ constants + outside_n)[:, 0]


def _certified(term: str) -> Scores:
    def scores(table, pilots, n, at):
        """The certified bound on the target (certificate + shift term) of the runs at n,
        over the buckets whose certificate is informative; needs no target label."""
        if at is None or term not in table.bound:
            return None
        values = np.nanmean(table.bound[term][:, at], axis=-1)
        values = np.where(table.informative[:, at], values, np.nan)
        return None if np.isnan(values).all() else values

    return scores


def _at_budget(table: RunTable, values_BxNxS, at):
    """Seed means of a label-free quantity of the runs at the budget itself."""
    return None if at is None or values_BxNxS is None else np.nanmean(values_BxNxS[:, at], -1)


def _disagreement(kind: str) -> Scores:
    def scores(table, pilots, n, at):
        """d_T of the runs at n: lower is a network more settled on the target."""
        return _at_budget(table, table.disagreement.get(kind), at)

    return scores


def domain_adaptation_terms(table: RunTable) -> dict[str, np.ndarray]:
    """Per bucket, the two constants of Germain et al.'s bound (ICML 2016, with q = ∞):
    β_∞ = max over the bucket's levels of w_T(k)/w_b(k), and η = the target mass
    outside the bucket's levels (times the worst risk there, 1)."""
    inside = table.bucket_weights > 0
    ratio = np.where(inside, table.target_weights / np.where(inside, table.bucket_weights, 1), 0)
    return {"beta": ratio.max(axis=1), "eta": (table.target_weights * ~inside).sum(axis=1)}


def domain_adaptation_scores(table, pilots, n, at):
    """R_T(G_Q) ≤ ½·d_T(Q) + β_∞·e_S(Q) + η for the certified Q, with its teacher-forced
    d_T and e_S(Q) (the expected joint error, at most Q's risk on the bucket) by Q's
    measured bucket risk."""
    disagreement = _at_budget(table, table.disagreement.get("certified"), at)
    risk = _at_budget(table, table.in_bucket_risk, at)
    if disagreement is None or risk is None or table.bucket_weights is None:
        return None
    terms = domain_adaptation_terms(table)
    return _domain_adaptation_bound(disagreement, terms["beta"], risk, terms["eta"])


BASELINES = (
    Predictor("easiest", "baseline", "nothing: always the easiest bucket", _constant("easiest")),
    Predictor("middle", "baseline", "nothing: always the middle bucket", _constant("middle")),
    Predictor("hardest", "baseline", "nothing: always the hardest bucket", _constant("hardest")),
    Predictor("random", "baseline", "nothing: a uniform pick (its expected value)", _random),
    Predictor("1/n", "baseline", "the budget only: 1/n, the same for every bucket", _inverse_n),
    Predictor(
        "nearest pilot",
        "baseline",
        "pilot target errors: the winner at the pilot budget nearest in log n",
        _nearest_pilot,
    ),
    Predictor(
        "largest pilot",
        "baseline",
        "pilot target errors: the winner at the largest pilot budget",
        _largest_pilot,
    ),
    Predictor(
        "curve fit",
        "baseline",
        "pilot target errors: per bucket a line in log n, extrapolated",
        _curve_fit,
    ),
    Predictor(
        "scaling law",
        "baseline",
        "pilot target errors: per bucket E + A·n^(−α) fitted on ≥ 3 pilot budgets, extrapolated",
        _scaling_law,
    ),
)

TWO_GAP = Predictor(
    "two-gap fit",
    "theory",
    "pilot target errors, the base's per-level errors, the weights' complexity; 3 constants "
    "fitted on the pilots",
    _two_gap,
    ("complexity",),
)


LEARNED_AND_TRANSFERRED = Predictor(
    "learned + transferred",
    "theory",
    "pilot errors per level: the bucket's levels falling as A·n^(−α) (one α for all), the "
    "other levels held at the largest pilot's error (their transfer)",
    _learned_and_transferred,
    ("level_error",),
)


def certified_predictors(terms) -> tuple[Predictor, ...]:
    """One predictor per shift term. The coverage term's bound adds the network's measured
    error on the pretraining levels, which are target levels scored on labelled held-out
    problems: it is a labelled predictor (kind "labelled"), judged beside the labelled
    validation sets, not with the label-free theory in the verdict."""
    uses = {
        "coverage": "the runs at n and their labelled errors on the pretraining levels' "
        "held-out problems (target levels): certificate + coverage term",
        "gain (no harm)": "the runs at n and the base's held-out errors on the bucket: the "
        "certified gain over the base, other levels assumed not to lose",
    }
    return tuple(
        Predictor(
            f"bound: {term}",
            "labelled" if term == "coverage" else "theory",
            uses.get(term, "the runs at n, no target label: certificate + shift term"),
            _certified(term),
            ("bound",),
        )
        for term in terms
    )


DISAGREEMENT = {
    "label_free": Predictor(
        "disagreement (label-free)",
        "theory",
        "the runs at n and unlabelled target problems: d_T of a posterior near the network, "
        "at problem-only positions",
        _disagreement("label_free"),
        ("disagreement",),
    ),
    "teacher_forced": Predictor(
        "disagreement (teacher-forced)",
        "theory",
        "the runs at n and target problems with their reference solutions as context: d_T "
        "of a posterior near the network",
        _disagreement("teacher_forced"),
        ("disagreement",),
    ),
}

DOMAIN_ADAPTATION = Predictor(
    "bound: domain adaptation",
    "theory",
    "the runs at n: ½·d_T(Q) + β_∞·(Q's bucket risk) + η for the certified Q (Germain et al.)",
    domain_adaptation_scores,
    ("disagreement", "in_bucket_risk"),
)


def predictors_for(table: RunTable) -> tuple[Predictor, ...]:
    """Every predictor the table has the information for."""
    theory = certified_predictors(table.bound)
    if table.complexity is not None and table.bucket_weights is not None:
        theory = (TWO_GAP, *theory)
    if table.level_error is not None and table.bucket_weights is not None:
        theory = (LEARNED_AND_TRANSFERRED, *theory)
    theory += tuple(DISAGREEMENT[k] for k in table.disagreement if k in DISAGREEMENT)
    if "certified" in table.disagreement and table.in_bucket_risk is not None:
        theory += (DOMAIN_ADAPTATION,)
    return (*BASELINES, *theory)


def choice(scores: np.ndarray | None, tolerance: float) -> np.ndarray | None:
    """The predictor's choice as a mask over buckets (the tied minima); None: no prediction."""
    return None if scores is None else tied_minima(scores, tolerance)


# --- protocols and metrics ----------------------------------------------------------------
