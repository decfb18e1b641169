"""The rendering layer on small hand-made inputs, each against Markdown written out by hand:
the shared helpers, the recommendation, the probe, the base comparison, the certificates'
summary and the plain-text bound table."""

import json
import math

from pacbound.report.certificates import summary_lines
from pacbound.report.console import bound_table
from pacbound.report.families import bases_body, bases_markdown
from pacbound.report.markdown import (
    header,
    portable,
    rule,
    shown,
    significant,
    write_pair,
    yes_no,
)
from pacbound.report.predictions import label, verdict_text
from pacbound.report.probe import probe_report
from pacbound.report.recommend import recommendation_markdown


def test_helpers():
    assert rule(3) == "|---|---|---|"
    assert header("n", "bucket") == ["| n | bucket |", "|---|---|"]
    assert shown(None) == "—" and shown(0.125) == "0.12" and shown(0.125, 3) == "0.125"
    assert yes_no(True) == "yes" and yes_no(False) == "no"


def test_a_report_pair_is_markdown_and_json_with_indent_one(tmp_path):
    markdown, data = write_pair(tmp_path / "new", "x_report", lambda d: "# x\n", {"a": [1, 2]})
    assert markdown.read_text() == "# x\n"
    assert data.read_text() == '{\n "a": [\n  1,\n  2\n ]\n}\n'
    assert json.loads(data.read_text()) == {"a": [1, 2]}


def test_significant_digits():
    assert significant(0.1234567891234) == 0.12345679
    assert significant(-1.2345678951e-7) == -1.2345679e-7
    assert significant(123456789.0) == 123456790.0
    assert significant(0.25) == 0.25 and significant(0.0) == 0.0
    assert math.copysign(1.0, significant(-0.0)) == -1.0
    assert significant(1.23456789, digits=3) == 1.23
    for value in (math.inf, -math.inf):
        assert significant(value) == value
    assert math.isnan(significant(math.nan))


def test_portable_rounds_every_float_and_keeps_the_rest_as_the_writer_writes_it():
    data = {
        "x": 0.1 + 0.2,  # 0.30000000000000004
        "nested": [{"y": (1 / 3, 2 / 3)}, [1e-300 / 3]],
        "count": 7,
        "flag": True,
        "none": None,
        "text": "0.123456789",
        "bad": [math.nan, math.inf, -math.inf],
        3: 2.0,
    }
    got = portable(data)
    assert got["x"] == 0.3 and got["nested"] == [{"y": [0.33333333, 0.66666667]}, [3.3333333e-301]]
    assert got["count"] == 7 and type(got["count"]) is int
    assert got["flag"] is True and got["none"] is None and got["text"] == "0.123456789"
    assert math.isnan(got["bad"][0]) and got["bad"][1:] == [math.inf, -math.inf]
    assert got["3"] == 2.0  # a key as JSON reads it back
    # Written as before: NaN and the infinities as json writes them; rounding is idempotent.
    assert json.dumps(got["bad"]) == "[NaN, Infinity, -Infinity]"
    assert json.dumps(portable(got)) == json.dumps(got)


def test_a_float_s_last_bits_do_not_reach_the_written_bytes(tmp_path):
    """Two CPUs' results that differ in the last bits are written as the same bytes, and the
    Markdown is rendered from the rounded data: the same as one rendered from the JSON."""
    value = 0.1234567890123
    render = lambda d: f"{d['v']!r} {d['v']:.12f}\n"  # noqa: E731
    one = write_pair(tmp_path / "one", "x", render, {"v": value})
    other = write_pair(tmp_path / "other", "x", render, {"v": value * (1 + 1e-12)})
    for a, b in zip(one, other, strict=True):
        assert a.read_bytes() == b.read_bytes()
    text = one[0].read_text()
    assert text == render(json.loads(one[1].read_text())) == "0.12345679 0.123456790000\n"


