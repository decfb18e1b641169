"""The exact experiment's figures: d*(n) with its band and predictions, the landscapes, and
the per-level risks."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pacbound.numeric.argmin import first_minimum
from pacbound.report.figures import legend_beside, plt, predictions_by_budget, save_figure


def exact_figures(result: dict, evaluation: dict, out_dir: Path) -> list[Path]:
    """The skill ladder's figures: d*(n), the landscapes, the per-level risks, predictions."""
    stem = result["experiment"]
    buckets = result["buckets"]
    paths = exact_optimum(result, evaluation, out_dir, stem)
    paths += exact_landscape(result, out_dir, stem)
    paths += exact_level_risks(result, out_dir, stem)
    if "gain" in result:
        paths += exact_gain(result, out_dir, stem)
    paths += predictions_by_budget(evaluation, buckets, out_dir, stem)
    return paths


def exact_optimum(result: dict, evaluation: dict, out_dir: Path, stem: str) -> list[Path]:
    """The true d*(n) with its band, each certified bound's argmin and the best predictors'
    held-out choices, against n."""
    buckets, budgets = result["buckets"], np.array(result["budgets"])
    index = {b: i for i, b in enumerate(buckets)}
    truth = result["truth"]
    figure, axis = plt.subplots(figsize=(7.0, 4.2))
    for n, band in zip(budgets, truth["band"], strict=True):
        ys = [index[b] for b in band]
        axis.fill_between([n / 1.16, n * 1.16], min(ys) - 0.3, max(ys) + 0.3, color="0.8", lw=0)
    axis.plot(budgets, [index[b] for b in truth["d_star"]], "k-", lw=2.2, label="true d*(n)")
    styles = {
        "tv": ":",
        "coverage": "--",
        "w1": "-.",
        "upward": (0, (1, 3)),
        "gain (no harm)": (0, (6, 2, 1, 2)),
    }
    for term, data in result["bound_optimum"].items():
        ys = np.array([index[b] for b in data["d_star"]]) + 0.06 * (list(styles).index(term) - 1.5)
        axis.plot(budgets, ys, linestyle=styles[term], lw=1.4, label=f"argmin bound: {term}")
    rows = evaluation["protocols"]["leave-one-budget-out"]["predictors"]
    for name, marker in (("two-gap fit", "o"), ("nearest pilot", "s"), ("curve fit", "^")):
        choices = rows[name]["choices"]
        xs = [int(n) for n, c in choices.items() if c]
        ys = [np.mean([index[b] for b in c]) for c in choices.values() if c]
        axis.scatter(xs, ys, marker=marker, s=18, zorder=3, label=f"{name} (held out)")
    axis.set_xscale("log")
    axis.set_yticks(range(len(buckets)), buckets)
    axis.set_xlabel("budget n")
    axis.set_ylabel("bucket (levels)")
    axis.set_title(
        "Skill ladder: the true optimal bucket (grey: within 2 paired SE) and predictions",
        fontsize=9,
    )
    legend_beside(axis, fontsize=6.5)
    figure.tight_layout()
    return save_figure(figure, out_dir, f"{stem}_optimum")


def exact_landscape(result: dict, out_dir: Path, stem: str) -> list[Path]:
    """Expected target risk over (bucket, n) beside each shift term's certified bound on it,
    the argmin over buckets at each n marked."""
    buckets, budgets = result["buckets"], result["budgets"]
    panels = {"true target risk": np.array(result["truth"]["mean"])}
    panels.update(
        {f"bound: {t}": np.array(v["mean"]) for t, v in result["bound_landscape"].items()}
    )
    figure, axes = plt.subplots(1, len(panels), figsize=(3.1 * len(panels), 3.4), sharey=True)
    for axis, (title, values) in zip(axes, panels.items(), strict=True):
        image = axis.imshow(values, aspect="auto", origin="lower", cmap="viridis")
        axis.scatter(range(len(budgets)), first_minimum(values, axis=0), c="w", s=8)
        axis.set_title(title, fontsize=8)
        ticks = list(range(0, len(budgets), 4))
        axis.set_xticks(ticks, [budgets[i] for i in ticks], fontsize=6)
        axis.set_xlabel("n", fontsize=7)
        figure.colorbar(image, ax=axis, fraction=0.05).ax.tick_params(labelsize=6)
    axes[0].set_yticks(range(len(buckets)), buckets, fontsize=6)
    figure.suptitle("Landscapes over (bucket, n); white dots: the argmin at each n", fontsize=8)
    figure.tight_layout()
    return save_figure(figure, out_dir, f"{stem}_landscape")


def exact_level_risks(result: dict, out_dir: Path, stem: str) -> list[Path]:
    """Per-level expected risk of every bucket's posterior at a small and a large budget,
    with the base's (the prior's)."""
    buckets, budgets = result["buckets"], result["budgets"]
    shown = [budgets.index(n) for n in result["level_risk_budgets"]]
    levels = np.arange(1, len(result["base_level_risk"]) + 1)
    mean = np.array(result["level_risk_mean"])  # BxNxK
    figure, axes = plt.subplots(1, len(shown), figsize=(4.4 * len(shown), 3.4), sharey=True)
    colours = plt.cm.plasma(np.linspace(0, 0.9, len(buckets)))
    for axis, i in zip(axes, shown, strict=True):
        axis.plot(levels, result["base_level_risk"], "k--", lw=1.5, label="base")
        for b, bucket in enumerate(buckets):
            axis.plot(levels, mean[b, i], color=colours[b], lw=1, label=bucket)
        axis.set_title(f"n = {budgets[i]}", fontsize=9)
        axis.set_xlabel("level")
    axes[0].set_ylabel("expected risk on the level")
    legend_beside(axes[-1], fontsize=6)
    figure.tight_layout()
    return save_figure(figure, out_dir, f"{stem}_level_risk")


def exact_gain(result: dict, out_dir: Path, stem: str) -> list[Path]:
    """Per bucket against n: the true target gain over the base and the certified one
    (split-kl on the bucket, other levels assumed not to lose)."""
    target = result["gain"]["target"]
    budgets, buckets = np.array(result["budgets"]), result["buckets"]
    true, certified = (
        np.array(target["true_mean"]),
        np.array(target["bounds"]["split-kl + no harm"]["mean"]),
    )
    figure, axis = plt.subplots(figsize=(7.0, 4.2))
    colours = plt.cm.viridis(np.linspace(0, 0.95, len(buckets)))
    for b, name in enumerate(buckets):
        axis.plot(budgets, true[b], "-", color=colours[b], lw=1.6, label=name)
        axis.plot(budgets, certified[b], "--", color=colours[b], lw=1.0)
    axis.axhline(0, color="k", lw=0.8)
    axis.set_xscale("log")
    axis.set_xlabel("budget n")
    axis.set_ylabel("target gain R_T(Q) − R_T(base)")
    axis.set_title(
        "Skill ladder: true target gain (solid) and certified (dashed, split-kl + no harm)",
        fontsize=9,
    )
    legend_beside(axis, fontsize=6.5)
    figure.tight_layout()
    return save_figure(figure, out_dir, f"{stem}_gain")
