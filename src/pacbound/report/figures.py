"""The experiments' figures (the theory's: ``theory_figures``; the exact model's:
``exact_figures``), each written as PNG (for the index) and PDF (for papers), and what every
figure shares: saving, and legends that name only what is drawn, beside the data.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; no display is assumed
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.collections import Collection, PathCollection
from matplotlib.container import Container
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from pacbound.analysis.figure_data import ExperimentFigures
from pacbound.numeric.argmin import first_minimum
from pacbound.report.predictions import headline_protocol


def save_figure(figure, out_dir: Path, stem: str) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / f"{stem}.png", out_dir / f"{stem}.pdf"]
    for path in paths:
        # No creation date in PDFs, so that regenerating unchanged figures changes no file.
        metadata = {"CreationDate": None} if path.suffix == ".pdf" else {}
        figure.savefig(path, dpi=150, bbox_inches="tight", metadata=metadata)
    plt.close(figure)
    return paths


def drawn(artist) -> bool:
    """Whether an artist a legend would name shows anything: a line or points with a finite
    coordinate, a patch or filled area of nonzero extent, a container with a drawn part."""
    if isinstance(artist, Container):
        return any(drawn(part) for part in artist.get_children())
    if isinstance(artist, Line2D):
        return bool(np.isfinite(artist.get_xydata()).all(axis=1).any())
    if isinstance(artist, PathCollection):  # points (scatter): each offset is one marker
        offsets = np.asarray(artist.get_offsets())
        return bool(len(offsets) and np.isfinite(offsets).all(axis=1).any())
    if isinstance(artist, Collection):  # areas and segments
        return any(len(path.vertices) for path in artist.get_paths())
    if isinstance(artist, Patch):
        extent = artist.get_path().get_extents(artist.get_patch_transform())
        return extent.width > 0 and extent.height > 0
    return True  # another kind of artist: trusted as drawn


def legend_beside(axis, **options) -> None:
    """The axis's legend beside it on the right, never over the data, naming only the
    series that are drawn (none drawn: no legend)."""
    entries = [
        (handle, label)
        for handle, label in zip(*axis.get_legend_handles_labels(), strict=True)
        if drawn(handle)
    ]
    if entries:
        handles, labels = zip(*entries, strict=True)
        options = {"fontsize": 7, "frameon": False} | options
        axis.legend(
            handles, labels, loc="upper left", bbox_to_anchor=(1.02, 1), borderaxespad=0, **options
        )


# --- experiment figures, from the store ------------------------------------------------


def gain_heatmap(table, base_target_error: float, out_dir: Path, stem: str) -> list[Path]:
    """Gain in target accuracy over the base, bucket × budget, the best bucket boxed (dashed
    where it still loses to the base)."""
    gain = base_target_error - table.mean_target_error  # BxN
    figure, axis = plt.subplots(
        figsize=(1.4 + 1.2 * len(table.budgets), 1.2 + 0.7 * len(table.buckets))
    )
    limit = max(float(np.abs(gain).max()), 1e-9)
    mesh = axis.imshow(gain, cmap="RdBu", vmin=-limit, vmax=limit, aspect="auto")
    figure.colorbar(mesh, ax=axis, label="target accuracy gain over base")
    for b in range(len(table.buckets)):
        for n in range(len(table.budgets)):
            colour = "white" if abs(gain[b, n]) > 0.6 * limit else "black"  # legible on dark
            axis.text(n, b, f"{gain[b, n]:+.3f}", ha="center", va="center", fontsize=8, c=colour)
    for n, best in enumerate(first_minimum(table.mean_target_error, axis=0)):
        # Dashed where even the best bucket loses to the base: no fine-tuning wins there.
        style = "--" if gain[best, n] < 0 else "-"
        box = plt.Rectangle((n - 0.5, best - 0.5), 1, 1, fill=False, lw=2.5, ec="black", ls=style)
        axis.add_patch(box)
    axis.set_xticks(range(len(table.budgets)), [str(n) for n in table.budgets])
    axis.set_yticks(range(len(table.buckets)), table.buckets)
    axis.set_xlabel("budget n")
    axis.set_ylabel("bucket")
    axis.set_title("Gain over the base (box: best bucket; dashed: the base is better)", fontsize=10)
    return save_figure(figure, out_dir, f"{stem}_gain_heatmap")


def accuracy_by_bucket(table, base_target_error: float, out_dir: Path, stem: str) -> list[Path]:
    """Target accuracy of the base (not fine-tuned, left) and of each bucket, one line per
    budget, seeds as error bars (an interior maximum among the buckets is the inverted U)."""
    figure, axis = plt.subplots(figsize=(5.6, 3.9))
    accuracy = 1 - table.target_error
    x = np.arange(1, len(table.buckets) + 1)
    axis.axhline(1 - base_target_error, color="gray", ls=":", lw=1)
    axis.plot([0], [1 - base_target_error], "ks", ms=7, label="base (no fine-tuning)")
    colors = plt.cm.viridis(np.linspace(0, 0.9, len(table.budgets)))  # light = large n
    for n_index, n in enumerate(table.budgets):
        values = accuracy[:, n_index, :]
        axis.errorbar(
            x,
            values.mean(-1),
            yerr=values.std(-1),
            marker="o",
            capsize=3,
            color=colors[n_index],
            label=f"n = {n}",
        )
    axis.set_xticks([0, *x], ["base", *table.buckets])
    axis.set_xlabel("training bucket (easy → hard)")
    axis.set_ylabel("target accuracy (mean ± sd over runs)")
    axis.set_title("Target accuracy against difficulty")
    legend_beside(axis)
    return save_figure(figure, out_dir, f"{stem}_accuracy_by_bucket")


def _log_cell_edges(points) -> np.ndarray:
    """Edges half-way (in log scale) between sorted positive points, the outer two as far
    out as their inner neighbours: each point's cell on a log axis."""
    logs = np.log(np.asarray(points, float))
    inner = (logs[1:] + logs[:-1]) / 2
    step = np.diff(logs)
    first = logs[0] - (step[0] / 2 if len(step) else 0.5)
    last = logs[-1] + (step[-1] / 2 if len(step) else 0.5)
    return np.exp(np.concatenate([[first], inner, [last]]))


