"""Experiments side by side: bases ordered by strength, their switch budgets compared exactly
from their bootstrap distributions."""

import numpy as np
import pytest

from pacbound.analysis.families import compare_bases
from pacbound.report.families import bases_markdown


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


def _draws_measured(errors_by_draw, base_errors, levels=(2, 4)):
    """A Measured with exact risks: draw d's target error per bucket × budget (one level),
    every seed alike; base target errors per draw."""
    from pacbound.analysis.hierarchy import Measured

    errors = np.asarray(errors_by_draw, float)  # DxBxN
    draws, buckets, budgets = errors.shape
    return Measured(
        buckets=tuple(f"b{i}" for i in range(buckets)),
        budgets=tuple(4**i for i in range(budgets)),
        draws=tuple(range(draws)),
        levels=(1,),
        level_error=np.repeat(errors[..., None, None], 2, axis=3),
        base_level_error=np.asarray(base_errors, float)[:, None],
        train_error=np.zeros((draws, buckets, budgets, 2)),
        target_weights=np.ones(1),
        bucket_weights=np.ones((buckets, 1)),
    )


def test_the_strength_regression_recovers_slopes_worked_out_by_hand():
    from pacbound.analysis.families import strength_regression

    easy_best, hard_best, switch_at_1 = (
        [[0.1, 0.1], [0.5, 0.5]],
        [[0.5, 0.5], [0.1, 0.1]],
        [
            [0.1, 0.5],
            [0.5, 0.1],
        ],
    )
    # Range 2–4 (rank 0): two draws with base errors 0.6 and 0.5, optimum easy at both
    # budgets (mean index 0, switch "never" = index 2). Range 2–5 (rank 1): base errors 0.4
    # (optimum hard from the first budget: index 1, switch 0) and 0.3 (switch at the second
    # budget: mean index 0.5, switch index 1).
    weak = _draws_measured([easy_best, easy_best], [0.6, 0.5])
    strong = _draws_measured([hard_best, switch_at_1], [0.4, 0.3])
    family = [
        ({"experiment": "f-b24", "pretrain_levels": [2, 4]}, weak),
        ({"experiment": "f-b25", "pretrain_levels": [2, 5]}, strong),
    ]
    result = strength_regression(family)
    slopes = result["slopes"]
    # Least squares by hand: error x = (0.6, 0.5, 0.4, 0.3), mean index y = (0, 0, 1, 0.5):
    # x̄ = 0.45, ȳ = 0.375, Σ(x − x̄)(y − ȳ) = −0.125, Σ(x − x̄)² = 0.05 → −2.5.
    assert slopes["index_by_strength"]["slope"] == pytest.approx(-2.5)
    # Against the range's rank (0, 0, 1, 1): Σ(r − r̄)(y − ȳ) = 0.375, Σ(r − r̄)² = 1 → 0.75.
    assert slopes["index_by_range"]["slope"] == pytest.approx(0.75)
    # Switch indices (2, 2, 0, 1) against the rank: −1.5.
    assert slopes["switch_by_range"]["slope"] == pytest.approx(-1.5)
    # The t interval by hand: fitted 1.5 − 2.5x, residuals (0, −0.25, 0.5, −0.25), s² =
    # 0.375/2, se = √(0.1875/0.05) = 1.9365; t_{2, 0.975} = 4.3027 → ±8.332.
    half = 4.302653 * (0.1875 / 0.05) ** 0.5
    assert slopes["index_by_strength"]["low"] == pytest.approx(-2.5 - half)
    assert slopes["index_by_strength"]["high"] == pytest.approx(-2.5 + half)
    assert result["draws"] == 4 and result["df"] == 2
    assert [b["base_target_error"] for b in result["bases"]] == [0.6, 0.5, 0.4, 0.3]
    assert [b["switch"] for b in result["bases"]] == ["never", "never", "1", "4"]
