"""The comparison of one stored experiment: the measured optimum beside the certified bound's.

Measured (``pacbound.analysis.optimum``): per budget, the base beside the buckets, the
optimum with its bootstrap, gains over the base with t intervals and one-sided t p-values
over the base draws, the inverted U, the switch budget and the trend with n. Bound: per
budget and shift term, the argmin of certificate + shift over the informative buckets
(``pacbound.analysis.table``), or no prediction. Whether anything tracks the optimum on
held-out budgets is ``pacbound.analysis.predict``'s question; its evaluation is carried in
the result. The result is a JSON-ready dict; ``pacbound.report.comparison`` renders it
(theory/comparison.md states the method).
"""

from __future__ import annotations

import numpy as np

from pacbound.analysis import assumptions, hierarchy, inference, optimum, predict
from pacbound.analysis.table import (
    bucket_base_error,
    by_name,
    cell_arrays,
    certificate_floors,
    runs_from_arrays,
    shift_terms,
)
from pacbound.config import ExperimentConfig
from pacbound.numeric.argmin import first_minimum, tied_minima
from pacbound.store import Base, Cell
from pacbound.tasks.base import mixture_error


def compare_experiment(
    config: ExperimentConfig, cells: list[Cell], bases: dict[int, Base], seed: int = 0
) -> dict:
    """Every number of the comparison, as a JSON-serialisable dict. ``cells`` and ``bases``
    as the store keeps them (every base draw; read with their outcomes where stored)."""
    base = pooled_base(bases)
    table = cell_arrays(config, cells, base)
    base_levels = {int(k): float(v) for k, v in base.items()}
    base_target = mixture_error(base_levels, config.grid.target_weights())
    runs_measured = hierarchy.from_store(config, bases, cells)
    measured_optimum = optimum.measure_optimum(runs_measured, np.random.default_rng(seed))
    m = measured_optimum
    buckets, budgets = table.buckets, table.budgets
    runs = runs_from_arrays(config, table, base, runs_measured)
    checks = assumptions.check(runs)
    evaluation = predict.evaluate(runs, seed=seed) if len(budgets) > 1 else None
    floors = certificate_floors(config, budgets)
    per_budget = []
    for i, n in enumerate(budgets):
        errors = m.mean_BxN[:, i]
        better = [b for b, p in zip(buckets, m.better_p_NxB[i], strict=True) if p <= 0.05]
        worse = [b for b, p in zip(buckets, m.worse_p_NxB[i], strict=True) if p <= 0.05]
        row = {
            "budget": n,
            "steps": int(config.finetune.steps_for(n)),
            "base_target_error": base_target,
            "target_error": by_name(buckets, errors),
            "target_error_seeds": by_name(buckets, table.target_error[:, i, :]),
            "in_distribution_error": by_name(
                buckets, table.terms["in_distribution_error"][:, i].mean(axis=-1)
            ),
            "base_in_distribution_error": {b: bucket_base_error(config, base, b) for b in buckets},
            "measured_optimum": buckets[int(m.optimum_N[i])],
            # The buckets within the tie tolerance (the seeds' noise) of the lowest error.
            "measured_tied": [
                b for b, t in zip(buckets, tied_minima(errors, runs.tolerance), strict=True) if t
            ],
            "bootstrap_frequency": by_name(buckets, m.frequency_NxB[i]),
            "per_seed_argmin_counts": by_name(buckets, m.seed_counts_NxB[i]),
            "inverted_u": optimum.is_inverted_u(int(m.optimum_N[i]), tied_minima(errors)),
            "interior_probability": float(m.interior_N[i]),
            "gain_over_base": by_name(buckets, m.gain_NxB[i]),
            "gain_interval": {
                b: [float(lo), float(hi)]
                for b, lo, hi in zip(buckets, m.gain_low_NxB[i], m.gain_high_NxB[i], strict=True)
            },
            "better_than_base_p": by_name(buckets, m.better_p_NxB[i]),
            "worse_than_base_p": by_name(buckets, m.worse_p_NxB[i]),
            "some_bucket_beats_base_p": float(m.any_better_p_N[i]),
            "buckets_better_than_base": better,
            "buckets_worse_than_base": worse,
            "best_arm_frequency": by_name((*buckets, "base"), m.best_arm_frequency_NxA[i]),
            "level_errors": {
                "base": {str(k): base_levels[k] for k in config.levels},
                **{
                    b: by_name(map(str, config.levels), table.level_error[j, i].mean(axis=0))
                    for j, b in enumerate(buckets)
                },
            },
            "predicted_optimum": {},
            "predicted_tie": {},
            "bound": {},
        }
        if table.certificate is not None:
            row["certificate"] = by_name(buckets, table.certificate[:, i].mean(axis=-1))
            row["certificate_informative"] = by_name(buckets, table.informative[:, i])
            row["floor"] = {name: values[i] for name, values in floors.items()}
        for predictor in predict.certified_predictors(table.bound):
            term = predictor.name.removeprefix("bound: ")
            row["bound"][term] = by_name(buckets, table.bound[term][:, i].mean(axis=-1))
            # Label-free at the budget itself: the same choice under every protocol.
            chosen = predict.choice(predictor.scores(runs, None, n, i), runs.tolerance)
            row["predicted_optimum"][term] = (
                None if chosen is None else buckets[int(np.flatnonzero(chosen)[0])]
            )
            row["predicted_tie"][term] = bool(chosen is not None and chosen.sum() > 1)
        per_budget.append(row)

    measured = [int(b) for b in m.optimum_N]
    orderings = optimum.orderings(measured)
    switch_names = [*map(str, budgets), "never"]
    low, high = optimum.interval_of(m.switch_frequency)
    seeds = len(config.grid.seeds)
    return {
        "experiment": config.name,
        "family": config.family,
        "config_hash": config.hash(),
        "buckets": list(buckets),
        "budgets": list(budgets),
        "seeds": list(table.seeds),
        "schedule": config.finetune.schedule,
        "subspace": config.finetune.subspace,
        # Only where it is not plain SFT, so that the reports of SFT experiments keep their bytes.
        **({"objective": config.finetune.objective} if config.finetune.objective != "sft" else {}),
        "base_target_error": base_target,
        "pretrain_levels": list(config.pretrain.levels) if config.pretrain else None,
        "delta": config.certify.delta if config.certify.enabled else config.compare.delta,
        "shift_terms": shift_terms(config),
        "per_budget": per_budget,
        "bootstrap": {
            "kind": "hierarchical: " + ", then ".join(m.levels),
            "levels": list(m.levels),
            "resamples": m.resamples,
            "distinct_resamples_per_bucket_and_budget": optimum.distinct_resamples(seeds),
            # Intervals: estimate ± critical · corrected standard error (t over the units).
            "units": m.units,
            "unit": "base draws" if len(runs_measured.draws) > 1 else "seeds of one draw",
            "df": inference.degrees_of_freedom(m.units),
            "critical": m.critical,
            "widening": inference.widening(m.units),
        },
        "draws": per_draw(runs_measured),
        "switch": {
            "budget": switch_names[m.switch],
            "frequency": by_name(switch_names, m.switch_frequency),
            "interval_95": [switch_names[low], switch_names[high]],
        },
        "trend": {
            "spearman": m.rho,
            "permutation_p": m.trend_p,
            "orderings": orderings,
            "exact": orderings <= optimum.EXACT_ORDERINGS,
            "constant": m.rho is None,
            "non_decreasing": bool(np.all(np.diff(measured) >= 0)) and m.rho is not None,
        },
        "inverted_u_budgets": [r["budget"] for r in per_budget if r["inverted_u"]],
        "no_bucket_beats_base_budgets": [
            r["budget"] for r in per_budget if not r["buckets_better_than_base"]
        ],
        "assumptions": checks,
        "predictions": evaluation and predict.summarize_evaluation(evaluation),
        "floors": floors,
        "mean_terms": {name: values.mean(axis=-1).tolist() for name, values in table.terms.items()},
        "closed_form_check": closed_form_check(cells) if config.task.exact_risks else None,
    }


