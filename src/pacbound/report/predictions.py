"""The predictions report (``<name>_predictions.md`` and ``.json``): every predictor under
every protocol, with the verdicts, from ``pacbound.analysis.predict.evaluate``'s summary."""

from __future__ import annotations

from pacbound.analysis.predict import FAR_PILOTS, HEADLINE, VALIDATION_SIZES
from pacbound.report.markdown import rule, shown, write_pair


def _with_interval(row: dict, name: str, digits: int = 2) -> str:
    interval = row.get("interval", {}).get(name)
    text = shown(row[name], digits)
    if interval is None or row[name] is None:
        return text
    return f"{text} [{interval[0]:.{digits}f}, {interval[1]:.{digits}f}]"


def label(name: str, checks: dict | None) -> str:
    """A predictor's name, marked when its shift term's assumption is violated."""
    term = name.removeprefix("bound: ")
    if checks and name.startswith("bound: ") and checks.get(term, {}).get("status") == "violated":
        return f"{name} (assumption violated)"
    return name


def validation_size_matching(validation: list[dict], regret: float | None) -> int | None:
    """The smallest m of the evaluation's labelled-validation rows whose regret is at most
    ``regret`` (the "m matching" column)."""
    if regret is None:
        return None
    return next((row["m"] for row in validation if row["regret"] <= regret + 1e-12), None)


def verdict_text(protocol: dict) -> str:
    v = protocol["verdict"]
    rows = protocol["predictors"]
    text = (
        f"best by regret: **{v['best']}** ({rows[v['best']]['regret_all']:.3f}); best baseline: "
        f"**{v['best_baseline']}** ({rows[v['best_baseline']]['regret_all']:.3f})"
    )
    if v["best_theory"] is None:
        return text + "; no theory-derived predictor has the information it needs here"
    if v["difference_interval"] is None:
        return (
            text + f"; the best theory-derived predictor is **{v['best_theory']}** (paired "
            f"regret difference {v['difference']:+.3f}, no interval)"
        )
    low, high = v["difference_interval"]
    beats = "beats" if v["theory_beats_baseline"] else "does not beat"
    return (
        text + f"; the best theory-derived predictor, **{v['best_theory']}**, {beats} it beyond "
        f"the intervals (paired regret difference {v['difference']:+.3f}, 95% interval "
        f"[{low:+.3f}, {high:+.3f}])"
    )


