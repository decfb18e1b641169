"""DFT against SFT on hand-made measurements: paired differences, optimum and C7/C8."""

import numpy as np
import pytest

from pacbound.analysis.hierarchy import Measured
from pacbound.analysis.objectives import compare_objectives


def _measured(level_error):
    """Two draws, two buckets (levels {1}, {2}), three budgets, two seeds, target uniform."""
    return Measured(
        buckets=("easy", "hard"),
        budgets=(1, 4, 16),
        draws=(0, 1),
        levels=(1, 2),
        level_error=level_error,
        base_level_error=np.full((2, 2), 0.5),
        train_error=np.zeros((2, 2, 3, 2)),
        target_weights=np.array([0.5, 0.5]),
        bucket_weights=np.eye(2),
    )


def test_a_constant_shift_between_objectives_is_paired_exactly():
    """DFT lowers every level's error by 0.1 on the hard bucket at n = 1 and raises it by 0.05
    everywhere at n = 16: the difference has no noise at all (the seeds differ, but the two
    objectives differ by a constant in every seed), so C7 and C8 hold with zero-width
    intervals, and the optimum moves where DFT changes the order."""
    rng = np.random.default_rng(0)
    sft = rng.uniform(0.2, 0.6, (2, 2, 3, 2, 2))
    sft[:, 1, 0] = 0.58  # hard is worst at n = 1 under SFT …
    sft[:, 0, 0] = 0.5
    dft = sft.copy()
    dft[:, 1, 0] -= 0.1  # … and best under DFT
    dft[:, :, 2] += 0.05
    out = compare_objectives("pair", _measured(sft), _measured(dft), seed=1, resamples=50)
    difference = np.array(out["difference"])
    assert difference[1, 0] == pytest.approx(-0.1) and difference[0, 0] == pytest.approx(0)
    assert np.allclose(difference[:, 2], 0.05)
    low, high = (np.array(v) for v in out["difference_interval"])
    assert np.allclose(low, difference) and np.allclose(high, difference)
    c7, c8 = out["pooled"]
    assert (c7["claim"], c7["verdict"]) == ("C7", "holds") and c7["statistic"] == pytest.approx(
        -0.1
    )
    assert (c8["claim"], c8["verdict"]) == ("C8", "holds") and c8["statistic"] == pytest.approx(
        0.05
    )
    assert out["optimum"]["sft"][0] == "easy" and out["optimum"]["dft"][0] == "hard"
    gain = np.array(out["level_gain"]["dft"]) - np.array(out["level_gain"]["sft"])
    assert gain[1, 0] == pytest.approx([0.1, 0.1])


def test_objectives_on_different_grids_are_refused():
    one = _measured(np.full((2, 2, 3, 2, 2), 0.3))
    other = Measured(
        **{
            **one.__dict__,
            "level_error": np.full((2, 2, 3, 1, 2), 0.3),
            "train_error": np.zeros((2, 2, 3, 1)),
        }
    )
    with pytest.raises(ValueError, match="share one grid"):
        compare_objectives("pair", one, other, seed=1, resamples=5)
