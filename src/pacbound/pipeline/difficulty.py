"""Store → the difficulty report: each family whose bases were fine-tuned under both
definitions of the buckets (``[grid] difficulty = ["op-count", "base-loss"]``)."""

from __future__ import annotations

import sys
from pathlib import Path

from pacbound.analysis.difficulty import DEFINITIONS, compare_definitions
from pacbound.analysis.hierarchy import from_store
from pacbound.store import Store

DIFFICULTY_SEED = 0


def base_name(experiment) -> str | None:
    """The base of a difficulty variant, ``<family>-<base>-<definition>`` → ``<base>``
    (``base`` for a family of one base); None for an experiment that is not one."""
    suffix = f"-{experiment.grid.difficulty}"
    variant = experiment.raw.get("grid", {}).get("difficulty") and experiment.family
    if not variant or not experiment.name.endswith(suffix):
        return None
    return experiment.name[len(experiment.family) + 1 : -len(suffix)] or "base"


def composition(cells, draw: int) -> dict[str, dict[str, float]]:
    """{bucket: {level: share}} of one base draw's base-loss buckets (every cell of a draw
    and bucket records the same)."""
    return {cell.bucket: cell.record["bucket_level_shares"] for cell in cells if cell.base == draw}


def difficulty_comparisons(store: Store, experiments: list, stored) -> list[dict]:
    """``compare_definitions`` of every family with both definitions on some base;
    ``stored(store, experiment)`` gives (cells, bases)."""
    families: dict[str, dict[str, dict]] = {}
    for experiment in experiments:
        name = base_name(experiment)
        if name is not None:
            base = families.setdefault(experiment.family, {}).setdefault(name, {})
            base[experiment.grid.difficulty] = experiment
    complete = {
        family: {name: pair for name, pair in bases.items() if set(DEFINITIONS) <= set(pair)}
        for family, bases in sorted(families.items())
    }
    reported = {e.name for bases in complete.values() for p in bases.values() for e in p.values()}
    for experiment in experiments:
        if experiment.grid.relative and experiment.name not in reported:
            print(
                f"{experiment.name}: base-loss buckets without an op-count twin on its base, "
                'not reported ([grid] difficulty = ["op-count", "base-loss"] pairs them)',
                file=sys.stderr,
            )
    comparisons = []
    for family, paired in complete.items():
        if not paired:
            continue
        # Every base draw is a base of its own: ``<base>/<pretraining seed>``.
        measured, compositions, levels = {}, {}, {}
        for name, pair in paired.items():
            read = {d: stored(store, pair[d]) for d in DEFINITIONS}
            whole = {d: from_store(pair[d], draws, cells) for d, (cells, draws) in read.items()}
            for index, seed in enumerate(pair["op-count"].base_seeds):
                draw = f"{name}/{seed}"
                measured[draw] = {d: whole[d].draw(index) for d in DEFINITIONS}
                compositions[draw] = composition(read["base-loss"][0], seed)
                levels[draw] = list(pair["op-count"].pretrain.levels)
        comparisons.append(
            compare_definitions(family, measured, compositions, levels, DIFFICULTY_SEED)
        )
    return comparisons


def write_difficulty(comparisons: list[dict], out: Path, draw: bool = True) -> list[Path]:
    from pacbound.report.difficulty import switch_by_base, write_difficulty_report

    paths = []
    for comparison in comparisons:
        paths += write_difficulty_report(comparison, out)
        paths += switch_by_base(comparison, out) if draw else []
    return paths
