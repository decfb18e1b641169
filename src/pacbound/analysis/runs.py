"""Pilot runs as arrays: the target error of every (bucket, budget, seed), with whatever else
was measured, and the tie tolerance their own noise gives (theory/predictions.md)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np

from pacbound.analysis.inference import outer_units
from pacbound.numeric.lower import lower_to_numpy
from pacbound.symbolic import agreement

_tie_tolerance = lower_to_numpy(agreement.tie_tolerance, ("pooled_variance", "seeds"))
paired_tie_tolerance = lower_to_numpy(
    agreement.paired_tie_tolerance, ("difference_variance", "seeds")
)


def certificate_informative(value: float, base_error: float) -> bool:
    """A certificate says something only below 1 and below the base's own error there
    (NaN compares False: not informative)."""
    return bool(value < 1 and value < base_error)


def informative_mask(certificate_BxN: np.ndarray, base_error_B: np.ndarray) -> np.ndarray:
    """BxN: which (seed-mean) certificates are informative, against each bucket's base error."""
    certificate = np.asarray(certificate_BxN, float)
    return (certificate < 1) & (certificate < np.asarray(base_error_B, float)[:, None])


#: Each kind of ``RunTable.disagreement`` and the cell term it is stored as.
DISAGREEMENT_TERMS = {
    "label_free": "disagreement_near_label_free",
    "teacher_forced": "disagreement_near_teacher_forced",
    "certified": "disagreement_certified_teacher_forced",
}


