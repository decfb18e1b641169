"""Store → the difficulty report: each family whose bases were fine-tuned under both
definitions of the buckets (``[grid] difficulty = ["op-count", "base-loss"]``)."""

from __future__ import annotations

from pathlib import Path

from pacbound.analysis.difficulty import DEFINITIONS, compare_definitions
from pacbound.analysis.hierarchy import from_store
from pacbound.store import Store

DIFFICULTY_SEED = 0


def base_name(experiment) -> str:
    """The base of a difficulty variant: ``<family>-<base>-<definition>`` → ``<base>``
    (``base`` for a family of one base)."""
    middle = experiment.name[len(experiment.family) + 1 : -len(experiment.grid.difficulty) - 1]
    return middle or "base"


def composition(cells, draw: int) -> dict[str, dict[str, float]]:
    """{bucket: {level: share}} of one base draw's base-loss buckets (every cell of a draw
    and bucket records the same)."""
    return {cell.bucket: cell.record["bucket_levels"] for cell in cells if cell.base == draw}


def difficulty_comparisons(store: Store, experiments: list, stored) -> list[dict]:
    """``compare_definitions`` of every family with both definitions on some base;
    ``stored(store, experiment)`` gives (cells, bases)."""
    families: dict[str, dict[str, dict]] = {}
    for experiment in experiments:
        if experiment.family and experiment.raw.get("grid", {}).get("difficulty"):
            base = families.setdefault(experiment.family, {}).setdefault(base_name(experiment), {})
            base[experiment.grid.difficulty] = experiment
    comparisons = []
    for family, bases in sorted(families.items()):
        paired = {name: pair for name, pair in bases.items() if set(DEFINITIONS) <= set(pair)}
        if not paired:
            continue
        # Every base draw is a base of its own: ``<base>/<pretraining seed>``.
        measured, compositions, levels = {}, {}, {}
        for name, pair in paired.items():
            read = {d: stored(store, pair[d]) for d in DEFINITIONS}
            whole = {d: from_store(pair[d], bases, cells) for d, (cells, bases) in read.items()}
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
