"""Experiments of one family side by side: bases of different strength, or learners (full
fine-tuning and random subspaces) on one base. Data in (comparison results, certificate
summaries), plain dicts out; ``pacbound.report.families`` renders them.
"""

from __future__ import annotations

import numpy as np

from pacbound.analysis import inference
from pacbound.analysis.hierarchy import Measured
from pacbound.analysis.optimum import switch_index
from pacbound.numeric.argmin import first_minimum


def compare_bases(results: list[dict]) -> dict:
    """Bases of one family side by side, weakest first: does a stronger base move the
    optimum harder? Strength is the base's own target accuracy (measured, not fine-tuned);
    the pretraining range is shown beside it, since a wider range need not give a more
    accurate base. Bases are trained and fine-tuned independently, so the probability that
    a stronger base switches to the hardest bucket at a smaller budget than a weaker one is
    exact from their two bootstrap distributions."""
    results = sorted(results, key=lambda r: -r["base_target_error"])
    names = [*map(str, results[0]["budgets"]), "never"]
    buckets = results[0]["buckets"]
    bases = []
    for result in results:
        expected = [
            sum(i * row["bootstrap_frequency"][b] for i, b in enumerate(buckets))
            for row in result["per_budget"]
        ]
        bases.append(
            {
                "experiment": result["experiment"],
                "pretrain_levels": result["pretrain_levels"],
                "base_target_error": result["base_target_error"],
                "optimum": [row["measured_optimum"] for row in result["per_budget"]],
                "expected_optimum_index": expected,
                "switch": result["switch"],
                "trend": result["trend"],
                "no_bucket_beats_base_budgets": result["no_bucket_beats_base_budgets"],
            }
        )
    pairs = []
    for weak, strong in zip(bases, bases[1:], strict=False):
        f_weak = np.array([weak["switch"]["frequency"][k] for k in names])
        f_strong = np.array([strong["switch"]["frequency"][k] for k in names])
        joint = np.outer(f_strong, f_weak)  # [i, j]: strong switches at i, weak at j
        pairs.append(
            {
                "weaker": weak["experiment"],
                "stronger": strong["experiment"],
                "p_stronger_switches_earlier": float(np.triu(joint, 1).sum()),
                "p_same": float(np.trace(joint)),
                "p_stronger_switches_later": float(np.tril(joint, -1).sum()),
            }
        )
    switches = [names.index(b["switch"]["budget"]) for b in bases]
    by_range = sorted(range(len(bases)), key=lambda i: tuple(bases[i]["pretrain_levels"][::-1]))
    return {
        "family": results[0]["family"],
        "budgets": results[0]["budgets"],
        "buckets": buckets,
        "bases": bases,
        "pairs": pairs,
        # Non-increasing switch budget from the weakest to the strongest base.
        "switch_earlier_with_strength": bool(np.all(np.diff(switches) <= 0)),
        "switch_earlier_with_pretraining_range": bool(
            np.all(np.diff([switches[i] for i in by_range]) <= 0)
        ),
    }


