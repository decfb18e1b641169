"""Intervals valid with few base draws: the t machinery by hand, and each interval family's
coverage by simulation with known truth (``pacbound.analysis.coverage``)."""

import numpy as np
import pytest

from pacbound.analysis import inference
from pacbound.analysis.coverage import Scenario, coverage
from pacbound.analysis.runs import RunTable

#: Replications per scenario: the coverage estimate's standard error is about 0.7% at 95%,
#: so 93% sits about 3 standard errors below the nominal level.
REPLICATIONS = 1000
RESAMPLES = 200  # the bootstrap standard error to about 5%: enough for a t interval
FAMILIES = ("t", "widened", "simultaneous", "slope")


@pytest.mark.parametrize("draws", [2, 3, 5, 9])
@pytest.mark.parametrize("seeds", [1, 2, 6])
def test_every_interval_family_covers_at_its_nominal_level(draws, seeds):
    measured = coverage(
        Scenario(draws, seeds), REPLICATIONS, seed=draws * 10 + seeds, resamples=RESAMPLES
    )
    for family in FAMILIES:
        if family in measured:  # the slope needs three draws
            assert measured[family] >= 0.93, (family, measured)


@pytest.mark.parametrize("seeds", [2, 3, 6])
def test_within_one_draw_the_seeds_are_the_units(seeds):
    measured = coverage(Scenario(1, seeds), REPLICATIONS, seed=seeds, resamples=RESAMPLES)
    assert measured["t"] >= 0.93 and measured["simultaneous"] >= 0.93, measured


def test_seed_noise_larger_than_the_draws_is_covered_too():
    noisy_seeds = Scenario(3, 2, draw_sd=0.02, cell_sd=0.01, seed_sd=0.07)
    measured = coverage(noisy_seeds, REPLICATIONS, seed=7, resamples=RESAMPLES)
    assert min(measured[f] for f in FAMILIES) >= 0.93, measured


def test_the_percentile_cluster_bootstrap_fails_the_check_at_three_draws():
    """The former intervals: the same check must catch them (about 75% at D = 3)."""
    measured = coverage(Scenario(3, 2), REPLICATIONS, seed=32, resamples=RESAMPLES)
    assert measured["percentile"] < 0.85, measured


def test_t_interval_over_draws_by_hand():
    # Two draws whose gains are 0.3 and −0.1: a bootstrap over the two draws gives 0.3,
    # −0.1 once each and 0.1 twice in four equally likely outcomes, variance 0.02; corrected
    # by D/(D − 1) = 2 it is 0.04 = s²/D with s² = 0.08. t_{1, 0.975} = 12.706.
    replicates = np.array([0.3, -0.1, 0.1, 0.1] * 1000)
    low, high = inference.interval(0.1, replicates, 2)
    half = 12.7062 * 0.2
    assert (low, high) == pytest.approx((0.1 - half, 0.1 + half), rel=1e-3)
    assert inference.critical(3) == pytest.approx(4.302653, abs=1e-6)
    assert inference.critical(1) == pytest.approx(1.959964, abs=1e-6)
    assert inference.degrees_of_freedom(3) == 2 and inference.degrees_of_freedom(1) is None


def test_widened_replicates_have_the_t_interval_s_width():
    rng = np.random.default_rng(0)
    replicates = rng.normal(0.0, 1.0, 200_000)
    wide = inference.widened(replicates, 0.0, 3)
    low, high = np.percentile(wide, [2.5, 97.5])
    t_low, t_high = inference.interval(0.0, replicates, 3)
    assert (low, high) == pytest.approx((t_low, t_high), rel=0.01)
    assert inference.widening(3) == pytest.approx((3 / 2) ** 0.5 * 4.302653 / 1.959964)


def test_draws_needed_to_decide_an_effect():
    # One draw's spread s = se·√D = 0.1·√3; the smallest D' with t_{D'−1}·s/√D' < 0.1 is
    # found by the definition itself, and a larger effect needs fewer draws.
    needed = inference.draws_needed(0.1, 0.1, 3)
    spread = 0.1 * 3**0.5
    assert inference.critical(needed) * spread / needed**0.5 < 0.1
    assert inference.critical(needed - 1) * spread / (needed - 1) ** 0.5 >= 0.1
    assert inference.draws_needed(0.5, 0.1, 3) < needed
    assert inference.draws_needed(0.0, 0.1, 3) is None


def test_the_slope_interval_needs_three_draws_and_varying_strength():
    assert np.isnan(inference.slope_interval([0.1, 0.2], [1, 2])[0])
    assert np.isnan(inference.slope_interval([0.1, 0.1, 0.1], [1, 2, 3])[0])


def test_the_predictions_bootstrap_draws_the_base_with_its_draws():
    # Two base draws: draw 0's base wrong on every problem, draw 1's on none. Each resample
    # draws two base draws with replacement, so the base's error is 1, 1/2 or 0 (chances
    # 1/4, 1/2, 1/4), not always their mean 1/2.
    problems, levels = 4, 1
    wrong = np.zeros((2, 2, 4, levels, problems), bool)  # 2 buckets, 2 budgets, 2 draws × 2
    base_wrong = np.stack([np.ones((levels, problems), bool), np.zeros((levels, problems), bool)])
    table = RunTable(
        ("a", "b"),
        np.array([1, 2]),
        np.zeros((2, 2, 4)),
        levels=(1,),
        level_error=np.zeros((2, 2, 4, 1)),
        base_level_error=np.array([0.5]),
        target_weights=np.ones(1),
        draws=2,
        wrong=wrong,
        base_wrong=base_wrong,
    )
    rng = np.random.default_rng(0)
    bases = [float(table.resampled(rng).base_level_error[0]) for _ in range(400)]
    assert set(bases) == {0.0, 0.5, 1.0}
    assert np.mean(np.array(bases) == 0.5) == pytest.approx(0.5, abs=0.08)
    assert table.units == 2


def test_variance_components_recover_the_simulated_spreads():
    from pacbound.analysis.coverage import simulated
    from pacbound.analysis.variance import components, pooled_variance

    scenario = Scenario(400, 3, draw_sd=0.08, cell_sd=0.06, seed_sd=0.03)
    _, measured = simulated(scenario, np.random.default_rng(3))
    parts = components(measured, np.random.default_rng(0))
    # The shared draw effect cancels in a gain over the draw's own base: what is left
    # between draws is the draw × bucket part.
    assert parts["mean"]["draw"] == pytest.approx(0.06**2, rel=0.15)
    assert parts["mean"]["seed"] == pytest.approx(0.03**2, rel=0.1)
    assert parts["mean"]["problem"] == 0.0  # exact risks
    expected = 0.06**2 / 4 + 0.03**2 / 8
    assert pooled_variance(parts, 4, 2) == pytest.approx(expected, rel=0.15)
