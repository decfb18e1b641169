"""What every synthetic task provides: levels, deterministic sampling, datasets, test sets.

A task samples one problem at a difficulty level from a seed, deterministically. Everything
else is shared here: a mixture of levels with exact weights becomes a fixed dataset of n
examples (the count per level allocated by largest remainders, so its proportions are as
close to the weights as n allows), and held-out test sets per level are kept disjoint from
every training set by a content hash of the problem. A grid cell's seed (``cell_seed``) and a
mixture's error from per-level errors (``mixture_error``) live here too, so that the stage
that trains cells and the one that analyses them (or a pilot file) derive them alike.
"""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass
from fractions import Fraction
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class Example:
    """One problem and its solution as a fixed-length token sequence.

    tokens_L: token ids, padded; loss_mask_L: 1 on the solution tokens the model must
    predict (the targets are tokens_L shifted by one); problem_length: tokens before the
    solution; offset: leading neutral tokens (a random prefix) before the problem. The tokens
    between them alone define the problem (used for hashing, so one problem behind two
    prefixes is one problem).
    """

    tokens: np.ndarray
    loss_mask: np.ndarray
    level: int
    problem_length: int
    offset: int = 0

    def problem_hash(self) -> str:
        return content_hash(self.tokens[self.offset : self.problem_length])


@dataclass(frozen=True)
class Dataset:
    """n examples stacked: tokens_NxL, loss_mask_NxL, levels_N, and the problem hashes."""

    tokens: np.ndarray
    loss_mask: np.ndarray
    levels: np.ndarray
    hashes: tuple[str, ...]

    def __len__(self) -> int:
        return self.tokens.shape[0]


class Task(Protocol):
    levels: tuple[int, ...]
    length: int  # L, the padded length of every example
    vocab_size: int  # token ids lie in 0 … vocab_size − 1

    # Capabilities, class attributes the code outside tasks/ reads in place of the task's kind
    # (the solvable task states them too, though it samples no tokens):
    exact_risks: bool  # risks and KL closed form: no network, test sets or Monte-Carlo bound
    complexity: tuple[str, str]  # (a cell's stored term, its name in reports): θ's complexity
    solution_roles: bool  # a solution token's role follows from its position (run/probe)
    label_free_steps: int  # leading solution tokens that follow from the problem alone
    level_key: str  # the [task] key that sets how many levels there are
    level_range: range  # the levels, countable before they are listed

    def sample(self, seed: int, level: int) -> Example: ...

    problem_count_exact: bool  # problem_count is the count itself, not a bound above it

    def problem_count(self, level: int) -> int: ...  # distinct problems (or a bound above)


def content_hash(tokens: np.ndarray) -> str:
    return hashlib.sha256(np.asarray(tokens, dtype=np.int32).tobytes()).hexdigest()[:32]


def exact_weights(weights: dict[int, object], levels: tuple[int, ...]) -> dict[int, Fraction]:
    """Level weights as exact fractions, checked: known levels, ≥ 0, summing to exactly 1."""
    exact = {}
    for level, weight in weights.items():
        if level not in levels:
            raise ValueError(f"level {level} is not a level of this task: allowed {levels}")
        value = Fraction(weight) if not isinstance(weight, float) else Fraction(str(weight))
        if value < 0:
            raise ValueError(f"weight of level {level} = {value} is negative")
        exact[level] = value
    if sum(exact.values()) != 1:
        raise ValueError(f"level weights sum to {sum(exact.values())}: they must sum to 1")
    return exact


def allocate(weights: dict[int, Fraction], n: int, seed: int | None = None) -> dict[int, int]:
    """Counts per level summing to n, each within 1 of n·w(k) (largest remainders). Ties
    between equal remainders go to the easier level, or, given a ``seed``, to levels drawn
    at random from it: n = 1 from a uniform bucket is then a random level of the bucket,
    not always its easiest."""
    if n < 1:
        raise ValueError(f"n = {n} is out of range: allowed [1, inf)")
    floors = {level: int(w * n) for level, w in weights.items()}
    left = n - sum(floors.values())
    levels = sorted(weights)
    tie = dict(zip(levels, range(len(levels)), strict=True))
    if seed is not None:
        tie = dict(
            zip(levels, np.random.default_rng([seed, 3]).permutation(len(levels)), strict=True)
        )
    by_remainder = sorted(
        weights, key=lambda level: (-(weights[level] * n - floors[level]), tie[level])
    )
    for level in by_remainder[:left]:
        floors[level] += 1
    return floors


def allocation_distance(weights: dict[int, Fraction], n: int, seed: int | None = None) -> float:
    """TV(a, w) = ½ Σ_k |n_k/n − w(k)|: how far the level proportions a that ``allocate``
    gives a sample of n lie from the mixture w. A bound on the allocated mixture's risk
    Σ_k a(k)·R_k (what a PAC-Bayes bound on such a sample certifies) plus this distance
    bounds the mixture's own risk Σ_k w(k)·R_k when losses lie in [0, 1]."""
    counts = allocate(weights, n, seed)
    return float(sum(abs(Fraction(counts[k], n) - Fraction(w)) for k, w in weights.items()) / 2)


