"""The recommendation of ``pacbound.analysis.recommend`` as Markdown."""

from __future__ import annotations

from pacbound.report.markdown import rule, shown


def recommendation_markdown(result: dict) -> str:
    """The recommendation, its bootstrap share and every pilot-only predictor's choice."""
    lines = [f"# Recommended bucket at n = {result['budget']}\n"]
    frequency = result["bootstrap_frequency"]
    chosen = "/".join(result["recommended"])
    share = sum(frequency[b] for b in result["recommended"])
    lines.append(
        f"**{chosen}**, by {result['by']} (the lowest {result['protocol']} regret on the "
        f"pilots). Chosen in {share:.0%} of {result['resamples']} bootstrap resamples of the "
        "seeds, each repeating the whole procedure (the predictor picked by its regret on the "
        f"resampled pilots, then its choice); 95% set: {', '.join(result['set_95'])}.\n"
    )
    lines.append(
        f"Pilot budgets: {', '.join(map(str, result['pilot_budgets']))}; n is "
        f"{result['distance']['where']}.\n"
    )
    if result["distance"]["warning"]:
        lines.append(f"Warning: {result['distance']['warning']}.\n")
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
