"""The theory's figures, from the difficulty models alone (no store): the bound over
difficulty × budget with d*(n), and every family's d*(n) with the bound's terms there."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np

from pacbound.numeric.difficulty import bound_function, optimal_difficulty, term_functions
from pacbound.report.figures import plt, save_figure
from pacbound.symbolic.difficulty import THEORY_FAMILIES, family_model

THEORY_BUDGETS = np.geomspace(10, 1e6, 61)


def theory_landscape(curves: dict, out_dir: Path) -> list[Path]:
    """B(d, n) as a heatmap over difficulty × budget, with the d*(n) curve drawn on it."""
    model, d_grid = curves["landscape_model"], curves["d_grid"]
    figure, axis = plt.subplots(figsize=(6.4, 4.2))
    mesh = axis.pcolormesh(
        d_grid, THEORY_BUDGETS, curves["landscape"], shading="auto", cmap="viridis"
    )
    figure.colorbar(mesh, ax=axis, label="bound B(d, n)")
    axis.plot(curves["landscape_d_star"], THEORY_BUDGETS, color="white", lw=2)
    axis.set_yscale("log")
    axis.set_xlabel("difficulty d")
    axis.set_ylabel("budget n")
    # The curve is named in the title: a legend would sit on the heatmap or the colour bar.
    axis.set_title(
        f"Bound landscape, {model.name} ({model.generalization})\nwhite: d*(n) = argmin_d B(d, n)",
        fontsize=10,
    )
    return save_figure(figure, out_dir, "theory_landscape")


def theory_optima(curves: dict, out_dir: Path) -> list[Path]:
    """d*(n) against n for each family, and each term's contribution at d*(n)."""
    families = curves["families"]
    columns = 4
    rows = -(-(3 + len(families)) // columns)  # two cells more, for the two legends
    figure, grid = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.4 * rows))
    axes = list(grid.ravel())
    for name, family in families.items():
        axes[0].plot(THEORY_BUDGETS, family["d_star"], label=name)
    axes[0].set_xscale("log")
    axes[0].set_xlabel("budget n")
    axes[0].set_ylabel("d*(n)")
    axes[0].set_title("Optimal difficulty")
    for axis, (name, family) in zip(axes[1 : 1 + len(families)], families.items(), strict=True):
        terms = family["terms"]
        axis.stackplot(THEORY_BUDGETS, *terms.values(), labels=list(terms))
        axis.set_xscale("log")
        axis.set_xlabel("budget n")
        axis.set_title(f"B at d*(n): {name}", fontsize=9)
    axes[1].set_ylabel("term of B(d*(n), n)")
    # The legends (families; the terms, alike in every panel) in the spare cells, off the data.
    spare = axes[1 + len(families) :]
    for axis in spare:
        axis.axis("off")
    for axis, source, title in ((spare[0], axes[0], "family"), (spare[1], axes[1], "term of B")):
        axis.legend(*source.get_legend_handles_labels(), loc="upper left", fontsize=7, title=title)
    figure.tight_layout()
    return save_figure(figure, out_dir, "theory_optimum")


@cache
def theory_curves() -> dict:
    """What the theory figures draw, from the default parameters: the default family's bound
    over difficulty × budget with its d*(n), and every family's d*(n) with the bound's terms
    there. Computed once per process (the figures are drawn by several commands)."""
    landscape = family_model("linear-exponential")
    low, high = landscape.domain
    d_grid = np.linspace(low, high, 201)
    values = np.asarray(bound_function(landscape)(d_grid[None, :], THEORY_BUDGETS[:, None]))
    families = {}
    for model in (family_model(name) for name in THEORY_FAMILIES):
        d_star = optimal_difficulty(model, THEORY_BUDGETS)
        terms = {
            name: np.asarray(f(d_star, THEORY_BUDGETS)) for name, f in term_functions(model).items()
        }
        families[model.name] = {"d_star": d_star, "terms": terms}
    return {
        "landscape_model": landscape,
        "d_grid": d_grid,
        "landscape": values,
        "landscape_d_star": optimal_difficulty(landscape, THEORY_BUDGETS),
        "families": families,
    }


def theory_figures(out_dir: Path) -> list[Path]:
    """Every theory figure, from the default parameters."""
    curves = theory_curves()
    return theory_landscape(curves, out_dir) + theory_optima(curves, out_dir)
