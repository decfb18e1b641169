"""The hierarchical bootstrap against distributions derived by hand: base draws, then seeds,
then shared held-out problems."""

import numpy as np
import pytest

from pacbound.analysis.hierarchy import LEVELS, Measured, resample


def measured(level_error, base_level_error=None, wrong=None, base_wrong=None, train=None):
    """A Measured over D×B×N×S×K level errors, one bucket weight per level."""
    d, b, n, s, k = level_error.shape
    return Measured(
        buckets=tuple(f"b{i}" for i in range(b)),
        budgets=tuple(range(1, n + 1)),
        draws=tuple(range(d)),
        levels=tuple(range(1, k + 1)),
        level_error=level_error,
        base_level_error=np.zeros((d, k)) if base_level_error is None else base_level_error,
        train_error=np.zeros((d, b, n, s)) if train is None else train,
        target_weights=np.full(k, 1 / k),
        bucket_weights=np.full((b, k), 1 / k),
        wrong=wrong,
        base_wrong=base_wrong,
    )


def test_draws_are_resampled_first_the_pooled_mean_takes_the_hand_derived_values():
    # Two draws, no seed or problem noise: draw 0's cells all 0.2, draw 1's all 0.6. Drawing
    # two draws with replacement pools to 0.2, 0.4 or 0.6 with chances 1/4, 1/2, 1/4.
    errors = np.concatenate([np.full((1, 1, 1, 3, 1), 0.2), np.full((1, 1, 1, 3, 1), 0.6)])
    replicates = resample(measured(errors), np.random.default_rng(0), 4000)
    pooled = replicates.level_error.mean(axis=(1, 2, 3, 4, 5))
    values, counts = np.unique(np.round(pooled, 9), return_counts=True)
    assert values.tolist() == [0.2, 0.4, 0.6]
    assert counts / 4000 == pytest.approx([0.25, 0.5, 0.25], abs=0.03)
    assert replicates.levels == LEVELS[:2]


def test_seeds_are_drawn_within_each_cell_from_its_own_values():
    rng = np.random.default_rng(1)
    errors = rng.random((1, 2, 3, 4, 1))
    replicates = resample(measured(errors), np.random.default_rng(2), 50)
    for r in range(50):
        for b in range(2):
            for n in range(3):
                drawn = replicates.level_error[r, 0, b, n, :, 0]
                assert set(drawn.tolist()) <= set(errors[0, b, n, :, 0].tolist())
    assert replicates.levels == (LEVELS[1],)  # one draw: nothing to draw at the top


def test_problems_are_shared_by_every_model_and_the_base_error_has_binomial_noise():
    # One base and two cells with the same outcomes on 100 problems (30 wrong): every
    # replicate gives the three the same error, whose spread is √(p(1 − p)/P) = 0.0458.
    wrong = np.zeros(100, bool)
    wrong[:30] = True
    cells = np.broadcast_to(wrong, (1, 2, 1, 1, 1, 100)).copy()
    errors = np.full((1, 2, 1, 1, 1), 0.3)
    replicates = resample(
        measured(errors, np.full((1, 1), 0.3), cells, wrong[None, None]),
        np.random.default_rng(3),
        4000,
    )
    base = replicates.base_level_error[:, 0, 0]
    assert np.array_equal(replicates.level_error[:, 0, 0, 0, 0, 0], base)
    assert np.array_equal(replicates.level_error[:, 0, 1, 0, 0, 0], base)
    assert np.all(np.isclose(base * 100, np.round(base * 100)))  # counts of 100 problems
    assert base.mean() == pytest.approx(0.3, abs=0.005)
    assert base.std() == pytest.approx(np.sqrt(0.3 * 0.7 / 100), rel=0.06)
    assert replicates.levels == LEVELS[2:]  # one draw, one seed: the problems alone


def test_a_draw_is_a_one_draw_experiment():
    errors = np.random.default_rng(4).random((3, 2, 2, 2, 1))
    one = measured(errors).draw(1)
    assert one.draws == (1,) and np.array_equal(one.level_error[0], errors[1])
    assert one.noise_levels == (LEVELS[1],)


def test_shapes_that_do_not_match_are_refused():
    with pytest.raises(ValueError, match="base and training errors"):
        measured(np.zeros((1, 2, 2, 2, 1)), base_level_error=np.zeros((2, 1)))


def test_experiments_of_one_grid_combine_into_one_with_every_base_draw():
    from pacbound.analysis.hierarchy import combined

    first = measured(np.zeros((2, 2, 3, 2, 1)))
    second = measured(np.ones((3, 2, 3, 2, 1)))
    both = combined({"f-b24": first, "f-b25": second})
    assert both.draws == ("f-b24/0", "f-b24/1", "f-b25/0", "f-b25/1", "f-b25/2")
    assert both.level_error.shape == (5, 2, 3, 2, 1)
    assert both.level_error[:2].sum() == 0 and both.level_error[2:].min() == 1
    other = measured(np.zeros((1, 2, 4, 2, 1)))  # another grid of budgets
    with pytest.raises(ValueError, match="another grid"):
        combined({"a": first, "b": other})
