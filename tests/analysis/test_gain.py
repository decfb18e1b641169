"""The gain certificate: by hand, its failure rate over simulated samples, and the closed
form of P(|X| < |Y|) it is built from on the skill ladder."""

import math

import numpy as np
import pytest
import sympy as sp

from pacbound.analysis import gain
from pacbound.numeric.lower import lower_to_jax, lower_to_numpy
from pacbound.symbolic import gain as symbolic

_closer = lower_to_numpy(
    symbolic.closer(*sp.symbols("mx vx my vy", positive=True)), ("mx", "vx", "my", "vy")
)


def test_a_sample_without_damage_or_improvement_is_bounded_by_the_kl_inverse_at_zero():
    """Ê g⁺ = Ê g⁻ = 0, KL = 0: kl⁻¹₊(0, B) = 1 − e^{−B} and kl⁻¹₋(0, B) = 0, with
    B = ln(4√n/δ)/n; the difference form with R̂(Q) = R̂(P) = 0 says the same."""
    n, delta = 100.0, 0.05
    budget = math.log(4 * math.sqrt(n) / delta) / n
    got = gain.certificates(0.0, 0.0, 0.0, 0.0, n, delta)
    assert float(got["split-kl"]) == pytest.approx(1 - math.exp(-budget), rel=1e-12)
    assert float(got["difference"]) == pytest.approx(1 - math.exp(-budget), rel=1e-12)


def test_the_split_kl_bound_fails_at_most_delta_of_the_time():
    """A fixed predictor against a fixed base (KL = 0): each example's signed loss is −1, 0
    or +1 with chances 0.3, 0.6, 0.1 (true gain −0.2). Over 4000 samples of n = 400 the
    certificate lies below −0.2 in at most δ of them (and is informative: mostly below 0)."""
    rng = np.random.default_rng(0)
    n, delta, samples = 400, 0.05, 4000
    g = rng.choice([-1.0, 0.0, 1.0], p=[0.3, 0.6, 0.1], size=(samples, n))
    damage, improvement = np.maximum(g, 0).mean(1), np.maximum(-g, 0).mean(1)
    bound = gain.certificates(damage, improvement, damage, np.zeros(samples), n, delta)
    failures = np.mean(bound["split-kl"] < -0.2)
    assert failures <= delta
    assert np.mean(bound["split-kl"] < 0) > 0.5


@pytest.mark.parametrize(
    "mx, vx, my, vy",
    [(0.1, 0.01, 0.0, 0.25), (0.5, 0.3, -0.4, 1.0), (1.0, 0.5, 0.05, 1e-4), (3.0, 0.2, 0.2, 0.3)],
)
def test_closer_is_the_chance_that_one_gaussian_is_nearer_zero(mx, vx, my, vy):
    rng = np.random.default_rng(1)
    m = 1_000_000
    hits = np.abs(rng.normal(mx, math.sqrt(vx), m)) < np.abs(rng.normal(my, math.sqrt(vy), m))
    assert abs(hits.mean() - float(_closer(mx, vx, my, vy))) < 4 * hits.std() / math.sqrt(m) + 1e-9


def test_summary_counts_failures_and_certified_help():
    true = np.array([[[-0.2, -0.1], [0.1, 0.0]]])  # one bucket, budgets 1 and 2, two draws
    split = np.array([[[-0.1, -0.15], [0.2, 0.1]]])  # misses draw 1 at n = 1
    difference = np.array([[[0.0, 0.0], [0.3, 0.2]]])
    out = gain.summarize(["b"], [1, 2], {"split-kl": split, "difference": difference}, true, 0.05)
    form = out["forms"]["split-kl"]
    assert form["failure_rate_max"] == 0.5 and not form["covers_every_draw"]
    assert form["certified_help_share"] == 0.5 and form["help_found"] == 1.0
    assert form["first_budget_below_zero"] == {"b": 1}
    assert out["forms"]["difference"]["first_budget_below_zero"] == {"b": None}
    assert out["split_kl_tighter_share"] == 1.0


def test_target_gain_bounds_by_hand():
    """Three levels, bucket {1}, target uniform: m = 1/3. Gains: level 1 −0.3 (the bucket),
    level 2 −0.1, level 3 +0.2. Certificate −0.25. No harm: −0.25/3, its assumption fails
    (level 3 gains +0.2 > 0). Transfer: excesses (−0.1 + 0.3)·2/1 = 0.4 and (0.2 + 0.3)·2/2
    = 0.5, so L = 0.5; distances 1 and 2, spread (1 + 2)/3/2 = 0.5: bound −0.25 + 0.25."""
    level_gain = np.array([-0.3, -0.1, 0.2]).reshape(1, 1, 1, 3)
    bucket = np.array([[1.0, 0.0, 0.0]])
    target = np.full(3, 1 / 3)
    certificate = np.full((1, 1, 1), -0.25)
    out = gain.target_gain_bounds(certificate, level_gain, bucket, target, np.array([True]))
    assert out["no harm"]["bound"].item() == pytest.approx(-0.25 / 3)
    assert not out["no harm"]["assumption_holds"].any()
    assert out["transfer"]["constant"] == pytest.approx(0.5)
    assert out["transfer"]["bound"].item() == pytest.approx(0.0, abs=1e-12)
    assert out["transfer"]["assumption_holds"].all()
    # The exact target gain (−0.3 − 0.1 + 0.2)/3 lies below the transfer bound.
    assert (level_gain @ target).item() <= out["transfer"]["bound"].item()