def optimum_by_budget(result: dict, out_dir: Path, stem: str) -> list[Path]:
    """The optimal arm against budget: pooled over base draws (line; dot area: how often a
    resample picks each bucket; a cross where the base beats every bucket), each base draw's
    own optimum (small markers), the switch to the hardest bucket with its 95% interval (a
    band over the budgets it spans, "never" to the right), and each certified bound's
    prediction where it makes one."""
    index = {"base": -1} | {b: i for i, b in enumerate(result["buckets"])}
    budgets = result["budgets"]
    figure, axis = plt.subplots(figsize=(6.2, 3.8))
    # The switch interval as a band over its budgets' cells, so that one budget is visible.
    positions = [*budgets, budgets[-1] ** 2 / budgets[-2] if len(budgets) > 1 else 2 * budgets[-1]]
    edges = _log_cell_edges(positions)
    column = {str(n): i for i, n in enumerate(budgets)} | {"never": len(budgets)}
    low, high = result["switch"]["interval_95"]
    axis.axvspan(
        edges[column[low]],
        edges[column[high] + 1],
        color="gold",
        alpha=0.3,
        lw=0,
        label=f"switch to {result['buckets'][-1]}, 95% interval: n in [{low}, {high}]",
    )
    if high == "never":
        axis.text(positions[-1], len(index) - 2.5, "never", ha="center", fontsize=7)
    draws = result.get("draws", []) if len(result.get("draws", [])) > 1 else []
    for offset, draw in enumerate(draws):
        # Each draw on its own row just above the arm it picks, so that draws never overlap.
        lift = 0.12 + 0.33 * offset / max(len(draws) - 1, 1)
        axis.plot(
            budgets,
            [index[b] + lift for b in draw["optimum"]],
            "v",
            ms=4,
            c=f"C{offset}",
            alpha=0.8,
            label=f"base draw {draw['base']} (base error {draw['base_target_error']:.3f})",
        )
    measured = [index[r["measured_optimum"]] for r in result["per_budget"]]
    axis.plot(budgets, measured, "k-", lw=2, zorder=5, label="pooled over draws")
    for n, row in zip(budgets, result["per_budget"], strict=True):
        for bucket, frequency in row["bootstrap_frequency"].items():
            if frequency > 0:
                axis.scatter(n, index[bucket], s=120 * frequency, c="black", zorder=6)
    base_best = [
        n
        for n, row in zip(budgets, result["per_budget"], strict=True)
        if row["best_arm_frequency"]["base"] > 0.5
    ]
    axis.scatter(
        base_best,
        [-1] * len(base_best),
        marker="x",
        s=60,
        c="red",
        zorder=6,
        label="base beats every bucket (> 50% of resamples)",
    )
    terms = list(result["per_budget"][0]["predicted_optimum"])
    for offset, term in enumerate(terms):
        # A budget without a prediction (every certificate vacuous) leaves a gap.
        predicted = [
            np.nan
            if r["predicted_optimum"][term] is None
            else index[r["predicted_optimum"][term]] + 0.06 * (offset - 1.5)
            for r in result["per_budget"]
        ]
        axis.plot(budgets, predicted, "--s", ms=4, lw=1, label=f"certified bound: {term}")
    axis.set_xscale("log")
    axis.set_xlim(edges[0], edges[-1 if high == "never" else -2])
    axis.set_yticks(range(-1, len(result["buckets"])), ["base", *result["buckets"]])
    axis.set_xlabel("budget n")
    axis.set_ylabel("optimal arm")
    axis.set_title("Optimum vs budget (black dots: share of resamples)", fontsize=10)
    legend_beside(axis, fontsize=6)
    return save_figure(figure, out_dir, f"{stem}_optimum_by_budget")


