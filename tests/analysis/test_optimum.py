"""The measured optimum's statistics on hand-made tables whose answers are worked out by hand."""

import numpy as np
import pytest

from pacbound.analysis.hierarchy import Measured
from pacbound.analysis.optimum import (
    distinct_resamples,
    holm_minimum,
    interval_of,
    is_inverted_u,
    measure_optimum,
    orderings,
    per_seed_argmin_counts,
    sign_flip_p_value,
    switch_index,
    trend_p_value,
)

# Bucket A's seeds are bucket B's minus 0.1, seed by seed. Paired over seed indices, A wins
# every resample; unpaired (the cells are independent), A's mean of two draws from {0, 1}
# is 0, ½, 1 with probability ¼, ½, ¼ and B's is 0.1, 0.6, 1.1 alike, so
# P(A < B) = ¼·1 + ½·¾ + ¼·¼ = 11/16.
A, B = [0.0, 1.0], [0.1, 1.1]
UNPAIRED_A_WINS = 11 / 16


def optimum_of(error_BxNxS, base_error, budgets, rng):
    """measure_optimum on one base draw with exact risks (one level, no problems to
    resample): the bootstrap resamples each cell's seeds only, as the answers assume."""
    error = np.asarray(error_BxNxS, float)
    buckets, count, seeds = error.shape
    return measure_optimum(
        Measured(
            buckets=tuple(f"b{i}" for i in range(buckets)),
            budgets=tuple(budgets),
            draws=(0,),
            levels=(1,),
            level_error=error[None, ..., None],
            base_level_error=np.array([[base_error]]),
            train_error=np.zeros((1, buckets, count, seeds)),
            target_weights=np.ones(1),
            bucket_weights=np.ones((buckets, 1)),
        ),
        rng,
    )


def test_the_bootstrap_is_unpaired():
    error_BxNxS = np.array([[A], [B]])
    result = optimum_of(error_BxNxS, 0.9, [10], np.random.default_rng(0))
    assert result.optimum_N.tolist() == [0]
    assert result.frequency_NxB[0, 0] == pytest.approx(UNPAIRED_A_WINS, abs=0.03)
    # A paired bootstrap would say 1: make sure that is not what we compute.
    assert result.frequency_NxB[0, 0] < 0.75
    assert result.frequency_NxB[0].sum() == pytest.approx(1)


def test_switch_budget_and_its_interval():
    # Budgets 4, 8, 16. easy wins surely at 4, hard surely at 16; at 8 hard wins with
    # probability 1 − 11/16 = 5/16. So the switch is 8 (index 1) with probability 5/16 and
    # 16 (index 2) with 11/16; it is never "no switch".
    easy = [[0.0, 0.0], A, [0.9, 0.9]]
    hard = [[0.9, 0.9], B, [0.0, 0.0]]
    result = optimum_of(np.array([easy, hard]), 0.5, [4, 8, 16], np.random.default_rng(1))
    assert result.optimum_N.tolist() == [0, 0, 1]
    assert result.switch == 2
    assert result.switch_frequency[0] == 0 and result.switch_frequency[3] == 0
    assert result.switch_frequency[1] == pytest.approx(5 / 16, abs=0.03)
    assert result.switch_frequency[2] == pytest.approx(11 / 16, abs=0.03)
    assert interval_of(result.switch_frequency) == (1, 2)


def test_switch_index_by_hand():
    assert switch_index([0, 1, 2, 2], hardest=2) == 2
    assert switch_index([2, 1, 2], hardest=2) == 2  # a later easier optimum resets it
    assert switch_index([2, 2], hardest=2) == 0
    assert switch_index([0, 1], hardest=2) == 2  # never: one past the last budget


