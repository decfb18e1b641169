"""The data an experiment's figures draw, on hand-made cells with known answers."""

import numpy as np
import pytest

from pacbound import config
from pacbound.analysis.figure_data import experiment_figures_data
from pacbound.store import Base, Cell


def _cells(experiment, gain, extra=lambda bucket, n, seed, level: {}):
    """Cells whose gain at each level is gain(bucket, n, seed, level); the rest fixed."""
    cells = []
    for bucket, n, seed in experiment.cells:
        levels = [str(k) for k in experiment.levels]
        record = {
            "level_errors": {k: 0.25 for k in levels},
            "gain": {k: gain(bucket, n, seed, int(k)) for k in levels},
            "train_error": 0.0,
            "in_distribution_error": 0.25,
            "target_error": 0.25,
            "sq_distance": 1.0,
            "kl": 1.0,
        }
        for k in levels:
            for key, value in extra(bucket, n, seed, int(k)).items():
                record.setdefault(key, {})[k] = value
        cells.append(Cell(bucket, n, seed, record))
    return cells


def test_level_gains_are_the_mean_and_spread_over_runs_at_the_ends_of_the_budgets(tiny):
    experiment = config.load(tiny)
    cells = _cells(experiment, lambda bucket, n, seed, level: n / 100 + level / 10 + seed)
    base = {0: Base(0, {str(k): 0.5 for k in experiment.levels})}
    data = experiment_figures_data(experiment, cells, base)
    budgets = sorted(experiment.grid.budgets)
    assert list(data.level_gains) == [budgets[0], budgets[-1]]
    seeds = np.array(experiment.grid.seeds, float)
    for n, by_bucket in data.level_gains.items():
        assert list(by_bucket) == [b.name for b in experiment.grid.buckets]
        for gains in by_bucket.values():
            assert gains.levels == experiment.levels
            expected = n / 100 + np.array(experiment.levels) / 10 + seeds.mean()
            np.testing.assert_allclose(gains.mean, expected)
            np.testing.assert_allclose(gains.sd, np.full(len(experiment.levels), seeds.std()))
    assert data.closed_form is None  # a sampled task: no closed form to check
    assert data.bucket_ranges == {b.name: (b.low, b.high) for b in experiment.grid.buckets}
    assert data.table.target_error.shape == (2, 2, 3)


def test_a_task_with_exact_risks_gets_its_closed_form_beside_its_simulation():
    experiment = config.preset("solvable")

    def simulated(bucket, n, seed, level):
        return {"mc_level_errors": 0.25 + 0.001 * level, "mc_standard_errors": 0.002}

    cells = _cells(experiment, lambda *_: 0.0, simulated)
    base = {0: Base(0, {str(k): 0.5 for k in experiment.levels})}
    exact, simulation, error = experiment_figures_data(experiment, cells, base).closed_form
    count = len(experiment.cells) * len(experiment.levels)
    assert exact.shape == simulation.shape == error.shape == (count,)
    assert set(exact) == {0.25} and set(error) == {0.002}
    assert sorted(set(simulation)) == pytest.approx([0.25 + 0.001 * k for k in experiment.levels])
