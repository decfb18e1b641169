"""The certificates of a stored experiment beside the risks they certify: per cell, per
(bucket, budget), the share of valid cells and where certificates stop being vacuous.

Data in (config, cells, the base's errors per level), a plain dict out; the report is
``pacbound.report.certificates``.
"""

from __future__ import annotations

import math

import numpy as np

from pacbound.analysis.gain import held_out_gain_certificate, risk_certificate_at_half_delta
from pacbound.analysis.table import allocation_gap, bucket_base_error, certificate_informative
from pacbound.config import learner_label
from pacbound.numeric.bounds import certificate_bound
from pacbound.numeric.lower import padded_length
from pacbound.numeric.testset import binomial_test_bound

# --- the certificates of a stored experiment --------------------------------------------


def network_test_bound(target_error: float, test_size: int, target_levels: int, delta: float):
    """Langford's test-set bound on the fine-tuned network's own target risk, from its
    errors on the held-out target problems (test_size per level, uniform target)."""
    trials = test_size * target_levels
    return float(binomial_test_bound(round(target_error * trials), trials, delta))


def first_budget_below(risk, kl, draws, delta, choices, share, threshold, start):
    """Per entry of ``risk`` and ``kl`` (arrays of one shape): the smallest budget n ≥
    ``start`` at which a certificate with this Monte-Carlo risk and KL falls below
    ``threshold`` (doubling, then bisecting, all entries at once); inf where none does up
    to start·2³⁰."""
    risk, kl = np.broadcast_arrays(np.asarray(risk, float), np.asarray(kl, float))
    shape, count = risk.shape, risk.size
    # Every certificate is evaluated on flat arrays of a few fixed lengths (the entries
    # repeated up to a power of two, at least 32, and one budget per entry), so the
    # compiled certificate serves every call instead of compiling once per shape. (No
    # entry: zeros, still evaluated, so that the other arguments are checked.)
    size = padded_length(count)
    risk, kl = (np.resize(x.ravel(), size) for x in (risk, kl))

    def below(n, rows=1):  # n: one budget per entry, ``rows`` lists of ``size`` entries
        values = certificate_bound(
            np.tile(risk, rows), draws, np.tile(kl, rows), n, delta, choices, share
        )
        return np.asarray(values).reshape(rows, size)[:, :count] < threshold

    doublings = start * 2.0 ** np.arange(31)
    # 31 doublings in 32 rows (the last repeats the first, and is dropped).
    hits = below(np.repeat(np.resize(doublings, 32), size), rows=32)[:31].T
    reached = hits.any(axis=-1)
    first = np.where(reached, hits.argmax(axis=-1), 0)
    high = np.where(reached, doublings[first], np.inf)
    low = np.where(first > 0, doublings[np.maximum(first - 1, 0)] + 1, start)
    low, high = np.where(reached, low, start), np.where(reached, high, start)
    while np.any(low < high):  # invariant: the answer lies in [low, high]
        middle = np.floor((low + high) / 2)
        ok = below(np.resize(middle, size))[0]
        low, high = np.where(ok, low, middle + 1), np.where(ok, middle, high)
    return np.where(reached, high, np.inf).reshape(shape)


def _extrapolate(cells, c, delta, choices, threshold):
    """The smallest budget beyond the grid at which some candidate posterior's certificate
    would fall below ``threshold`` if its KL and pilot risk stayed at their values in these
    cells (the grid's largest budget, where every candidate is piloted); the median over
    the cells' seeds. None if no candidate gets there below 2³⁰ times the budget."""
    reached = []
    for cell in cells:
        tried = [
            x
            for x in cell.record["certificate"].get("candidates", [])
            if x["pilot_risk"] is not None
        ]
        if not tried:
            reached.append(math.inf)
            continue
        budgets = first_budget_below(
            [x["pilot_risk"] for x in tried],
            [x["kl"] for x in tried],
            c.draws,
            delta,
            choices,
            c.mc_share,
            threshold,
            cell.budget,
        )
        reached.append(float(budgets.min()))
    middle = float(np.median(reached)) if reached else math.inf
    return None if math.isinf(middle) else int(middle)


