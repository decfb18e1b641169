"""The certificates report (``<name>_certificates.md``) from a certificate summary
(``pacbound.analysis.certificates.summarize``)."""

from __future__ import annotations

from pacbound.report.markdown import rule


def summary_lines(summary: dict) -> list[str]:
    """The summary: valid and vacuous cells, and per bucket where certificates say something
    (also the index's summary of the certificates)."""
    s, lines = summary, []
    lines.append(
        f"- Valid cells (certificate ≥ measured risk of Q): {s['valid_fraction']:.1%} of "
        f"{len(s['cells'])}; cells whose certificate lies below the measured risk's 95% "
        f"interval: {s['violated_count']}. Mean gap certificate − measured risk: "
        f"{s['mean_gap']:.3f}."
    )
    lines.append(
        f"- Vacuous cells (certificate not below the base's own error in the bucket): "
        f"{s['vacuous_fraction']:.0%}."
    )
    if "gain_certified_fraction" in s:
        low = s["smallest_gain_certificate"]
        lines.append(
            "- Gain over the base (the certificate at δ/2 less a lower bound at δ/2 on the "
            "base's risk in the bucket from its held-out problems; below 0 certifies that "
            f"fine-tuning helps on the bucket): below 0 in {s['gain_certified_fraction']:.0%} "
            f"of cells; the smallest is {low['value']:+.3f} ({low['bucket']}, n = "
            f"{low['budget']})."
        )
    for bucket, b in s["per_bucket"].items():
        if b["first_non_vacuous"] is not None:
            where = (
                f"non-vacuous (below the base's {b['base_error']:.3f}) from n = "
                f"{b['first_non_vacuous']}; at n = " + ", ".join(map(str, b["non_vacuous_budgets"]))
            )
        elif b["extrapolated_non_vacuous"] is not None:
            where = (
                f"vacuous at every budget of the grid (base error {b['base_error']:.3f}); "
                f"**extrapolated** non-vacuous from n ≈ {b['extrapolated_non_vacuous']:,} (median "
                "over seeds) if some candidate posterior's KL and pilot risk stayed at their "
                "values at the largest budget"
            )
        else:
            where = (
                f"vacuous at every budget (base error {b['base_error']:.3f}), and no candidate "
                "posterior would get below it at any n with its KL and pilot risk at the "
                "largest budget"
            )
        lines.append(f"- {bucket}: {where}.")
    return lines


def certificates_markdown(summary: dict) -> str:
    """The certificates report: per (bucket, budget) and per cell."""
    s, lines = summary, []
    lines.append(f"# Certificates: {s['experiment']} (config {s['config_hash']})\n")
    scope = (
        f"every cell's δ is the grid's δ over its {len(s['cells'])} cells, so all hold at once"
        if s["simultaneous"]
        else "each cell's certificate holds on its own"
    )
    lines.append(
        f"Learner: {s['learner']}. Each certificate bounds the in-distribution risk of a "
        f"Gaussian posterior Q around the fine-tuned weights (prior: the same Gaussian around "
        f"the pretrained weights), with probability ≥ 1 − δ, δ = {s['delta']:.3g} ({scope}). "
        f"Union bound over {s['choices']} posteriors (σ ∈ {s['sigmas']} × "
        f"{', '.join(s['families'])}); {s['mc_share']:.0%} of δ for the Monte-Carlo step "
        f"(Langford–Caruana, {s['draws']} pairs θ ~ Q with a training example). Measured risk: "
        f"Q on {s['validity_draws']} fresh problems of the bucket (of the target), one θ ~ Q "
        "each; exact 95% intervals. Target test bound: Langford's binomial tail inversion "
        "at δ. A sample holds fixed counts per level, so the kl bound certifies the "
        "allocated mixture of levels; the certificate adds its TV distance to the bucket's "
        "mixture (largest here: "
        f"{max(r['allocation_gap'] for r in s['cells']):.3g}), a bound on the risk the fresh "
        "problems measure (theory/bounds.md, Fixed counts per level).\n"
    )
    lines.append("## Summary\n")
    lines += summary_lines(s)
    lines.append("\n## Per bucket and budget (mean over seeds)\n")
    lines.append(
        "| bucket | n | KL | MC risk | certificate | floor | measured risk | target risk | "
        "certified gain |"
    )
    lines.append(rule(9))
    for bucket, b in s["per_bucket"].items():
        for n, v in b["by_budget"].items():
            lines.append(
                f"| {bucket} | {n} | {v['kl']:.3g} | {v['mc_risk']:.3f} | "
                f"{v['certificate']:.3f} | {v['floor']:.3f} | {v['risk']:.3f} | "
                f"{v['target_risk']:.3f} | {v['gain_certificate']:+.3f} |"
            )
    lines.append("\n## Per cell\n")
    several = "base" in s["cells"][0]  # several base draws: the run is (draw, seed)
    lines.append(
        f"| bucket | n | {'base draw/seed' if several else 'seed'} | Q (family, σ) | KL | "
        "certificate | measured risk [95%] | valid | target risk [95%] | target test bound | "
        "network target error (test bound) |"
    )
    lines.append(rule(11))
    for r in s["cells"]:
        run = f"{r['base']}/{r['seed']}" if several else r["seed"]
        lines.append(
            f"| {r['bucket']} | {r['budget']} | {run} | {r['family']}, {r['sigma']:g} | "
            f"{r['kl']:.3g} | {r['certificate']:.3f} | {r['risk']:.3f} [{r['risk_low']:.3f}, "
            f"{r['risk_high']:.3f}] | {'yes' if r['valid'] else 'NO'} | {r['target_risk']:.3f} "
            f"[{r['target_low']:.3f}, {r['target_high']:.3f}] | {r['target_test_bound']:.3f} | "
            f"{r['network_target_error']:.3f} ({r['network_target_test_bound']:.3f}) |"
        )
    return "\n".join(lines) + "\n"
