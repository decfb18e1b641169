"""compare on hand-made tables with known answers, and its figures and report end to end."""

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from pacbound import config
from pacbound.cli import main
from pacbound.compare import (
    bases_markdown,
    compare,
    compare_bases,
    is_inverted_u,
    shift_terms,
)
from pacbound.optimum import first_minimum, tied_minima
from pacbound.store import Cell

TINY = Path(__file__).parent / "data" / "tiny.toml"


def test_inverted_u_and_ties():
    assert is_inverted_u(np.array([0.5, 0.7, 0.6]))
    assert not is_inverted_u(np.array([0.5, 0.6, 0.7]))
    assert not is_inverted_u(np.array([0.7, 0.7, 0.6]))
    # The one argmin: every entry within the tolerance of the minimum, NaN never minimal.
    assert tied_minima(np.array([0.3, 0.1, 0.1 + 1e-12])).tolist() == [False, True, False]
    assert tied_minima(np.array([0.3, 0.1, 0.1 + 1e-12]), 1e-9).tolist() == [False, True, True]
    assert tied_minima(np.array([np.nan, 0.2, 0.25]), 0.05).tolist() == [False, True, True]
    assert not tied_minima(np.array([np.nan, np.nan])).any()
    assert first_minimum(np.array([[0.2, 0.1], [0.2, 0.3]]), axis=0).tolist() == [0, 0]
    with pytest.raises(ValueError, match="tolerance"):
        tied_minima(np.array([0.1]), -1.0)


def _synthetic_cells(experiment, target_error, certificate=None):
    """Cells whose target error is target_error(bucket, n, seed), with the certificate
    certificate(bucket, n) when given; the rest fixed."""
    cells = []
    for bucket, n, seed in experiment.cells:
        error = target_error(bucket, n, seed)
        extra = {}
        if certificate is not None:
            extra["certificate"] = {"certificate": certificate(bucket, n), "kl": 1.0}
        record = {
            **extra,
            "level_errors": {"2": error, "3": error, "4": error},
            "gain": {"2": 0.0, "3": 0.0, "4": 0.0},
            "train_error": 0.0,
            "in_distribution_error": error,
            "target_error": error,
            "sq_distance": 1e-4 * n,
        }
        cells.append(Cell(bucket, n, seed, record))
    return cells


def test_compare_recovers_a_known_optimum_path():
    tiny = config.load(TINY)
    # Five seeds, so that an exact sign-flip test can reach p = 1/32 ≤ 0.05.
    experiment = replace(tiny, grid=replace(tiny.grid, seeds=(0, 1, 2, 3, 4)))
    # easy is best at n = 2, hard at n = 5; seeds add small noise that never flips it.
    table = {("easy", 2): 0.2, ("hard", 2): 0.5, ("easy", 5): 0.4, ("hard", 5): 0.1}
    # Certificates: vacuous everywhere at n = 2 (not below the base's 0.3), informative at
    # n = 5, where hard's is lower.
    certified = {("easy", 2): 0.9, ("hard", 2): 0.3, ("easy", 5): 0.25, ("hard", 5): 0.2}
    cells = _synthetic_cells(
        experiment, lambda b, n, s: table[(b, n)] + 0.01 * s, lambda b, n: certified[(b, n)]
    )
    base = {"2": 0.3, "3": 0.3, "4": 0.3}
    result = compare(experiment, cells, base)
    assert [r["measured_optimum"] for r in result["per_budget"]] == ["easy", "hard"]
    assert result["trend"]["non_decreasing"] is True
    assert result["trend"]["spearman"] == pytest.approx(1.0)
    # Two budgets with two distinct optima: 1 of the 2 orderings is increasing.
    assert result["trend"]["permutation_p"] == pytest.approx(0.5)
    assert result["switch"]["budget"] == "5"
    assert result["switch"]["frequency"]["5"] == 1.0
    assert all(r["bootstrap_frequency"][r["measured_optimum"]] == 1 for r in result["per_budget"])
    assert result["inverted_u_budgets"] == []  # two buckets have no interior
    # The base (0.3) is beaten by easy at n = 2 and by hard at n = 5, by every seed.
    first, second = result["per_budget"]
    assert first["base_target_error"] == pytest.approx(0.3)
    assert first["gain_over_base"]["easy"] == pytest.approx(0.3 - 0.22)  # seed mean 0.22
    assert first["buckets_better_than_base"] == ["easy"]
    assert first["buckets_worse_than_base"] == ["hard"]
    assert second["buckets_better_than_base"] == ["hard"]
    assert first["level_errors"]["base"] == base
    # n = 2: every certificate vacuous, so no prediction (never a tie broken by rule). n = 5:
    # with the upward shift (0 for hard, 1/3 for easy) hard's 0.2 + 0 wins; with TV (1/3 for
    # easy, 2/3 for hard) easy's 0.25 + 1/3 does.
    predicted = {
        t: [r["predicted_optimum"][t] for r in result["per_budget"]] for t in ("upward", "tv")
    }
    assert predicted == {"upward": [None, "hard"], "tv": [None, "easy"]}
    lobo = result["predictions"]["protocols"]["leave-one-budget-out"]["predictors"]
    assert lobo["bound: upward"]["exact"] == 1.0 and lobo["bound: tv"]["exact"] == 0.0
    assert lobo["bound: upward"]["predicted"] == lobo["bound: tv"]["predicted"] == 1
    assert first["certificate_informative"] == {"easy": False, "hard": False}
    assert second["certificate"] == {"easy": pytest.approx(0.25), "hard": pytest.approx(0.2)}
    assert 0 < first["floor"]["kl_bound"] < 1
    assert first["floor"]["kl_bound"] > second["floor"]["kl_bound"]  # n = 2 against n = 5
    # Without certificates the bound predicts nothing at all.
    bare = compare(experiment, _synthetic_cells(experiment, lambda b, n, s: 0.2), base)
    bare_predictors = bare["predictions"]["protocols"]["leave-one-budget-out"]["predictors"]
    assert "none" in bare["certificate_source"]
    assert not any(name.startswith("bound") for name in bare_predictors)