def predictions_by_budget(evaluation: dict, buckets, out_dir: Path, stem: str) -> list[Path]:
    """One panel per predictor: its choice at every held-out budget of the headline protocol
    (a tie is every tied bucket, smaller dots) over the measured optimum, whose grey band
    spans the buckets tied within the noise. Panel titles give the regret with its interval."""
    index = {b: i for i, b in enumerate(buckets)}
    headline = headline_protocol(evaluation)
    protocol = evaluation["protocols"][headline]
    held = set(protocol["held_out_budgets"])
    measured = {
        int(n): [index[b] for b in tied]
        for n, tied in evaluation["measured"].items()
        if int(n) in held
    }
    budgets = sorted(measured)
    rows = protocol["predictors"]
    shown = [name for name in rows if name not in ("random", "1/n")]
    columns = 3
    figure, axes = plt.subplots(
        -(-len(shown) // columns),
        columns,
        figsize=(3.2 * columns, 2.0 * -(-len(shown) // columns)),
        sharex=True,
        sharey=True,
        squeeze=False,
    )
    low = np.array([min(measured[n]) for n in budgets]) - 0.2
    high = np.array([max(measured[n]) for n in budgets]) + 0.2
    for axis, name in zip(axes.flat, shown, strict=False):
        row = rows[name]
        axis.fill_between(budgets, low, high, color="0.85", step="mid")
        choices = {int(n): c for n, c in row["choices"].items()}
        missing = [n for n in budgets if choices.get(n) is None]
        if missing:
            axis.scatter(missing, [-0.6] * len(missing), marker="x", c="0.5", s=12)
        points = [  # (n, bucket index, dot size): a tie shares the dot's area
            (n, index[b], 28 / len(choices[n]))
            for n in budgets
            if choices.get(n) is not None
            for b in choices[n]
        ]
        if points:
            xs, ys, sizes = zip(*points, strict=True)
            axis.scatter(xs, ys, s=sizes, c="C0", zorder=3)
        interval = row.get("interval", {}).get("regret_all")
        regret = f"regret {row['regret_all']:.3f}"
        if interval:
            regret += f" [{interval[0]:.3f}, {interval[1]:.3f}]"
        axis.set_title(f"{name}\n{regret}", fontsize=7)
        axis.set_xscale("log")
        axis.set_xticks(budgets, [str(n) for n in budgets])  # the held-out budgets, no others
        axis.minorticks_off()
        axis.tick_params(labelsize=6)
    for axis in axes.flat[len(shown) :]:
        axis.set_visible(False)
    axes[0, 0].set_yticks(range(-1, len(buckets)), ["none", *buckets])
    figure.supxlabel(f"budget n (held out: {headline})", fontsize=8)
    figure.suptitle(
        "Each predictor's choice (dots; x: no prediction) over the measured optimum (grey)",
        fontsize=8,
    )
    figure.tight_layout()
    return save_figure(figure, out_dir, f"{stem}_predictions")


def gap_decomposition(table, base_target_error: float, out_dir: Path, stem: str) -> list[Path]:
    """Per cell (mean over seeds): training error + generalization gap + extrapolation gap =
    target error, as stacked bars (a gap can be negative; it then hangs below zero), with
    the base's target error as a line."""
    train = table.terms["train_error"].mean(axis=-1)
    in_dist = table.terms["in_distribution_error"].mean(axis=-1)
    target = table.mean_target_error
    parts = {
        "training error": train,
        "generalization gap (in-dist. − train)": in_dist - train,
        "extrapolation gap (target − in-dist.)": target - in_dist,
    }
    labels = [f"{b}\nn={n}" for b in table.buckets for n in table.budgets]
    x = np.arange(len(labels))
    figure, axis = plt.subplots(figsize=(max(6.0, 0.55 * len(labels)), 3.8))
    positive, negative = np.zeros(len(labels)), np.zeros(len(labels))
    for name, values in parts.items():
        flat = values.ravel()
        bottom = np.where(flat >= 0, positive, negative)
        axis.bar(x, flat, bottom=bottom, label=name)
        positive += np.where(flat >= 0, flat, 0)
        negative += np.where(flat < 0, flat, 0)
    axis.plot(x, target.ravel(), "k_", ms=14, mew=2, label="target error")
    axis.axhline(base_target_error, color="gray", ls=":", label="base target error")
    axis.axhline(0, color="black", lw=0.5)
    axis.set_xticks(x, labels, fontsize=7)
    axis.set_ylabel("error")
    axis.set_title("Gap decomposition of each cell (mean over runs)")
    legend_beside(axis)
    return save_figure(figure, out_dir, f"{stem}_gap_decomposition")


def level_gain_curves(data: ExperimentFigures, out_dir: Path, stem: str) -> list[Path]:
    """Gain over the base per level for each bucket, at the smallest and the largest budget."""
    figure, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True)
    for axis, (n, by_bucket) in zip(axes, data.level_gains.items(), strict=True):
        for bucket, gains in by_bucket.items():
            low, high = data.bucket_ranges[bucket]
            axis.errorbar(
                gains.levels,
                gains.mean,
                yerr=gains.sd,
                marker="o",
                capsize=2,
                label=f"{bucket} [{low}, {high}]",
            )
        axis.axhline(0, color="black", lw=0.5)
        axis.set_xlabel("level (number of operations)")
        axis.set_title(f"n = {n}")
    axes[0].set_ylabel("accuracy gain over base (0: the base)")
    legend_beside(axes[1], fontsize=8)
    figure.suptitle("Per-level gain of each bucket (mean ± sd over runs)")
    figure.tight_layout()
    return save_figure(figure, out_dir, f"{stem}_level_gain")


def optimum_by_base(comparison: dict, out_dir: Path) -> list[Path]:
    """Expected optimal bucket index (bootstrap) against n, one line per base, weakest
    first: a stronger base that moves the optimum harder lies above and to the left."""
    figure, axis = plt.subplots(figsize=(5.6, 3.8))
    for base in comparison["bases"]:
        low, high = base["pretrain_levels"]
        axis.plot(
            comparison["budgets"],
            base["expected_optimum_index"],
            "-o",
            label=f"base on levels {low}–{high}, target error {base['base_target_error']:.2f}",
        )
    axis.set_xscale("log")
    buckets = comparison["buckets"]
    axis.set_yticks(range(len(buckets)), buckets)
    axis.set_xlabel("budget n")
    axis.set_ylabel("optimal bucket (bootstrap mean index)")
    axis.set_title("Does a stronger base move the optimum harder?")
    legend_beside(axis)
    return save_figure(figure, out_dir, f"{comparison['family']}_optimum_by_base")


def closed_form_check(closed_form, out_dir: Path, stem: str) -> list[Path]:
    """A task with exact risks: per-level risk in closed form against simulation, every
    cell (``ExperimentFigures.closed_form``)."""
    exact, simulated, error = closed_form
    figure, axes = plt.subplots(1, 2, figsize=(9, 3.8))
    axes[0].errorbar(exact, simulated, yerr=2 * error, fmt="o", ms=3, capsize=2)
    line = [exact.min(), exact.max()]
    axes[0].plot(line, line, "k--", lw=1)
    axes[0].set_xlabel("closed-form risk")
    axes[0].set_ylabel("simulated risk (± 2 s.e.)")
    axes[0].set_title("Per-level risk, every cell")
    axes[1].hist((simulated - exact) / error, bins=30)
    axes[1].set_xlabel("(simulated − closed form) / standard error")
    axes[1].set_title("Standardised differences")
    figure.tight_layout()
    return save_figure(figure, out_dir, f"{stem}_closed_form_vs_simulation")


def certificate_vs_risk(summaries: list[dict], out_dir: Path, stem: str) -> list[Path]:
    """Per cell: the certificate against the measured in-distribution risk of its posterior
    (with its 95% interval), one colour per learner, and the diagonal: a valid certificate
    lies on or above it."""
    figure, axis = plt.subplots(figsize=(4.8, 4.4))
    for summary in summaries:
        cells = summary["cells"]
        risk = np.array([c["risk"] for c in cells])
        error = np.array([[c["risk"] - c["risk_low"], c["risk_high"] - c["risk"]] for c in cells])
        axis.errorbar(
            risk,
            [c["certificate"] for c in cells],
            xerr=error.T,
            fmt="o",
            ms=3,
            alpha=0.6,
            elinewidth=0.5,
            label=f"{summary['experiment']} ({summary['learner']}), "
            f"{summary['valid_fraction']:.0%} valid",
        )
    axis.plot([0, 1], [0, 1], "k--", lw=1, label="certificate = risk")
    axis.set_xlim(-0.02, 1.02)
    axis.set_ylim(-0.02, 1.02)
    axis.set_xlabel("measured risk of Q in distribution (95% interval)")
    axis.set_ylabel("certificate")
    axis.set_title("Certificates against measured risk, per cell")
    legend_beside(axis, fontsize=6)
    return save_figure(figure, out_dir, f"{stem}_certificate_vs_risk")


def certificate_by_budget(summary: dict, floors: dict, out_dir: Path, stem: str) -> list[Path]:
    """Per bucket: the certificate (mean over seeds) and Q's measured risk against n, the
    base's own error in the bucket (below it a certificate is informative) and the floor."""
    figure, axis = plt.subplots(figsize=(5.8, 3.8))
    budgets = None
    for i, (bucket, b) in enumerate(summary["per_bucket"].items()):
        budgets = [int(n) for n in b["by_budget"]]
        colour = f"C{i}"
        values = list(b["by_budget"].values())
        axis.plot(budgets, [v["certificate"] for v in values], "-o", c=colour, label=bucket)
        axis.plot(budgets, [v["risk"] for v in values], ":", c=colour, lw=1)
        axis.axhline(b["base_error"], c=colour, lw=0.8, ls="--")
    if "certificate" in floors:
        axis.plot(budgets, floors["certificate"], "k-", lw=1.5, label="floor (KL = 0, R̂ = 0)")
    axis.set_xscale("log")
    axis.set_ylim(0, 1.02)
    axis.set_xlabel("budget n")
    axis.set_ylabel("risk")
    axis.set_title(
        "Certificate (solid), measured risk of Q (dotted), base error (dashed)", fontsize=9
    )
    legend_beside(axis)
    return save_figure(figure, out_dir, f"{stem}_certificate_by_budget")


def experiment_figures(data: ExperimentFigures, result: dict, out_dir: Path) -> list[Path]:
    """Every figure of one stored experiment, named after it: ``data`` from
    ``analysis.figure_data``, ``result`` its comparison report's data."""
    table, base_target, stem = data.table, result["base_target_error"], data.name
    paths = gain_heatmap(table, base_target, out_dir, stem)
    paths += accuracy_by_bucket(table, base_target, out_dir, stem)
    paths += optimum_by_budget(result, out_dir, stem)
    if result["predictions"]:
        paths += predictions_by_budget(result["predictions"], table.buckets, out_dir, stem)
    paths += gap_decomposition(table, base_target, out_dir, stem)
    paths += level_gain_curves(data, out_dir, stem)
    if data.closed_form is not None:
        paths += closed_form_check(data.closed_form, out_dir, stem)
    return paths
