"""compare on hand-made tables with known answers, and its figures and report end to end."""

from pathlib import Path

import numpy as np
import pytest

from pacbound import config
from pacbound.cli import main
from pacbound.compare import (
    argmin_with_ties,
    bootstrap_optimum,
    compare,
    hoeffding_sign_agreement,
    is_inverted_u,
    shift_terms,
)
from pacbound.store import Cell

TINY = Path(__file__).parent / "data" / "tiny.toml"


def test_bootstrap_is_certain_when_every_seed_agrees():
    errors = np.array([[0.5, 0.6, 0.55], [0.2, 0.25, 0.3], [0.9, 0.8, 0.85]])
    frequency = bootstrap_optimum(errors, np.random.default_rng(0))
    np.testing.assert_array_equal(frequency, [0, 1, 0])


def test_bootstrap_splits_when_one_seed_disagrees():
    # Bucket 0 wins unless the resample holds only seed 2 … exactly: it wins when the mean
    # over the drawn seeds is below bucket 1's; with errors (0, 0, 1) vs (0.4,)*3 bucket 0
    # loses only when seed 2 is drawn at least twice of three: P = 3·(1/3)²·(2/3) + (1/3)³.
    errors = np.array([[0.0, 0.0, 1.0], [0.4, 0.4, 0.4]])
    frequency = bootstrap_optimum(errors, np.random.default_rng(1))
    expected = 1 - (3 * (1 / 9) * (2 / 3) + 1 / 27)
    assert frequency[0] == pytest.approx(expected, abs=0.03)
    assert frequency.sum() == pytest.approx(1)


def test_sign_agreement_counts_weighted_pairs():
    error = np.array([0.1, 0.2, 0.4])
    assert hoeffding_sign_agreement(np.array([1.0, 2.0, 3.0]), error, 0.0) == 1.0
    assert hoeffding_sign_agreement(np.array([3.0, 2.0, 1.0]), error, 0.0) == 0.0
    # Bound orders pair (0, 1) wrongly, the other two rightly; exact errors weigh all alike.
    assert hoeffding_sign_agreement(np.array([2.0, 1.0, 3.0]), error, 0.0) == pytest.approx(2 / 3)
    # With noise, the wrong pair has Δ = 0.1 and the right ones Δ = 0.3, 0.2:
    variance = 0.01
    weight = [1 - np.exp(-(d**2) / (2 * variance)) for d in (0.1, 0.3, 0.2)]
    expected = (weight[1] + weight[2]) / sum(weight)
    got = hoeffding_sign_agreement(np.array([2.0, 1.0, 3.0]), error, variance)
    assert got == pytest.approx(expected)
    # Equal measured errors carry no weight; with nothing left the agreement is undefined.
    assert np.isnan(hoeffding_sign_agreement(np.array([1.0, 2.0]), np.array([0.3, 0.3]), 0.01))


def test_inverted_u_and_ties():
    assert is_inverted_u(np.array([0.5, 0.7, 0.6]))
    assert not is_inverted_u(np.array([0.5, 0.6, 0.7]))
    assert not is_inverted_u(np.array([0.7, 0.7, 0.6]))
    assert argmin_with_ties(np.array([0.3, 0.1, 0.1 + 1e-12])) == (1, True)
    assert argmin_with_ties(np.array([0.3, 0.1, 0.2])) == (1, False)


def _synthetic_cells(experiment, target_error):
    """Cells whose target error is target_error(bucket, n, seed); the rest fixed."""
    cells = []
    for bucket, n, seed in experiment.cells:
        error = target_error(bucket, n, seed)
        record = {
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
    experiment = config.load(TINY)
    # easy is best at n = 2, hard at n = 5; seeds add small noise that never flips it.
    table = {("easy", 2): 0.2, ("hard", 2): 0.5, ("easy", 5): 0.4, ("hard", 5): 0.1}
    cells = _synthetic_cells(experiment, lambda b, n, s: table[(b, n)] + 0.01 * s)
    result = compare(experiment, cells)
    assert [r["measured_optimum"] for r in result["per_budget"]] == ["easy", "hard"]
    assert result["measured_optimum_non_decreasing"] is True
    assert result["measured_spearman_optimum_vs_n"] == pytest.approx(1.0)
    assert all(r["bootstrap_frequency"][r["measured_optimum"]] == 1 for r in result["per_budget"])
    assert result["inverted_u_budgets"] == []  # two buckets have no interior
    # The upward shift is 0 for the hardest bucket and the tiny KL cannot outweigh it.
    assert result["agreement"]["upward"]["predicted"] == ["hard", "hard"]
    assert result["agreement"]["upward"]["exact"] == 0.5
    assert result["agreement"]["upward"]["within_one_bucket"] == 1.0


def test_shift_terms_are_exact_for_the_tiny_grid():
    experiment = config.load(TINY)  # target uniform on 2, 3, 4; easy = {2, 3}, hard = {4}
    terms = shift_terms(experiment)
    assert terms["tv"]["easy"] == pytest.approx(1 / 3)
    assert terms["tv"]["hard"] == pytest.approx(2 / 3)
    assert terms["upward"]["hard"] == pytest.approx(0.0)
    assert terms["upward"]["easy"] == pytest.approx(1 / 3)


def test_reproduce_writes_every_figure_and_the_report(tmp_path, capsys):
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
    assert "tiny_gain_heatmap.png" in index and "Measured optimum non-decreasing" in index
    report = (out / "tiny_report.md").read_text()
    assert "## Agreement per shift term" in report
    capsys.readouterr()
    assert main(["compare", "--db", str(db), "--out", str(out), "--sigma", "0.3", "--json"]) == 0
    assert '"sigma": 0.3' in capsys.readouterr().out
    assert main(["compare", "--db", str(db), "--sigma", "-1"]) == 2
    assert "sigma = -1.0 is out of range" in capsys.readouterr().err