@dataclass(frozen=True)
class RunTable:
    """Runs as arrays over (bucket, budget, seed); NaN where a seed is missing."""

    buckets: tuple[str, ...]  # difficulty order, easiest first
    budgets: np.ndarray  # N, ascending
    target_error: np.ndarray  # BxNxS
    complexity: np.ndarray | None = None  # BxNxS: KL to the prior or ‖θ − θ_pre‖²
    complexity_name: str = ""
    # Per level (the task's levels, K of them): measured errors of each run, the base's, and
    # the level weights of the target, of each bucket and of the pretraining mixture.
    levels: tuple[int, ...] = ()
    level_error: np.ndarray | None = None  # BxNxSxK
    base_level_error: np.ndarray | None = None  # K
    target_weights: np.ndarray | None = None  # K
    bucket_weights: np.ndarray | None = None  # BxK
    pretrain_weights: np.ndarray | None = None  # K
    level_tolerance: float = 0.0  # noise of a difference of two per-level seed means
    # Certified bound on the target per shift term (certificate + shift), BxNxS, and whether
    # each bucket's certificate says anything (BxN); label-free at the budget itself.
    bound: dict[str, np.ndarray] = field(default_factory=dict)
    informative: np.ndarray | None = None
    # The certificates themselves (BxNxS) and each bucket's base error (B): with both, a
    # resample decides which certificates are informative from its own seed means.
    certificate: np.ndarray | None = None
    base_bucket_error: np.ndarray | None = None
    # The expected disagreement d_T(Q) of two posterior draws on target problems, BxNxS:
    # of a posterior near the network, "label_free" (problem-only positions) and
    # "teacher_forced" (every solution position); "certified": of the certified Q, teacher
    # forced. And the certified Q's measured risk on its own bucket, BxNxS.
    disagreement: dict[str, np.ndarray] = field(default_factory=dict)
    in_bucket_risk: np.ndarray | None = None
    fixed_tolerance: float | None = None  # a resample keeps its original table's tolerance
    # Paired seeds: seed s of every cell comes from the same random numbers (common random
    # numbers, as in the skill ladder), so a resample draws one set of seed indices for all
    # cells and the tolerance is that of a paired difference of adjacent buckets.
    paired: bool = False
    # Base draws: the seed axis holds ``draws`` blocks of runs, one block per base draw (each
    # cell's runs of draw d at d·S … d·S + S − 1). A resample draws base draws first, then
    # each cell's runs within each drawn base.
    draws: int = 1
    # Held-out outcomes (True: wrong) of every run on each level's problems, BxNxSxKxP, and of
    # each base draw, DxKxP: a resample then also draws each level's problems with
    # replacement, one draw for every run and the base (their outcomes on a problem are
    # paired), and recomputes the per-level and target errors. None: errors as given.
    wrong: np.ndarray | None = None
    base_wrong: np.ndarray | None = None

    def __post_init__(self):
        budgets = np.asarray(self.budgets)
        if np.any(np.diff(budgets) <= 0):
            raise ValueError("budgets must be strictly increasing")
        if self.target_error.shape[:2] != (len(self.buckets), len(budgets)):
            raise ValueError("target_error must be buckets × budgets × seeds")
        if np.isnan(self.target_error).all(axis=-1).any():
            b, i = np.argwhere(np.isnan(self.target_error).all(axis=-1))[0]
            raise ValueError(f"no run of bucket {self.buckets[b]!r} at n = {budgets[i]}")
        if (self.wrong is None) != (self.base_wrong is None):
            raise ValueError("outcomes are given for the runs and the base, or for neither")
        if self.wrong is not None:
            levels, problems = self.wrong.shape[-2:]
            if self.wrong.shape != (*self.target_error.shape, len(self.levels), problems) or (
                self.base_wrong.shape[1:] != (levels, problems)
            ):
                raise ValueError("outcomes must be runs × levels × problems, as target_error")

    def _draw_index(self, rng) -> tuple[np.ndarray, np.ndarray]:
        """(BxNxS run indices, the D drawn draws) of a two-level resample: D draws with
        replacement, then each cell's S/D runs within each drawn draw (every run present: a
        store's grid is whole)."""
        buckets, budgets, runs = self.target_error.shape
        per_draw = runs // self.draws
        drawn = rng.integers(0, self.draws, self.draws)  # one set of draws for every cell
        within = rng.integers(0, per_draw, (buckets, budgets, self.draws, per_draw))
        index = (drawn[None, None, :, None] * per_draw + within).reshape(buckets, budgets, runs)
        return index, drawn

    def per_run(self, name: str) -> bool:
        """Whether the input ``name`` (a field: ``level_error``, ``complexity``, ``bound``,
        ``disagreement``, ``in_bucket_risk``, ``certificate``) holds every run's values, so
        that a resample draws it with the runs; False where it holds seed means only (a
        committed report's: BxNx1), which a resample keeps as they are. An absent input
        is not per run."""
        values = getattr(self, name)
        if isinstance(values, dict):
            return bool(values) and all(self._per_run(v) for v in values.values())
        return values is not None and self._per_run(values)

    def _per_run(self, values: np.ndarray) -> bool:
        return values.shape[2] == self.target_error.shape[-1]

    @property
    def units(self) -> int:
        """The independent units intervals are t intervals over (``inference``): the base
        draws when there are several, else the runs of a cell (its seeds), else 1."""
        return outer_units(self.draws, self.target_error.shape[-1])

    @cached_property  # the table is frozen: computed once per table
    def mean(self) -> np.ndarray:
        """BxN seed means of the target error."""
        return np.nanmean(self.target_error, axis=-1)

    @cached_property
    def tolerance(self) -> float:
        """√(2·s²/S), or √(s_Δ²/S) for paired seeds: the noise of a difference of two cell
        means (theory/predictions.md)."""
        if self.fixed_tolerance is not None:
            return self.fixed_tolerance
        return self._tolerance_of(self.target_error)

    def tolerance_over(self, budgets: np.ndarray) -> float:
        """The tie tolerance from the runs at ``budgets`` (indices) alone, e.g. the pilots a
        predictor sees: the same formula as ``tolerance``, never another budget's noise."""
        key = tuple(int(i) for i in budgets)
        if key not in self._pilot_tolerances:  # every predictor asks for the same pilots
            self._pilot_tolerances[key] = self._tolerance_of(self.target_error[:, list(key)])
        return self._pilot_tolerances[key]

    @cached_property
    def _pilot_tolerances(self) -> dict:
        return {}

    def _tolerance_of(self, target_error: np.ndarray) -> float:
        counts = np.sum(~np.isnan(target_error), axis=-1)
        if counts.max() < 2:
            return 0.0
        if self.paired:
            differences = np.diff(target_error, axis=0)  # adjacent buckets, BxNxS
            variance = np.nanmean(np.nanvar(differences, axis=-1, ddof=1))
            return float(paired_tie_tolerance(variance, counts.mean()))
        deviations = target_error - np.nanmean(target_error, axis=-1)[..., None]
        pooled = np.nansum(deviations**2) / np.sum(np.maximum(counts - 1, 0))
        return float(_tie_tolerance(pooled, counts.mean()))

    def resampled(self, rng: np.random.Generator) -> RunTable:
        """Base draws with replacement (when there are several), then each cell's runs within
        each drawn base on their own (or one set of indices for every cell, when paired);
        every per-run array alike."""
        drawn = None
        if self.draws > 1:
            index, drawn = self._draw_index(rng)
        else:
            present = ~np.isnan(self.target_error)
            counts = present.sum(axis=-1, keepdims=True)
            order = np.argsort(~present, axis=-1, kind="stable")  # present seeds first
            if self.paired:  # one draw of seed indices for every cell
                shape = self.target_error.shape
                picks = np.floor(rng.random(shape[-1]) * counts).astype(int)
                picks = np.broadcast_to(picks, shape)
            else:
                picks = np.floor(rng.random(self.target_error.shape) * counts).astype(int)
            index = np.take_along_axis(order, picks, axis=-1)

        target_error, level_error, base_level_error = (
            self.target_error,
            self.level_error,
            self.base_level_error,
        )
        if self.wrong is not None:
            level_error, base_level_error = self._problems_resampled(rng, drawn)
            target_error = level_error @ self.target_weights

        def draw(values):
            if values is None or values.shape[2] != index.shape[-1]:
                return values  # seed means only (a report's) stay as they are
            if values.ndim == 4:  # per level
                return np.take_along_axis(values, index[..., None], axis=2)
            return np.take_along_axis(values, index, axis=-1)

        certificate = draw(self.certificate)
        return replace(
            self,
            fixed_tolerance=self.tolerance,
            draws=1,  # a resample's runs are no longer blocks of draws
            target_error=draw(target_error),
            complexity=draw(self.complexity),
            level_error=draw(level_error),
            base_level_error=base_level_error,
            wrong=None,  # the resampled errors are the resample's own
            base_wrong=None,
            bound={term: draw(values) for term, values in self.bound.items()},
            certificate=certificate,
            informative=self._informative_of(certificate),
            disagreement={kind: draw(v) for kind, v in self.disagreement.items()},
            in_bucket_risk=draw(self.in_bucket_risk),
        )

    @cached_property
    def _outcome_weights(self) -> tuple[np.ndarray, np.ndarray]:
        return self.wrong.astype(np.float32), self.base_wrong.astype(np.float32)

    def _problems_resampled(
        self, rng: np.random.Generator, drawn: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(per-level errors BxNxSxK, the base's K) on each level's problems drawn with
        replacement: outcomes weighted by how often each problem was drawn (counts are
        integers, exact in float32). The base's error is the mean over the ``drawn`` base
        draws (with their repeats; None: every draw once), as the runs' draws were drawn."""
        runs, bases = self._outcome_weights
        levels, problems = runs.shape[-2:]
        counts = rng.multinomial(problems, np.full(problems, 1 / problems), size=levels)
        counts = counts.astype(np.float32)  # KxP
        level_error = np.einsum("bnskp,kp->bnsk", runs, counts).astype(float) / problems
        bases = bases if drawn is None else bases[drawn]
        base = np.einsum("dkp,kp->k", bases, counts).astype(float) / (problems * len(bases))
        return level_error, base

    def _informative_of(self, certificate: np.ndarray | None) -> np.ndarray | None:
        """The informative mask of (resampled) certificates; the table's own without them."""
        if certificate is None or self.base_bucket_error is None:
            return self.informative
        return informative_mask(np.nanmean(certificate, axis=-1), self.base_bucket_error)