def predictions_markdown(name: str, evaluation: dict, checks: dict | None) -> str:
    """The predictions report: assumptions, predictor × protocol table, validation sizes,
    choices per budget, verdict."""
    lines = [f"# Predicting the optimal difficulty: {name}\n"]
    if evaluation.get("paired"):
        noise = "√(s_Δ²/S), the noise of a paired difference of two cell means over seeds"
        resampling = "the seeds of every cell drawn together, as they are paired"
    else:
        noise = "√(2·s²/S), the noise of a difference of two cell means over seeds"
        resampling = "each cell's seeds on their own"
    if evaluation.get("draws"):
        noise = "√(2·s²/S), the noise of a difference of two cell means over all runs"
        resampling = (
            f"the {evaluation['draws']} base draws, then each cell's seeds within each drawn "
            "base; the held-out problems are not resampled here"
        )
    over = "over seeds"
    if evaluation.get("problems"):
        over = "over runs and held-out problems"
        draws = evaluation.get("draws")
        resampling = (
            (
                f"the {draws} base draws, then each cell's seeds within each drawn base"
                if draws
                else "each cell's seeds on their own"
            )
            + ", then each level's held-out problems, one draw for every run and the base "
            "(the measured errors are recomputed from the outcomes; certificates, bounds and "
            "disagreements keep their values)"
        )
    lines.append(
        f"Tie tolerance {evaluation['tolerance']:.4f} ({noise}): buckets within it of the "
        "lowest are tied in the measurement; a predictor's choice ties within the same "
        "formula computed from its pilots' runs alone; a tie is a uniform pick. Intervals: "
        f"{_kind_of_interval(evaluation)} {over} ({evaluation['resamples']} resamples, "
        f"{resampling}, every "
        "predictor refitted, and the verdict's pick of the best theory-derived predictor and "
        "the best baseline made again in each). Regret: target error of the "
        "chosen bucket minus the best, mean over held-out budgets, a budget without a "
        "prediction counted as a uniform pick. Exact and within one: over the budgets with "
        "a prediction. τ: Kendall's τ_b of scores against measured errors along difficulty "
        "(per budget) and along n (per bucket); granulated τ their mean (Jiang et al., ICLR "
        "2020). Sign agreement: Hoeffding-weighted pairs within one budget and across budgets.\n"
    )
    lines += bootstrap_warning_lines(evaluation)
    lines += _not_recomputed(evaluation)
    lines += _headline(evaluation)
    if checks:
        lines.append("## Assumptions of the shift terms, on the measured per-level errors\n")
        lines.append("| term | assumption | status | where, how much |")
        lines.append(rule(4))
        for term, check in checks.items():
            lines.append(
                f"| {term} | {check['assumption']} | {check['status']} | {check['detail']} |"
            )
        lines.append("")
    first = next(iter(evaluation["protocols"].values()))
    lines.append("## Predictors\n")
    lines.append("| predictor | kind | uses |")
    lines.append(rule(3))
    for predictor, row in first["predictors"].items():
        lines.append(f"| {label(predictor, checks)} | {row['kind']} | {row['uses']} |")
    lines.append("")
    for protocol, data in evaluation["protocols"].items():
        held = ", ".join(map(str, data["held_out_budgets"]))
        lines.append(f"## {protocol} (held-out n: {held})\n")
        lines.append(
            "| predictor | predicted | exact | within one | regret | τ difficulty | τ n | "
            "granulated τ | sign within | sign across | m matching |"
        )
        lines.append(rule(11))
        for predictor, row in data["predictors"].items():
            matching = validation_size_matching(data["validation"], row["regret_all"])
            lines.append(
                f"| {label(predictor, checks)} | {row['predicted']}/{row['held_out']} | "
                f"{_with_interval(row, 'exact')} | {_with_interval(row, 'within_one')} | "
                f"{_with_interval(row, 'regret_all', 3)} | {shown(row.get('tau_difficulty'))} | "
                f"{shown(row.get('tau_budget'))} | {_with_interval(row, 'granulated_tau')} | "
                f"{shown(row.get('sign_within'))} | {shown(row.get('sign_across'))} | "
                f"{'> ' + str(VALIDATION_SIZES[-1]) if matching is None else matching} |"
            )
        lines.append(
            "\nm matching: the fewest labelled target problems per bucket (scored on the "
            "runs at the held-out budget) whose choice has at most the predictor's regret. "
            "Labelled validation by m: "
            + ", ".join(
                f"m = {v['m']}: exact {v['exact']:.2f}, regret {v['regret']:.3f}"
                for v in data["validation"]
            )
            + ".\n"
        )
        lines.append(f"Verdict ({protocol}): {verdict_text(data)}.\n")
    if "domain_adaptation" in evaluation:
        terms = evaluation["domain_adaptation"]
        lines.append("## The full domain-adaptation bound (Germain et al., ICML 2016)\n")
        lines.append(
            "R_T(G_Q) ≤ ½·d_T(Q) + β_q·e_S(Q)^(1−1/q) + η, with q = ∞ here. β is a density "
            "ratio of target to bucket on the bucket's levels; η is the target mass outside "
            "them times the worst risk there (1), a term no data can shrink. Per bucket: "
            + ", ".join(f"{b}: β_∞ = {t['beta']:.2f}, η = {t['eta']:.2f}" for b, t in terms.items())
            + ". So the bound is at least min η = "
            f"{min(t['eta'] for t in terms.values()):.2f} for every run"
            + (
                "; its value over the runs spans "
                f"{evaluation['domain_adaptation_bound']['min']:.3f} to "
                f"{evaluation['domain_adaptation_bound']['max']:.3f}."
                if "domain_adaptation_bound" in evaluation
                else "."
            )
            + " With buckets that leave target levels out, η decides: the bound says which "
            "bucket covers the most target mass, and nothing finer.\n"
        )
    protocol = headline_protocol(evaluation)
    lines.append(f"## Choices per held-out budget ({protocol})\n")
    rows = evaluation["protocols"][protocol]["predictors"]
    names = list(rows)
    lines.append("| n | measured | " + " | ".join(names) + " |")
    lines.append(rule(2 + len(names)))
    held = set(evaluation["protocols"][protocol]["held_out_budgets"])
    choices = {name: {int(k): v for k, v in rows[name]["choices"].items()} for name in names}
    for n, measured in evaluation["measured"].items():
        if int(n) not in held:
            continue  # a pilot
        cells = []
        for predictor in names:
            chosen = choices[predictor].get(int(n))
            cells.append("no prediction" if chosen is None else "/".join(chosen))
        lines.append(f"| {n} | {'/'.join(measured)} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def bootstrap_warning_lines(evaluation: dict) -> list[str]:
    """The evaluation's degenerate-bootstrap warning (``predict.bootstrap_warning``)."""
    warning = evaluation.get("bootstrap_warning")
    return [f"**Warning: {warning}.**\n"] if warning else []


def _not_recomputed(evaluation: dict) -> list[str]:
    """What a predictions report rebuilt from a comparison report could not recompute."""
    notes = evaluation.get("not_recomputed")
    if not notes:
        return []
    lines = [
        "## Not recomputed from the comparison report\n",
        "Rebuilt from the committed comparison report, not from the store: every choice and "
        "point metric comes from the report's runs and seed means. Not recomputed:\n",
    ]
    lines += [f"- {what}: {why}." for what, why in notes.items()]
    return [*lines, ""]


def _kind_of_interval(evaluation: dict) -> str:
    """The interval family, in words: t over the units (base draws, or a cell's runs), or
    the percentile intervals of an evaluation from before valid few-draw inference."""
    if "critical" not in evaluation:
        return "95% percentile bootstrap (judged before valid few-draw inference)"
    units = evaluation["units"]
    kind = "base draws" if evaluation.get("draws") else "runs of a cell"
    return (
        f"95% t intervals over the {units} {kind} (multiplier {evaluation['critical']:.3f}), "
        "standard errors from the bootstrap"
    )


def _headline(evaluation: dict) -> list[str]:
    """The far protocols' verdicts, first: the pilots at the smallest budgets, every larger
    budget held out (none in a report made before them)."""
    protocols = evaluation["protocols"]
    far = [name for name in FAR_PILOTS if name in protocols]
    if not far:
        return []
    lines = ["## Headline: predicting beyond the pilots\n"]
    budgets = sorted(int(n) for n in evaluation["measured"])
    for name in far:
        held = protocols[name]["held_out_budgets"]
        pilots = [n for n in budgets if n < min(held)]
        share = name.removeprefix("far-")
        lines.append(
            f"- {name} (pilots n = {', '.join(map(str, pilots))}, the smallest {share} of the "
            f"budgets; held out n = {', '.join(map(str, held))}): {verdict_text(protocols[name])}."
        )
    return [*lines, ""]


def headline_protocol(evaluation: dict) -> str:
    """The protocol a report leads with: far-half (pilots at the smallest half of the
    budgets, every larger one held out) where the grid allows it, else leave-one-out
    (reports made before the far protocols)."""
    return HEADLINE if HEADLINE in evaluation["protocols"] else "leave-one-budget-out"


def predictions_document(name: str, buckets, checks: dict | None, evaluation: dict) -> dict:
    """The predictions report's JSON: the evaluation summary with what it is of."""
    return {"experiment": name, "buckets": list(buckets), "assumptions": checks, **evaluation}


def write_predictions(name: str, buckets, checks: dict | None, evaluation: dict, folder):
    """<folder>/<name>_predictions.md and .json from an evaluation summary."""
    return write_predictions_document(
        predictions_document(name, buckets, checks, evaluation), folder
    )


def write_predictions_document(data: dict, folder):
    """<folder>/<experiment>_predictions.md and .json from a ``predictions_document``."""
    return write_pair(folder, f"{data['experiment']}_predictions", _predictions_markdown, data)


def _predictions_markdown(data: dict) -> str:
    # The document holds the evaluation's keys beside what it is of.
    return predictions_markdown(data["experiment"], data, data["assumptions"])
