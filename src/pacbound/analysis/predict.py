"""Every predictor judged the same way on held-out budgets: the far protocols (pilots at the
smallest budgets, every larger one held out), leave-one-budget-out and forward chaining;
exact and within-one hits, regret, Kendall's τ, sign agreement, a hierarchical bootstrap of
the runs, labelled-validation sizes and the verdict against the baselines
(theory/predictions.md states each). ``RunTable`` and the predictors are re-exported here.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from pacbound.analysis import inference
from pacbound.analysis.predictors import (
    BASELINES,
    DISAGREEMENT,
    DOMAIN_ADAPTATION,
    TWO_GAP,
    Predictor,
    certified_predictors,
    choice,
    domain_adaptation_scores,
    domain_adaptation_terms,
    predictors_for,
)
from pacbound.analysis.runs import RunTable, paired_tie_tolerance
from pacbound.numeric.argmin import lowest, tied_minima
from pacbound.numeric.lower import lower_to_numpy
from pacbound.symbolic import agreement

__all__ = [
    "BASELINES",
    "DISAGREEMENT",
    "DOMAIN_ADAPTATION",
    "TWO_GAP",
    "Predictor",
    "RunTable",
    "certified_predictors",
    "choice",
    "domain_adaptation_terms",
    "evaluate",
    "paired_tie_tolerance",
    "predictors_for",
    "summarize_evaluation",
]

_sign_confidence = lower_to_numpy(agreement.sign_confidence, ("difference", "variance_proxy"))

# The far protocols first: pilots at the smallest budgets, every larger budget held out (the
# practitioner's question, and the headline); then the two that hold out one budget at a
# time among pilots on both sides or below it.
FAR_PILOTS = {"far-half": 2, "far-third": 3}  # pilots: the smallest ⌈N/k⌉ budgets, at least 2
PROTOCOLS = (*FAR_PILOTS, "leave-one-budget-out", "forward-chaining")
HEADLINE = "far-half"
RESAMPLES = 200
VALIDATION_SIZES = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
VALIDATION_DRAWS = 4000


def held_out(protocol: str, count: int) -> list[tuple[int, np.ndarray]]:
    """(held-out budget index, pilot budget indices) of every step of a protocol."""
    everything = np.arange(count)
    if protocol in FAR_PILOTS:
        pilots = far_pilot_count(protocol, count)
        return [(i, everything[:pilots]) for i in range(pilots, count)]
    if protocol == "leave-one-budget-out":
        return [(i, everything[everything != i]) for i in range(count)]
    if protocol == "forward-chaining":
        return [(i, everything[:i]) for i in range(2, count)]
    raise ValueError(f"protocol = {protocol!r} is not one of {PROTOCOLS}")


def far_pilot_count(protocol: str, count: int) -> int:
    """How many of ``count`` budgets are pilots under a far protocol: the smallest third or
    half, rounded up, and at least two (a line needs two points)."""
    return max(2, -(-count // FAR_PILOTS[protocol]))


def run_protocol(table: RunTable, predictor: Predictor, protocol: str) -> list[dict]:
    """Per held-out budget: the predictor's scores and choice (None: no prediction). Its
    ties are decided by the pilots' own noise (``RunTable.tolerance_over``), never by the
    held-out budget's."""
    steps = []
    for i, pilots in held_out(protocol, len(table.budgets)):
        scores = predictor.scores(table, pilots, float(table.budgets[i]), i)
        tolerance = table.tolerance_over(pilots)
        steps.append({"index": i, "scores": scores, "choice": choice(scores, tolerance)})
    return steps


@cache
def _pairs(count: int) -> tuple[np.ndarray, np.ndarray]:
    """Every pair i < j of ``count`` items (asked for thousands of times per evaluation)."""
    return np.triu_indices(count, k=1)


