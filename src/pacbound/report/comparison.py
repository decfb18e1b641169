"""The comparison report (``<name>_report.md`` and ``.json``) of one experiment.

``document`` adds to the comparison's data the two sentences its JSON has always carried
(the fine-tuning schedule and the certificate's source, in words); ``report_markdown``
renders the Markdown; ``write_report`` writes both, and the predictions report beside them.
"""

from __future__ import annotations

from pacbound.analysis import optimum
from pacbound.config import ExperimentConfig, learner_label
from pacbound.report.markdown import rule, write_pair
from pacbound.report.predictions import label, verdict_text, write_predictions


def schedule_text(config: ExperimentConfig) -> str:
    """The fine-tuning step policy in words, with the steps it gives each budget."""
    f = config.finetune
    steps = ", ".join(f"{n}: {f.steps_for(n)}" for n in sorted(config.grid.budgets))
    if f.schedule == "fixed":
        policy = f"fixed: {f.steps} steps at every budget"
    else:
        policy = (
            f"epochs: ceil({f.epochs:g}·n/{f.batch}) steps of batch {f.batch}, "
            f"at least {f.min_steps}, at most {f.steps}"
        )
    return f"{policy}; learning rate {f.learning_rate:g} (steps per n: {steps})"


def certificate_source(config: ExperimentConfig, certified: bool) -> str:
    """What the in-distribution part of the predictions is, in words."""
    if config.task.exact_risks:
        return (
            f"the {config.compare.bound} bound at δ = {config.compare.delta} with the exact KL "
            "and exact empirical risk of the Bayesian posterior (a certificate of that posterior)"
        )
    if not certified:
        return "none: this experiment stored no certificates, so the bound predicts nothing"
    c = config.certify
    learner = learner_label(config.finetune.subspace)
    return (
        # The module's name before the package was laid out in stages; the committed
        # reports say it this way, and a report's text changes only with its numbers.
        f"pacbound.certify certificates ({learner} fine-tuning; Gaussian posteriors, σ and "
        f"family chosen under a union bound over {c.choices(config.finetune.subspace)}; "
        f"δ = {c.cell_delta(config.cell_count):.3g} per cell, {c.mc_share:.0%} of it for the "
        f"Monte-Carlo step with {c.draws} pairs)"
    )


def document(result: dict, config: ExperimentConfig) -> dict:
    """The report's JSON: the comparison with its schedule and certificate source in words,
    in the order the committed reports hold them."""
    missing = {"base_target_error", "delta"} - set(result)
    if missing:  # the anchors the two sentences sit beside
        raise ValueError(f"comparison lacks {sorted(missing)}: not a compare_experiment result")
    certified = "certificate" in result["per_budget"][0]
    out = {}
    for key, value in result.items():
        if key == "base_target_error":
            out["schedule_text"] = schedule_text(config)
        out[key] = value
        if key == "delta":
            out["certificate_source"] = certificate_source(config, certified)
    return out


def _versus_base(row: dict) -> str:
    """Whether fine-tuning beat not fine-tuning at this budget, with its p-value."""
    better, worse = row["buckets_better_than_base"], row["buckets_worse_than_base"]
    text = f"{', '.join(better)} better" if better else "none better"
    if worse:
        text += f"; {', '.join(worse)} worse"
    return text + f" (Holm p = {row['some_bucket_beats_base_p']:.3f})"