def test_interval_of_a_discrete_distribution():
    # 2.5% in each tail: a 1% end is outside, a 3% end inside.
    assert interval_of(np.array([0.01, 0.5, 0.48, 0.01])) == (1, 2)
    assert interval_of(np.array([0.03, 0.5, 0.44, 0.03])) == (0, 3)
    assert interval_of(np.array([0.0, 0.5, 0.5, 0.0])) == (1, 2)
    assert interval_of(np.array([1.0, 0.0])) == (0, 0)


def test_trend_p_value_is_exact():
    # Orderings of {0, 0, 1}: (0, 0, 1), (0, 1, 0), (1, 0, 0); the observed is the most
    # increasing of the three.
    rho, p = trend_p_value([4, 8, 16], [0, 0, 1])
    assert rho == pytest.approx(np.sqrt(3) / 2)
    assert p == pytest.approx(1 / 3)
    # Strictly increasing over 4 budgets: 1 of 4! orderings.
    assert trend_p_value([1, 2, 3, 4], [0, 1, 2, 3])[1] == pytest.approx(1 / 24)
    # Decreasing: every ordering is at least as increasing.
    assert trend_p_value([1, 2, 3], [2, 1, 0])[1] == pytest.approx(1.0)
    assert trend_p_value([1, 2, 3], [1, 1, 1]) == (None, 1.0)


def test_trend_p_value_beyond_enumeration_is_close_to_exact():
    # 15 budgets, optima 5 × 0, 5 × 1, 5 × 2, sorted: 756,756 orderings, more than are
    # enumerated, so the p-value is estimated from random orderings.
    budgets = list(range(15))
    optima = [0] * 5 + [1] * 5 + [2] * 5
    assert orderings(optima) == 756_756
    rho, p = trend_p_value(budgets, optima)
    assert rho == pytest.approx(np.corrcoef(budgets, optima)[0, 1])
    # Only the sorted order reaches it (p = 1/756,756); the estimate counts the observed
    # ordering among its draws, so it is at least 1/(draws + 1) and near it.
    assert 1 / 200_001 <= p <= 3e-5
    # The same shape, small enough to enumerate: exactly one ordering in 90.
    small = [0, 0, 1, 1, 2, 2]
    assert trend_p_value(range(6), small)[1] == pytest.approx(1 / orderings(small))


def test_sign_flip_p_value_by_hand():
    assert sign_flip_p_value([0.1, 0.2, 0.3]) == pytest.approx(1 / 8)
    # Observed mean 0.1; the sign patterns reaching it: (+,+,+), (+,−,+), (+,−,−).
    assert sign_flip_p_value([0.3, -0.1, 0.1]) == pytest.approx(3 / 8)
    assert sign_flip_p_value([-0.1, -0.2]) == pytest.approx(1.0)
    assert sign_flip_p_value([0.1] * 5) == pytest.approx(1 / 32)


def test_holm_minimum():
    assert holm_minimum([0.01, 0.5, 0.2]) == pytest.approx(0.03)
    assert holm_minimum([0.6, 0.9]) == 1.0


def test_distinct_resamples():
    assert distinct_resamples(3) == 10  # multisets of size 3 from 3 seeds
    assert distinct_resamples(5) == 126
    assert distinct_resamples(3, samples=3) == 1000


def test_per_seed_argmin_counts():
    error_BxNxS = np.array([[[0.1, 0.5, 0.2]], [[0.3, 0.4, 0.3]]])
    np.testing.assert_array_equal(per_seed_argmin_counts(error_BxNxS), [[2, 1]])


