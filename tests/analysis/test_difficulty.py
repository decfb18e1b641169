"""The comparison of two definitions of difficulty, on measurements built by hand: switch
budgets placed where the test puts them, the spread across bases counted in doublings."""

import numpy as np
import pytest

from pacbound.analysis.difficulty import compare_definitions
from pacbound.analysis.hierarchy import Measured
from pacbound.report.difficulty import difficulty_markdown

BUDGETS = (1, 2, 4, 8)


def _measured(switch: int | None, base_error: float) -> Measured:
    """One draw, two seeds alike: easy 0.5, medium 0.6, hard 0.9 below budget index
    ``switch`` and 0.1 from it on (None: never)."""
    hard = [0.9 if switch is None or i < switch else 0.1 for i in range(len(BUDGETS))]
    target_BxN = np.array([[0.5] * 4, [0.6] * 4, hard])
    level_error = np.repeat(target_BxN[None, :, :, None, None], 2, axis=3)
    level_error = np.repeat(level_error, 2, axis=4)  # two levels, the same error
    return Measured(
        buckets=("easy", "medium", "hard"),
        budgets=BUDGETS,
        draws=(0,),
        levels=(1, 2),
        level_error=level_error,
        base_level_error=np.full((1, 2), base_error),
        train_error=np.zeros((1, 3, 4, 2)),
        target_weights=np.array([0.5, 0.5]),
        bucket_weights=np.eye(3, 2),
    )


COMPOSITION = {"easy": {"1": 1.0, "2": 0.0}, "medium": {"1": 0.5, "2": 0.5}, "hard": {"2": 1.0}}


def _compare(switches: dict[str, tuple]) -> dict:
    bases = {
        name: {"op-count": _measured(ops, error), "base-loss": _measured(loss, error)}
        for name, (ops, loss, error) in switches.items()
    }
    compositions = {name: COMPOSITION for name in switches}
    levels = {name: [2, 4] for name in switches}
    return compare_definitions("fam", bases, compositions, levels, seed=0)


def test_switches_that_line_up_under_base_loss_give_a_smaller_spread():
    result = _compare({"weak": (3, 2, 0.7), "strong": (1, 2, 0.4)})
    assert [row["base"] for row in result["bases"]] == ["weak", "strong"]  # weakest first
    ops, loss = (result["bases"][0]["definitions"][d] for d in ("op-count", "base-loss"))
    assert ops["switch"] == "8" and ops["optimum"] == ["easy"] * 3 + ["hard"]
    assert loss["switch"] == "4" and ops["switch_interval_95"] == ["8", "8"]
    spread = result["spread"]
    assert spread["op-count"]["spread"] == pytest.approx(2.0)  # log2(8) − log2(2)
    assert spread["base-loss"]["spread"] == 0.0
    assert spread["op-count"]["interval_95"] == pytest.approx([2.0, 2.0])
    assert spread["difference"]["verdict"] == "smaller under base-loss buckets"
    assert spread["difference"]["p_smaller_under_base_loss"] == 1.0
    assert result["bases"][0]["mean_level"]["medium"] == pytest.approx(1.5)
    text = difficulty_markdown(result)
    # No noise: every replicate is the point, so noise alone spreads nothing.
    assert spread["op-count"]["noise_alone_median"] == 0.0
    assert spread["op-count"]["noise_alone_p"] == 0.0
    assert spread["base-loss"]["noise_alone_p"] == 1.0  # 0 ≥ 0: a spread of 0 is reached
    assert "| op-count | 8, 2 | 2.0 [2.0, 2.0] | no |" in text
    assert "Verdict: **smaller under base-loss buckets**" in text


def test_a_base_that_never_switches_counts_one_doubling_past_the_largest_budget():
    result = _compare({"weak": (None, None, 0.7), "strong": (0, 0, 0.4)})
    for definition in ("op-count", "base-loss"):
        part = result["spread"][definition]
        assert part["spread"] == pytest.approx(4.0) and part["censored"]  # log2(16) − log2(1)
    assert result["spread"]["difference"]["verdict"] == "cannot tell"
    assert result["bases"][0]["definitions"]["op-count"]["switch"] == "never"
