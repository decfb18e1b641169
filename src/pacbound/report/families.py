"""The reports of experiments side by side: base strength (``<family>_bases``) and learners
(``<family>_learners``)."""

from __future__ import annotations

from pacbound.config import learner_label
from pacbound.report.markdown import rule, write_pair


def bases_markdown(comparison: dict) -> str:
    """The base-strength comparison as a Markdown report."""
    return f"# Base strength: {comparison['family']}\n\n" + bases_body(comparison)


def bases_body(comparison: dict) -> str:
    """The report below its title (also the index's section)."""
    buckets, lines = comparison["buckets"], []
    lines.append(
        "Each base is its own experiment (same task, fine-tuning schedule, grid and seeds); "
        "reports: "
        + ", ".join(f"`{b['experiment']}_report.md`" for b in comparison["bases"])
        + ".\n"
    )
    lines.append(
        "| base (pretrained on) | base target error | "
        + " | ".join(f"n = {n}" for n in comparison["budgets"])
        + " | switch [95%] |"
    )
    lines.append(rule(len(comparison["budgets"]) + 3))
    for base in comparison["bases"]:
        optima = " | ".join(
            f"{o} ({e:.2f})"
            for o, e in zip(base["optimum"], base["expected_optimum_index"], strict=True)
        )
        switch = base["switch"]
        lines.append(
            f"| {base['experiment']} ({base['pretrain_levels'][0]}–"
            f"{base['pretrain_levels'][1]}) | {base['base_target_error']:.3f} | {optima} | "
            f"{switch['budget']} [{switch['interval_95'][0]}, {switch['interval_95'][1]}] |"
        )
    lines.append(
        "\nCells: the measured optimum and, in brackets, its expected bucket index under the "
        f"bootstrap (0 = {buckets[0]}, {len(buckets) - 1} = {buckets[-1]}).\n"
    )
    lines.append(
        "Bases are ordered by their own target error (weakest first). "
        + (
            "The switch budget falls as the base gets stronger"
            if comparison["switch_earlier_with_strength"]
            else "The switch budget does not fall monotonically as the base gets stronger"
        )
        + "; ordered by pretraining range instead, it "
        + ("falls too." if comparison["switch_earlier_with_pretraining_range"] else "does not.")
        + "\n"
    )
    for pair in comparison["pairs"]:
        lines.append(
            f"- {pair['stronger']} against {pair['weaker']}: P(switches to {buckets[-1]} at a "
            f"smaller budget) = {pair['p_stronger_switches_earlier']:.2f}, P(same budget) = "
            f"{pair['p_same']:.2f}, P(larger) = {pair['p_stronger_switches_later']:.2f}."
        )
    if "strength" in comparison:
        lines += strength_lines(comparison["strength"], buckets)
    return "\n".join(lines) + "\n"


_SLOPES = {
    "index_by_strength": "mean optimum index against the base's target error",
    "switch_by_strength": "switch index against the base's target error",
    "index_by_range": "mean optimum index against the pretraining range's rank",
    "switch_by_range": "switch index against the pretraining range's rank",
}


def strength_lines(strength: dict, buckets) -> list[str]:
    """Every base draw by its own strength, and the slopes with their intervals."""
    lines = ["\n## Every base draw, weakest first\n"]
    lines += ["| base (pretrained on, draw) | base target error | mean optimum index | switch |"]
    lines.append(rule(4))
    for base in strength["bases"]:
        levels = base["pretrain_levels"]
        lines.append(
            f"| {base['experiment']} ({levels[0]}–{levels[1]}, draw {base['draw']}) | "
            f"{base['base_target_error']:.3f} | {base['mean_optimum_index']:.2f} | "
            f"{base['switch']} |"
        )
    lines.append(
        f"\nMean optimum index: the draw's own optimum (of its seed means) averaged over "
        f"budgets (0 = {buckets[0]}, {len(buckets) - 1} = {buckets[-1]}); switch index: the "
        "budget's position, one past the last for never.\n"
    )
    lines.append("| slope | estimate | 95% interval |")
    lines.append(rule(3))
    for name, text in _SLOPES.items():
        slope = strength["slopes"][name]
        lines.append(
            f"| {text} | {slope['slope']:.3g} | [{slope['low']:.3g}, {slope['high']:.3g}] |"
        )
    intervals = (
        f"95% t intervals of the least-squares slope over the {strength['draws']} base draws "
        f"({strength['df']} degrees of freedom; each draw one observation)"
        if "draws" in strength
        else f"{strength['resamples']} hierarchical bootstrap resamples within each pretraining "
        "range (its base draws, then seeds, then held-out problems; percentile intervals, "
        "judged before valid few-draw inference)"
    )
    lines.append(
        "\nA stronger base has a lower target error, so a harder optimum with strength is a "
        f"negative slope against the error and a positive one against the range. Intervals: "
        f"{intervals}.\n"
    )
    return lines


