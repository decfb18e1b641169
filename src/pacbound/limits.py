"""What an experiment's values must satisfy beyond their types (``pacbound.inputs`` checks
those): the lower bounds of the fields of classes whose modules stay as they are, the sizes a
run can hold, names that become file names, and the levels and difficulties of a grid.

``pacbound.config`` calls these while it reads a config; each failure is one ``ConfigError``
naming its table and key. Nothing here decides a stored number: a config these refuse is
never run.
"""

from __future__ import annotations

import math

from pacbound import inputs
from pacbound.inputs import ConfigError, toml_value
from pacbound.model import ModelConfig
from pacbound.recipe import OptimizerConfig, PretrainConfig
from pacbound.tasks.igsm import IGSMLite
from pacbound.tasks.solvable import SolvableLinear

#: Lower bounds (``inputs.build``'s ``limits``) of the fields of dataclasses whose modules key
#: stored results and cached bases (``provenance``): they stay as they are, and these are
#: checked before the class is built (its own checks may divide by a value: width % heads).
LIMITS = {
    ModelConfig: {name: {"minimum": 1} for name in ("layers", "width", "heads", "mlp_ratio")},
    OptimizerConfig: {
        **{name: {"minimum": 1} for name in ("steps", "batch", "min_steps")},
        **{name: {"minimum": 0} for name in ("warmup_steps", "epochs", "subspace")},
        "projection_seed": {"minimum": 0},
    },
    PretrainConfig: {"seed": {"minimum": 0}, "chunk": {"minimum": 1}},
    IGSMLite: {"distractors": {"minimum": 0}},
    SolvableLinear: {"seed": {"minimum": 0}},  # numpy's generators take seeds ≥ 0 only
}

#: The upper bound of an array a run holds whole: 2^38 elements (1 TiB of int32 tokens or
#: float32 scores) is more than any accelerator or ordinary machine holds, however long the
#: run may take. With MAX_LEVELS, the only upper bounds beyond each integer's own 2^31: a
#: size below them costs time or memory, not possibility (a long ``prefix`` lengthens every
#: array: bounded here).
ARRAY_LIMIT = 2**38

#: The most levels a task may have: every stored cell keeps its error at each level in one
#: JSON text (at least 8 bytes a level, ``"k": x, ``), and SQLite refuses a text over 10^9
#: bytes.
MAX_LEVELS = 10**9 // 8

DIFFICULTIES = ("op-count", "base-loss")


def check_names(raw: dict) -> None:
    """The name (and family) become file names (``<name>_report.md``): plain file stems."""
    if "name" in raw:
        inputs.check_name(raw["name"])
    if raw.get("family"):  # "": no family
        inputs.check_name(raw["family"], key="family")


def check_levels(name: str, low: int, high: int, levels: tuple[int, ...], where=()) -> None:
    if not (low in levels and high in levels and low <= high):
        message = f"{name} = [{low}, {high}] is not a range of the task's levels {levels}"
        raise ConfigError(message, *where)


def check_task(task) -> None:
    """The task's levels, counted before they are listed: at most MAX_LEVELS, and (a language
    task) a held-out set of one problem per level below ARRAY_LIMIT tokens."""
    key, count = task.level_key, len(task.level_range)
    value = getattr(task, key)
    if count > MAX_LEVELS:
        raise ConfigError(
            f"[task] {key} = {value} is out of range: {count} levels, allowed at most "
            f"{MAX_LEVELS} (a stored cell keeps its error at every level in one text, which "
            "SQLite caps at 10^9 bytes)",
            *("task", key),
        )
    if not task.exact_risks and count * task.length >= ARRAY_LIMIT:  # exact: no test sets
        raise ConfigError(
            f"[task] {key} = {value} is out of range: even one held-out problem per level is "
            f"{count} levels × {task.length} tokens, not below 2^38",
            *("task", key),
        )