def _intervals_text(result: dict) -> str:
    """What the intervals and p-values resample, in words."""
    boot, runs, buckets = result["bootstrap"], len(result["seeds"]), result["buckets"]
    seeds = f"{boot['distinct_resamples_per_bucket_and_budget']} distinct resamples of one cell's"
    if "levels" not in boot:  # a report from before base draws and per-problem outcomes
        return (
            f"Intervals: {boot['kind']} ({boot['resamples']} resamples; {seeds} "
            f"{runs} seeds). Errors are scored on the same held-out problems for "
            "every arm; their sampling noise is not in the intervals. p-values: exact one-sided "
            "sign-flip tests of a bucket's seeds against the base; Holm over buckets for 'some "
            f"bucket beats the base' (its floor with {runs} seeds is "
            f"{min(1.0, len(buckets) * 2.0**-runs):.3f}).\n"
        )
    draws = len(result["draws"])
    problems = (
        "Every arm is scored on the same held-out problems, resampled once for all arms. "
        if "held-out problems" in boot["levels"]
        else "The risks are exact: no held-out problems to resample. "
    )
    pooling = "Means pool the base draws and seeds. " if draws > 1 else ""
    resampling = (
        f"a hierarchical bootstrap resampling {' → '.join(boot['levels'])}, outermost first "
        f"({boot['resamples']} resamples; {seeds} {len(result['seeds']) // draws} seeds)"
    )
    if "critical" not in boot:  # a report from before valid few-draw inference
        per_run = (
            "(draw, seed) run against its own draw's base" if draws > 1 else "seed against the base"
        )
        floor = max(2.0**-runs, 1 / (optimum.SIGN_FLIP_DRAWS + 1))
        how = "exact" if runs <= optimum.EXACT_SIGN_FLIPS else f"{optimum.SIGN_FLIP_DRAWS:,} random"
        return (
            f"Intervals: percentile intervals of {resampling}; judged before valid few-draw "
            f"inference (too narrow with few base draws). {problems}{pooling}p-values: "
            f"one-sided sign-flip tests ({how} sign assignments) of each {per_run}, given the "
            f"held-out problems; Holm over buckets for 'some bucket beats the base' (its floor "
            f"with {runs} runs is {min(1.0, len(buckets) * floor):.3g}).\n"
        )
    units, df = boot["units"], boot["df"]
    over = f"t on {df} degrees of freedom, multiplier {boot['critical']:.3f}" if df else "normal"
    return (
        f"Intervals: 95%, over the {units} {boot['unit']} ({over}), with standard errors "
        f"from {resampling}, corrected for the number of units by √(D/(D − 1)); which bucket "
        f"wins and the switch budget are read from replicates widened by "
        f"{boot['widening']:.2f} about the estimate, to the same width "
        f"(`pacbound.analysis.inference`). {problems}{pooling}p-values: one-sided t tests of "
        f"each bucket's gain over the base on the same standard error and degrees of freedom "
        f"(p ≤ 0.025 exactly when the gain's interval excludes 0); Holm over buckets for "
        f"'some bucket beats the base'.\n"
    )


def measured_lines(result: dict) -> list[str]:
    """The measured half of the report: the base beside the buckets, the optimum with its
    intervals, the switch, the trend, the inverted U."""
    buckets, lines = result["buckets"], []
    levels = result["pretrain_levels"]
    base = f"pretrained on levels {levels[0]}–{levels[1]}" if levels else "the prior mean"
    lines.append(
        f"Fine-tuning schedule: {result['schedule_text']}. Base: {base}; its target error "
        f"(not fine-tuned) {result['base_target_error']:.3f}.\n"
    )
    lines.append(_intervals_text(result))
    lines.append("## Target error: the base and each bucket (mean over seeds)\n")
    lines.append(
        "| n | steps | base | "
        + " | ".join(buckets)
        + " | optimum (bootstrap) | per-seed argmin | P(interior) | vs base |"
    )
    lines.append(rule(len(buckets) + 7))
    for row in result["per_budget"]:
        errors = " | ".join(
            f"{row['target_error'][b]:.3f} ({row['gain_interval'][b][0]:+.3f}, "
            f"{row['gain_interval'][b][1]:+.3f})"
            for b in buckets
        )
        best = row["measured_optimum"]
        counts = "/".join(str(row["per_seed_argmin_counts"][b]) for b in buckets)
        tied = [b for b in row.get("measured_tied", [best]) if b != best]
        tie = f"; tied: {', '.join(tied)}" if tied else ""
        lines.append(
            f"| {row['budget']} | {row['steps']} | {row['base_target_error']:.3f} | {errors} | "
            f"{best} ({row['bootstrap_frequency'][best]:.0%}{tie}) | {counts} | "
            f"{row['interior_probability']:.2f} | {_versus_base(row)} |"
        )
    lines.append(
        "\nIn brackets: the 95% interval of the gain over the base (base error − "
        "bucket error; > 0 is better than not fine-tuning; see Intervals). Optimum: the lowest "
        "mean error, its frequency among the (widened) bootstrap replicates, and the buckets "
        "tied with it within the seeds' noise (the "
        "predictions' tie tolerance). Per-seed argmin: how often each bucket wins among the "
        "cells of one seed index.\n"
    )
    lines.append("## Headlines\n")
    lines += headline_lines(result)
    if len(result.get("draws", [])) > 1:
        lines += draw_lines(result)
    lines.append("\n## Per-level error: the base and each bucket\n")
    rows = result["per_budget"]
    for row in (rows[0], rows[-1]) if len(rows) > 1 else rows:
        levels = list(row["level_errors"]["base"])
        lines.append(f"n = {row['budget']}:\n")
        lines.append("| arm | " + " | ".join(levels) + " |")
        lines.append(rule(1 + len(levels)))
        for arm, errors in row["level_errors"].items():
            lines.append(f"| {arm} | " + " | ".join(f"{errors[k]:.2f}" for k in levels) + " |")
        lines.append("")
    return lines


