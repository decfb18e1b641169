"""The replication report: a rerun's numbers against the committed ones, rendered from
``pacbound.analysis.replication.replicate`` (one experiment) or from
``pacbound.pipeline.replication.replicate_folders`` (a folder's experiments) alone."""

from __future__ import annotations

from pacbound.report.markdown import NONE, header, shown


def value(item) -> str:
    """A verdict's value as text: a list joined by commas (``[]``: none), a flag yes/no."""
    if item is None:
        return NONE
    if isinstance(item, bool):
        return "yes" if item else "no"
    if isinstance(item, list | tuple):
        return "[" + ", ".join(map(str, item)) + "]"
    return str(item)


def changed_list(result: dict) -> str:
    """The changed verdicts as ``name (old → new), …``, or ``none``."""
    changed = [f"{c['verdict']} ({value(c['old'])} → {value(c['new'])})" for c in result["changed"]]
    return "; ".join(changed) if changed else "none"


def summary_line(result: dict) -> str:
    """The one line a rerun ends with."""
    return (
        f"{result['experiment']}: agrees with the committed results within their uncertainty "
        f"at {result['agreeing']} of {result['compared']} numbers; verdicts that changed: "
        f"{changed_list(result)}."
    )


def _threshold_text(result: dict) -> str:
    df1, df2 = result["df"]
    law = "normal" if df1 is None or df2 is None else f"Student t on {df1 + df2:g} df"
    return f"{result['threshold']:.3f} ({law})"


def replication_markdown(result: dict) -> str:
    """One experiment's replication: the numbers with their z, the changed verdicts, and the
    summary line last."""
    critical1, critical2 = result["critical"]
    lines = [
        f"# Replication: `{result['experiment']}` (config {result['config_hash']})\n",
        "The gain over the base per bucket and budget, committed (1) against rerun (2). "
        "se = half-width of the 95% interval / its critical value "
        f"({critical1:.3f} and {critical2:.3f}); z = (g1 − g2) / √(se1² + se2²); a number "
        f"agrees when |z| ≤ {_threshold_text(result)}.\n",
        *header("bucket", "n", "g1", "g2", "se1", "se2", "z", "agrees"),
    ]
    for row in result["rows"]:
        z = NONE if row["z"] is None else f"{row['z']:+.2f}"
        lines.append(
            f"| {row['bucket']} | {row['budget']} | {row['value1']:+.3f} | {row['value2']:+.3f} "
            f"| {shown(row['se1'], 4)} | {shown(row['se2'], 4)} | {z} | "
            f"{'yes' if row['agrees'] else '**no**'} |"
        )
    sign_p = NONE if result["sign_p"] is None else f"{result['sign_p']:.2f}"
    lines += [
        "",
        f"Root mean square of z: {shown(result['rms_z'])}. The rerun's gain is higher at "
        f"{result['higher']} numbers and lower at {result['lower']} (the larger, "
        f"{result['same_sign']}, share one sign of difference; sign test p = {sign_p}).\n",
        f"Verdicts: {len(result['changed'])} of {result['verdicts']} changed.\n",
    ]
    if result["changed"]:
        lines += [*header("verdict", "committed", "rerun")]
        for c in result["changed"]:
            lines.append(f"| {c['verdict']} | {value(c['old'])} | {value(c['new'])} |")
        lines.append("")
    lines.append(summary_line(result))
    return "\n".join(lines) + "\n"


def replications_markdown(results: list[dict]) -> str:
    """A folder's replications (``replicate_folders``): each experiment's report, then the
    skipped ones with their reason, then every summary line together."""
    done = [r for r in results if "skipped" not in r]
    parts = [replication_markdown(r) for r in done]
    skipped = [f"- {r['experiment']}: skipped, {r['skipped']}" for r in results if "skipped" in r]
    if skipped:
        parts.append("## Skipped\n\n" + "\n".join(skipped) + "\n")
    if done:
        parts.append("## Summary\n\n" + "\n".join(summary_line(r) for r in done) + "\n")
    return "\n".join(parts)