def check_problems(task, test_size: int, disjoint: bool) -> None:
    """Each level's held-out set (``test_size`` distinct problems) leaves problems for
    training: its easiest level has the fewest (``problem_count`` grows with the level; for
    the graph structure it is an upper bound). A disjoint base keeps about half of them for
    pretraining, so the other half must hold the set."""
    level = task.levels[0]
    count = task.problem_count(level)
    usable = count // 2 if disjoint else count
    if test_size >= usable:
        at_most = "" if task.problem_count_exact else "at most "
        share = (
            ", and a disjoint base ([pretrain] disjoint) keeps about half of them: the other half"
            if disjoint
            else ": they"
        )
        raise ConfigError(
            f"[grid] test_size = {test_size} is out of range: allowed up to {max(usable - 1, 0)} "
            f"(level {level} has {at_most}{count} distinct problems{share} must hold the "
            "held-out set and leave some for training)",
            *("grid", "test_size"),
        )


def check_sizes(grid, levels, model, batch: int) -> None:
    """The held-out set, the training sets of an ensemble (its cells run as one program), the
    ranked pool (tokens) and one batch's attention scores (batch × heads × L × L, L the
    context) are each below ARRAY_LIMIT."""
    length, scores = model.length, batch * model.heads
    if scores * length * length >= ARRAY_LIMIT:
        largest = math.isqrt((ARRAY_LIMIT - 1) // scores)
        raise ConfigError(
            f"[task] the context L = {length} is out of range: allowed up to {largest} (one "
            f"batch's attention scores: {batch} problems × {model.heads} heads × L × L, "
            "below 2^38)",
            "task",  # L follows from several of its keys: its header's line
        )
    pooled = grid.buckets[-1].high - grid.buckets[0].low + 1  # the ranked pool's levels
    arrays = [  # (key, its value, problems per unit of it, the array)
        ("test_size", grid.test_size, len(levels), f"the held-out set: {len(levels)} levels ×"),
        ("budgets", max(grid.budgets), grid.ensemble, f"{grid.ensemble} cells' training sets ×"),
    ]
    if grid.relative:
        arrays.append(("pool", grid.pool, pooled, f"the ranked pool: {pooled} levels ×"))
    for key, value, problems, what in arrays:
        if value * problems * length >= ARRAY_LIMIT:
            largest = (ARRAY_LIMIT - 1) // (problems * length)
            shown = toml_value(list(grid.budgets)) if key == "budgets" else value
            unit = "n" if key == "budgets" else key
            raise ConfigError(
                f"[grid] {key} = {shown} is out of range: allowed up to {largest} "
                f"({what} {unit} × {length} tokens, below 2^38)",
                *("grid", key),
            )


def check_difficulty(grid, refused: bool) -> None:
    """Base-loss buckets cut one pool into the op-count buckets' shares: they tile a range of
    levels, each share holds the largest budget, the base never saw the pool; no certificates."""
    if grid.difficulty not in DIFFICULTIES:
        raise ConfigError(
            f"[grid] difficulty = {grid.difficulty!r} is not one of {', '.join(DIFFICULTIES)}",
            *("grid", "difficulty"),
        )
    if not grid.relative:
        return
    if refused:
        raise ConfigError(
            "[grid] difficulty = 'base-loss' needs [pretrain] disjoint = true, no [certify]",
            *("grid", "difficulty"),
        )
    for left, right in zip(grid.buckets, grid.buckets[1:], strict=False):
        if right.low != left.high + 1:
            raise ConfigError(
                f"[grid] difficulty = 'base-loss' needs buckets that tile a range of levels: "
                f"{left.name} ends at {left.high}, {right.name} starts at {right.low}",
                *("grid", "buckets"),
            )
    narrowest, most = min(b.high - b.low + 1 for b in grid.buckets), max(grid.budgets)
    if grid.pool * narrowest < most:  # the smallest share must hold the largest budget
        raise ConfigError(
            f"[grid] pool = {grid.pool} gives a bucket {grid.pool * narrowest} problems, fewer "
            f"than the largest budget {most}: allowed [{-(-most // narrowest)}, inf)",
            *("grid", "pool"),
        )
