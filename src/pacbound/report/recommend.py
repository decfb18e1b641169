"""The recommendation of ``pacbound.analysis.recommend`` as Markdown."""

from __future__ import annotations

from pacbound.report.markdown import rule, shown
from pacbound.report.predictions import bootstrap_warning_lines


def _distinct(result: dict) -> str:
    """How many resamples differ, where fewer than all (a degenerate bootstrap)."""
    distinct = result.get("distinct_resamples")
    if distinct is None or distinct >= result["resamples"]:
        return ""
    return f" (of which {distinct} distinct)"


def _where(distance: dict) -> str:
    """Where N lies from the pilot budgets, in words (``analysis.recommend._distance``)."""
    low, high, factor = distance["low"], distance["high"], distance["factor"]
    if distance["side"] == "above":
        return f"{factor:.3g}× the largest pilot budget ({high})"
    if distance["side"] == "below":
        return f"1/{factor:.3g} of the smallest pilot budget ({low})"
    return f"inside the pilot budgets ({low}–{high})"


def recommendation_markdown(result: dict) -> str:
    """The recommendation, its bootstrap share and every pilot-only predictor's choice."""
    lines = [f"# Recommended bucket at n = {result['budget']}\n"]
    lines += bootstrap_warning_lines(result)
    frequency = result["bootstrap_frequency"]
    chosen = "/".join(result["recommended"])
    share = sum(frequency[b] for b in result["recommended"])
    if result.get("beyond_validated"):
        lines.append(
            f"**The pilots cannot tell.** n = {result['budget']} is "
            f"{result['distance']['factor']:.3g}× the largest pilot budget, further than the "
            f"{result['validated_factor']:.3g}× that the pilots can check a prediction over "
            "(their smaller half predicting their larger budgets): any bucket may be optimal "
            f"there ({', '.join(result['set_95'])}). The best on the pilots, {result['by']}, "
            f"says {chosen}.\n"
        )
    elif result.get("cannot_tell"):
        choices = "; ".join(
            f"{name}: {'/'.join(result['predictors'][name]['choice'])}"
            for name in result["plausible"]
        )
        lines.append(
            "**The pilots cannot tell.** The predictors that do about as well on the pilots "
            f"(not worse than the best beyond the bootstrap interval) disagree at n = "
            f"{result['budget']} ({choices}); 95% set: {', '.join(result['set_95'])}. The "
            f"best on the pilots, {result['by']}, says {chosen}.\n"
        )
    else:
        lines.append(
            f"**{chosen}**, by {result['by']} (the lowest {result['protocol']} regret on the "
            f"pilots). Chosen in {share:.0%} of {result['resamples']} bootstrap resamples of "
            f"the seeds{_distinct(result)}, each repeating the whole procedure (the predictor "
            "picked by its regret on the resampled pilots, then its choice); every predictor "
            "about as good on the "
            f"pilots agrees; 95% set: {', '.join(result['set_95'])}.\n"
        )
    where = _where(result["distance"])
    lines.append(f"Pilot budgets: {', '.join(map(str, result['pilot_budgets']))}; n is {where}.\n")
    if result["distance"]["extrapolation"]:
        lines.append(
            f"Warning: n = {result['budget']} is {where}: an extrapolation; nothing in the "
            "pilots says whether the optimum moves between them and n.\n"
        )
    if "validated_factor" in result:
        lines.append(
            f"Inside the pilots, the {result['protocol']} protocol checks predictions up to "
            f"{result['validated_factor']:.3g}× the largest budget they come from.\n"
        )
    lines.append(f"| predictor | choice at n = {result['budget']} | regret on the pilots |")
    lines.append(rule(3))
    for name, row in result["predictors"].items():
        choice = "no prediction" if row["choice"] is None else "/".join(row["choice"])
        regret = row["regret_on_pilots"]
        lines.append(f"| {name} | {choice} | {shown(regret, 3)} |")
    lines.append(
        f"\nTies: buckets within {result['tolerance']:.4f} (the seeds' noise of a difference "
        "of two cell means) of the best are tied."
    )
    return "\n".join(lines) + "\n"
