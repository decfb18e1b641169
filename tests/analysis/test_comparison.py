"""The comparison on hand-made cells with known answers, and the exact shift terms."""

from dataclasses import replace

import pytest

from pacbound import config
from pacbound.analysis.table import shift_terms
from pacbound.pipeline import comparison as compare
from pacbound.store import Base, Cell


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


def test_compare_recovers_a_known_optimum_path(tiny):
    tiny = config.load(tiny)
    # Five seeds, so that an exact sign-flip test can reach p = 1/32 ≤ 0.05.
    experiment = replace(tiny, grid=replace(tiny.grid, seeds=(0, 1, 2, 3, 4)))
    # easy is best at n = 2, hard at n = 5; seeds add small noise that never flips it.
    table = {("easy", 2): 0.2, ("hard", 2): 0.5, ("easy", 5): 0.4, ("hard", 5): 0.1}
    # Certificates: vacuous everywhere at n = 2 (not below the base's 0.3), informative at
    # n = 5, where hard's is lower. Five examples of easy's two levels are allocated 3 + 2,
    # so its certificate on the bucket adds TV = 1/10: 0.15 + 0.1.
    certified = {("easy", 2): 0.9, ("hard", 2): 0.3, ("easy", 5): 0.15, ("hard", 5): 0.2}
    cells = _synthetic_cells(
        experiment, lambda b, n, s: table[(b, n)] + 0.01 * s, lambda b, n: certified[(b, n)]
    )
    base = {0: Base(0, {"2": 0.3, "3": 0.3, "4": 0.3})}
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
    assert first["level_errors"]["base"] == base[0].level_errors
    # n = 2: every certificate vacuous, so no prediction (never a tie broken by rule). n = 5:
    # with the upward shift (0 for hard, 1/3 for easy) hard's 0.2 + 0 wins; with TV (1/3 for
    # easy, 2/3 for hard) easy's 0.15 + 0.1 + 1/3 does.
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


def test_shift_terms_are_exact_for_the_tiny_grid(tiny):
    experiment = config.load(tiny)  # target uniform on 2, 3, 4; easy = {2, 3}, hard = {4}
    terms = shift_terms(experiment)
    assert terms["tv"]["easy"] == pytest.approx(1 / 3)
    assert terms["tv"]["hard"] == pytest.approx(2 / 3)
    assert terms["upward"]["hard"] == pytest.approx(0.0)
    assert terms["upward"]["easy"] == pytest.approx(1 / 3)


def test_the_predictors_runs_of_a_store_carry_its_outcomes(tiny_store):
    """The runs the predictions resample hold each run's outcomes on the held-out problems,
    in the order of the runs, counting what the stored errors say."""
    import numpy as np

    from pacbound.analysis import predict
    from pacbound.pipeline import stored_runs

    table = stored_runs(tiny_store, "tiny")
    assert table.wrong.shape == (2, 2, 3, 3, 8) and table.base_wrong.shape == (1, 3, 8)
    np.testing.assert_allclose(table.wrong.mean(axis=-1), table.level_error)
    np.testing.assert_allclose(table.level_error @ table.target_weights, table.target_error)
    np.testing.assert_allclose(table.base_wrong.mean(axis=-1)[0], table.base_level_error)
    assert predict.evaluate(table, resamples=20)["problems"] is True