def _draw_statistics(target_DxBxNxS: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per base draw: the optimum's bucket index averaged over budgets, and the switch
    index (N: never), both from the draw's own seed means."""
    optimum_DxN = first_minimum(target_DxBxNxS.mean(axis=-1), axis=1)
    hardest = target_DxBxNxS.shape[1] - 1
    return optimum_DxN.mean(axis=-1), np.array([switch_index(o, hardest) for o in optimum_DxN])


def strength_regression(family: list[tuple[dict, Measured]]) -> dict:
    """Does a stronger base have a harder optimum? Over every base draw of a family's
    experiments (``family``: (comparison result, Measured) per pretraining range): least-
    squares slopes of the draw's mean optimum index and of its switch index against its
    base's target error (by measured strength; < 0: stronger, harder) and against the rank of
    its pretraining range (by range; > 0: wider, harder). Each draw is one observation (its
    seeds' and problems' noise part of the residual); intervals: 95% t intervals of the slope
    on D − 2 degrees of freedom (``inference.slope_interval``), valid with few draws."""
    ranks = {
        result["experiment"]: rank
        for rank, (result, _) in enumerate(
            sorted(family, key=lambda pair: tuple(pair[0]["pretrain_levels"][::-1]))
        )
    }
    rank = np.concatenate([np.full(len(m.draws), ranks[r["experiment"]], float) for r, m in family])
    error = np.concatenate([m.base_target_error for _, m in family])
    index, switch = (
        np.concatenate(a)
        for a in zip(*(_draw_statistics(m.target_error) for _, m in family), strict=True)
    )
    slopes = {}
    for name, (x, y) in {
        "index_by_strength": (error, index),
        "switch_by_strength": (error, switch),
        "index_by_range": (rank, index),
        "switch_by_range": (rank, switch),
    }.items():
        slope, low, high = inference.slope_interval(x, y)
        slopes[name] = {"slope": slope, "low": low, "high": high}
    per_base = []
    for result, measured in family:
        index, switch = _draw_statistics(measured.target_error)
        names = [*map(str, measured.budgets), "never"]
        for d, draw in enumerate(measured.draws):
            per_base.append(
                {
                    "experiment": result["experiment"],
                    "draw": draw,
                    "pretrain_levels": result["pretrain_levels"],
                    "base_target_error": float(measured.base_target_error[d]),
                    "mean_optimum_index": float(index[d]),
                    "switch": names[int(switch[d])],
                }
            )
    per_base.sort(key=lambda b: -b["base_target_error"])
    return {"slopes": slopes, "bases": per_base, "draws": len(error), "df": len(error) - 2}


def compare_learners(results: list[dict], summaries: dict[str, dict]) -> dict:
    """Learners of one family side by side (full fine-tuning, k = 0, and random subspaces):
    the intrinsic dimension (per bucket, the smallest k whose in-distribution gain over the
    base at the largest budget reaches 90% of full fine-tuning's), where each learner's
    certificates become non-vacuous (``summaries``: the certify summaries by experiment),
    and whether the measured optimum still moves with n under each learner."""
    results = sorted(results, key=lambda r: r["subspace"])
    buckets = results[0]["buckets"]
    full = next((r for r in results if r["subspace"] == 0), None)

    def gain(result):
        last = result["per_budget"][-1]
        return {
            b: last["base_in_distribution_error"][b] - last["in_distribution_error"][b]
            for b in buckets
        }

    learners = []
    for result in results:
        summary = summaries.get(result["experiment"])
        learners.append(
            {
                "experiment": result["experiment"],
                "subspace": result["subspace"],
                "gain_at_largest_budget": gain(result),
                "gain_ratio": (
                    {b: gain(result)[b] / gain(full)[b] for b in buckets if gain(full)[b] > 0}
                    if full
                    else {}
                ),
                "optimum": [row["measured_optimum"] for row in result["per_budget"]],
                "switch": result["switch"],
                "trend": result["trend"],
                "optimum_gain": [
                    [
                        row["gain_over_base"][row["measured_optimum"]],
                        *row["gain_interval"][row["measured_optimum"]],
                    ]
                    for row in result["per_budget"]
                ],
                "first_non_vacuous": (
                    {
                        b: v["first_non_vacuous"]
                        or (
                            f"≈{v['extrapolated_non_vacuous']:,} (extrapolated)"
                            if v["extrapolated_non_vacuous"]
                            else None
                        )
                        for b, v in summary["per_bucket"].items()
                    }
                    if summary
                    else None
                ),
                "valid_fraction": summary["valid_fraction"] if summary else None,
            }
        )
    intrinsic = {}
    for b in buckets:
        reached = [
            learner["subspace"]
            for learner in learners
            if learner["subspace"] and learner["gain_ratio"].get(b, 0) >= 0.9
        ]
        intrinsic[b] = min(reached) if reached else None
    return {
        "family": results[0]["family"],
        "budgets": results[0]["budgets"],
        "largest_budget": results[0]["budgets"][-1],
        "buckets": buckets,
        "learners": learners,
        "intrinsic_dimension": intrinsic,
    }
