"""Predictors of the optimal fine-tuning difficulty, all judged the same way on held-out budgets.

A ``RunTable`` holds pilot runs: the target error of every (bucket, budget, seed), buckets in
difficulty order, with whatever else was measured (a complexity of the fine-tuned weights,
per-level errors, certified bounds). It comes from a pacbound store (``compare.build_table``),
from a committed report, or from a CSV / JSON Lines file of runs made with any training stack
(``pacbound.pilots``).

Every predictor answers one question through one interface: given the runs at the *pilot*
budgets (and, for the label-free ones, the training side of the runs at the budget itself),
a score per bucket at budget n, lower meaning better; or None, no prediction. Its choice is
the set of buckets within the tie tolerance of the lowest score (``optimum.tied_minima``,
the one argmin); a tie counts as a uniform pick among the tied buckets.

The tie tolerance is derived from measurement noise, once per table: the standard deviation
of the difference of two cell means, 𝜏 = √(2·s²/S) with s² the within-cell variance of the
seeds pooled over cells and S the seeds per cell. Differences smaller than that are not
resolved by the runs, so they are ties for the measured optimum and for every predictor.

Protocols. Leave-one-budget-out: each budget is held out in turn, the others are pilots.
Forward chaining: the budgets below a budget are its pilots (from the third budget on, so
that a fit in n has two pilot budgets). Metrics over the held-out budgets: exact (the
predicted bucket is among the measured optimal ones) and within one bucket; regret (target
error of the predicted bucket minus the best, averaged over the held-out budgets; a budget
without a prediction counts as a uniform random pick, so predictors that abstain are judged
on the same budgets); Kendall's τ_b between scores and measured errors along the difficulty
axis (within a budget) and along the budget axis (within a bucket) and their mean, the
granulated τ of Jiang et al. (ICLR 2020); and the sign agreement over pairs of cells,
weighted by the Hoeffding confidence 1 − exp(−Δ²/(2𝜏²)) that the measured order is real,
split into pairs within one budget (difficulty) and pairs across budgets (data size). A tie
in the scores counts half. Intervals: a bootstrap over seeds, each cell's seeds resampled on
its own (cells are independent), every predictor refitted on each resample.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np

from pacbound.numeric.lower import lower_to_numpy
from pacbound.optimum import tied_minima
from pacbound.symbolic import agreement, shift

_sign_confidence = lower_to_numpy(agreement.sign_confidence, ("difference", "variance_proxy"))
_tie_tolerance = lower_to_numpy(agreement.tie_tolerance, ("pooled_variance", "seeds"))
_paired_tie_tolerance = lower_to_numpy(
    agreement.paired_tie_tolerance, ("difference_variance", "seeds")
)
_domain_adaptation_bound = lower_to_numpy(
    shift.domain_adaptation_bound,
    ("disagreement", "density_ratio", "joint_error", "outside_mass"),
)

PROTOCOLS = ("leave-one-budget-out", "forward-chaining")
RESAMPLES = 200
VALIDATION_SIZES = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
VALIDATION_DRAWS = 4000


@dataclass(frozen=True)
class RunTable:
    """Runs as arrays over (bucket, budget, seed); NaN where a seed is missing."""

    buckets: tuple[str, ...]  # difficulty order, easiest first
    budgets: np.ndarray  # N, ascending
    target_error: np.ndarray  # BxNxS
    complexity: np.ndarray | None = None  # BxNxS: KL to the prior or ‖θ − θ_pre‖²
    complexity_name: str = ""
    # Per level (the task's levels, K of them): measured errors of each run, the base's, and
    # the level weights of the target, of each bucket and of the pretraining mixture.
    levels: tuple[int, ...] = ()
    level_error: np.ndarray | None = None  # BxNxSxK
    base_level_error: np.ndarray | None = None  # K
    target_weights: np.ndarray | None = None  # K
    bucket_weights: np.ndarray | None = None  # BxK
    pretrain_weights: np.ndarray | None = None  # K
    level_tolerance: float = 0.0  # noise of a difference of two per-level seed means
    # Certified bound on the target per shift term (certificate + shift), BxNxS, and whether
    # each bucket's certificate says anything (BxN); label-free at the budget itself.
    bound: dict[str, np.ndarray] = field(default_factory=dict)
    informative: np.ndarray | None = None
    # The expected disagreement d_T(Q) of two posterior draws on target problems, BxNxS:
    # of a posterior near the network, "label_free" (problem-only positions) and
    # "teacher_forced" (every solution position); "certified": of the certified Q, teacher
    # forced. And the certified Q's measured risk on its own bucket, BxNxS.
    disagreement: dict[str, np.ndarray] = field(default_factory=dict)
    in_bucket_risk: np.ndarray | None = None
    fixed_tolerance: float | None = None  # a resample keeps its original table's tolerance
    # Paired seeds: seed s of every cell comes from the same random numbers (common random
    # numbers, as in the skill ladder), so a resample draws one set of seed indices for all
    # cells and the tolerance is that of a paired difference of adjacent buckets.
    paired: bool = False

    def __post_init__(self):
        budgets = np.asarray(self.budgets)
        if np.any(np.diff(budgets) <= 0):
            raise ValueError("budgets must be strictly increasing")
        if self.target_error.shape[:2] != (len(self.buckets), len(budgets)):
            raise ValueError("target_error must be buckets × budgets × seeds")
        if np.isnan(self.target_error).all(axis=-1).any():
            b, i = np.argwhere(np.isnan(self.target_error).all(axis=-1))[0]
            raise ValueError(f"no run of bucket {self.buckets[b]!r} at n = {budgets[i]}")

    @cached_property  # the table is frozen: computed once per table
    def mean(self) -> np.ndarray:
        """BxN seed means of the target error."""
        return np.nanmean(self.target_error, axis=-1)

    @cached_property
    def tolerance(self) -> float:
        """√(2·s²/S), or √(s_Δ²/S) for paired seeds: the noise of a difference of two cell
        means (see the module doc)."""
        if self.fixed_tolerance is not None:
            return self.fixed_tolerance
        counts = np.sum(~np.isnan(self.target_error), axis=-1)
        if counts.max() < 2:
            return 0.0
        if self.paired:
            differences = np.diff(self.target_error, axis=0)  # adjacent buckets, BxNxS
            variance = np.nanmean(np.nanvar(differences, axis=-1, ddof=1))
            return float(_paired_tie_tolerance(variance, counts.mean()))
        deviations = self.target_error - self.mean[..., None]
        pooled = np.nansum(deviations**2) / np.sum(np.maximum(counts - 1, 0))
        return float(_tie_tolerance(pooled, counts.mean()))

    def resampled(self, rng: np.random.Generator) -> RunTable:
        """Each cell's seeds drawn with replacement on their own, every per-run array alike."""
        present = ~np.isnan(self.target_error)
        counts = present.sum(axis=-1, keepdims=True)
        order = np.argsort(~present, axis=-1, kind="stable")  # present seeds first
        if self.paired:  # one draw of seed indices for every cell
            shape = self.target_error.shape
            picks = np.broadcast_to(np.floor(rng.random(shape[-1]) * counts).astype(int), shape)
        else:
            picks = np.floor(rng.random(self.target_error.shape) * counts).astype(int)
        index = np.take_along_axis(order, picks, axis=-1)

        def draw(values):
            if values is None:
                return None
            if values.ndim == 4:  # per level; seed means only (a report) stay as they are
                if values.shape[2] != index.shape[-1]:
                    return values
                return np.take_along_axis(values, index[..., None], axis=2)
            return np.take_along_axis(values, index, axis=-1)

        return replace(
            self,
            fixed_tolerance=self.tolerance,
            target_error=draw(self.target_error),
            complexity=draw(self.complexity),
            level_error=draw(self.level_error),
            bound={term: draw(values) for term, values in self.bound.items()},
            disagreement={kind: draw(v) for kind, v in self.disagreement.items()},
            in_bucket_risk=draw(self.in_bucket_risk),
        )


