"""The objectives report (``<family>_objectives.md``/``.json``): DFT against SFT on the same
cells, rendered from ``pacbound.analysis.objectives.compare_objectives`` alone."""

from __future__ import annotations

import numpy as np

from pacbound.report.claims import verdict_cell
from pacbound.report.markdown import NONE, header, write_pair


def _intervals(comparison: dict) -> str:
    """The interval family in words (a comparison from before valid few-draw inference
    used percentile intervals)."""
    if "critical" not in comparison:
        return "95% percentile intervals (judged before valid few-draw inference)"
    return (
        f"95% t intervals over the {comparison['units']} base draws (multiplier "
        f"{comparison['critical']:.3f}), standard errors from the replicates"
    )


def objectives_markdown(comparison: dict) -> str:
    buckets, budgets = comparison["buckets"], comparison["budgets"]
    difference = np.array(comparison["difference"])
    low, high = (np.array(v) for v in comparison["difference_interval"])
    lines = [
        f"# DFT against SFT: `{comparison['experiment']}`\n",
        "Every cell fine-tuned twice on the same sample, key and base: under SFT (the mean "
        "cross-entropy of the solution tokens) and under DFT (each token's cross-entropy "
        "weighted by the stop-gradient of the model's probability of it). Differences are "
        f"paired; intervals are {_intervals(comparison)} of one hierarchical bootstrap of both "
        f"objectives ({' → '.join(comparison['resampled'])}; {comparison['resamples']} "
        f"resamples), over base draws {comparison['draws']}.\n",
        f"![DFT − SFT]({comparison['experiment']}_objectives.png)\n",
        "## Claims\n",
        *header("claim", "statement", "verdict (statistic [95% interval])", "evidence"),
    ]
    for verdict in comparison["pooled"]:
        claim = verdict["claim"]
        lines.append(
            f"| {claim} | {comparison['claims'][claim]} | {verdict_cell(verdict)} | "
            f"{verdict['detail']} |"
        )
    lines += [
        "",
        "## DFT − SFT target error, per bucket and budget\n",
        "Below 0: DFT is better. Pooled over base draws and seeds.\n",
        *header("bucket", *(f"n = {n}" for n in budgets)),
    ]
    for b, name in enumerate(buckets):
        cells = [
            f"{difference[b, i]:+.3f} [{low[b, i]:+.3f}, {high[b, i]:+.3f}]"
            for i in range(len(budgets))
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", "## The optimal bucket under each objective\n", *header("n", "SFT", "DFT")]
    for n, a, b in zip(budgets, *comparison["optimum"].values(), strict=True):
        lines.append(f"| {n} | {a} | {b}{' (moved)' if a != b else ''} |")
    gains = {k: np.array(v) for k, v in comparison["level_gain"].items()}
    for i in (0, len(budgets) - 1):
        lines += [
            "",
            f"## Gain over the base per level at n = {budgets[i]} (SFT / DFT)\n",
            *header("level", *buckets),
        ]
        for k, level in enumerate(comparison["levels"]):
            cells = [
                f"{gains['sft'][b, i, k]:+.3f} / {gains['dft'][b, i, k]:+.3f}"
                for b in range(len(buckets))
            ]
            lines.append(f"| {level} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_objectives_report(comparison: dict, folder) -> tuple:
    stem = f"{comparison['experiment']}_objectives"
    return write_pair(folder, stem, objectives_markdown, comparison)


def weights_markdown(weights: dict) -> str:
    """Where DFT puts its weight: the mean token probability by role and level, per cell."""
    roles = weights["roles"]
    lines = [
        f"# Where DFT puts its weight: `{weights['experiment']}`\n",
        f"Objective: {weights['objective']}. For one cell per budget, each fine-tuned as the "
        "sweep does, the mean probability the model gives its training examples' solution "
        "tokens (teacher forced). Under DFT that probability is the token's weight: the "
        "base's are the weights of the first step, the fine-tuned model's those of the last. "
        "A weight that is high on easy roles and levels and low on hard ones is an implicit "
        "shift toward easy data.\n",
    ]
    levels = sorted({k for row in weights["cells"] for k in row["base"]["by_level"]}, key=int)
    for title, part, columns in (("role", "by_role", roles), ("level", "by_level", levels)):
        lines += [f"## By {title} (base → fine-tuned)\n", *header("bucket", "n", *columns)]
        for row in weights["cells"]:
            base, tuned = row["base"][part], row["fine-tuned"][part]
            cells = [f"{base[c]:.3f} → {tuned[c]:.3f}" if c in base else NONE for c in columns]
            lines.append(f"| {row['bucket']} | {row['budget']} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def write_weights_report(weights: dict, folder) -> tuple:
    return write_pair(folder, f"{weights['experiment']}_weights", weights_markdown, weights)


def difference_heatmap(comparison: dict, out_dir) -> list:
    """DFT − SFT target error over bucket × budget (blue: DFT better), each square with its
    difference and marked where its 95% interval excludes 0."""
    from pacbound.report.figures import plt, save_figure

    difference = np.array(comparison["difference"])
    low, high = (np.array(v) for v in comparison["difference_interval"])
    buckets, budgets = comparison["buckets"], comparison["budgets"]
    limit = max(float(np.abs(difference).max()), 1e-3)
    figure, axis = plt.subplots(figsize=(1.2 + 0.9 * len(budgets), 0.9 + 0.55 * len(buckets)))
    mesh = axis.imshow(difference, cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
    for b in range(len(buckets)):
        for i in range(len(budgets)):
            beyond = low[b, i] > 0 or high[b, i] < 0
            text = f"{difference[b, i]:+.3f}" + ("*" if beyond else "")
            colour = "white" if abs(difference[b, i]) > 0.6 * limit else "black"  # legible
            axis.text(i, b, text, ha="center", va="center", fontsize=7, color=colour)
    axis.set_xticks(range(len(budgets)), [str(n) for n in budgets])
    axis.set_yticks(range(len(buckets)), buckets)
    axis.set_xlabel("budget n")
    axis.set_title("DFT − SFT target error (* : 95% interval excludes 0)", fontsize=9)
    figure.colorbar(mesh, ax=axis, shrink=0.8)
    figure.tight_layout()
    return save_figure(figure, out_dir, f"{comparison['experiment']}_objectives")