def mixture_error(level_errors: dict[int, float], weights: dict) -> float:
    """Σ_k w(k)·error(k): the error under a mixture of levels (weights exact fractions), e.g.
    the in-distribution error of a bucket or the target error, from per-level test errors."""
    return float(sum(float(w) * level_errors[k] for k, w in weights.items()))


def cell_seed(bucket: str, budget: int, seed: int, base: int = 0) -> int:
    """A data/PRNG seed owned by one cell, independent of the grid's other cells and of the
    other base draws' cells (the draw with pretraining seed 0 keeps the key cells had before
    base draws existed, so that its cells are the ones a single-draw experiment stores)."""
    draw = f"/base{base}" if base else ""
    return zlib.crc32(f"{bucket}/{budget}/{seed}{draw}".encode())


def _stack(examples: list[Example]) -> Dataset:
    return Dataset(
        tokens=np.stack([e.tokens for e in examples]),
        loss_mask=np.stack([e.loss_mask for e in examples]),
        levels=np.array([e.level for e in examples], dtype=np.int32),
        hashes=tuple(e.problem_hash() for e in examples),
    )


def pretraining_half(digest: str) -> bool:
    """True for the half of the problem space (by content hash) a disjoint base pretrains on;
    fine-tuning samples, test sets and validity pools then come from the other half, so the
    prior never sees a problem it is evaluated or fine-tuned on."""
    return int(digest[0], 16) < 8


def finetuning_half(digest: str) -> bool:
    return not pretraining_half(digest)


def any_problem(digest: str) -> bool:
    """Accepts every problem: the default of the samplers below."""
    return True


def _seeds(seed: int, purpose: str, level: int):
    """An endless, reproducible stream of seeds for one purpose and level."""
    tag = int(content_hash(np.frombuffer(purpose.encode(), np.uint8))[:8], 16)
    stream = np.random.default_rng([seed, level, tag])
    while True:
        yield int(stream.integers(0, 2**63 - 1))


def held_out_sets(task: Task, seed: int, size: int, accept=any_problem) -> dict[int, Dataset]:
    """A held-out test set of ``size`` distinct problems for every level, each accepted by
    ``accept(problem hash)``."""
    sets = {}
    for level in task.levels:
        examples, seen = [], set()
        for attempt, example_seed in enumerate(_seeds(seed, "test", level)):
            if attempt == 100 * size:
                raise ValueError(f"level {level} has fewer than {size} distinct problems")
            example = task.sample(example_seed, level)
            digest = example.problem_hash()
            if digest not in seen and accept(digest):
                seen.add(digest)
                examples.append(example)
            if len(examples) == size:
                break
        sets[level] = _stack(examples)
    return sets


def mixture_dataset(
    task: Task,
    seed: int,
    weights: dict[int, object],
    n: int,
    exclude: set[str] = frozenset(),
    accept=any_problem,
) -> Dataset:
    """n training examples from the mixture ``weights`` over levels, none of whose problems
    is in ``exclude`` (the hashes of the test sets), each accepted by ``accept(hash)``."""
    counts = allocate(exact_weights(weights, task.levels), n, seed)
    examples = []
    for level, count in sorted(counts.items()):
        stream = _seeds(seed, "train", level)
        for _ in range(100 * count + 1000):  # bounded: a tiny task may run out of problems
            if not count:
                break
            example = task.sample(next(stream), level)
            digest = example.problem_hash()
            if digest not in exclude and accept(digest):
                examples.append(example)
                count -= 1
        if count:
            raise ValueError(f"level {level}: too few problems outside the held-out sets")
    return _stack(examples)


def mixture_sample(
    task: Task, seed: int, weights: dict[int, object], count: int, accept=any_problem
):
    """``count`` independent draws from the mixture (each row's level drawn from the weights,
    then a problem of that level accepted by ``accept``), as a Dataset: i.i.d. draws of the
    mixture itself, for Monte-Carlo risks."""
    exact = exact_weights(weights, task.levels)
    levels = sorted(exact)
    rng = np.random.default_rng([seed, 5])
    drawn = rng.choice(levels, size=count, p=[float(exact[k]) for k in levels])
    streams = {k: _seeds(seed, "pool", k) for k in levels}
    examples = []
    for level in drawn:
        for _ in range(1000):
            example = task.sample(next(streams[int(level)]), int(level))
            if accept(example.problem_hash()):
                examples.append(example)
                break
        else:
            raise ValueError(f"level {level}: no accepted problem in 1000 draws")
    return _stack(examples)