def test_base_as_an_arm_and_the_inverted_u():
    # Three buckets; medium always best at n = 8; the base (0.35) beats every bucket at n = 4.
    seeds = 5
    n4 = [[0.5] * seeds, [0.4] * seeds, [0.6] * seeds]
    n8 = [[0.5] * seeds, [0.2] * seeds, [0.3] * seeds]
    error = np.array([[n4[b], n8[b]] for b in range(3)])
    result = optimum_of(error, 0.35, [4, 8], np.random.default_rng(2))
    assert result.interior_N.tolist() == [1.0, 1.0]
    assert result.best_arm_frequency_NxA[0].tolist() == [0, 0, 0, 1]  # the base
    # No noise at all: a t test on a zero standard error is decided by the sign alone.
    assert result.better_p_NxB[0].tolist() == [1.0, 1.0, 1.0]
    assert result.worse_p_NxB[0].tolist() == pytest.approx([0.0] * 3, abs=1e-12)
    assert result.better_p_NxB[1].tolist() == pytest.approx([1.0, 0.0, 0.0], abs=1e-12)
    assert result.any_better_p_N.tolist() == pytest.approx([1.0, 0.0], abs=1e-12)
    assert result.gain_NxB[1].tolist() == pytest.approx([-0.15, 0.15, 0.05])
    assert result.switch == 2  # hard is never optimal


def test_inverted_u_needs_an_interior_optimum_untied_with_both_ends():
    assert is_inverted_u(1, np.array([False, True, False]))
    assert not is_inverted_u(2, np.array([False, False, True]))  # the hardest is best
    assert not is_inverted_u(1, np.array([True, True, False]))  # an end tied with the best
    assert not is_inverted_u(0, np.array([True, False]))  # two buckets have no interior


def test_base_draws_are_pooled_and_resampled_and_every_run_meets_its_own_base():
    # Two draws, buckets a and b, one budget, three seeds alike. Draw 0: a 0.2, b 0.4; draw
    # 1: a 0.6, b 0.4; both bases 0.5. Pooled: a and b both 0.4 (the tie goes to a). Drawing
    # two draws with replacement: (0, 0) → a wins, (1, 1) → b, mixed → the tie, a; so a is
    # optimal in 3/4 of the replicates (widening about the tie keeps it). The gain of a
    # is 0.3 in draw 0 and −0.1 in draw 1: the t interval over two draws is
    # 0.1 ± t_{1, 0.975} · 0.2828/√2 = 0.1 ± 12.706 · 0.2.
    level = np.array([[[[0.2] * 3], [[0.4] * 3]], [[[0.6] * 3], [[0.4] * 3]]])[..., None]
    measured = Measured(
        buckets=("a", "b"),
        budgets=(8,),
        draws=(0, 1),
        levels=(1,),
        level_error=level,
        base_level_error=np.array([[0.5], [0.5]]),
        train_error=np.zeros((2, 2, 1, 3)),
        target_weights=np.ones(1),
        bucket_weights=np.ones((2, 1)),
    )
    result = measure_optimum(measured, np.random.default_rng(5))
    assert result.levels == ("base draws", "fine-tuning seeds within a draw")
    assert result.mean_BxN[:, 0] == pytest.approx([0.4, 0.4])
    assert result.frequency_NxB[0] == pytest.approx([0.75, 0.25], abs=0.03)
    # One-sided t on the units (two draws, df 1): a's t = 0.1/0.2; b has no spread at all.
    assert result.better_p_NxB[0] == pytest.approx([0.35242, 0.0], abs=0.01)
    assert result.seed_counts_NxB[0].tolist() == [3, 3]
    assert result.units == 2 and result.critical == pytest.approx(12.7062, abs=1e-4)
    assert result.gain_low_NxB[0, 0] == pytest.approx(0.1 - 12.7062 * 0.2, rel=0.05)
    assert result.gain_high_NxB[0, 0] == pytest.approx(0.1 + 12.7062 * 0.2, rel=0.05)


def test_sign_flips_beyond_the_exact_limit_are_drawn_with_a_valid_p_value():
    # 20 positive differences: no random assignment other than all-positive reaches the
    # mean, so p = (hits + 1)/(draws + 1) with hits the draws that happen to be all +.
    p = sign_flip_p_value(np.full(20, 0.1), np.random.default_rng(0))
    assert p == pytest.approx(1 / 65_537, rel=0.5)
    assert 0 < p < 1e-4
