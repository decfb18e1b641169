"""paper_figs/claims.md and .json: every claim of the paper against every experiment judged,
with the figure of verdicts (claims × experiments). Rendered from the claims documents of
``pacbound.analysis.claims`` alone."""

from __future__ import annotations

from pathlib import Path

from pacbound.report.markdown import NONE, header, write_pair

STEM = "claims"
COLOURS = {
    "holds": "#4c9a2a",
    "fails": "#c0392b",
    "undecided": "#bdbdbd",
    "undecided (too few base draws)": "#e6e6e6",
}
FORMER = (
    "judged before valid few-draw inference (percentile bootstrap, too narrow with few "
    "base draws): its store is not at hand to judge it again"
)

_HEAD = """# The paper's claims as tests

Each claim of arXiv 2605.12906 is one rule, fixed before the runs it judges
(`pacbound.analysis.claims`, theory/claims.md), applied to each experiment's cells pooled
over its base draws and fine-tuning seeds. A verdict is **holds**, **fails** or
**undecided**; an experiment with one base draw says **undecided (too few base draws)** for
base draws in general, its one base's verdict in the evidence. Intervals are t intervals
over the base draws (D − 1 degrees of freedom; within one draw, over its seeds), with
standard errors from a hierarchical bootstrap that resamples, in order, the levels each
experiment lists below, corrected for the number of draws (`pacbound.analysis.inference`;
their coverage, measured by simulation, is in theory/claims.md); the contrasts of one claim
share a Bonferroni correction (family-wise α = {alpha}), and each interval states its level.
"Needs ≈ D draws": the base draws that would decide an undecided claim if its effect and
spread stayed as measured. "Holds in draws": the share of base draws in which the same
rule, on that draw alone, says holds.

![claims](claims.png)

`claims`: the verdict of every claim (rows) in every experiment (columns).
"""


def verdict_cell(verdict: dict) -> str:
    """ "holds (0.12, 95% [0.05, 0.20])": the verdict with its statistic and interval (and
    its level, where the verdict states it), and the draws an undecided one would need."""
    statistic = verdict["statistic"]
    needed = verdict.get("draws_needed")
    needs = f"needs ≈ {needed} draws" if needed else ""
    if statistic is None:
        return verdict["verdict"] + (f" ({needs})" if needs else "")
    needs = f"; {needs}" if needs else ""
    interval = ""
    if verdict["low"] is not None:
        level = verdict.get("level")
        label = "" if level is None else f", {_percent(level)}"
        interval = f"{label} [{verdict['low']:.3g}, {verdict['high']:.3g}]"
    return f"{verdict['verdict']} ({statistic:.3g}{interval}{needs})"


def _percent(level: float) -> str:
    """0.95 → "95%", 0.9917 → "99.2%", 0.99955 → "99.955%": as many digits as it takes for a
    level below 1 not to read as 100%."""
    for digits in range(3, 10):
        text = f"{100 * level:.{digits}g}"
        if float(text) < 100 or level >= 1:
            break
    return f"{text}%"


def _share(value) -> str:
    return NONE if value is None else f"{value:.0%}"


def claims_markdown(data: dict) -> str:
    experiments = data["experiments"]
    names = [e["experiment"] for e in experiments]
    lines = [_HEAD.format(alpha=data["alpha"]), "## Verdicts", ""]
    lines += header("claim", "statement", *names)
    for claim, statement in data["claims"].items():
        verdicts = [_verdict_of(e, claim) for e in experiments]
        lines.append(f"| {claim} | {statement} | " + " | ".join(verdicts) + " |")
    lines += _former_note(experiments)
    for experiment in experiments:
        lines += ["", *experiment_lines(experiment)]
    return "\n".join(lines) + "\n"


