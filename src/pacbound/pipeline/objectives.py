"""The objectives' stage of the pipeline: DFT against SFT as claims, and where DFT puts its
weight (a cell fine-tuned again from its cached base)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pacbound.config import kinds_with


def objectives_claims(comparison: dict, sft) -> dict:
    """The objectives' claims as an entry of claims.json (no draw-by-draw verdicts)."""
    return {
        "experiment": f"{comparison['experiment']} (objectives)",
        "draws": comparison["draws"],
        "resampled": comparison["resampled"],
        "resamples": comparison["resamples"],
        "alpha": comparison["alpha"],
        # Where the comparison states its intervals (those from before it did not).
        **({"inference": comparison["inference"]} if "inference" in comparison else {}),
        "base_target_error": sft.base_target_error.tolist(),
        "pooled": comparison["pooled"],
        "per_draw": {},
        "holds_in_draws": {v["claim"]: None for v in comparison["pooled"]},
    }


def token_weights(experiment, cache: Path, cells: list[tuple], say=None) -> dict:
    """Where DFT puts its weight: each chain-task cell fine-tuned as the sweep does (its
    base from the cache), and on its own training examples the mean probability of the
    solution tokens, by role and by level, under the base (the DFT weights of the first
    step) and the fine-tuned model (those of the last). ``say`` hears each cell as it
    starts."""
    from pacbound.run.probe import ROLES, cell_runner, finetune_cell, token_probabilities

    if not experiment.task.solution_roles:
        allowed = ", ".join(kinds_with("solution_roles"))
        raise ValueError(
            f"task kind = {experiment.task_kind!r} is not one of {allowed}: token weights are "
            "read by role"
        )
    say = say or (lambda line: None)
    say(f"{experiment.name}: loading its base (pretrained if not cached)…")
    runner = cell_runner(experiment, cache)
    rows = []
    for done, cell in enumerate(cells):
        say(f"{experiment.name}: fine-tuning cell {cell} ({done + 1}/{len(cells)})…")
        tuned = finetune_cell(runner, cell)
        bucket, n, _ = cell
        data = runner.dataset_of(cell)  # the cell's own training sample
        row = {"bucket": bucket, "budget": n, "seed": cell[2]}
        for name, params in (("base", runner.base), ("fine-tuned", tuned)):
            p, role, level = token_probabilities(params, experiment.model, data)
            row[name] = {
                "by_role": {ROLES[r]: float(p[role == r].mean()) for r in np.unique(role)},
                "by_level": {str(k): float(p[level == k].mean()) for k in np.unique(level)},
                "mean": float(p.mean()),
            }
        rows.append(row)
    return {
        "experiment": experiment.name,
        "objective": experiment.finetune.objective,
        "roles": list(ROLES),
        "cells": rows,
    }
