"""Two definitions of difficulty on the same bases: op-count buckets (a bucket is a range of
levels) against base-loss buckets (the same shares of one pool cut by the base's own loss,
``pacbound.run.base_loss``). The target is the same op-count mixture under both.

The question (does difficulty relative to the base line up bases that op-count difficulty
separates?) is asked of the switch budget, the first budget from which the hardest bucket
stays optimal: its spread across bases under each definition, in doublings of the budget.
A replicate draws every (base, definition) switch from its own bootstrap distribution
(seeds within the draw, then held-out problems), as if all were independent: bases are
pretrained independently, but the two definitions share each base, its held-out problems
and the cells' keys, a pairing the interval of their difference does not use. Everything
is conditional on the pool the base-loss buckets were cut from. Data in (``Measured`` per
experiment), a dict out; ``pacbound.report.difficulty`` renders it.
"""

from __future__ import annotations

import numpy as np

from pacbound.analysis.hierarchy import Measured
from pacbound.analysis.optimum import interval_of, measure_optimum, percentile_interval

DEFINITIONS = ("op-count", "base-loss")
SPREAD_REPLICATES = 4000


def switch_scale(budgets) -> tuple[list[str], list]:
    """(name, budget) of each switch index: the budgets, then "never" (index N), which counts
    as one doubling past the largest budget (a lower bound of where it would switch: spreads
    involving it are censored)."""
    return [*map(str, budgets), "never"], [*budgets, 2 * budgets[-1]]


def _switch_doublings(index, budgets) -> np.ndarray:
    """log2 of the switch budget of each index (``switch_scale``)."""
    logs = np.log2(np.asarray(switch_scale(budgets)[1], float))
    return logs[np.asarray(index)]


def compare_definitions(
    family: str,
    bases: dict[str, dict[str, Measured]],
    compositions: dict[str, dict[str, dict[str, float]]],
    pretrain_levels: dict[str, list[int]],
    seed: int = 0,
) -> dict:
    """``bases``: {base name: {definition: its Measured}}; ``compositions``: {base name:
    {bucket: {level: share}}} of its base-loss buckets; ``pretrain_levels``: each base's
    pretraining range. Bases are listed weakest first (by the base's own target error)."""
    rng = np.random.default_rng(seed)
    first = next(iter(next(iter(bases.values())).values()))
    buckets, budgets = list(first.buckets), list(first.budgets)
    switch_names, _ = switch_scale(budgets)
    rows, frequencies = [], {d: [] for d in DEFINITIONS}
    order = sorted(bases, key=lambda name: -float(bases[name]["op-count"].base_target_error.mean()))
    for name in order:
        row = {
            "base": name,
            "pretrain_levels": pretrain_levels[name],
            "base_target_error": float(bases[name]["op-count"].base_target_error.mean()),
            "composition": compositions[name],
            "mean_level": {
                bucket: sum(int(k) * share for k, share in levels.items())
                for bucket, levels in compositions[name].items()
            },
            "definitions": {},
        }
        for definition in DEFINITIONS:
            measured = bases[name][definition]
            optimum = measure_optimum(measured, rng)
            low, high = interval_of(optimum.switch_frequency)
            row["definitions"][definition] = {
                "experiment_draws": list(measured.draws),
                "target_error": optimum.mean_BxN.tolist(),
                "optimum": [buckets[int(b)] for b in optimum.optimum_N],
                "optimum_frequency": optimum.frequency_NxB.tolist(),
                "switch": switch_names[optimum.switch],
                "switch_index": int(optimum.switch),
                "switch_interval_95": [switch_names[low], switch_names[high]],
                "switch_frequency": optimum.switch_frequency.tolist(),
                "resampled": list(optimum.levels),
                "resamples": optimum.resamples,
            }
            frequencies[definition].append(optimum.switch_frequency)
        rows.append(row)
    spread = _spreads(rows, frequencies, budgets, rng)
    return {
        "family": family,
        "buckets": buckets,
        "budgets": budgets,
        "definitions": list(DEFINITIONS),
        "bases": rows,
        "spread": spread,
    }


def _spreads(rows, frequencies, budgets, rng) -> dict:
    """The spread of the switch budget across bases (max − min of log2 n*) under each
    definition, and op-count − base-loss, each with its 95% interval from replicates in
    which every (base, definition) switch is drawn from its own bootstrap distribution."""
    draws = {}
    out = {"replicates": SPREAD_REPLICATES, "unit": "doublings of the budget"}
    for definition in DEFINITIONS:
        points = [row["definitions"][definition]["switch_index"] for row in rows]
        picked = np.stack(
            [rng.choice(len(f), size=SPREAD_REPLICATES, p=f) for f in frequencies[definition]]
        )  # bases × replicates
        logs = _switch_doublings(picked, budgets)
        draws[definition] = logs.max(axis=0) - logs.min(axis=0)
        point_logs = _switch_doublings(points, budgets)
        low, high = percentile_interval(draws[definition])
        # Censored: some base's switch is "never" in its point or in more than 2.5% of its
        # replicates, so the spread (and its interval) is a lower bound there.
        never = max(f[-1] for f in frequencies[definition])
        # Noise alone: the spread of each base's resampled switch about its own point, as
        # if the bases' switches were equal and only their bootstrap noise differed; p: how
        # often that spread reaches the measured one.
        deviations = logs - point_logs[:, None]
        null_spread = deviations.max(axis=0) - deviations.min(axis=0)
        spread = float(point_logs.max() - point_logs.min())
        out[definition] = {
            "spread": spread,
            "interval_95": [float(low), float(high)],
            "censored": bool(len(budgets) in points or never > 0.025),
            "noise_alone_median": float(np.median(null_spread)),
            "noise_alone_p": float(np.mean(null_spread >= spread - 1e-12)),
        }
    difference = draws["op-count"] - draws["base-loss"]
    low, high = percentile_interval(difference)
    point = out["op-count"]["spread"] - out["base-loss"]["spread"]
    verdict = (
        "smaller under base-loss buckets"
        if low > 0
        else "larger under base-loss buckets"
        if high < 0
        else "cannot tell"
    )
    if verdict != "cannot tell" and any(out[d]["censored"] for d in DEFINITIONS):
        verdict += " (censored: a base may switch beyond the largest budget)"
    out["difference"] = {
        "op_count_minus_base_loss": float(point),
        "interval_95": [float(low), float(high)],
        "p_smaller_under_base_loss": float(np.mean(difference > 0)),
        "verdict": verdict,
    }
    return out