# --- predictors ----------------------------------------------------------------------------

Scores = Callable[[RunTable, np.ndarray, float, "int | None"], "np.ndarray | None"]


@dataclass(frozen=True)
class Predictor:
    name: str
    kind: str  # "baseline" or "theory"
    uses: str  # the information it uses, in words
    scores: Scores  # (table, pilot budget indices, n, index of n in the table or None)


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


def _domain_adaptation(table, pilots, n, at):
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
        "curve fit",
        "baseline",
        "pilot target errors: per bucket a line in log n, extrapolated",
        _curve_fit,
    ),
)

TWO_GAP = Predictor(
    "two-gap fit",
    "theory",
    "pilot target errors, the base's per-level errors, the weights' complexity; 3 constants "
    "fitted on the pilots",
    _two_gap,
)


def certified_predictors(terms) -> tuple[Predictor, ...]:
    return tuple(
        Predictor(
            f"bound: {term}",
            "theory",
            "the runs at n, no target label: certificate + shift term",
            _certified(term),
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
    ),
    "teacher_forced": Predictor(
        "disagreement (teacher-forced)",
        "theory",
        "the runs at n and target problems with their reference solutions as context: d_T "
        "of a posterior near the network",
        _disagreement("teacher_forced"),
    ),
}

DOMAIN_ADAPTATION = Predictor(
    "bound: domain adaptation",
    "theory",
    "the runs at n: ½·d_T(Q) + β_∞·(Q's bucket risk) + η for the certified Q (Germain et al.)",
    _domain_adaptation,
)


