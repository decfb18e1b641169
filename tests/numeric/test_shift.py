"""Shift terms over difficulty levels: each bounds the extrapolation gap under its assumption."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pacbound.numeric.shift import (
    coverage_tv,
    tv_between_levels,
    upward_shift,
    wasserstein1_levels,
)

LEVELS = 6


def weights():
    return (
        st.lists(st.floats(0.0, 1.0), min_size=LEVELS, max_size=LEVELS)
        .filter(lambda w: sum(w) > 1e-3)
        .map(lambda w: np.array(w) / sum(w))
    )


risks = st.lists(st.floats(0.0, 1.0), min_size=LEVELS, max_size=LEVELS).map(np.array)


def gap(w_target, w_train, r):
    return float(np.dot(w_target - w_train, r))


@settings(max_examples=40)
@given(w_target=weights(), w_train=weights(), r=risks)
def test_tv_bounds_the_gap_for_any_risk(w_target, w_train, r):
    assert abs(gap(w_target, w_train, r)) <= float(tv_between_levels(w_target, w_train)) + 1e-12


@settings(max_examples=40)
@given(w_target=weights(), w_train=weights(), r=risks)
def test_upward_shift_bounds_the_gap_for_rising_risk(w_target, w_train, r):
    rising = np.sort(r)
    bound = float(upward_shift(w_target, w_train))
    assert gap(w_target, w_train, rising) <= bound + 1e-12
    assert bound <= float(tv_between_levels(w_target, w_train)) + 1e-12


@settings(max_examples=40)
@given(w_target=weights(), w_train=weights(), steps=risks, lipschitz=st.floats(0.0, 0.2))
def test_wasserstein_bounds_the_gap_for_lipschitz_risk(w_target, w_train, steps, lipschitz):
    levels = np.arange(LEVELS, dtype=float) * 2.0
    # A risk with |r(k) − r(k')| ≤ L|k − k'|: increments bounded by L times the spacing.
    r = 0.5 + np.concatenate([[0.0], np.cumsum((2 * steps[1:] - 1) * lipschitz * 2.0)])
    bound = lipschitz * float(wasserstein1_levels(w_target, w_train, levels))
    assert abs(gap(w_target, w_train, r)) <= bound + 1e-12


@settings(max_examples=40)
@given(w_target=weights(), w_pre=weights(), w_train=weights(), r=risks, share=st.floats(0, 1))
def test_coverage_theorem(w_target, w_pre, w_train, r, share):
    risk_target = float(np.dot(w_target, r))
    mixed = share * float(np.dot(w_pre, r)) + (1 - share) * float(np.dot(w_train, r))
    assert risk_target <= mixed + float(coverage_tv(w_target, w_pre, w_train, share)) + 1e-12


def test_which_terms_prefer_harder_buckets():
    target = [1 / 6] * 6
    pretrain = [0.25, 0.25, 0.25, 0.25, 0.0, 0.0]  # the base saw the easy two thirds
    buckets = [[0.5, 0.5, 0, 0, 0, 0], [0, 0, 0.5, 0.5, 0, 0], [0, 0, 0, 0, 0.5, 0.5]]
    tv = [float(tv_between_levels(target, b)) for b in buckets]
    coverage = [float(coverage_tv(target, pretrain, b, 0.5)) for b in buckets]
    w1 = [float(wasserstein1_levels(target, b)) for b in buckets]
    upward = [float(upward_shift(target, b)) for b in buckets]
    assert np.allclose(tv, tv[0])  # blind to difficulty
    assert coverage[2] < coverage[0]  # credits what pretraining covered
    assert w1[1] < w1[0] and w1[1] < w1[2]  # prefers the middle of a spread target
    assert upward == sorted(upward, reverse=True) and upward[2] == 0.0  # zero for the hardest


def test_bad_level_weights():
    with pytest.raises(ValueError, match="w_train sums to 0.9"):
        upward_shift([0.5, 0.5], [0.5, 0.4])
    with pytest.raises(ValueError, match=r"w_train = -0\.1 \(entry 0\) is out of range"):
        tv_between_levels([0.5, 0.5], [-0.1, 1.1])
    with pytest.raises(ValueError, match="share = 2 is out of range"):
        coverage_tv([1.0], [1.0], [1.0], 2.0)
    with pytest.raises(ValueError, match="levels must be strictly increasing"):
        wasserstein1_levels([0.5, 0.5], [1.0, 0.0], [1.0, 1.0])