def experiment_lines(experiment: dict) -> list[str]:
    """One experiment's verdicts with their evidence, then draw by draw."""
    draws = experiment["draws"]
    errors = ", ".join(
        f"{seed}: {error:.3f}"
        for seed, error in zip(draws, experiment["base_target_error"], strict=True)
    )
    noise = "Exact risks: nothing is resampled; every interval has width 0."
    if experiment["resampled"]:
        inference = experiment.get("inference", FORMER)
        noise = (
            f"Resampled, outermost first: {' → '.join(experiment['resampled'])}; "
            f"{experiment['resamples']} resamples; intervals: {inference}."
        )
    lines = [
        f"## `{experiment['experiment']}`",
        "",
        f"Base draws (pretraining seed: the base's target error): {errors}. {noise}",
        "",
        *header("claim", "verdict (statistic [interval])", "evidence", "holds in draws"),
    ]
    for verdict in experiment["pooled"]:
        share = _share(experiment["holds_in_draws"][verdict["claim"]])
        lines.append(
            f"| {verdict['claim']} | {verdict_cell(verdict)} | {verdict['detail']} | {share} |"
        )
    if len(draws) > 1 and experiment["per_draw"]:
        lines += ["", "Draw by draw:", ""]
        lines += header("claim", *(f"draw {seed}" for seed in draws))
        for verdict in experiment["pooled"]:
            cells = [
                verdict_cell(_by_claim(experiment["per_draw"][str(seed)])[verdict["claim"]])
                for seed in draws
            ]
            lines.append(f"| {verdict['claim']} | " + " | ".join(cells) + " |")
    return lines


def _by_claim(verdicts: list[dict]) -> dict:
    return {v["claim"]: v for v in verdicts}


def _verdict_of(experiment: dict, claim: str) -> str:
    """The experiment's pooled verdict on ``claim``, or a dash where it is not judged (the
    objectives' claims in a single experiment, the others in an objectives family)."""
    verdict = _by_claim(experiment["pooled"]).get(claim)
    if verdict is None:
        return NONE
    return verdict["verdict"] + (" †" if _former(experiment) else "")


def _former(experiment: dict) -> bool:
    """Judged with the former percentile intervals (noisy, and no inference stated)."""
    return bool(experiment.get("resampled")) and "inference" not in experiment


def _former_note(experiments: list[dict]) -> list[str]:
    """The footnote of the verdict tables, where some experiment needs it."""
    if not any(_former(e) for e in experiments):
        return []
    return ["", f"† {FORMER}."]


def claims_figure(data: dict, out: Path) -> list[Path]:
    """Claims × experiments, each square coloured by its pooled verdict."""
    from matplotlib.patches import Patch

    from pacbound.report.figures import plt, save_figure

    experiments, claims = data["experiments"], list(data["claims"])
    figure, axis = plt.subplots(figsize=(1.2 + 1.1 * len(experiments), 0.5 + 0.42 * len(claims)))
    for column, experiment in enumerate(experiments):
        for row, claim in enumerate(claims):
            colour = COLOURS.get(_verdict_of(experiment, claim).removesuffix(" †"), "white")
            axis.add_patch(plt.Rectangle((column, row), 0.94, 0.9, color=colour, lw=0))
    axis.set_xlim(0, len(experiments))
    axis.set_ylim(len(claims), 0)
    axis.set_xticks([i + 0.47 for i in range(len(experiments))])
    axis.set_xticklabels([e["experiment"] for e in experiments], rotation=30, ha="right")
    axis.set_yticks([i + 0.45 for i in range(len(claims))])
    axis.set_yticklabels(claims)
    axis.tick_params(length=0)
    for side in axis.spines.values():
        side.set_visible(False)
    handles = [Patch(color=colour, label=name) for name, colour in COLOURS.items()]
    axis.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1), frameon=False)
    return save_figure(figure, out, STEM)


def write_claims(data: dict, out: Path, draw: bool = True) -> list[Path]:
    paths = list(write_pair(out, STEM, claims_markdown, data))
    return paths + (claims_figure(data, out) if draw else [])


def index_section(data: dict) -> str:
    """The claims table at the top of paper_figs/README.md."""
    names = [e["experiment"] for e in data["experiments"]]
    lines = ["## The paper's claims", ""]
    lines += header("claim", *names)
    for claim in data["claims"]:
        verdicts = [_verdict_of(e, claim) for e in data["experiments"]]
        lines.append(f"| {claim}: {data['claims'][claim]} | " + " | ".join(verdicts) + " |")
    lines += _former_note(data["experiments"])
    lines += ["", "![claims](claims.png)", "", "Rules, evidence and draw by draw: `claims.md`."]
    return "\n".join(lines) + "\n"
