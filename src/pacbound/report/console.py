"""Plain-text tables the commands print: the bound's terms and d*(n) of a difficulty model."""

from __future__ import annotations

from pacbound.report.markdown import yes_no

BOUND_COLUMNS = ("bound", "empirical", "mc_correction", "generalization", "extrapolation")
OPTIMUM_COLUMNS = ("n", "d_star", "bound", "empirical", "generalization", "extrapolation")


def bound_table(rows: list[dict]) -> str:
    """The bound's terms of each kind as an aligned text table."""
    header = ("kind", *BOUND_COLUMNS, "parameter", "vacuous")
    cells = [header]
    for row in rows:
        parameter = "" if row["parameter"] is None else f"{row['parameter']:.4g}"
        cells.append(
            (
                row["kind"],
                *(f"{row[name]:.6f}" for name in BOUND_COLUMNS),
                parameter,
                yes_no(row["vacuous"]),
            )
        )
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)) for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines)


def optimum_table(model, bound: str, rows: list[dict]) -> str:
    """d*(n) of a difficulty model with the bound's terms there, one row per budget."""
    lines = [f"{model.name} ({bound}), d in [{model.domain[0]:g}, {model.domain[1]:g}]"]
    lines.append("  ".join(f"{h:>14}" for h in OPTIMUM_COLUMNS))
    for row in rows:
        lines.append("  ".join(f"{row[h]:>14.6g}" for h in OPTIMUM_COLUMNS))
    return "\n".join(lines)