def write_bases_report(comparison: dict, folder) -> tuple:
    """<folder>/<family>_bases.md and .json."""
    stem = f"{comparison['family']}_bases"
    return write_pair(folder, stem, bases_markdown, comparison)


def _learner_name(learner: dict) -> str:
    return learner_label(learner["subspace"], short=True)


def learners_markdown(comparison: dict) -> str:
    """The learner comparison as a Markdown report."""
    return f"# Learners: {comparison['family']}\n\n" + learners_body(comparison)


def learners_body(comparison: dict) -> str:
    """The report below its title (also the index's section)."""
    c, lines = comparison, []
    buckets = c["buckets"]
    lines.append(
        "Full fine-tuning (k = 0) and fine-tuning in random k-dimensional subspaces, same "
        "base, grid and seeds; reports: "
        + ", ".join(f"`{x['experiment']}_report.md`" for x in c["learners"])
        + ".\n"
    )
    lines.append(f"## Intrinsic dimension (in-distribution gain at n = {c['largest_budget']})\n")
    lines.append("| learner | " + " | ".join(f"gain {b} (× full)" for b in buckets) + " |")
    lines.append(rule(1 + len(buckets)))
    for x in c["learners"]:
        cells = " | ".join(
            f"{x['gain_at_largest_budget'][b]:+.3f}"
            + (f" ({x['gain_ratio'][b]:.2f})" if b in x["gain_ratio"] else "")
            for b in buckets
        )
        lines.append(f"| {_learner_name(x)} | {cells} |")
    lines.append(
        "\nIntrinsic dimension (smallest k of the grid reaching 90% of full fine-tuning's "
        "gain): "
        + ", ".join(
            f"{b}: {'beyond the grid' if k is None else k}"
            for b, k in c["intrinsic_dimension"].items()
        )
        + ".\n"
    )
    lines.append("## Certificates: first budget below the base's own error\n")
    lines.append("| learner | valid cells | " + " | ".join(buckets) + " |")
    lines.append(rule(2 + len(buckets)))
    for x in c["learners"]:
        name = _learner_name(x)
        if x["first_non_vacuous"] is None:
            lines.append(f"| {name} | — | " + " | ".join("—" for _ in buckets) + " |")
            continue
        cells = " | ".join(
            "never" if x["first_non_vacuous"][b] is None else str(x["first_non_vacuous"][b])
            for b in buckets
        )
        lines.append(f"| {name} | {x['valid_fraction']:.0%} | {cells} |")
    lines.append("\n## Does the difficulty tradeoff survive? (measured optimum per budget)\n")
    lines.append(
        "Each cell: the measured optimal bucket and its target-error gain over the base "
        "(95% bootstrap interval); an optimum whose gain interval holds 0 ranks buckets "
        "that barely moved the base.\n"
    )
    lines.append(
        "| learner | " + " | ".join(f"n = {n}" for n in c["budgets"]) + " | switch [95%] | "
        "trend ρ (p) |"
    )
    lines.append(rule(len(c["budgets"]) + 3))
    for x in c["learners"]:
        name = _learner_name(x)
        switch, trend = x["switch"], x["trend"]
        rho = (
            "constant"
            if trend["spearman"] is None
            else f"{trend['spearman']:.2f} ({trend['permutation_p']:.2g})"
        )
        lines.append(
            f"| {name} | "
            + " | ".join(
                f"{o} {g:+.3f} ({lo:+.3f}, {hi:+.3f})"
                for o, (g, lo, hi) in zip(x["optimum"], x["optimum_gain"], strict=True)
            )
            + f" | {switch['budget']} [{switch['interval_95'][0]}, {switch['interval_95'][1]}] "
            f"| {rho} |"
        )
    return "\n".join(lines) + "\n"


def write_learners_report(comparison: dict, folder) -> tuple:
    """<folder>/<family>_learners.md and .json."""
    stem = f"{comparison['family']}_learners"
    return write_pair(folder, stem, learners_markdown, comparison)