def test_a_constant_shift_tracks_only_without_a_reversed_difference():
    """Two buckets, the optimum easy at n₁ and hard at n₂. With the certificate difference
    hard − easy falling (0.3 → 0.1) a shift between 0.1 and 0.3 tracks; with it rising
    (0.1 → 0.3) none does, and the pair is named."""
    band = np.array([[True, False], [False, True]])
    falling = np.array([[0.5, 0.4], [0.8, 0.5]])
    rising = np.array([[0.5, 0.4], [0.6, 0.7]])
    assert gain.tracking_shift(falling, band, [1, 2]) == {"feasible": True, "pair": None}
    got = gain.tracking_shift(rising, band, [1, 2])
    assert not got["feasible"]
    assert got["pair"]["budgets"] == [1, 2] and got["pair"]["optima"] == [0, 1]
    assert got["pair"]["difference"] == pytest.approx([0.1, 0.3])
    # A band of both buckets at n₂ admits the easy bucket there: it tracks again.
    assert gain.tracking_shift(rising, np.array([[True, True], [False, True]]), [1, 2])["feasible"]


@pytest.mark.parametrize(
    "damage, improvement, kl, n",
    [(0.05, 0.30, 4.0, 200.0), (0.0, 0.12, 0.5, 1000.0), (0.2, 0.2, 30.0, 64.0), (0.4, 0.0, 0, 5)],
)
def test_the_gain_certificate_against_the_reference_in_numpy_and_jax(
    damage, improvement, kl, n, kl_inverse
):
    delta = 0.05
    budget = (kl + math.log(4 * math.sqrt(n) / delta)) / n
    oracle = float(kl_inverse(damage, budget) - kl_inverse(improvement, budget, upper=False))
    args = ("damage", "improvement", "kl_div", "n", "delta")
    numpy_value = float(
        lower_to_numpy(symbolic.gain_certificate, args)(damage, improvement, kl, n, delta)
    )
    jax_value = float(
        lower_to_jax(symbolic.gain_certificate, args)(damage, improvement, kl, n, delta)
    )
    assert numpy_value == pytest.approx(oracle, abs=1e-9)
    assert jax_value == pytest.approx(oracle, abs=1e-9)


def test_the_held_out_gain_certificate_subtracts_a_lower_bound_on_the_base(kl_inverse):
    """Risk certificate 0.3 (at δ/2); the base wrong on 60 of 100 held-out problems: the
    lower bound is kl⁻¹₋(0.6, ln(2/δ)/100), by the tests' kl⁻¹, and the gain certificate 0.3
    less it."""
    delta = 0.05
    lower = float(kl_inverse(0.6, math.log(2 / delta) / 100, upper=False))
    got = gain.held_out_gain_certificate(0.3, 0.6, 100, delta)
    assert float(got) == pytest.approx(0.3 - lower, abs=1e-9)
    assert float(got) < 0  # the base's 0.6 is far enough above the certificate


def test_no_harm_is_checked_on_the_levels_outside_each_bucket():
    """Two levels, buckets {1} and {2}: the run of bucket {1} loses 0.2 on level 2 against
    the base, beyond the tolerance 0.05; bucket {2}'s runs gain everywhere."""
    from pacbound.analysis import assumptions
    from pacbound.analysis.runs import RunTable

    level = np.array([[[[0.1, 0.7]]], [[[0.4, 0.3]]]])  # BxNxSxK, one budget, one seed
    table = RunTable(
        ("one", "two"),
        np.array([4]),
        level @ np.array([0.5, 0.5]),
        levels=(1, 2),
        level_error=level,
        base_level_error=np.array([0.5, 0.5]),
        target_weights=np.array([0.5, 0.5]),
        bucket_weights=np.eye(2),
        level_tolerance=0.05,
        bound={"gain (no harm)": np.zeros((2, 1, 1))},
    )
    check = assumptions.check(table)["gain (no harm)"]
    assert check["status"] == "violated" and check["violations"] == 1
    assert "+0.20 (one at n = 4)" in check["detail"]