def draw_lines(result: dict) -> list[str]:
    """Each base draw's own optimum, switch and trend beside the pooled ones."""
    draws = result["draws"]
    lines = ["\n## Base draws side by side\n"]
    lines.append(
        "The optimum of each draw's own seed means; the pooled column is the table's. "
        "Base target error (not fine-tuned) in brackets.\n"
    )
    columns = [f"draw {d['base']} ({d['base_target_error']:.3f})" for d in draws]
    lines += ["| n | " + " | ".join(columns) + " | pooled |", rule(len(draws) + 2)]
    for i, row in enumerate(result["per_budget"]):
        mine = " | ".join(d["optimum"][i] for d in draws)
        lines.append(f"| {row['budget']} | {mine} | {row['measured_optimum']} |")
    switches = " | ".join(d["switch"] for d in draws)
    lines.append(f"| switch | {switches} | {result['switch']['budget']} |")
    trends = " | ".join(
        "constant" if d["spearman"] is None else f"{d['spearman']:.2f} (p {d['permutation_p']:.2g})"
        for d in draws
    )
    pooled = result["trend"]
    overall = (
        "constant"
        if pooled["constant"]
        else f"{pooled['spearman']:.2f} (p {pooled['permutation_p']:.2g})"
    )
    lines.append(f"| Spearman ρ | {trends} | {overall} |")
    return lines


def headline_lines(result: dict) -> list[str]:
    """The headlines: fine-tuning against the base, the switch, the trend, the inverted U
    (also the index's summary of the experiment)."""
    buckets, lines = result["buckets"], []
    switch, trend = result["switch"], result["trend"]
    never = [r["budget"] for r in result["per_budget"] if not r["buckets_better_than_base"]]
    exact = "critical" not in result["bootstrap"]  # before valid few-draw inference
    test = "exact one-sided p ≤ 0.05" if exact else "one-sided t test over the units, p ≤ 0.05"
    floor = 2.0 ** -len(result["seeds"])
    if exact and floor > 0.05:
        lines.append(
            f"- Fine-tuning against not fine-tuning: with {len(result['seeds'])} seeds an exact "
            f"one-sided test cannot reach p ≤ 0.05 (its floor is {floor:.3f}); read the gain "
            "intervals in the table instead."
        )
    elif never:
        lines.append(
            f"- Fine-tuning against not fine-tuning: no bucket is better than the base ({test} "
            f"per bucket) at n = {', '.join(map(str, never))}."
        )
    else:
        lines.append(f"- At every budget some bucket is better than the base ({test} per bucket).")
    hardest = buckets[-1]
    lines.append(
        f"- Switch budget (from which {hardest} stays optimal): **{switch['budget']}**, "
        f"95% interval [{switch['interval_95'][0]}, {switch['interval_95'][1]}]; "
        f"P(no switch within the grid) = {switch['frequency']['never']:.2f}."
    )
    if trend["constant"]:
        lines.append("- The measured optimum is the same bucket at every budget: constant.")
    else:
        how = (
            f"exact over its {trend['orderings']:,} orderings"
            if trend["exact"]
            else f"{optimum.PERMUTATION_DRAWS:,} random of its {trend['orderings']:,} orderings"
        )
        lines.append(
            f"- Trend of the optimum with n: Spearman ρ = {trend['spearman']:.2f}, permutation "
            f"p = {trend['permutation_p']:.2g} ({how}; one-sided, harder with n); "
            + (
                "non-decreasing."
                if trend["non_decreasing"]
                else "not monotone (it moves back to an easier bucket at a larger n)."
            )
        )
    interior = [
        f"{r['budget']}: {r['interior_probability']:.2f}"
        for r in result["per_budget"]
        if r["interior_probability"] >= 0.005
    ]
    lines.append(
        "- Inverted U (an interior bucket optimal), bootstrap probability by n: "
        + (
            ", ".join(interior) + "; below 0.005 elsewhere"
            if interior
            else "below 0.005 at every budget"
        )
        + "."
    )
    return lines


