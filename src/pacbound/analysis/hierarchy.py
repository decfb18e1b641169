"""An experiment's measurements over (base draw, bucket, budget, seed), and the hierarchical
bootstrap that resamples them as they were drawn.

Three sources of noise, nested: the pretraining draw of the base; the fine-tuning seeds of
each cell (data and PRNG key, independent across buckets, budgets and draws); the held-out
problems, one set shared by every model. A replicate draws base draws with replacement,
then within each drawn base the seeds of every (bucket, budget) on their own, then the
problems of each level with replacement, one draw for every model (the models' outcomes
on a problem are paired). The replicates' spread is a standard error only after the
correction for few draws, and intervals are t intervals over the draws
(``pacbound.analysis.inference``): resampling D draws shrinks the between-draw variance by
(D − 1)/D, and a percentile interval over three draws covers about 75% at nominal 95%. The
solvable task's risks are exact: no problem level.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pacbound.analysis.inference import outer_units
from pacbound.analysis.table import level_vector
from pacbound.config import ExperimentConfig
from pacbound.store import Base, Cell

RESAMPLES = 2000
LEVELS = ("base draws", "fine-tuning seeds within a draw", "held-out problems")


@dataclass(frozen=True)
class Measured:
    """Per-cell measurements of one experiment (D base draws, B buckets in difficulty
    order, N budgets ascending, S seeds, K levels, P held-out problems per level)."""

    buckets: tuple[str, ...]
    budgets: tuple[int, ...]
    draws: tuple  # each base draw's label: its pretraining seed (``combined``: name/seed)
    levels: tuple[int, ...]
    level_error: np.ndarray  # DxBxNxSxK
    base_level_error: np.ndarray  # DxK
    train_error: np.ndarray  # DxBxNxS: on the cell's own n examples
    target_weights: np.ndarray  # K
    bucket_weights: np.ndarray  # BxK
    wrong: np.ndarray | None = None  # DxBxNxSxKxP outcomes (True: wrong); None: exact risks
    base_wrong: np.ndarray | None = None  # DxKxP

    def __post_init__(self):
        d, b, n, s, k = self.level_error.shape
        if (d, b, n, k) != (
            len(self.draws),
            len(self.buckets),
            len(self.budgets),
            len(self.levels),
        ):
            raise ValueError("level_error must be draws × buckets × budgets × seeds × levels")
        if self.base_level_error.shape != (d, k) or self.train_error.shape != (d, b, n, s):
            raise ValueError("base and training errors must match the cells' draws and grid")
        if (self.wrong is None) != (self.base_wrong is None):
            raise ValueError("outcomes are given for the cells and the bases, or for neither")

    @property
    def target_error(self) -> np.ndarray:
        """DxBxNxS: each cell's error on the target mixture of levels."""
        return self.level_error @ self.target_weights

    @property
    def in_bucket_error(self) -> np.ndarray:
        """DxBxNxS: each cell's held-out error on its own bucket's mixture of levels."""
        return np.einsum("dbnsk,bk->dbns", self.level_error, self.bucket_weights)

    @property
    def base_target_error(self) -> np.ndarray:
        """D: each base draw's error on the target mixture."""
        return self.base_level_error @ self.target_weights

    def draw(self, index: int) -> Measured:
        """The measurements of one base draw alone (a one-draw experiment)."""
        keep = slice(index, index + 1)
        return Measured(
            self.buckets,
            self.budgets,
            self.draws[keep],
            self.levels,
            self.level_error[keep],
            self.base_level_error[keep],
            self.train_error[keep],
            self.target_weights,
            self.bucket_weights,
            None if self.wrong is None else self.wrong[keep],
            None if self.base_wrong is None else self.base_wrong[keep],
        )

    @property
    def units(self) -> int:
        """The independent units of the outermost resampled level, on which intervals are
        t intervals (``inference``): the base draws when there are several; within one
        draw its fine-tuning seeds (independent in every cell); 1 when neither varies."""
        return outer_units(len(self.draws), self.level_error.shape[3])

    @property
    def noise_levels(self) -> tuple[str, ...]:
        """What a replicate resamples, outermost first: a level with one member (one base
        draw, one seed) or none (exact risks) has nothing to draw."""
        draws = LEVELS[:1] if len(self.draws) > 1 else ()
        seeds = LEVELS[1:2] if self.level_error.shape[3] > 1 else ()
        problems = LEVELS[2:] if self.wrong is not None else ()
        return (*draws, *seeds, *problems)


@dataclass(frozen=True)
class Replicates:
    """R hierarchical bootstrap replicates of a ``Measured``; index 0 of each array's first
    axis is not special: the point estimate is the ``Measured`` itself. The draw axis holds
    the drawn bases (with repeats), the seed axis the drawn seeds of each drawn base."""

    level_error: np.ndarray  # RxDxBxNxSxK
    base_level_error: np.ndarray  # RxDxK
    train_error: np.ndarray  # RxDxBxNxS
    levels: tuple[str, ...]  # what was resampled, outermost first
    units: int = 1  # the outermost level's units (``Measured.units``): t on units − 1

    def __len__(self) -> int:
        return len(self.level_error)


