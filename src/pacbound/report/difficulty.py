"""The difficulty report (``<family>_difficulty.md``/``.json``) and its figure: op-count
buckets against base-loss buckets on the same bases, rendered from
``pacbound.analysis.difficulty.compare_definitions`` alone."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from pacbound.analysis.difficulty import DEFINITIONS, switch_scale
from pacbound.report.figures import legend_beside, save_figure
from pacbound.report.markdown import header, write_pair

STEM = "{family}_difficulty"


def _interval(values) -> str:
    return f"[{values[0]:.1f}, {values[1]:.1f}]"


def difficulty_markdown(comparison: dict) -> str:
    family, budgets = comparison["family"], comparison["budgets"]
    buckets, spread = comparison["buckets"], comparison["spread"]
    first = comparison["bases"][0]["definitions"]["op-count"]
    lines = [
        f"# Difficulty relative to the base: `{family}`\n",
        "The same bases, grid, seeds and target (the op-count mixture) under two definitions "
        "of the buckets. **op-count**: a bucket is its range of levels. **base-loss**: one "
        "pool of every bucket's levels, ranked by the base's own loss on each problem "
        "(−ln p of its solution), cut into the op-count buckets' shares; a cell's examples "
        "are drawn from its bucket's part of the pool. If difficulty relative to the base is "
        "why a stronger base has a harder optimum, the switch budget (the first budget from "
        "which the hardest bucket stays optimal) should spread less across bases under "
        "base-loss buckets.\n",
        f"Intervals: 95%, from {first['resamples']} bootstrap resamples per (base, "
        f"definition) ({' → '.join(first['resampled'])}); the spread's from "
        f"{spread['replicates']} replicates drawing every (base, definition) switch from its "
        "own distribution, as if independent (bases are; the two definitions share each base, "
        "its held-out problems and the cells' keys, which the difference's interval does not "
        "use). Base-loss results are conditional on the one pool their buckets were cut "
        "from.\n",
        f"![switch budget per base]({STEM.format(family=family)}.png)\n",
        "## The spread of the switch budget across bases\n",
        "In doublings of the budget (max − min of log2 n* over the bases). A base that never "
        "switches counts as one doubling past the largest budget, so a spread involving it "
        "is a lower bound: censored, where some base's switch is never in its point or in "
        "more than 2.5% of its resamples. The max − min of noisy switches grows with their "
        "noise: a noisier definition shows a larger spread for that alone.\n",
        "Noise alone: the spread of each base's resampled switch about its own point (as if "
        "the bases switched at one budget and only their bootstrap noise differed), median "
        "over the replicates; p: the share of replicates whose noise-alone spread reaches the "
        "measured spread.\n",
        *header(
            "definition",
            "switch budget per base (weakest first)",
            "spread [95%]",
            "censored",
            "noise alone (median)",
            "p",
        ),
    ]
    for definition in comparison["definitions"]:
        switches = ", ".join(
            row["definitions"][definition]["switch"] for row in comparison["bases"]
        )
        part = spread[definition]
        lines.append(
            f"| {definition} | {switches} | {part['spread']:.1f} {_interval(part['interval_95'])}"
            f" | {'yes' if part['censored'] else 'no'} | {part['noise_alone_median']:.1f} | "
            f"{part['noise_alone_p']:.3f} |"
        )
    difference = spread["difference"]
    lines += [
        "",
        f"op-count − base-loss spread: {difference['op_count_minus_base_loss']:+.1f} "
        f"{_interval(difference['interval_95'])} doublings; P(smaller under base-loss) = "
        f"{difference['p_smaller_under_base_loss']:.2f}. Verdict: **{difference['verdict']}**.\n",
        "## The optimal bucket by budget\n",
        "Each cell: op-count / base-loss. The switch budget's 95% interval is in brackets.\n",
        *header("base", "target error of the base", *(f"n = {n}" for n in budgets), "switch"),
    ]
    for row in comparison["bases"]:
        ops, loss = (row["definitions"][d] for d in DEFINITIONS)
        low, high = row["pretrain_levels"]
        cells = [f"{a} / {b}" for a, b in zip(ops["optimum"], loss["optimum"], strict=True)]
        switch = (
            f"{ops['switch']} [{', '.join(ops['switch_interval_95'])}] / {loss['switch']} "
            f"[{', '.join(loss['switch_interval_95'])}]"
        )
        lines.append(
            f"| {row['base']} (levels {low}–{high}) | {row['base_target_error']:.3f} | "
            + " | ".join(cells)
            + f" | {switch} |"
        )
    lines += [
        "",
        "## Where the base-loss buckets sit on the op-count scale\n",
        "Share of each base-loss bucket's pool problems per level, and its mean level.\n",
    ]
    for row in comparison["bases"]:
        levels = sorted({int(k) for parts in row["composition"].values() for k in parts})
        lines += [f"**{row['base']}**\n", *header("bucket", *map(str, levels), "mean level")]
        for bucket in buckets:
            shares = row["composition"][bucket]
            cells = [f"{shares.get(str(k), 0.0):.2f}" for k in levels]
            lines.append(
                f"| {bucket} | " + " | ".join(cells) + f" | {row['mean_level'][bucket]:.2f} |"
            )
        lines.append("")
    lines += ["## Target error per bucket and budget\n", "Mean over seeds: op-count / base-loss.\n"]
    for row in comparison["bases"]:
        ops, loss = (np.array(row["definitions"][d]["target_error"]) for d in DEFINITIONS)
        lines += [f"**{row['base']}**\n", *header("bucket", *(f"n = {n}" for n in budgets))]
        for b, bucket in enumerate(buckets):
            cells = [f"{ops[b, i]:.3f} / {loss[b, i]:.3f}" for i in range(len(budgets))]
            lines.append(f"| {bucket} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def write_difficulty_report(comparison: dict, out: Path) -> tuple[Path, Path]:
    stem = STEM.format(family=comparison["family"])
    return write_pair(out, stem, difficulty_markdown, comparison)


def switch_by_base(comparison: dict, out_dir: Path) -> list[Path]:
    """The switch budget of each base (weakest first) under both definitions, with its 95%
    interval; "never" drawn one doubling past the largest budget."""
    names, positions = switch_scale(comparison["budgets"])
    figure, axis = plt.subplots(figsize=(5.6, 3.8))
    x = np.arange(len(comparison["bases"]))
    for offset, definition in zip((-0.1, 0.1), DEFINITIONS, strict=True):
        parts = [row["definitions"][definition] for row in comparison["bases"]]
        point = np.array([positions[p["switch_index"]] for p in parts], float)
        low = np.array([positions[names.index(p["switch_interval_95"][0])] for p in parts])
        high = np.array([positions[names.index(p["switch_interval_95"][1])] for p in parts])
        # The interval as a bar of its own: a discrete switch can lie outside the interval
        # of its replicates (then the marker sits beside the bar, as measured).
        (marker,) = axis.plot(
            x + offset,
            point,
            "o",
            label=f"{definition} (spread {comparison['spread'][definition]['spread']:.1f})",
        )
        axis.vlines(x + offset, low, high, color=marker.get_color())
    axis.set_yscale("log", base=2)
    axis.set_yticks(positions, names)
    labels = [f"{row['base']}\nerror {row['base_target_error']:.2f}" for row in comparison["bases"]]
    axis.set_xticks(x, labels)
    axis.set_xlabel("base (weakest first; its own target error)")
    axis.set_ylabel("switch budget (95% interval)")
    axis.set_title("Switch to the hardest bucket: op-count against base-loss buckets")
    legend_beside(axis, fontsize=8)
    return save_figure(figure, out_dir, STEM.format(family=comparison["family"]))