def report_markdown(result: dict) -> str:
    """The comparison as a Markdown report: measurement first, then the bound's predictions."""
    lines = [f"# Comparison: {result['experiment']} (config {result['config_hash']})\n"]
    lines += measured_lines(result)
    lines.append("## The bound's predictions\n")
    lines.append(f"Certificate: {result['certificate_source']}.\n")
    if result["per_budget"][0]["bound"]:
        lines += bound_lines(result)
    if result["predictions"]:
        lines += prediction_headlines(result)
    return "\n".join(lines) + "\n"


def bound_lines(result: dict) -> list[str]:
    """Per budget: the certificates, the floor, and the certified bound's argmin per term."""
    buckets, lines = result["buckets"], []
    floor_names = list(result["floors"])
    checks = result["assumptions"]
    terms = list(result["per_budget"][0]["bound"])
    lines.append(
        "Per budget: each bucket's certificate on its in-distribution risk (mean over seeds; "
        "* where it is informative: below 1 and below the base's own error in the bucket), "
        "the floor no certificate can go below (KL = 0, zero empirical risk), and the argmin "
        "of the certified bound on the target over the informative buckets, per shift term "
        "(coverage: λ·R_pre + (1 − λ)·certificate + coverage TV, R_pre measured). Where no "
        "bucket is informative the bound makes no prediction.\n"
    )
    lines.append(
        "| n | "
        + " | ".join(f"cert. {b}" for b in buckets)
        + " | "
        + " | ".join(f"floor ({name.replace('_', ' ')})" for name in floor_names)
        + " | "
        + " | ".join(f"pred. {label('bound: ' + t, checks)[7:]}" for t in terms)
        + " |"
    )
    lines.append(rule(1 + len(buckets) + len(floor_names) + len(terms)))
    for row in result["per_budget"]:
        certs = " | ".join(
            f"{row['certificate'][b]:.3f}" + ("*" if row["certificate_informative"][b] else "")
            for b in buckets
        )
        floors = " | ".join(f"{row['floor'][name]:.3f}" for name in floor_names)
        predicted = " | ".join(
            "no prediction"
            if row["predicted_optimum"][t] is None
            else row["predicted_optimum"][t] + (" (tie)" if row["predicted_tie"][t] else "")
            for t in terms
        )
        lines.append(f"| {row['budget']} | {certs} | {floors} | {predicted} |")
    lines.append("")
    return lines


def prediction_headlines(result: dict) -> list[str]:
    """The predictions report's verdicts in a few lines."""
    lines = ["## Does a predictor track the measured optimum on held-out budgets?\n"]
    checks = result["assumptions"]
    violated = [t for t, c in checks.items() if c["status"] == "violated"]
    if violated:
        lines.append(
            "- Shift-term assumptions violated on the measured per-level errors: "
            + "; ".join(f"{t} ({checks[t]['detail']})" for t in violated)
            + "."
        )
    for protocol, data in result["predictions"]["protocols"].items():
        lines.append(f"- {protocol}: {verdict_text(data)}.")
    lines.append(
        f"\nEvery predictor, metric and interval: `{result['experiment']}_predictions.md`.\n"
    )
    return lines


def write_report(result: dict, folder) -> tuple:
    """<folder>/<experiment>_report.md and .json, and the predictions report
    <folder>/<experiment>_predictions.md and .json."""
    name = result["experiment"]
    written = write_pair(folder, f"{name}_report", report_markdown, result)
    if not result["predictions"]:
        return written
    return written + write_predictions(
        name, result["buckets"], result["assumptions"], result["predictions"], folder
    )
