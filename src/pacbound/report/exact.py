"""The exact experiment's reports: ``<name>_model.md``/``.json`` (the true d*(n), the
certificates, the bounds' d*(n), comparative statics, predictions) and its predictions report.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pacbound.analysis.exact import budget_runs
from pacbound.numeric.argmin import first_minimum
from pacbound.report.markdown import NONE, header, write_pair, yes_no
from pacbound.report.predictions import verdict_text, write_predictions


def document(result: dict, evaluation: dict) -> dict:
    """The model report's JSON: the result with each protocol's verdict in words first."""
    predictions = {
        protocol: {"verdict": verdict_text(evaluation["protocols"][protocol]), **data}
        for protocol, data in result["predictions"].items()
    }
    return {**result, "predictions": predictions}


def _runs(ranges) -> str:
    if not ranges:
        return "nowhere"
    return ", ".join(f"n = {a}" if a == b else f"n = {a}–{b}" for a, b in ranges)


def headlines(result: dict) -> list[str]:
    """The report's key findings, a line each (also the index's summary)."""
    truth, budgets = result["truth"], result["budgets"]
    moves = ", ".join(f"{m['to']} from n = {m['budget']}" for m in truth["moves"])
    single = sum(len(b) == 1 for b in truth["band"])
    inverted = [n for n, flag in zip(budgets, truth["inverted_u"], strict=True) if flag]
    lines = [
        f"- True d*(n): {truth['d_star'][0]} at n = {budgets[0]}, then {moves}"
        f"{' (non-decreasing in n)' if truth['monotone'] else ' (not monotone in n)'}. The band "
        f"(buckets within 2 paired standard errors of the best; largest paired SE "
        f"{truth['max_paired_se']:.4f}, {result['draws']} training sets per cell) is one bucket "
        f"at {single} of {len(budgets)} budgets.",
        f"- Inverted U (an interior bucket beats both ends beyond the band) at "
        f"{_runs(budget_runs(budgets, truth['inverted_u']))}"
        + (f" ({len(inverted)} budgets)." if inverted else "."),
        f"- Certificates ({result['certificates']['bound']} bound, δ = "
        f"{result['certificates']['delta']}, exact KL and empirical risk) cover R_d(Q_S) on every "
        f"draw of every cell: {yes_no(result['coverage']['certificate']['all'])} (smallest margin "
        f"{result['certificates']['smallest_margin']:.4f}); every shift term's bound covers "
        f"R_T(Q_S) on every draw: "
        f"{yes_no(all(result['coverage'][t]['all'] for t in result['shift_terms']))}.",
    ]
    for term, data in result["bound_optimum"].items():
        status = result["assumptions"][term]["status"]
        distance = np.abs(data["distance"])
        lines.append(
            f"- Bound with {term} ({status}): its d*(n) is in the true band at "
            f"{_runs(data['tracks'])}; elsewhere {distance.max()} buckets off at most (mean "
            f"{distance.mean():.1f}), regret up to {max(data['regret']):.3f}. Its bound at its "
            f"choice is below 1 at {_runs(data['non_vacuous'])} and below the base's target risk "
            f"({truth['base_target_risk']:.3f}) at {_runs(data['below_base'])}."
        )
    n, data = list(result["diagnosis"].items())[-1]
    r_d, r_t = data["in_bucket_risk"], data["target_risk"]
    names = result["buckets"]
    lines.append(
        f"- Why the bounds miss: at n = {n} the risk on a bucket's own levels R_d rises from "
        f"{r_d[0]:.3f} ({names[0]}) to {r_d[-1]:.3f} ({names[-1]}) while the target risk goes "
        f"from {r_t[0]:.3f} to {r_t[-1]:.3f}; the true extrapolation gap R_T − R_d runs from "
        f"{r_t[0] - r_d[0]:+.3f} to {r_t[-1] - r_d[-1]:+.3f}. Every shift term is ≥ 0, so no "
        "bound R_d + shift can credit the negative gap of hard buckets (their own levels are "
        "noisier than the target), and each bound inherits R_d's preference for easy data "
        "unless its shift term outweighs it."
    )
    statics = result["comparative_statics"]
    kl = statics["kl_increasing"]
    lines.append(
        f"- Comparative statics: E[KL] increases with difficulty in {kl['share']:.0%} of "
        f"{kl['pairs']} adjacent pairs; decreasing differences in (d, n) hold in "
        + ", ".join(
            f"{statics[key]['share']:.0%} ({key.split(': ')[1]})"
            for key in statics
            if key.startswith("decreasing")
        )
        + " of the adjacent (bucket, budget) squares."
    )
    if "gain" in result:
        lines += gain_headlines(result)
    for protocol, data in result["predictions"].items():
        lines.append(f"- Predictions, {protocol}: {data['verdict']}.")
    return lines


def gain_headlines(result: dict) -> list[str]:
    """The certified gain over the base in two lines."""
    gain, budgets = result["gain"], result["budgets"]
    split, target = gain["forms"]["split-kl"], gain["target"]
    best = max(target["bounds"].items(), key=lambda item: item[1]["in_band_count"])
    starts = {form: data["from_budget"] for form, data in target["tracking"].items()}
    return [
        f"- Gain over the base (split-kl, δ = {gain['delta']:g}): covers the exact gain on "
        f"every draw: {yes_no(split['covers_every_draw'])}; certifies that fine-tuning helps "
        f"on the bucket in {split['certified_help_share']:.1%} of draws (it truly helps in "
        f"{gain['true_help_share']:.1%}); the difference form is the tighter in "
        f"{1 - gain['split_kl_tighter_share']:.0%} of draws.",
        f"- Certified target gain: the best shift ({best[0]}) has its argmin in the true band "
        f"at {best[1]['in_band_count']} of {len(budgets)} budgets. No constant shift can make "
        "any certificate track on the whole grid (the difference constraints fail); one can "
        "from n = " + ", ".join(f"{v} ({k})" for k, v in starts.items() if v is not None) + " on.",
    ]


def markdown(result: dict) -> str:
    """The exact experiment's report."""
    task, truth = result["task"], result["truth"]
    names, budgets = result["buckets"], result["budgets"]
    lines = [
        f"# The skill ladder, exactly: `{result['experiment']}`\n",
        "A level-k problem uses skills 1 … k (inputs z_1 … z_k ~ N(0, 1), answer Σ_j w*_j z_j "
        "plus noise); the base is right on the easy skills and wrong on the hard ones; the "
        "learner is Bayesian linear regression from the base, overconfident about the noise "
        "(`pacbound.tasks.skills`). Every risk, KL and certificate below is exact; the only "
        "Monte-Carlo average is over the training inputs (the answers' noise is integrated "
        "exactly), and its error is given.\n",
        "Parameters, chosen for a clear mechanism before any predictor was run: "
        f"K = {task['levels']} skills and levels, w* = 1, θ_pre right on skills 1–{task['known']} "
        f"and wrong by (j − {task['known']})/{task['levels'] - task['known']} beyond; noise "
        f"σ_k = {task['noise_max']:g}·(k/{task['levels']})^{task['noise_power']:g} "
        f"({result['noise_std'][0]:.2f} … {result['noise_std'][-1]:.2f}); assumed noise "
        f"σ_a = {task['assumed_noise']:g}; prior σ_p = {task['prior_std']:g}; loss "
        f"1 − exp(−r²/(2·{task['loss_scale']:g}²)). Buckets: {len(names)} sliding windows of "
        f"levels ({names[0]} … {names[-1]}); target uniform over levels "
        f"{result['target'][0]}–{result['target'][1]}; {len(budgets)} budgets n = "
        f"{budgets[0]} … {budgets[-1]}; {result['draws']} training sets per cell, the same "
        "random numbers for every bucket.\n",
        "## Headlines\n",
        *headlines(result),
        "",
        "## The true optimum and each bound's\n",
        "Per budget: the true d*(n) (expected target risk, its band in brackets when wider), "
        "and the argmin over buckets of each shift term's certified bound on the target risk "
        "(in bold where it falls in the true band).\n",
        *header("n", "true d*(n)", "risk at d*", "paired SE", *result["bound_optimum"]),
    ]
    mean = np.array(truth["mean"])
    se = np.array(truth["paired_se"])
    runner_up = np.argsort(mean, axis=0, kind="stable")[1]
    for i, n in enumerate(budgets):
        band = truth["band"][i]
        star = truth["d_star"][i] + (f" [{', '.join(band)}]" if len(band) > 1 else "")
        cells = []
        for data in result["bound_optimum"].values():
            choice = f"{data['d_star'][i]} ({data['bound_at_choice'][i]:.2f})"
            cells.append(f"**{choice}**" if data["in_band"][i] else choice)
        lines.append(
            f"| {n} | {star} | {mean[:, i].min():.4f} | {se[runner_up[i], i]:.4f} | "
            + " | ".join(cells)
            + " |"
        )
    lines += [
        "",
        "The bound's value at its choice is in parentheses. Paired SE: the Monte-Carlo standard "
        "error of the difference between the best and the runner-up bucket.\n",
        "## Shift terms and their assumptions\n",
        *header("term", *names, "assumption", "status"),
    ]
    for term, values in result["shift_terms"].items():
        check = result["assumptions"][term]
        lines.append(
            f"| {term} | "
            + " | ".join(f"{v:.3f}" for v in values)
            + f" | {check['assumption']} | {check['status']}: {check['detail']} |"
        )
    statics = result["comparative_statics"]
    lines += [
        "",
        "## Comparative statics (theory/optimal_difficulty.md), on the exact terms\n",
        f"E[KL(Q_S‖P)] is non-decreasing in difficulty in {statics['kl_increasing']['share']:.0%}"
        f" of {statics['kl_increasing']['pairs']} adjacent bucket pairs. Decreasing differences "
        "[B(d+1, n') − B(d, n')] − [B(d+1, n) − B(d, n)] ≤ 0 on adjacent buckets and budgets "
        "(sufficient for d*(n) non-decreasing, by Topkis):\n",
        *header(
            "function", "share of squares", "largest violation", "its argmin non-decreasing in n"
        ),
    ]
    for key, data in statics.items():
        if key.startswith("decreasing"):
            lines.append(
                f"| {key.split(': ')[1]} | {data['share']:.0%} of {data['pairs']} | "
                f"{data['largest_violation']:+.4f} | {yes_no(data['d_star_monotone'])} |"
            )
    lines += [
        "",
        "## Why a bound picks what it picks\n",
        "At three budgets, per bucket: the true risk on its own levels R_d and on the target "
        "R_T (means over training sets), the true extrapolation gap R_T − R_d that each shift "
        "term stands in for, the certificate on R_d, and each bound on R_T (certificate + "
        "shift; the coverage bound also credits λ·R_pre). The argmin of each column is in "
        "bold.\n",
    ]
    for n, data in result["diagnosis"].items():
        columns = {
            "R_d": data["in_bucket_risk"],
            "R_T": data["target_risk"],
            "R_T − R_d": list(np.subtract(data["target_risk"], data["in_bucket_risk"])),
            "certificate": data["certificate"],
            **{f"bound: {t}": v for t, v in data["bound"].items()},
        }
        lines += [
            f"n = {n}:\n",
            *header("bucket", *columns),
        ]
        lowest = {name: int(first_minimum(values)) for name, values in columns.items()}
        for b, name in enumerate(names):
            cells = [
                f"**{values[b]:+.3f}**"
                if lowest[c] == b and c != "R_T − R_d"
                else f"{values[b]:+.3f}"
                for c, values in columns.items()
            ]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        lines.append("")
    cert = result["certificates"]
    mean_cert = np.array(cert["mean_certificate"])
    lines += [
        "",
        "## Certificates\n",
        f"The {cert['bound']} bound at δ = {cert['delta']} on R_d(Q_S), with the exact KL and "
        "the exact empirical risk of every training set. Every certificate and every bound is "
        "checked against the exact realized risk of its own draw: the smallest share of draws "
        "covered in a cell is "
        + ", ".join(f"{k} {v:.3f}" for k, v in cert["coverage_min"].items())
        + ". Mean certificate per bucket (rows) and budget (columns, every fourth):\n",
        *header("bucket", *(str(budgets[i]) for i in range(0, len(budgets), 4))),
    ]
    for b, name in enumerate(names):
        lines.append(
            f"| {name} | "
            + " | ".join(f"{mean_cert[b, i]:.3f}" for i in range(0, len(budgets), 4))
            + " |"
        )
    lines += ["", *gain_section(result["gain"], names, budgets)]
    lines += ["", *target_gain_section(result, names)]
    lines += [
        "",
        "## Predictions on held-out budgets\n",
        "The same predictors, protocols and metrics as for the transformer "
        "(`pacbound.analysis.predict`); draws play the part of seeds, resampled jointly "
        "because they are paired. Regret with its 95% bootstrap interval:\n",
        *header("predictor", "kind", *result["predictions"]),
    ]
    first = next(iter(result["predictions"].values()))["regret"]
    for name, row in first.items():
        cells = []
        for data in result["predictions"].values():
            r = data["regret"][name]
            interval = r["interval"] or [np.nan, np.nan]
            cells.append(f"{r['regret']:.4f} [{interval[0]:.4f}, {interval[1]:.4f}]")
        lines.append(f"| {name} | {row['kind']} | " + " | ".join(cells) + " |")
    lines += [
        "",
        f"Every metric: `{result['experiment']}_predictions.md`. Figures: "
        f"`{result['experiment']}_optimum.png` (true d*(n), its band, each bound's argmin, the "
        f"held-out choices), `{result['experiment']}_landscape.png` (the true risk and each bound "
        f"over buckets × budgets), `{result['experiment']}_level_risk.png` (per-level risks at "
        f"n = {result['level_risk_budgets'][0]} and {result['level_risk_budgets'][1]}), "
        f"`{result['experiment']}_gain.png` (the true and the certified target gain over the "
        f"base), `{result['experiment']}_predictions.png`.",
        "",
    ]
    return "\n".join(lines)