def predictors_for(table: RunTable) -> tuple[Predictor, ...]:
    """Every predictor the table has the information for."""
    theory = certified_predictors(table.bound)
    if table.complexity is not None and table.bucket_weights is not None:
        theory = (TWO_GAP, *theory)
    theory += tuple(DISAGREEMENT[k] for k in table.disagreement if k in DISAGREEMENT)
    if "certified" in table.disagreement and table.in_bucket_risk is not None:
        theory += (DOMAIN_ADAPTATION,)
    return (*BASELINES, *theory)


def choice(scores: np.ndarray | None, tolerance: float) -> np.ndarray | None:
    """The predictor's choice as a mask over buckets (the tied minima); None: no prediction."""
    return None if scores is None else tied_minima(scores, tolerance)


# --- protocols and metrics ----------------------------------------------------------------


def held_out(protocol: str, count: int) -> list[tuple[int, np.ndarray]]:
    """(held-out budget index, pilot budget indices) of every step of a protocol."""
    everything = np.arange(count)
    if protocol == "leave-one-budget-out":
        return [(i, everything[everything != i]) for i in range(count)]
    if protocol == "forward-chaining":
        return [(i, everything[:i]) for i in range(2, count)]
    raise ValueError(f"protocol = {protocol!r} is not one of {PROTOCOLS}")


def run_protocol(table: RunTable, predictor: Predictor, protocol: str) -> list[dict]:
    """Per held-out budget: the predictor's scores and choice (None: no prediction)."""
    steps = []
    for i, pilots in held_out(protocol, len(table.budgets)):
        scores = predictor.scores(table, pilots, float(table.budgets[i]), i)
        steps.append({"index": i, "scores": scores, "choice": choice(scores, table.tolerance)})
    return steps


