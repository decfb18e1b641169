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