def gain_section(gain: dict, names, budgets) -> list[str]:
    """The certified gain over the base on each bucket, against the exact gain."""
    forms = gain["forms"]
    split, difference = forms["split-kl"], forms["difference"]
    tighter = np.array(gain["split_kl_tighter_by_budget"])
    never = [i for i in range(len(budgets)) if not tighter[i:].any()]
    from_n = f", and in none from n = {budgets[never[0]]} on" if never else ""
    lines = [
        "## The gain over the base, certified\n",
        "Against the base (the prior P, fixed before any sample), the gain R_d(Q_S) − R_d(P) "
        "on the bucket's own levels is bounded two ways at δ = "
        f'{gain["delta"]:g} (theory/bounds.md, "The gain over the base"): split-kl, '
        "kl⁻¹₊(damage) − kl⁻¹₋(improvement) with the exact Ê g⁺ and Ê g⁻ of g = ℓ(θ) − ℓ(θ′), "
        "θ ~ Q, θ′ ~ P; and the difference of a kl bound on R_d(Q) and a lower kl bound on "
        "R_d(P). A value below 0 certifies that fine-tuning on the bucket helps there.\n",
        f"- Validity: the largest share of a cell's {gain['draws']} draws whose exact gain lies "
        f"above the certificate is {split['failure_rate_max']:.3f} (split-kl) and "
        f"{difference['failure_rate_max']:.3f} (difference), against δ = {gain['delta']:g}. "
        "Pooled over every (cell, draw): "
        + "; ".join(
            f"{form} fails {data['failures']} of {data['trials']}, failure rate 95% interval "
            f"[{data['failure_interval'][0]:.2g}, {data['failure_interval'][1]:.2g}]"
            for form, data in forms.items()
        )
        + " (draws are independent within a cell; cells share their draws' inputs).",
        f"- Fine-tuning truly helps on its bucket in {gain['true_help_share']:.1%} of "
        f"(cell, draw) pairs; split-kl certifies help in {split['certified_help_share']:.1%} "
        f"of them all ({_share_text(split['help_found'])} of those that help), the difference "
        f"form in {difference['certified_help_share']:.1%} "
        f"({_share_text(difference['help_found'])}).",
        f"- Split-kl is the lower of the two in {gain['split_kl_tighter_share']:.1%} of the "
        f"draws: in {tighter[0]:.0%} of those at n = {budgets[0]}{from_n}. It pays the KL on both "
        "parts, the difference form on R_d(Q) alone, so the difference wins wherever KL/n "
        "dominates; split-kl wins where the gain is concentrated (small n, easy buckets).\n",
        *header("bucket", "first n certified (split-kl)", "first n certified (difference)"),
    ]
    for name in names:
        first = [forms[f]["first_budget_below_zero"][name] for f in ("split-kl", "difference")]
        lines.append(
            f"| {name} | " + " | ".join(NONE if v is None else f"{v}" for v in first) + " |"
        )
    shown = range(0, len(budgets), 4)
    lines += [
        "",
        "Mean over draws: exact gain / split-kl / difference, per bucket and budget (every "
        "fourth):\n",
        *header("bucket", *(str(budgets[i]) for i in shown)),
    ]
    true = np.array(gain["true_gain_mean"])
    for b, name in enumerate(names):
        cells = [
            f"{true[b, i]:+.3f} / {split['mean'][b][i]:+.3f} / {difference['mean'][b][i]:+.3f}"
            for i in shown
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def target_gain_section(result: dict, names) -> list[str]:
    """The certified target gain under each shift, and whether a constant shift can track."""
    target, budgets = result["gain"]["target"], result["budgets"]
    pilots = target["pilot_budgets"]
    lines = [
        "## From the bucket's gain to the target's\n",
        "The target gain R_T(Q) − R_T(P) is bounded from a bucket's gain certificate and a "
        'shift on the gains of the levels outside the bucket (theory/bounds.md): "no harm" '
        'assumes they gain at most 0 (bound: target mass inside × certificate); "transfer" '
        "assumes they gain at most the bucket's gain plus L per level of distance over K − 1, "
        f"L measured on the far-half pilots (n = {pilots[0]} … {pilots[-1]}: the largest "
        "draw-mean excess). Per bound: its coverage of the exact target gain over (cell, "
        "draw), the share of those in which its assumption holds, the share of its argmins "
        f"in the true band over the {len(budgets)} budgets, and the four risk bounds beside "
        "it.\n",
        *header("bound", "L", "covers", "assumption holds", "in band", "help certified"),
    ]
    for name, data in target["bounds"].items():
        constant = NONE if data["constant"] is None else f"{data['constant']:.3f}"
        lines.append(
            f"| {name} | {constant} | {data['covers']:.3f} | {data['assumption_holds']:.3f} | "
            f"{data['in_band_count']}/{len(budgets)} | {data['certified_help_share']:.1%} |"
        )
    for term, data in result["bound_optimum"].items():
        lines.append(
            f"| risk bound: {term} | {NONE} | {NONE} | {NONE} | "
            f"{sum(data['in_band'])}/{len(budgets)} | {NONE} |"
        )
    lines += [
        "",
        "Can any constant shift track? A bound of the form certificate_d(n) + c_d, c_d the "
        "same at every budget (every shift term above, any assumption of that kind), has its "
        "argmin in the true band at every budget only if, wherever the true optimum moves "
        "from d at n₁ to d′ at n₂, the certificate's difference d′ − d does not grow from n₁ "
        'to n₂ (theory/optimal_difficulty.md, "No constant shift tracks"):\n',
        *header("certificate", "some constant shift tracks", "violated at", "tracks from n ="),
    ]
    for form, data in target["tracking"].items():
        pair = data["pair"]
        where = NONE
        if pair:
            (n1, n2), (d1, d2) = pair["budgets"], pair["optima"]
            where = (
                f"n = {n1} ({names[d1]}) → {n2} ({names[d2]}): {names[d2]} − {names[d1]} "
                f"grows {pair['difference'][0]:+.4f} → {pair['difference'][1]:+.4f}"
            )
        start = NONE if data["from_budget"] is None else str(data["from_budget"])
        label = "risk (kl on R_d)" if form == "risk" else f"gain ({form})"
        lines.append(f"| {label} | {yes_no(data['feasible'])} | {where} | {start} |")
    return lines


def _share_text(value) -> str:
    return NONE if value is None else f"{value:.1%}"


def write(result: dict, evaluation: dict, out_dir) -> list[Path]:
    """<name>_model.md/.json, <name>_predictions.md/.json and the figures; ``evaluation``
    without its bootstrap draws (``analysis.predict.summarize_evaluation``)."""
    from pacbound.report.exact_figures import exact_figures

    out_dir = Path(out_dir)
    name = result["experiment"]
    model = document(result, evaluation)
    paths = list(write_pair(out_dir, f"{name}_model", markdown, model))
    paths += write_predictions(name, result["buckets"], result["assumptions"], evaluation, out_dir)
    paths += exact_figures(result, evaluation, out_dir)
    return paths