def test_the_recommendation():
    result = {
        "budget": 64,
        "recommended": ["medium"],
        "by": "middle",
        "protocol": "far-half",
        "bootstrap_frequency": {"easy": 0.0, "medium": 0.75, "hard": 0.25},
        "plausible": ["middle"],
        "cannot_tell": False,
        "beyond_validated": False,
        "validated_factor": 4.0,
        "set_95": ["medium", "hard"],
        "resamples": 400,
        "tolerance": 0.0123,
        "predictors": {
            "hardest": {"choice": ["hard"], "regret_on_pilots": 0.016},
            "two-gap fit": {"choice": None, "regret_on_pilots": None},
        },
        "pilot_budgets": [4, 8, 16, 32],
        "distance": {"side": "inside", "factor": 1.0, "low": 4, "high": 32, "extrapolation": False},
    }
    assert recommendation_markdown(result) == (
        "# Recommended bucket at n = 64\n\n"
        "**medium**, by middle (the lowest far-half regret on the pilots). Chosen in 75% of "
        "400 bootstrap resamples of the seeds, each repeating the whole procedure (the "
        "predictor picked by its regret on the resampled pilots, then its choice); every "
        "predictor about as good on the pilots agrees; 95% set: medium, hard.\n\n"
        "Pilot budgets: 4, 8, 16, 32; n is inside the pilot budgets (4–32).\n\n"
        "Inside the pilots, the far-half protocol checks predictions up to 4× the largest "
        "budget they come from.\n\n"
        "| predictor | choice at n = 64 | regret on the pilots |\n"
        "|---|---|---|\n"
        "| hardest | hard | 0.016 |\n"
        "| two-gap fit | no prediction | — |\n\n"
        "Ties: buckets within 0.0123 (the seeds' noise of a difference of two cell means) of "
        "the best are tied.\n"
    )
    far = {"side": "above", "factor": 2.5, "low": 4, "high": 32, "extrapolation": True}
    assert recommendation_markdown(result | {"distance": far}).count("\nWarning: ") == 1
    assert (
        "n is 2.5× the largest pilot budget (32).\n\nWarning: n = 64 is 2.5× the largest pilot "
        "budget (32): an extrapolation; nothing in the pilots says whether the optimum moves "
        "between them and n.\n"
    ) in recommendation_markdown(result | {"distance": far})
    middle = {"middle": {"choice": ["medium"], "regret_on_pilots": 0.0}}
    disagree = result | {
        "cannot_tell": True,
        "plausible": ["middle", "hardest"],
        "predictors": middle | result["predictors"],
    }
    assert (
        "**The pilots cannot tell.** The predictors that do about as well on the pilots (not "
        "worse than the best beyond the bootstrap interval) disagree at n = 64 (middle: "
        "medium; hardest: hard); 95% set: medium, hard. The best on the pilots, middle, says "
        "medium.\n"
    ) in recommendation_markdown(disagree)
    eightfold = {"side": "above", "factor": 8.0, "low": 4, "high": 32, "extrapolation": True}
    far = result | {"distance": eightfold, "cannot_tell": True, "beyond_validated": True}
    assert (
        "**The pilots cannot tell.** n = 64 is 8× the largest pilot budget, further than the 4× "
        "that the pilots can check a prediction over"
    ) in recommendation_markdown(far)


def test_the_probe():
    from collections import Counter

    probe = {
        "experiment": "tiny",
        "cell": ("hard", 5, 0),
        "level": 3,
        "levels": [2, 3],
        "errors": {"base": {2: 0.5, 3: 1.0}, "fine-tuned": {2: 0.25, 3: 0.875}},
        "first_errors": {
            "base": Counter({("step 1 value", "value"): 3, ("EOS", None): 1}),
            "fine-tuned": Counter({("answer value", "value"): 4}),
        },
    }
    assert probe_report(probe) == (
        "# tiny: cell hard/n=5/seed 0\n\n"
        "| model | 2 | 3 |\n|---|---|---|\n"
        "| base | 0.50 | 1.00 |\n| fine-tuned | 0.25 | 0.88 |\n\n"
        "Level 3, base: the first wrong token of each held-out problem\n\n"
        "| first wrong token | written instead | problems |\n|---|---|---|\n"
        "| step 1 value | value | 3 (75%) |\n| EOS | – | 1 (25%) |\n\n"
        "Level 3, fine-tuned: the first wrong token of each held-out problem\n\n"
        "| first wrong token | written instead | problems |\n|---|---|---|\n"
        "| answer value | value | 4 (100%) |\n"
    )