def kendall_tau_b(x, y) -> float:
    """Kendall's τ_b; 0 when either side is constant (it orders nothing)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    i, j = _pairs(len(x))
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
    i, j = _pairs(len(error))
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
    """The metrics of one predictor under one protocol (theory/predictions.md)."""
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
    if table.draws > 1:
        out["draws"] = table.draws
    out["units"], out["critical"] = table.units, inference.critical(table.units)
    if table.wrong is not None:
        out["problems"] = True
    distinct = len({resample_key(resample) for resample in boot})
    if distinct < resamples:  # only then: a report's bytes stay as they were
        out["distinct_resamples"] = distinct
        out["bootstrap_warning"] = bootstrap_warning(distinct, resamples)
    held_fixed = {}  # predictor -> its inputs that hold seed means only (no interval)
    for protocol in PROTOCOLS:
        if not held_out(protocol, len(table.budgets)):
            continue  # forward chaining needs three budgets
        rows = {}
        for predictor in predictors:
            steps = run_protocol(table, predictor, protocol)
            row = metrics(table, steps)
            fixed = [name for name in predictor.inputs if not table.per_run(name)]
            if fixed:
                # Seed means only (a report's): a resample would keep them as they are, and
                # an interval would leave their noise out. None is given.
                held_fixed[predictor.name] = fixed
                row["interval"], row["regret_draws"] = {}, None
            else:
                draws = {name: [] for name in INTERVAL_METRICS}
                for resample in boot:
                    got = metrics(resample, run_protocol(resample, predictor, protocol))
                    for name in INTERVAL_METRICS:
                        draws[name].append(np.nan if got[name] is None else got[name])
                row["interval"] = {
                    name: _interval(row[name], values, table.units)
                    for name, values in draws.items()
                    if values
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
            "verdict": verdict(rows, table.units),
        }
    if table.bucket_weights is not None:
        terms = domain_adaptation_terms(table)
        out["domain_adaptation"] = {
            b: {"beta": float(terms["beta"][i]), "eta": float(terms["eta"][i])}
            for i, b in enumerate(table.buckets)
        }
        if DOMAIN_ADAPTATION in predictors:
            values = np.stack(
                [domain_adaptation_scores(table, None, n, i) for i, n in enumerate(table.budgets)],
                1,
            )
            out["domain_adaptation_bound"] = {
                "min": float(values.min()),
                "max": float(values.max()),
            }
    if held_fixed:
        out["held_fixed"] = held_fixed
    out["measured"] = {
        int(n): [table.buckets[b] for b in np.flatnonzero(tied_minima(table.mean[:, i], tolerance))]
        for i, n in enumerate(table.budgets)
    }
    return out


def resample_key(table: RunTable) -> bytes:
    """A resample's target errors with each cell's runs as a multiset (every metric reads a
    cell's runs without their order): equal keys, the same resample. One run per cell makes
    every resample the data itself; a few runs or base draws allow few distinct ones."""
    return np.sort(table.target_error, axis=-1).tobytes()


def bootstrap_warning(distinct: int, resamples: int) -> str | None:
    """The warning of a bootstrap with fewer distinct resamples than it draws, or None."""
    if distinct >= resamples:
        return None
    if distinct == 1:
        return (
            f"degenerate bootstrap: every one of the {resamples} resamples is the data itself "
            "(one run per cell and one base draw), so its intervals and frequencies say "
            "nothing about the noise of the runs"
        )
    return (
        f"degenerate bootstrap: only {distinct} of the {resamples} resamples differ (few "
        f"runs or base draws per cell), so its intervals and frequencies rest on {distinct}"
    )


def _interval(estimate, values, units: int) -> list[float] | None:
    """The 95% t interval of ``estimate`` over ``units`` from its bootstrap replicates
    (``inference.interval``); None without an estimate or two finite replicates."""
    values = np.asarray(values, float)
    values = values[np.isfinite(values)]
    if estimate is None or not np.isfinite(estimate) or len(values) < 2:
        return None
    return [float(bound) for bound in inference.interval(estimate, values, units)]


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


def verdict(rows: dict, units: int) -> dict:
    """The best predictor by regret (abstentions as random picks), the best baseline, and
    whether the best theory-derived predictor beats it beyond the intervals: the 95% t
    interval (over ``units``, the base draws or the runs of a cell) of the difference of
    their regrets lies below 0. The pick is part of what
    is resampled: in every resample the best theory-derived predictor and the best baseline
    are picked again, by that resample's regrets, so that the interval carries the luck of
    picking the best of several (the point estimate picks on the data as they are). Without
    every candidate's resampled regrets (``regret_draws`` None: inputs of seed means only)
    the pick cannot be redone: no interval, and no claim that theory beats the baseline."""

    def regret(name):
        return rows[name]["regret_all"]

    def best_of(names):
        return lowest(names, [regret(name) for name in names])

    best = best_of(list(rows))
    baselines = [name for name in rows if rows[name]["kind"] == "baseline"]
    theory = [name for name in rows if rows[name]["kind"] == "theory"]
    best_baseline = best_of(baselines)
    result = {"best": best, "best_baseline": best_baseline, "best_theory": None}
    if theory:
        best_theory = best_of(theory)

        def best_per_resample(names):
            draws = np.array([rows[name]["regret_draws"] for name in names], float)
            return np.min(np.where(np.isnan(draws), np.inf, draws), axis=0)

        point = regret(best_theory) - regret(best_baseline)
        interval = None  # without every candidate's resampled regrets the pick is not redone
        if all(rows[name]["regret_draws"] is not None for name in (*theory, *baselines)):
            difference = best_per_resample(theory) - best_per_resample(baselines)
            interval = _interval(point, difference, units)
        result |= {
            "best_theory": best_theory,
            "difference": point,
            "difference_interval": interval,
            "theory_beats_baseline": bool(interval is not None and interval[1] < 0),
        }
    return result


def summarize_evaluation(evaluation: dict) -> dict:
    """The evaluation without its bootstrap draws (kept only for paired comparisons)."""
    protocols = {}
    for name, protocol in evaluation["protocols"].items():
        rows = {
            predictor: {k: v for k, v in row.items() if k != "regret_draws"}
            for predictor, row in protocol["predictors"].items()
        }
        protocols[name] = {**protocol, "predictors": rows}
    return {**evaluation, "protocols": protocols}