def pooled_base(bases: dict[int, Base]) -> dict[str, float]:
    """The base's error per level, the mean over its draws (one draw: its own); ValueError
    if there is no draw (an experiment not swept yet)."""
    if not bases:
        raise ValueError("bases = {}: no base draw to compare with; run `pacbound sweep` first")
    levels = next(iter(bases.values())).level_errors
    return {
        str(k): float(np.mean([float(b.level_errors[str(k)]) for b in bases.values()]))
        for k in levels
    }


def per_draw(measured: hierarchy.Measured) -> list[dict]:
    """Each base draw's own result beside the others: its base's target error, the optimum
    at every budget (of its seed means), its switch budget and trend."""
    buckets, budgets = measured.buckets, measured.budgets
    names = [*map(str, budgets), "never"]
    rows = []
    for index, draw in enumerate(measured.draws):
        means_BxN = measured.target_error[index].mean(axis=-1)
        best = first_minimum(means_BxN, axis=0)
        rho, p = optimum.trend_p_value(budgets, best)
        rows.append(
            {
                "base": draw,
                "base_target_error": float(measured.base_target_error[index]),
                "optimum": [buckets[int(b)] for b in best],
                "switch": names[optimum.switch_index(best, len(buckets) - 1)],
                "spearman": rho,
                "permutation_p": p,
            }
        )
    return rows


def closed_form_and_simulation(cells) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(exact, simulated, standard error) of every per-level risk of every solvable cell."""
    exact, simulated, error = [], [], []
    for cell in cells:
        for level, value in cell.record["level_errors"].items():
            exact.append(value)
            simulated.append(cell.record["mc_level_errors"][level])
            error.append(cell.record["mc_standard_errors"][level])
    return np.asarray(exact), np.asarray(simulated), np.asarray(error)


def closed_form_check(cells) -> dict:
    """{within, count}: the share of the solvable task's per-level risks whose simulation
    lies within 3 standard errors of the closed form, and how many there are."""
    exact, simulated, error = closed_form_and_simulation(cells)
    z = np.abs(simulated - exact) / error
    return {"within": float(np.mean(z <= 3)), "count": len(z)}
