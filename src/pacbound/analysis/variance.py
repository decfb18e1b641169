"""Where the noise of a gain comes from: its variance between base draws, between
fine-tuning seeds within a draw, and from the held-out problems, by the method of moments.

For a cell (bucket b, budget n) the gain of draw d, seed s over its own base is
g_ds = base_d − error_ds. With S seeds per draw and D draws:

- seeds: s²_seed, the pooled within-draw variance of g_ds over seeds (given the problems);
- draws: s²_draw = Var_d(ḡ_d) − s²_seed/S, the variance of the draw means beyond what their
  seeds explain (floored at 0);
- problems: the variance of a single run's gain when the held-out problems are drawn again
  (each level's problems with replacement, the base's and the run's outcomes paired), the
  mean over runs; 0 for exact risks.

The variance of a pooled gain over D draws × S seeds is then about
s²_draw/D + s²_seed/(D·S) + (problem variance of the pooled gain, shared by all draws), which
is what a design (draws × seeds) trades off (``pooled_variance``).
"""

from __future__ import annotations

import numpy as np

from pacbound.analysis.hierarchy import Measured

PROBLEM_DRAWS = 200  # problem resamples for the problem-level variance


def components(measured: Measured, rng: np.random.Generator) -> dict:
    """{"draw", "seed", "problem"}: each a BxN array of variances of a run's gain over the
    base on the target mixture, and their means over cells under ``mean``."""
    gain = measured.base_target_error[:, None, None, None] - measured.target_error  # DxBxNxS
    draws, _, _, seeds = gain.shape
    seed = gain.var(axis=-1, ddof=1).mean(axis=0) if seeds > 1 else np.zeros(gain.shape[1:3])
    draw = np.zeros_like(seed)
    if draws > 1:
        draw = np.maximum(gain.mean(axis=-1).var(axis=0, ddof=1) - seed / seeds, 0.0)
    problem = np.zeros_like(seed)
    if measured.wrong is not None:
        problem = _problem_variance(measured, rng)
    parts = {"draw": draw, "seed": seed, "problem": problem}
    return parts | {"mean": {name: float(values.mean()) for name, values in parts.items()}}


def pooled_variance(parts: dict, draws: int, seeds: int) -> float:
    """The variance of a cell's gain pooled over ``draws`` × ``seeds`` runs, from the mean
    components (the problem part does not shrink: every run is scored on the same
    problems)."""
    mean = parts["mean"]
    return mean["draw"] / draws + mean["seed"] / (draws * seeds) + mean["problem"]


def _problem_variance(measured: Measured, rng: np.random.Generator) -> np.ndarray:
    """BxN: the variance of one run's target gain under problem resampling, mean over runs."""
    levels, problems = measured.wrong.shape[-2:]
    weights = measured.target_weights
    counts = rng.multinomial(problems, np.full(problems, 1 / problems), (PROBLEM_DRAWS, levels))
    counts = counts.astype(np.float32) / problems  # RxKxP
    runs = np.einsum("dbnskp,rkp->rdbnsk", measured.wrong.astype(np.float32), counts) @ weights
    base = np.einsum("dkp,rkp->rdk", measured.base_wrong.astype(np.float32), counts) @ weights
    gain = base[:, :, None, None, None] - runs  # RxDxBxNxS
    return gain.var(axis=0, ddof=1).mean(axis=(0, 3))
