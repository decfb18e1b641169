"""What one stored experiment's figures draw, computed here so that report/ only renders.

The figures take an ``ExperimentFigures``: the cells as arrays, the per-level gains at the
smallest and the largest budget, and (a task with exact risks) the closed form beside its
simulation. Nothing here draws or writes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pacbound.analysis.comparison import closed_form_and_simulation, pooled_base
from pacbound.analysis.table import CellArrays, cell_arrays
from pacbound.config import ExperimentConfig
from pacbound.store import Base, Cell


@dataclass(frozen=True)
class LevelGains:
    """One bucket's accuracy gain over the base at one budget, per level, over its runs."""

    levels: tuple[int, ...]
    mean: np.ndarray  # K
    sd: np.ndarray  # K: the population standard deviation over the runs


@dataclass(frozen=True)
class ExperimentFigures:
    """Everything an experiment's own figures draw besides its comparison report."""

    name: str
    table: CellArrays
    bucket_ranges: dict[str, tuple[int, int]]  # bucket -> its levels (low, high)
    # budget (the smallest and the largest) -> bucket -> its gains there
    level_gains: dict[int, dict[str, LevelGains]]
    # (closed form, simulated, standard error) of every per-level risk; None: not exact
    closed_form: tuple[np.ndarray, np.ndarray, np.ndarray] | None


def experiment_figures_data(
    config: ExperimentConfig, cells: list[Cell], bases: dict[int, Base]
) -> ExperimentFigures:
    """The figures' data of one finished experiment, from its cells and base draws."""
    budgets = sorted(config.grid.budgets)
    gains: dict[int, dict[str, LevelGains]] = {}
    for n in (budgets[0], budgets[-1]):
        gains[n] = {}
        for bucket in config.grid.buckets:
            records = [c.record for c in cells if c.bucket == bucket.name and c.budget == n]
            levels = sorted(records[0]["gain"], key=int)
            values = np.array([[r["gain"][k] for k in levels] for r in records])
            gains[n][bucket.name] = LevelGains(
                tuple(int(k) for k in levels), values.mean(0), values.std(0)
            )
    return ExperimentFigures(
        name=config.name,
        table=cell_arrays(config, cells, pooled_base(bases)),
        bucket_ranges={b.name: (b.low, b.high) for b in config.grid.buckets},
        level_gains=gains,
        closed_form=closed_form_and_simulation(cells) if config.task.exact_risks else None,
    )
