"""How often each interval family covers the truth, by simulation with known truth.

Simulated experiments have the shape of the real ones: D base draws, S fine-tuning seeds
per draw, a base network per draw and two buckets at one budget, errors

    base_d      = μ_base + u_d
    error_dbs   = μ_b + u_d + v_db + e_dbs,  u ~ N(0, σ_draw²), v ~ N(0, σ_cell²), e ~ N(0, σ_seed²)

(the draw effect u_d is shared by the base and every cell fine-tuned from it, as in the
real grid; v is a draw × bucket interaction, the part of between-draw noise that does not
cancel in a gain or a contrast). The true gain of bucket b is μ_base − μ_b; the true
contrast of the two buckets μ_0 − μ_1. Each replication draws a data set, runs the
package's own hierarchical bootstrap (``hierarchy.resample``) and each family's interval,
and records whether the interval covers the truth.

Families:
- ``percentile``: the percentile interval of the bootstrap replicates (the former default;
  too narrow with few draws);
- ``t``: ``inference.interval``, t on D − 1 degrees of freedom with the draw correction;
- ``widened``: the percentile interval of ``inference.widened`` replicates (what discrete
  summaries are read from);
- ``simultaneous``: ``claims.contrasts`` for a family of gains and a contrast at once (all
  covered counts as covered);
- ``slope``: ``inference.slope_interval``, the least-squares slope of a draw-level summary on
  a draw-level covariate (C6, the base-strength slope), t on D − 2 degrees of freedom.

With one draw (D = 1) the seeds are the units and the truth is that draw's own gain.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pacbound.analysis import inference
from pacbound.analysis.claims import contrasts
from pacbound.analysis.hierarchy import Measured, resample

FAMILIES = ("percentile", "t", "widened", "simultaneous", "slope")
MEANS = np.array([0.40, 0.55])  # the two buckets' true errors
BASE = 0.60  # the base's true error


@dataclass(frozen=True)
class Scenario:
    draws: int
    seeds: int
    draw_sd: float = 0.08  # between draws: the quick preset's bases differ by ~0.05–0.1
    cell_sd: float = 0.06  # draw × bucket: the gains of one cell across bases, ~0.05–0.1
    seed_sd: float = 0.03  # within a draw: the committed seeds differ by ≤ 0.03–0.07


def simulated(scenario: Scenario, rng: np.random.Generator) -> tuple[np.ndarray, Measured]:
    """One simulated experiment (two buckets, one budget, one level, exact risks) and the
    true gain of each bucket first: over the population of draws when there are several; of the
    one draw drawn (its seeds the noise) when there is one."""
    d, s = scenario.draws, scenario.seeds
    shared = rng.normal(0, scenario.draw_sd, d)
    cell = rng.normal(0, scenario.cell_sd, (d, 2))
    seed = rng.normal(0, scenario.seed_sd, (d, 2, s))
    error = MEANS[None, :, None] + shared[:, None, None] + cell[:, :, None] + seed
    truth = BASE - MEANS - (cell[0] if d == 1 else 0)
    return truth, Measured(
        buckets=("easy", "hard"),
        budgets=(1,),
        draws=tuple(range(d)),
        levels=(1,),
        level_error=error[:, :, None, :, None],
        base_level_error=(BASE + shared)[:, None],
        train_error=np.zeros((d, 2, 1, s)),
        target_weights=np.ones(1),
        bucket_weights=np.ones((2, 1)),
    )


def covered(scenario: Scenario, rng: np.random.Generator, resamples: int) -> dict[str, bool]:
    """Whether each family's 95% interval covers the truth on one simulated data set."""
    truth, measured = simulated(scenario, rng)
    draws = measured.units
    replicates = resample(measured, rng, resamples)
    gain = measured.base_target_error.mean() - measured.target_error.mean(axis=(0, 3))[:, 0]
    gain_r = replicates.base_level_error[..., 0].mean(axis=1)[:, None] - replicates.level_error[
        ..., 0, :, 0
    ].mean(axis=(1, 3))
    low, high = np.percentile(gain_r[:, 0], [2.5, 97.5])
    t_low, t_high = inference.interval(gain[0], gain_r[:, 0], draws)
    w_low, w_high = np.percentile(inference.widened(gain_r[:, 0], gain[0], draws), [2.5, 97.5])
    family = np.append(gain, gain[1] - gain[0])
    family_r = np.column_stack([gain_r, gain_r[:, 1] - gain_r[:, 0]])
    together = contrasts(family, family_r, draws=draws)
    family_truth = np.append(truth, truth[1] - truth[0])
    result = {
        "percentile": bool(low <= truth[0] <= high),
        "t": bool(t_low <= truth[0] <= t_high),
        "widened": bool(w_low <= truth[0] <= w_high),
        "simultaneous": bool(
            np.all((together.low <= family_truth) & (family_truth <= together.high))
        ),
    }
    if scenario.draws >= 3:  # a slope of a draw-level summary on a draw-level covariate (C6)
        x = rng.normal(0.5, 0.05, draws)
        y = 2.0 * x + rng.normal(0, 0.1, draws)
        s_low, s_high = inference.slope_interval(x, y)[1:]
        result["slope"] = bool(s_low <= 2.0 <= s_high)
    return result


def coverage(
    scenario: Scenario, replications: int, seed: int = 0, resamples: int = 400
) -> dict[str, float]:
    """Each family's coverage of the truth over ``replications`` simulated data sets."""
    rng = np.random.default_rng(seed)
    hits: dict[str, list[bool]] = {}
    for _ in range(replications):
        for name, hit in covered(scenario, rng, resamples).items():
            hits.setdefault(name, []).append(hit)
    return {name: float(np.mean(values)) for name, values in hits.items()}
