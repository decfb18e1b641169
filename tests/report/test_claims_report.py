"""claims.md from a hand-made claims document: the verdict table, each experiment's
evidence, draw by draw, and the merge that keeps other experiments' committed entries."""

import json

from pacbound.analysis.claims import CLAIMS
from pacbound.report.claims import _percent, claims_markdown, index_section


def verdict(claim, outcome="holds", statistic=0.25, low=0.1, high=0.4, detail="evidence"):
    return {
        "claim": claim,
        "verdict": outcome,
        "statistic": statistic,
        "low": low,
        "high": high,
        "detail": detail,
    }


def document(name="quick"):
    pooled = [verdict(c) for c in CLAIMS]
    pooled[5] = verdict("C6", "undecided", None, None, None, "needs three base draws or more")
    second = [verdict(c, "fails", -0.5, -0.7, -0.2) for c in CLAIMS]
    return {
        "experiment": name,
        "draws": [0, 1],
        "resampled": ["base draws", "fine-tuning seeds within a draw", "held-out problems"],
        "resamples": 100,
        "alpha": 0.05,
        "base_target_error": [0.5, 0.625],
        "pooled": pooled,
        "per_draw": {"0": pooled, "1": second},
        "holds_in_draws": {c: (None if c == "C6" else 0.5) for c in CLAIMS},
    }


def test_the_report_gives_verdicts_evidence_and_draws():
    data = {"alpha": 0.05, "claims": CLAIMS, "experiments": [document()]}
    text = claims_markdown(data)
    # Judged with the former intervals: marked, with the footnote that says so.
    assert f"| C1 | {CLAIMS['C1']} | holds † |" in text
    assert "† judged before valid few-draw inference" in text
    assert "| C6 | undecided | needs three base draws or more | — |" in text
    assert "| M1 | holds (0.25 [0.1, 0.4]) | evidence | 50% |" in text
    assert "Base draws (pretraining seed: the base's target error): 0: 0.500, 1: 0.625." in text
    assert (
        "Resampled, outermost first: base draws → fine-tuning seeds within a draw → held-out "
        "problems; 100 resamples; intervals: judged before valid few-draw inference" in text
    )
    assert "| claim | draw 0 | draw 1 |" in text
    assert "| C3 | holds (0.25 [0.1, 0.4]) | fails (-0.5 [-0.7, -0.2]) |" in text
    assert "family-wise α = 0.05" in text


def test_a_verdict_states_its_level_and_the_draws_an_undecided_one_needs():
    judged = document()
    judged["inference"] = "t intervals on 1 degrees of freedom over 2 base draws"
    judged["pooled"] = [
        {**v, "level": 0.9 if v["claim"] == "C3" else 0.95} for v in judged["pooled"]
    ]
    judged["pooled"][6] = {**judged["pooled"][6], "verdict": "undecided", "draws_needed": 7}
    text = claims_markdown({"alpha": 0.05, "claims": CLAIMS, "experiments": [judged]})
    assert f"| C1 | {CLAIMS['C1']} | holds |" in text and "†" not in text
    assert "| C3 | holds (0.25, 90% [0.1, 0.4]) | evidence | 50% |" in text
    assert "| M1 | undecided (0.25, 95% [0.1, 0.4]; needs ≈ 7 draws) | evidence | 50% |" in text
    assert "intervals: t intervals on 1 degrees of freedom over 2 base draws." in text


def test_exact_risks_say_nothing_was_resampled_and_the_index_lists_every_claim():
    exact = {**document("exact"), "draws": [0], "base_target_error": [0.443], "resampled": []}
    data = {"alpha": 0.05, "claims": CLAIMS, "experiments": [exact, document()]}
    text = claims_markdown(data)
    assert "Exact risks: nothing is resampled; every interval has width 0." in text
    assert "| claim | statement | exact | quick |" in text
    section = index_section(data)
    assert section.startswith("## The paper's claims\n\n| claim | exact | quick |")
    for claim, statement in CLAIMS.items():
        assert f"| {claim}: {statement} |" in section


def test_writing_claims_keeps_the_other_committed_experiments(tmp_path):
    from pacbound.pipeline import write_claims

    write_claims({"exact": {**document("exact")}}, tmp_path, draw=False)
    write_claims({"quick": document()}, tmp_path, draw=False)
    data = json.loads((tmp_path / "claims.json").read_text())
    assert [e["experiment"] for e in data["experiments"]] == ["exact", "quick"]
    replaced = {**document(), "base_target_error": [0.1, 0.2]}
    write_claims({"quick": replaced}, tmp_path, draw=False)
    data = json.loads((tmp_path / "claims.json").read_text())
    assert data["experiments"][1]["base_target_error"] == [0.1, 0.2]
    assert (tmp_path / "claims.md").read_text() == claims_markdown(data)


def test_a_level_below_one_never_reads_as_100_percent():
    assert [_percent(x) for x in (0.95, 0.9917, 0.99955, 1.0)] == ["95%", "99.2%", "99.95%", "100%"]