def test_shift_terms_are_exact_for_the_tiny_grid():
    experiment = config.load(TINY)  # target uniform on 2, 3, 4; easy = {2, 3}, hard = {4}
    terms = shift_terms(experiment)
    assert terms["tv"]["easy"] == pytest.approx(1 / 3)
    assert terms["tv"]["hard"] == pytest.approx(2 / 3)
    assert terms["upward"]["hard"] == pytest.approx(0.0)
    assert terms["upward"]["easy"] == pytest.approx(1 / 3)


def test_reproduce_writes_every_figure_and_the_report(tmp_path, capsys, monkeypatch):
    out, db = tmp_path / "figs", tmp_path / "r.sqlite"
    argv = ["reproduce", "--config", str(TINY), "--db", str(db), "--out", str(out), "--quiet"]
    assert main(argv) == 0
    for stem in (
        "theory_landscape",
        "tiny_gain_heatmap",
        "tiny_accuracy_by_bucket",
        "tiny_optimum_by_budget",
        "tiny_gap_decomposition",
        "tiny_level_gain",
    ):
        for suffix in (".png", ".pdf"):
            assert (out / f"{stem}{suffix}").stat().st_size > 1000, stem
    index = (out / "README.md").read_text()
    assert "tiny_gain_heatmap.png" in index and "Switch budget" in index
    report = (out / "tiny_report.md").read_text()
    assert "| base |" in report
    assert "no certificates, so the bound predicts nothing" in report
    # figs without the store keeps every committed report's section in the index.
    monkeypatch.chdir(tmp_path)
    assert main(["figs", "--out", str(out)]) == 0
    assert (out / "README.md").read_text() == index
    capsys.readouterr()
    assert main(["compare", "--db", str(db), "--out", str(out), "--json"]) == 0
    assert '"certificate_source"' in capsys.readouterr().out
    assert main(["compare", "--db", str(db), "--sigma", "0.3"]) == 2
    assert "unrecognized arguments" in capsys.readouterr().err


def _base_result(name, levels, base_error, switch_frequency):
    budgets = [4, 8, 16]
    names = [*map(str, budgets), "never"]
    best = names[int(np.argmax(switch_frequency))]
    return {
        "experiment": name,
        "family": "fam",
        "budgets": budgets,
        "buckets": ["easy", "hard"],
        "pretrain_levels": levels,
        "base_target_error": base_error,
        "per_budget": [
            {"measured_optimum": "easy", "bootstrap_frequency": {"easy": 1.0, "hard": 0.0}}
        ]
        * 3,
        "switch": {
            "budget": best,
            "frequency": dict(zip(names, switch_frequency, strict=True)),
            "interval_95": [best, best],
        },
        "trend": {},
        "no_bucket_beats_base_budgets": [],
    }


def test_bases_are_ordered_by_strength_and_switches_compared_exactly():
    # The widest pretraining range is not the most accurate base here, as can happen.
    weak = _base_result("w", [2, 4], 0.7, [0, 0, 0.5, 0.5])
    wide = _base_result("x", [2, 6], 0.5, [0, 0.5, 0.5, 0])
    strong = _base_result("s", [2, 5], 0.4, [1.0, 0, 0, 0])
    comparison = compare_bases([strong, wide, weak])
    assert [b["experiment"] for b in comparison["bases"]] == ["w", "x", "s"]
    first, second = comparison["pairs"]
    # x switches at 8 or 16 (½ each), w at 16 or never (½ each): x earlier unless both 16.
    assert first["p_stronger_switches_earlier"] == pytest.approx(0.75)
    assert first["p_same"] == pytest.approx(0.25)
    assert second["p_stronger_switches_earlier"] == pytest.approx(1.0)
    assert comparison["switch_earlier_with_strength"] is True
    # By range (2–4, 2–5, 2–6) the switches are 16, 4, 8: not monotone.
    assert comparison["switch_earlier_with_pretraining_range"] is False
    assert "falls as the base gets stronger" in bases_markdown(comparison)


def test_predict_rebuilds_the_predictions_of_a_committed_report(tmp_path, capsys):
    report = Path(__file__).parent.parent / "paper_figs" / "extended-b24_report.json"
    assert main(["predict", str(report), "--out", str(tmp_path)]) == 0
    text = (tmp_path / "extended-b24_predictions.md").read_text()
    assert "## Assumptions of the shift terms" in text and "| curve fit |" in text
    assert "no theory-derived predictor has the information" in text  # no certificates
    assert (tmp_path / "extended-b24_predictions.png").stat().st_size > 1000
    # A report whose preset no longer has its config is refused.
    changed = json.loads(report.read_text()) | {"config_hash": "0" * 16}
    (tmp_path / "old.json").write_text(json.dumps(changed))
    assert main(["predict", str(tmp_path / "old.json"), "--out", str(tmp_path)]) == 2
    assert "no longer has config 0000000000000000" in capsys.readouterr().err