def test_the_base_comparison():
    comparison = {
        "family": "fam",
        "budgets": [4, 8],
        "buckets": ["easy", "hard"],
        "bases": [
            {
                "experiment": "fam-b1",
                "pretrain_levels": [2, 4],
                "base_target_error": 0.7,
                "optimum": ["easy", "hard"],
                "expected_optimum_index": [0.0, 0.75],
                "switch": {"budget": "8", "interval_95": ["4", "never"]},
            }
        ],
        "pairs": [
            {
                "weaker": "fam-b0",
                "stronger": "fam-b1",
                "p_stronger_switches_earlier": 0.5,
                "p_same": 0.25,
                "p_stronger_switches_later": 0.25,
            }
        ],
        "switch_earlier_with_strength": True,
        "switch_earlier_with_pretraining_range": False,
    }
    body = (
        "Each base is its own experiment (same task, fine-tuning schedule, grid and seeds); "
        "reports: `fam-b1_report.md`.\n\n"
        "| base (pretrained on) | base target error | n = 4 | n = 8 | switch [95%] |\n"
        "|---|---|---|---|---|\n"
        "| fam-b1 (2–4) | 0.700 | easy (0.00) | hard (0.75) | 8 [4, never] |\n\n"
        "Cells: the measured optimum and, in brackets, its expected bucket index under the "
        "bootstrap (0 = easy, 1 = hard).\n\n"
        "Bases are ordered by their own target error (weakest first). The switch budget falls "
        "as the base gets stronger; ordered by pretraining range instead, it does not.\n\n"
        "- fam-b1 against fam-b0: P(switches to hard at a smaller budget) = 0.50, P(same "
        "budget) = 0.25, P(larger) = 0.25.\n"
    )
    assert bases_body(comparison) == body
    assert bases_markdown(comparison) == "# Base strength: fam\n\n" + body


def test_the_certificates_summary():
    summary = {
        "cells": [{}, {}, {}, {}],
        "valid_fraction": 0.75,
        "violated_count": 0,
        "mean_gap": 0.25,
        "vacuous_fraction": 0.5,
        "per_bucket": {
            "easy": {
                "base_error": 0.4,
                "first_non_vacuous": 8,
                "non_vacuous_budgets": [8, 16],
                "extrapolated_non_vacuous": None,
            },
            "hard": {
                "base_error": 0.9,
                "first_non_vacuous": None,
                "non_vacuous_budgets": [],
                "extrapolated_non_vacuous": 12345,
            },
        },
    }
    assert summary_lines(summary) == [
        "- Valid cells (certificate ≥ measured risk of Q): 75.0% of 4; cells whose certificate "
        "lies below the measured risk's 95% interval: 0. Mean gap certificate − measured risk: "
        "0.250.",
        "- Vacuous cells (certificate not below the base's own error in the bucket): 50%.",
        "- easy: non-vacuous (below the base's 0.400) from n = 8; at n = 8, 16.",
        "- hard: vacuous at every budget of the grid (base error 0.900); **extrapolated** "
        "non-vacuous from n ≈ 12,345 (median over seeds) if some candidate posterior's KL and "
        "pilot risk stayed at their values at the largest budget.",
    ]


def test_predictor_labels_and_verdicts():
    checks = {"w1": {"status": "violated"}, "tv": {"status": "valid"}}
    assert label("bound: w1", checks) == "bound: w1 (assumption violated)"
    assert label("bound: tv", checks) == "bound: tv" and label("curve fit", checks) == "curve fit"
    protocol = {
        "verdict": {
            "best": "nearest pilot",
            "best_baseline": "nearest pilot",
            "best_theory": "two-gap fit",
            "difference": 0.05,
            "difference_interval": [0.01, 0.09],
            "theory_beats_baseline": False,
        },
        "predictors": {"nearest pilot": {"regret_all": 0.001}, "two-gap fit": {}},
    }
    assert verdict_text(protocol) == (
        "best by regret: **nearest pilot** (0.001); best baseline: **nearest pilot** (0.001); "
        "the best theory-derived predictor, **two-gap fit**, does not beat it beyond the "
        "intervals (paired regret difference +0.050, 95% interval [+0.010, +0.090])"
    )


def test_the_bound_table_aligns_its_columns():
    row = {
        "kind": "kl",
        "bound": 0.17207,
        "empirical": 0.05,
        "mc_correction": 0.0,
        "generalization": 0.02207,
        "extrapolation": 0.1,
        "parameter": None,
        "vacuous": False,
    }
    assert bound_table([row]) == (
        "kind  bound     empirical  mc_correction  generalization  extrapolation  parameter  "
        "vacuous\n"
        "----  --------  ---------  -------------  --------------  -------------  ---------  "
        "-------\n"
        "kl    0.172070  0.050000   0.000000       0.022070        0.100000                  no"
    )
