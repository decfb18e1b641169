"""The probe's table: where a model's solutions first go wrong."""

from __future__ import annotations

from collections import Counter

from pacbound.report.markdown import header


def probe_table(found: Counter) -> str:
    """The counter as a Markdown table, most frequent first."""
    total = sum(found.values())
    lines = header("first wrong token", "written instead", "problems")
    for (role, kind), count in found.most_common():
        lines.append(f"| {role} | {kind or '–'} | {count} ({count / total:.0%}) |")
    return "\n".join(lines)


def probe_report(probe: dict) -> str:
    """The probe of one cell (``pacbound.pipeline.probe``): errors per level, then where the
    base's and the fine-tuned model's solutions first go wrong."""
    bucket, budget, seed = probe["cell"]
    levels, level = probe["levels"], probe["level"]
    lines = [f"# {probe['experiment']}: cell {bucket}/n={budget}/seed {seed}\n"]
    lines += header("model", *map(str, levels))
    for name, values in probe["errors"].items():
        lines.append(f"| {name} | " + " | ".join(f"{values[k]:.2f}" for k in levels) + " |")
    for name, found in probe["first_errors"].items():
        lines.append(f"\nLevel {level}, {name}: the first wrong token of each held-out problem\n")
        lines.append(probe_table(found))
    return "\n".join(lines) + "\n"
