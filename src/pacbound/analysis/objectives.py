"""Two fine-tuning objectives on the same cells (SFT and DFT): their paired difference per
bucket and budget, each one's gain per level, the optimum under each, and the claims C7 and
C8 (theory/claims.md). Data in (the two experiments' ``Measured``), a plain dict out;
``pacbound.report.objectives`` renders it.

The experiments of an objectives family draw the same samples, keys, bases and held-out
problems for a cell, so one hierarchical bootstrap serves both: the two are resampled with
the same random numbers, and every difference is paired at every level of the resample.
Intervals are t intervals over the base draws (``pacbound.analysis.inference``): the paired
difference's bootstrap standard error, corrected for the number of draws.
"""

from __future__ import annotations

from dataclasses import asdict

import numpy as np

from pacbound.analysis import inference
from pacbound.analysis.claims import (
    ALPHA,
    FAILS,
    HOLDS,
    UNDECIDED,
    Verdict,
    inference_text,
    pooled,
)
from pacbound.analysis.hierarchy import RESAMPLES, Measured, resample
from pacbound.numeric.argmin import first_minimum

OBJECTIVE_CLAIMS = {
    "C7": "DFT beats SFT on hard data at the smallest budgets",
    "C8": "SFT beats DFT at the largest budgets",
}


def _verdict(
    claim: str, estimate: float, replicates: np.ndarray, units: int, sign: int, detail: str
):
    """Holds when the interval of ``sign``·estimate lies above 0, fails when below."""
    low, high = inference.interval(estimate, replicates, units, 1 - ALPHA)
    needed = None
    if sign * low > 0 and sign * high > 0:
        verdict = HOLDS
    elif sign * low < 0 and sign * high < 0:
        verdict = FAILS
    else:
        verdict = UNDECIDED
        se = float(inference.standard_error(replicates, units))
        needed = inference.draws_needed(float(estimate), se, units, 1 - ALPHA)
    return Verdict(
        claim, verdict, float(estimate), float(low), float(high), detail, 1 - ALPHA, needed
    )


def compare_objectives(
    name: str, sft: Measured, dft: Measured, seed: int, resamples: int = RESAMPLES
) -> dict:
    """DFT − SFT target error per (bucket, budget) with paired 95% intervals, each
    objective's gain over the base per level, the optimum under each, and C7, C8.

    C7: the hardest bucket's DFT − SFT difference, averaged over the smallest third of the
    budgets (one at least); holds when its interval lies below 0. C8: the DFT − SFT
    difference at the largest budget, averaged over the buckets; holds when its interval
    lies above 0."""
    if sft.level_error.shape != dft.level_error.shape:
        raise ValueError("the two objectives' experiments must share one grid")
    replicates = [resample(m, np.random.default_rng(seed), resamples) for m in (sft, dft)]
    target = [pooled(m.target_error, 0) for m in (sft, dft)]  # BxN each
    target_r = [pooled(r.level_error @ sft.target_weights, 1) for r in replicates]  # RxBxN
    difference, difference_r = target[1] - target[0], target_r[1] - target_r[0]
    units = replicates[0].units
    low, high = inference.interval(difference, difference_r, units, 1 - ALPHA)
    gains = {
        objective: sft.base_level_error.mean(0) - pooled(m.level_error, 0)  # BxNxK
        for objective, m in (("sft", sft), ("dft", dft))
    }
    budgets = np.asarray(sft.budgets)
    smallest = max(1, len(budgets) // 3)
    c7 = _verdict(
        "C7",
        difference[-1, :smallest].mean(),
        difference_r[:, -1, :smallest].mean(-1),
        units,
        -1,
        f"hardest bucket, n ≤ {budgets[smallest - 1]}: DFT − SFT target error",
    )
    c8 = _verdict(
        "C8",
        difference[:, -1].mean(),
        difference_r[:, :, -1].mean(-1),
        units,
        +1,
        f"n = {budgets[-1]}, mean over buckets: DFT − SFT target error",
    )
    return {
        "experiment": name,
        "buckets": list(sft.buckets),
        "budgets": budgets.tolist(),
        "levels": list(sft.levels),
        "draws": list(sft.draws),
        "resampled": list(replicates[0].levels),
        "resamples": resamples,
        "alpha": ALPHA,
        "units": units,
        "critical": inference.critical(units, 1 - ALPHA),
        "inference": inference_text(sft),
        "target_error": {"sft": target[0].tolist(), "dft": target[1].tolist()},
        "difference": difference.tolist(),
        "difference_interval": [low.tolist(), high.tolist()],
        "level_gain": {k: v.tolist() for k, v in gains.items()},
        "optimum": {
            objective: [sft.buckets[b] for b in first_minimum(values)]
            for objective, values in (("sft", target[0]), ("dft", target[1]))
        },
        "claims": OBJECTIVE_CLAIMS,
        "pooled": [asdict(c7), asdict(c8)],
    }