def resample(
    measured: Measured, rng: np.random.Generator, resamples: int = RESAMPLES
) -> Replicates:
    """``resamples`` replicates, each resampling draws, then seeds, then problems."""
    draws, buckets, budgets, seeds, _ = measured.level_error.shape
    if measured.wrong is None:  # exact risks: every replicate reads the one set of errors
        level_error, base_level_error = measured.level_error[None], measured.base_level_error[None]
    else:
        level_error, base_level_error = _problem_resampled(measured, rng, resamples)
    drawn = rng.integers(0, draws, (resamples, draws))  # RxD
    picked = rng.integers(0, seeds, (resamples, draws, buckets, budgets, seeds))
    r = np.arange(resamples)[:, None] if len(level_error) == resamples else 0
    r5 = np.reshape(r, (-1, 1, 1, 1, 1)) if len(level_error) == resamples else 0
    d = drawn[:, :, None, None, None]
    b = np.arange(buckets)[None, None, :, None, None]
    n = np.arange(budgets)[None, None, None, :, None]
    return Replicates(
        level_error=level_error[r5, d, b, n, picked],
        base_level_error=base_level_error[r, drawn],
        train_error=measured.train_error[d, b, n, picked],
        levels=measured.noise_levels,
        units=measured.units,
    )


def _problem_resampled(measured: Measured, rng, resamples: int):
    """(level errors RxDxBxNxSxK, base level errors RxDxK) with each level's problems drawn
    with replacement, one draw per replicate shared by every model: a model's error on a
    level is its outcomes weighted by how often each problem was drawn."""
    levels, problems = measured.wrong.shape[-2:]
    uniform = np.full(problems, 1 / problems)
    counts = rng.multinomial(problems, uniform, size=(resamples, levels)).astype(np.float32)
    cells = measured.wrong.reshape(-1, levels, problems).astype(np.float32)  # CxKxP
    bases = measured.base_wrong.astype(np.float32)  # DxKxP
    level_error = np.stack([cells[:, k] @ counts[:, k].T for k in range(levels)], axis=-1)  # CxRxK
    base_level_error = np.stack([bases[:, k] @ counts[:, k].T for k in range(levels)], axis=-1)
    level_error = np.moveaxis(level_error, 1, 0).reshape(resamples, *measured.level_error.shape)
    return level_error / problems, np.moveaxis(base_level_error, 1, 0) / problems


def from_store(config: ExperimentConfig, bases: dict[int, Base], cells: list[Cell]) -> Measured:
    """An experiment's stored bases and cells (read with their outcomes, if any) as a
    ``Measured``; a missing cell, or outcomes scored on another problem set, is an error."""
    buckets = tuple(b.name for b in config.grid.buckets)  # difficulty order
    budgets, seeds, draws = sorted(config.grid.budgets), config.grid.seeds, config.base_seeds
    levels = config.levels
    by_key = {(c.base, c.bucket, c.budget, c.seed): c for c in cells}
    keys = [(d, b, n, s) for d in draws for b in buckets for n in budgets for s in seeds]
    missing = [k for k in keys if k not in by_key] + [(d,) for d in draws if d not in bases]
    if missing:
        raise ValueError(
            f"experiment {config.name!r} lacks {len(missing)} stored cells or bases, e.g. "
            f"{missing[0]}: finish the sweep first"
        )
    shape = (len(draws), len(buckets), len(budgets), len(seeds))
    records = [by_key[k].record for k in keys]
    level_error = np.array(
        [[r["level_errors"][str(k)] for k in levels] for r in records], float
    ).reshape(*shape, len(levels))
    outcomes = [by_key[k].outcomes for k in keys] + [bases[d].outcomes for d in draws]
    wrong = base_wrong = None
    if all(o is not None for o in outcomes):
        if len({o.problems for o in outcomes}) > 1:
            raise ValueError(f"experiment {config.name!r}: outcomes on different problem sets")
        problems = (len(levels), -1)
        wrong = np.stack([o.wrong.reshape(problems) for o in outcomes[: len(keys)]])
        wrong = wrong.reshape(*shape, *wrong.shape[1:])
        base_wrong = np.stack([bases[d].outcomes.wrong.reshape(problems) for d in draws])
    return Measured(
        buckets=buckets,
        budgets=tuple(budgets),
        draws=tuple(draws),
        levels=tuple(levels),
        level_error=level_error,
        base_level_error=np.array(
            [[float(bases[d].level_errors[str(k)]) for k in levels] for d in draws]
        ),
        train_error=np.array([r["train_error"] for r in records], float).reshape(shape),
        target_weights=level_vector(config.grid.target_weights(), levels),
        bucket_weights=np.array([level_vector(b.weights(), levels) for b in config.grid.buckets]),
        wrong=wrong,
        base_wrong=base_wrong,
    )


def combined(parts: dict[str, Measured]) -> Measured:
    """Experiments of one grid that differ only in their bases (a family of pretraining
    ranges) as one experiment whose base draws are all of theirs, labelled
    ``<name>/<seed>``."""
    first = next(iter(parts.values()))
    for name, part in parts.items():
        if (part.buckets, part.budgets, part.levels) != (
            first.buckets,
            first.budgets,
            first.levels,
        ):
            raise ValueError(f"experiment {name!r} has another grid than {list(parts)[0]!r}")
    outcomes = all(part.wrong is not None for part in parts.values())

    def joined(field):
        return np.concatenate([getattr(part, field) for part in parts.values()])

    return Measured(
        buckets=first.buckets,
        budgets=first.budgets,
        draws=tuple(f"{name}/{d}" for name, part in parts.items() for d in part.draws),
        levels=first.levels,
        level_error=joined("level_error"),
        base_level_error=joined("base_level_error"),
        train_error=joined("train_error"),
        target_weights=first.target_weights,
        bucket_weights=first.bucket_weights,
        wrong=joined("wrong") if outcomes else None,
        base_wrong=joined("base_wrong") if outcomes else None,
    )