def kendall_tau_b(x, y) -> float:
    """Kendall's τ_b; 0 when either side is constant (it orders nothing)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    i, j = np.triu_indices(len(x), k=1)
    sx, sy = np.sign(x[i] - x[j]), np.sign(y[i] - y[j])
    tied_x, tied_y = np.sum(sx != 0), np.sum(sy != 0)
    if tied_x == 0 or tied_y == 0:
        return 0.0
    return float(np.sum(sx * sy) / np.sqrt(tied_x * tied_y))


def sign_agreement(scores_BxH, error_BxH, variance: float) -> dict[str, float | None]:
    """Hoeffding-weighted share of pairs of cells that the scores order as the measured
    errors, split into pairs within one budget and pairs across budgets; tied scores count
    half; None where no pair has weight."""
    scores, error = np.ravel(scores_BxH), np.ravel(error_BxH)
    budget = np.broadcast_to(np.arange(scores_BxH.shape[1]), scores_BxH.shape).ravel()
    i, j = np.triu_indices(len(error), k=1)
    difference = error[i] - error[j]
    if variance > 0:
        weight = _sign_confidence(difference, variance)
    else:
        weight = (difference != 0).astype(float)
    order = np.sign(scores[i] - scores[j])
    credit = np.where(order == 0, 0.5, (order == np.sign(difference)).astype(float))
    result = {}
    for name, pairs in (("within", budget[i] == budget[j]), ("across", budget[i] != budget[j])):
        total = weight[pairs].sum()
        result[name] = float((weight * credit)[pairs].sum() / total) if total > 0 else None
    return result


def metrics(table: RunTable, steps: list[dict]) -> dict:
    """The metrics of one predictor under one protocol (see the module doc)."""
    mean, tolerance = table.mean, table.tolerance
    exact, near, regret, regret_all, columns = [], [], [], [], []
    for step in steps:
        errors = mean[:, step["index"]]
        best = tied_minima(errors, tolerance)
        pick = step["choice"]
        if pick is None:
            regret_all.append(errors.mean() - errors.min())
            continue
        weights = pick / pick.sum()
        neighbours = best.copy()  # the optimal buckets and their neighbours
        neighbours[1:] |= best[:-1]
        neighbours[:-1] |= best[1:]
        exact.append(float(weights @ best))
        near.append(float(weights @ neighbours))
        regret.append(float(weights @ errors - errors.min()))
        regret_all.append(regret[-1])
        columns.append(step)
    result = {
        "held_out": len(steps),
        "predicted": len(columns),
        "exact": float(np.mean(exact)) if exact else None,
        "within_one": float(np.mean(near)) if near else None,
        "regret": float(np.mean(regret)) if regret else None,
        "regret_all": float(np.mean(regret_all)) if regret_all else None,
    }
    if not columns:
        return result | {"tau_difficulty": None, "tau_budget": None, "granulated_tau": None}
    index = [step["index"] for step in columns]
    scores = np.stack([step["scores"] for step in columns], axis=1)  # BxH
    scores = np.where(np.isnan(scores), np.nanmax(scores) + 1, scores)  # uninformative: last
    measured = mean[:, index]
    along_difficulty = np.mean(
        [kendall_tau_b(s, e) for s, e in zip(scores.T, measured.T, strict=True)]
    )
    along_budget = (
        np.mean([kendall_tau_b(s, e) for s, e in zip(scores, measured, strict=True)])
        if len(index) > 1
        else None
    )
    parts = [v for v in (along_difficulty, along_budget) if v is not None]
    signs = sign_agreement(scores, measured, tolerance**2)
    return result | {
        "tau_difficulty": float(along_difficulty),
        "tau_budget": None if along_budget is None else float(along_budget),
        "granulated_tau": float(np.mean(parts)),
        "sign_within": signs["within"],
        "sign_across": signs["across"],
    }


INTERVAL_METRICS = ("exact", "within_one", "regret_all", "granulated_tau")


def evaluate(table: RunTable, resamples: int = RESAMPLES, seed: int = 0) -> dict:
    """Every predictor under every protocol: point metrics, the per-budget choices, and
    bootstrap intervals (with the resampled regrets kept for paired comparisons). Needs
    two budgets at least (one to hold out, one pilot)."""
    if len(table.budgets) < 2:
        raise ValueError(f"budgets: {len(table.budgets)} given, predictions need at least 2")
    predictors = predictors_for(table)
    rng = np.random.default_rng(seed)
    boot = [table.resampled(rng) for _ in range(resamples)]  # each keeps the tolerance
    tolerance = table.tolerance
    out = {"tolerance": tolerance, "resamples": resamples, "protocols": {}}
    if table.paired:
        out["paired"] = True
    for protocol in PROTOCOLS:
        if not held_out(protocol, len(table.budgets)):
            continue  # forward chaining needs three budgets
        rows = {}
        for predictor in predictors:
            steps = run_protocol(table, predictor, protocol)
            row = metrics(table, steps)
            draws = {name: [] for name in INTERVAL_METRICS}
            for resample in boot:
                got = metrics(resample, run_protocol(resample, predictor, protocol))
                for name in INTERVAL_METRICS:
                    draws[name].append(np.nan if got[name] is None else got[name])
            row["interval"] = {
                name: _percentiles(values) for name, values in draws.items() if values
            }
            row["regret_draws"] = draws["regret_all"]
            row["kind"], row["uses"] = predictor.kind, predictor.uses
            row["choices"] = {
                int(table.budgets[s["index"]]): (
                    None
                    if s["choice"] is None
                    else [table.buckets[b] for b in np.flatnonzero(s["choice"])]
                )
                for s in steps
            }
            rows[predictor.name] = row
        out["protocols"][protocol] = {
            "held_out_budgets": [
                int(table.budgets[i]) for i, _ in held_out(protocol, len(table.budgets))
            ],
            "predictors": rows,
            "validation": validation_set(
                table, [i for i, _ in held_out(protocol, len(table.budgets))]
            ),
            "verdict": verdict(rows),
        }
    if table.bucket_weights is not None:
        terms = domain_adaptation_terms(table)
        out["domain_adaptation"] = {
            b: {"beta": float(terms["beta"][i]), "eta": float(terms["eta"][i])}
            for i, b in enumerate(table.buckets)
        }
        if DOMAIN_ADAPTATION in predictors:
            values = np.stack(
                [_domain_adaptation(table, None, n, i) for i, n in enumerate(table.budgets)], 1
            )
            out["domain_adaptation_bound"] = {
                "min": float(values.min()),
                "max": float(values.max()),
            }
    out["measured"] = {
        int(n): [table.buckets[b] for b in np.flatnonzero(tied_minima(table.mean[:, i], tolerance))]
        for i, n in enumerate(table.budgets)
    }
    return out


def _percentiles(values) -> list[float] | None:
    values = np.asarray(values, float)
    values = values[np.isfinite(values)]
    if not len(values):
        return None
    return [float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5))]


def validation_set(table: RunTable, held: list[int], sizes=VALIDATION_SIZES, seed: int = 0):
    """The labelled-validation reference: at each held-out budget, every bucket's runs scored
    on m labelled target problems (binomial with the measured seed-mean error), the lowest
    count chosen (ties uniform). Per m: exact and regret as for the predictors."""
    rng = np.random.default_rng(seed)
    mean, tolerance = table.mean, table.tolerance
    rows = []
    for m in sizes:
        exact, regret = [], []
        for i in held:
            errors = np.clip(mean[:, i], 0.0, 1.0)
            counts = rng.binomial(m, errors, size=(VALIDATION_DRAWS, len(errors)))
            picks = counts == counts.min(axis=1, keepdims=True)
            weights = picks / picks.sum(axis=1, keepdims=True)
            best = tied_minima(mean[:, i], tolerance)
            exact.append(float((weights @ best).mean()))
            regret.append(float((weights @ mean[:, i]).mean() - mean[:, i].min()))
        rows.append({"m": m, "exact": float(np.mean(exact)), "regret": float(np.mean(regret))})
    return rows


def validation_size_matching(validation: list[dict], regret: float | None) -> int | None:
    """The smallest m whose labelled-validation regret is at most ``regret``."""
    if regret is None:
        return None
    return next((row["m"] for row in validation if row["regret"] <= regret + 1e-12), None)


def verdict(rows: dict) -> dict:
    """The best predictor by regret (abstentions as random picks), the best baseline, and
    whether the best theory-derived predictor beats it beyond the bootstrap intervals: the
    95% interval of the paired difference of their regrets lies below 0."""

    def regret(name):
        return rows[name]["regret_all"]

    best = min(rows, key=regret)
    baselines = [name for name in rows if rows[name]["kind"] == "baseline"]
    theory = [name for name in rows if rows[name]["kind"] == "theory"]
    best_baseline = min(baselines, key=regret)
    result = {"best": best, "best_baseline": best_baseline, "best_theory": None}
    if theory:
        best_theory = min(theory, key=regret)
        difference = np.subtract(
            rows[best_theory]["regret_draws"], rows[best_baseline]["regret_draws"]
        )
        interval = _percentiles(difference)
        result |= {
            "best_theory": best_theory,
            "difference": regret(best_theory) - regret(best_baseline),
            "difference_interval": interval,
            "theory_beats_baseline": bool(interval is not None and interval[1] < 0),
        }
    return result


# --- report -------------------------------------------------------------------------------


def _shown(value, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _with_interval(row: dict, name: str, digits: int = 2) -> str:
    interval = row.get("interval", {}).get(name)
    text = _shown(row[name], digits)
    if interval is None or row[name] is None:
        return text
    return f"{text} [{interval[0]:.{digits}f}, {interval[1]:.{digits}f}]"


def label(name: str, checks: dict | None) -> str:
    """A predictor's name, marked when its shift term's assumption is violated."""
    term = name.removeprefix("bound: ")
    if checks and name.startswith("bound: ") and checks.get(term, {}).get("status") == "violated":
        return f"{name} (assumption violated)"
    return name


def verdict_text(protocol: dict) -> str:
    v = protocol["verdict"]
    rows = protocol["predictors"]
    text = (
        f"best by regret: **{v['best']}** ({rows[v['best']]['regret_all']:.3f}); best baseline: "
        f"**{v['best_baseline']}** ({rows[v['best_baseline']]['regret_all']:.3f})"
    )
    if v["best_theory"] is None:
        return text + "; no theory-derived predictor has the information it needs here"
    low, high = v["difference_interval"] or (float("nan"), float("nan"))
    beats = "beats" if v["theory_beats_baseline"] else "does not beat"
    return (
        text + f"; the best theory-derived predictor, **{v['best_theory']}**, {beats} it beyond "
        f"the intervals (paired regret difference {v['difference']:+.3f}, 95% interval "
        f"[{low:+.3f}, {high:+.3f}])"
    )


def markdown(name: str, evaluation: dict, checks: dict | None) -> str:
    """The predictions report: assumptions, predictor × protocol table, validation sizes,
    choices per budget, verdict."""
    lines = [f"# Predicting the optimal difficulty: {name}\n"]
    if evaluation.get("paired"):
        noise = "√(s_Δ²/S), the noise of a paired difference of two cell means over seeds"
        resampling = "the seeds of every cell drawn together, as they are paired"
    else:
        noise = "√(2·s²/S), the noise of a difference of two cell means over seeds"
        resampling = "each cell's seeds on their own"
    lines.append(
        f"Tie tolerance {evaluation['tolerance']:.4f} ({noise}): buckets within it of the "
        "lowest are tied, in the measurement and in every predictor's choice; a tie is a "
        f"uniform pick. Intervals: 95% bootstrap over seeds ({evaluation['resamples']} "
        f"resamples, {resampling}, every predictor refitted). Regret: target error of the "
        "chosen bucket minus the best, mean over held-out budgets, a budget without a "
        "prediction counted as a uniform pick. Exact and within one: over the budgets with "
        "a prediction. τ: Kendall's τ_b of scores against measured errors along difficulty "
        "(per budget) and along n (per bucket); granulated τ their mean (Jiang et al., ICLR "
        "2020). Sign agreement: Hoeffding-weighted pairs within one budget and across budgets.\n"
    )
    if checks:
        lines.append("## Assumptions of the shift terms, on the measured per-level errors\n")
        lines.append("| term | assumption | status | where, how much |")
        lines.append("|---|---|---|---|")
        for term, check in checks.items():
            lines.append(
                f"| {term} | {check['assumption']} | {check['status']} | {check['detail']} |"
            )
        lines.append("")
    first = next(iter(evaluation["protocols"].values()))
    lines.append("## Predictors\n")
    lines.append("| predictor | kind | uses |")
    lines.append("|---|---|---|")
    for predictor, row in first["predictors"].items():
        lines.append(f"| {label(predictor, checks)} | {row['kind']} | {row['uses']} |")
    lines.append("")
    for protocol, data in evaluation["protocols"].items():
        held = ", ".join(map(str, data["held_out_budgets"]))
        lines.append(f"## {protocol} (held-out n: {held})\n")
        lines.append(
            "| predictor | predicted | exact | within one | regret | τ difficulty | τ n | "
            "granulated τ | sign within | sign across | m matching |"
        )
        lines.append("|---|" + "---|" * 10)
        for predictor, row in data["predictors"].items():
            matching = validation_size_matching(data["validation"], row["regret_all"])
            lines.append(
                f"| {label(predictor, checks)} | {row['predicted']}/{row['held_out']} | "
                f"{_with_interval(row, 'exact')} | {_with_interval(row, 'within_one')} | "
                f"{_with_interval(row, 'regret_all', 3)} | {_shown(row.get('tau_difficulty'))} | "
                f"{_shown(row.get('tau_budget'))} | {_with_interval(row, 'granulated_tau')} | "
                f"{_shown(row.get('sign_within'))} | {_shown(row.get('sign_across'))} | "
                f"{'> ' + str(VALIDATION_SIZES[-1]) if matching is None else matching} |"
            )
        lines.append(
            "\nm matching: the fewest labelled target problems per bucket (scored on the "
            "runs at the held-out budget) whose choice has at most the predictor's regret. "
            "Labelled validation by m: "
            + ", ".join(
                f"m = {v['m']}: exact {v['exact']:.2f}, regret {v['regret']:.3f}"
                for v in data["validation"]
            )
            + ".\n"
        )
        lines.append(f"Verdict ({protocol}): {verdict_text(data)}.\n")
    if "domain_adaptation" in evaluation:
        terms = evaluation["domain_adaptation"]
        lines.append("## The full domain-adaptation bound (Germain et al., ICML 2016)\n")
        lines.append(
            "R_T(G_Q) ≤ ½·d_T(Q) + β_q·e_S(Q)^(1−1/q) + η, with q = ∞ here. β is a density "
            "ratio of target to bucket on the bucket's levels; η is the target mass outside "
            "them times the worst risk there (1), a term no data can shrink. Per bucket: "
            + ", ".join(f"{b}: β_∞ = {t['beta']:.2f}, η = {t['eta']:.2f}" for b, t in terms.items())
            + ". So the bound is at least min η = "
            f"{min(t['eta'] for t in terms.values()):.2f} for every run"
            + (
                "; its value over the runs spans "
                f"{evaluation['domain_adaptation_bound']['min']:.3f} to "
                f"{evaluation['domain_adaptation_bound']['max']:.3f}."
                if "domain_adaptation_bound" in evaluation
                else "."
            )
            + " With buckets that leave target levels out, η decides: the bound says which "
            "bucket covers the most target mass, and nothing finer.\n"
        )
    lines.append("## Choices per held-out budget (leave-one-budget-out)\n")
    lobo = evaluation["protocols"]["leave-one-budget-out"]["predictors"]
    names = list(lobo)
    lines.append("| n | measured | " + " | ".join(names) + " |")
    lines.append("|---|---|" + "---|" * len(names))
    for n, measured in evaluation["measured"].items():
        cells = []
        for predictor in names:
            chosen = lobo[predictor]["choices"].get(n)
            cells.append("no prediction" if chosen is None else "/".join(chosen))
        lines.append(f"| {n} | {'/'.join(measured)} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