def summarize(config, cells, bases: dict) -> dict:
    """Every certificate of an experiment beside the risk it certifies, per cell and per
    (bucket, budget), with the fraction of valid cells and where certificates become
    non-vacuous (below the error of the cell's own base in the bucket). ``bases``:
    {pretraining seed: the base's error per level}."""
    c = config.certify
    buckets = [b.name for b in config.grid.buckets]
    bucket_base = {
        (draw, b): bucket_base_error(config, base, b)
        for draw, base in bases.items()
        for b in buckets
    }
    bucket_levels = {b.name: len(b.weights()) for b in config.grid.buckets}
    several = len(bases) > 1
    # Per bucket, over draws: the mean of the bases' errors (one draw: its own).
    mean_base = {b: float(np.mean([bucket_base[d, b] for d in bases])) for b in buckets}
    target_levels = config.grid.target[1] - config.grid.target[0] + 1
    rows = []
    order = lambda x: (buckets.index(x.bucket), x.budget, x.base, x.seed)  # noqa: E731
    for cell in sorted(cells, key=order):
        certificate = cell.record["certificate"]
        measured = certificate["in_distribution"]
        # The stored bound certifies the cell's allocated mixture of levels; with its TV to
        # the bucket's mixture it bounds the risk the validity problems measure.
        gap = allocation_gap(config, cell.bucket, cell.budget, cell.seed, cell.base)
        bucket_certificate = min(1.0, certificate["certificate"] + gap)
        # The gain over the base: the same certificate at δ/2, less a lower bound at δ/2 on
        # the base's risk from its held-out problems of the bucket (theory/bounds.md).
        half = risk_certificate_at_half_delta(
            certificate["mc_risk"],
            certificate["kl"],
            cell.budget,
            certificate["delta"],
            certificate["choices"],
            c,
        )
        certified_gain = held_out_gain_certificate(
            float(half) + gap,
            bucket_base[cell.base, cell.bucket],
            config.grid.test_size * bucket_levels[cell.bucket],
            certificate["delta"],
        )
        rows.append(
            {
                "bucket": cell.bucket,
                "budget": cell.budget,
                **({"base": cell.base} if several else {}),
                "seed": cell.seed,
                **{k: certificate[k] for k in ("family", "sigma", "kl", "mc_risk", "floor")},
                "allocated_certificate": certificate["certificate"],
                "allocation_gap": gap,
                "certificate": bucket_certificate,
                "gain_certificate": float(certified_gain),
                "measured_gain": measured["risk"] - bucket_base[cell.base, cell.bucket],
                "risk": measured["risk"],
                "risk_low": measured["low"],
                "risk_high": measured["high"],
                "valid": bucket_certificate >= measured["risk"],
                "violated": bucket_certificate < measured["low"],
                "vacuous": not certificate_informative(
                    bucket_certificate, bucket_base[cell.base, cell.bucket]
                ),
                "target_risk": certificate["target"]["risk"],
                "target_low": certificate["target"]["low"],
                "target_high": certificate["target"]["high"],
                "target_test_bound": certificate["target"]["test_bound"],
                "network_target_error": cell.record["target_error"],
                "network_target_test_bound": network_test_bound(
                    cell.record["target_error"],
                    config.grid.test_size,
                    target_levels,
                    certificate["delta"],
                ),
            }
        )
    delta = cells[0].record["certificate"]["delta"]
    choices = cells[0].record["certificate"]["choices"]
    per_bucket = {}
    for bucket in buckets:
        mine = [r for r in rows if r["bucket"] == bucket]
        budgets = sorted({r["budget"] for r in mine})
        means = {
            n: {
                key: float(np.mean([r[key] for r in mine if r["budget"] == n]))
                for key in (
                    "certificate",
                    "gain_certificate",
                    "risk",
                    "kl",
                    "mc_risk",
                    "floor",
                    "target_risk",
                )
            }
            for n in budgets
        }
        informative = [
            n
            for n in budgets
            if certificate_informative(means[n]["certificate"], mean_base[bucket])
        ]
        extrapolated = None
        if not informative:
            extrapolated = _extrapolate(
                [x for x in cells if x.bucket == bucket and x.budget == budgets[-1]],
                c,
                delta,
                choices,
                mean_base[bucket],
            )
        per_bucket[bucket] = {
            "base_error": mean_base[bucket],
            "by_budget": {str(n): v for n, v in means.items()},
            "non_vacuous_budgets": informative,
            "first_non_vacuous": informative[0] if informative else None,
            "extrapolated_non_vacuous": extrapolated,
        }
    valid = [r["valid"] for r in rows]
    return {
        "experiment": config.name,
        "config_hash": config.hash(),
        "learner": learner_label(config.finetune.subspace),
        "delta": delta,
        "simultaneous": c.simultaneous,
        "choices": choices,
        "mc_share": c.mc_share,
        "draws": c.draws,
        "validity_draws": c.validity_draws,
        "sigmas": list(c.sigmas),
        "families": list(c.families_for(config.finetune.subspace)),
        "cells": rows,
        "valid_fraction": float(np.mean(valid)),
        "violated_count": int(sum(r["violated"] for r in rows)),
        "mean_gap": float(np.mean([r["certificate"] - r["risk"] for r in rows])),
        "vacuous_fraction": float(np.mean([r["vacuous"] for r in rows])),
        "gain_certified_fraction": float(np.mean([r["gain_certificate"] < 0 for r in rows])),
        "smallest_gain_certificate": _smallest(rows, "gain_certificate"),
        "per_bucket": per_bucket,
    }


def _smallest(rows, key) -> dict:
    """The row with the smallest ``key``: its value, bucket and budget."""
    row = min(rows, key=lambda r: r[key])
    return {"value": row[key], "bucket": row["bucket"], "budget": row["budget"]}
