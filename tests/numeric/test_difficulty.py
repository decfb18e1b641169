"""The optimal difficulty d*(n): comparative statics, closed forms, buckets, counterexamples."""

import math
import warnings

import numpy as np
import pytest
import sympy as sp
from hypothesis import Phase, assume, given, settings
from hypothesis import strategies as st

from pacbound.numeric.difficulty import (
    bound_function,
    bucket_optimum,
    closed_form_optimum,
    optimal_difficulty,
)
from pacbound.numeric.lower import lower_to_jax
from pacbound.symbolic import difficulty as D

# The closed forms take sympy a minute: the tests that solve them share one worker.
pytestmark = pytest.mark.xdist_group("closed-forms")

BUDGETS = np.geomspace(10, 1e6, 13)


def params_strategy():
    return st.fixed_dictionaries(
        {
            "k0": st.floats(0.1, 20.0),
            "k1": st.floats(0.5, 100.0),
            "k_power": st.floats(0.5, 3.0),
            "k_rate": st.floats(0.5, 5.0),
            "t0": st.floats(0.05, 1.0),
            "t1": st.floats(0.05, 1.0),
            "t_power": st.floats(0.5, 4.0),
            "t_rate": st.floats(0.5, 10.0),
            "r0": st.floats(0.0, 0.5),
            "r1": st.floats(0.0, 0.5),
            "delta": st.floats(0.001, 0.5),
        }
    ).map(lambda p: p | {"t1": p["t1"] * p["t0"]})  # linear T = t0 − t1·d stays ≥ 0 on [0, 1]


def test_mcallester_has_decreasing_differences_symbolically():
    assert D.mcallester_decreasing_differences()


@settings(max_examples=30)
@given(family=st.sampled_from(D.all_families()), params=params_strategy())
def test_mcallester_optimum_moves_harder_and_is_the_minimum(family, params):
    """Every family has K non-decreasing, so Topkis applies: d*(n) is non-decreasing."""
    model = D.family_model(family, params=params)
    d_star = optimal_difficulty(model, BUDGETS)
    assert np.all(np.diff(d_star) >= -1e-7), d_star
    bound = bound_function(model)
    grid = np.linspace(0, 1, 2001)
    for n_value, d_value in zip(BUDGETS, d_star, strict=True):
        best = float(bound(d_value, n_value))
        assert best <= float(np.min(bound(grid, n_value))) + 1e-12


@pytest.mark.parametrize("family", ["linear-exponential", "linear-linear", "exponential-linear"])
@settings(max_examples=8)
@given(params=params_strategy())
def test_closed_forms_equal_the_numeric_solver(family, params):
    model = D.family_model(family, params=params)
    closed = closed_form_optimum(model, BUDGETS)
    assert closed is not None
    numeric = optimal_difficulty(model, BUDGETS)
    bound = bound_function(model)
    # Same optimum, up to the flatness of B there (compare values, then arguments).
    assert np.allclose(bound(closed, BUDGETS), bound(numeric, BUDGETS), rtol=1e-12, atol=1e-14)
    assert np.allclose(closed, numeric, atol=1e-5)


@pytest.mark.slow  # sympy takes half a minute to find no closed form for power-power
def test_families_without_closed_forms_say_so():
    assert closed_form_optimum(D.family_model("power-power"), BUDGETS) is None


def test_implicit_function_slope_matches_finite_differences():
    model = D.family_model("linear-exponential", domain=(0.0, 5.0))
    slope = lower_to_jax(
        model.substituted(
            D.optimum_slope(model).subs(D.maurer_log, sp.log(2 * sp.sqrt(D.n) / D.delta))
        ),
        ("d", "n"),
    )
    for n_value in (1e3, 1e4, 1e5):
        d_star = optimal_difficulty(model, [n_value * (1 - 1e-4), n_value, n_value * (1 + 1e-4)])
        finite = (d_star[2] - d_star[0]) / (2e-4 * n_value)
        assert math.isclose(float(slope(d_star[1], n_value)), finite, rel_tol=1e-3)
        assert finite > 0


def test_growth_is_logarithmic_for_exponential_decay_shift():
    """Linear K, T ∝ e^{−βd}: the minimising branch (W₋₁) grows like ln(n)/(2β).

    Evaluated from the closed form in mpmath: at such budgets G is far below the float64
    resolution of B, so no solver that compares values of B could see the optimum.
    """
    rate = 5.0
    model = D.family_model("linear-exponential", params={"t_rate": rate})
    branch = [
        r
        for r in D.stationary_points(model)
        if any(len(w.args) == 2 and w.args[1] == -1 for w in r.atoms(sp.LambertW))
    ]
    expr = model.substituted(branch[0].subs(D.maurer_log, sp.log(2 * sp.sqrt(D.n) / D.delta)))
    at_n = sp.lambdify(D.n, expr, modules="mpmath")
    low, high = 10.0**100, 10.0**200
    per_log_n = float(sp.re(at_n(high) - at_n(low))) / math.log(high / low)
    assert math.isclose(per_log_n, 1 / (2 * rate), rel_tol=0.05)


@settings(max_examples=40)
@given(
    buckets=st.integers(2, 6).flatmap(
        lambda b: st.tuples(
            st.lists(st.floats(0.0, 0.5), min_size=b, max_size=b),
            st.lists(st.floats(0.0, 200.0), min_size=b, max_size=b),
            st.lists(st.floats(0.0, 1.0), min_size=b, max_size=b),
        )
    )
)
def test_bucket_optimum_is_brute_force_and_monotone_when_kl_rises(buckets):
    risk, kl, shift = (np.array(x) for x in buckets)
    kl = np.sort(kl)  # KL non-decreasing over buckets: discrete decreasing differences
    budgets = np.round(BUDGETS)  # sample sizes: whole numbers
    chosen = bucket_optimum(risk, kl, shift, budgets)
    for n_value, index in zip(budgets, chosen, strict=True):
        values = [
            r + math.sqrt((k + math.log(2 * math.sqrt(n_value) / 0.05)) / (2 * n_value)) + t
            for r, k, t in zip(risk, kl, shift, strict=True)
        ]
        best = min(values)
        assert values[index] <= best * (1 + 1e-12)
        assert all(v > best * (1 + 1e-12) for v in values[:index])  # ties: the easier one
    assert np.all(np.diff(chosen) >= 0), chosen


def test_continuous_buckets_match_brute_force_with_ties_to_the_easier():
    model = D.family_model("linear-exponential")
    levels = np.array([0.1, 0.3, 0.5, 0.7, 0.9])
    chosen = optimal_difficulty(model, BUDGETS, buckets=levels)
    bound = bound_function(model)
    for n_value, d_value in zip(BUDGETS, chosen, strict=True):
        values = np.asarray(bound(levels, n_value))
        assert d_value == levels[np.flatnonzero(values == values.min())[0]]
    flat = D.DifficultyModel(kl=sp.Integer(3), shift=sp.Rational(1, 10), risk=sp.Integer(0))
    assert np.all(optimal_difficulty(flat, BUDGETS, buckets=levels) == 0.1)


# --- counterexamples: where a condition fails, the conclusion can fail -------------------

NS = np.geomspace(1, 1e5, 31)


def test_counterexample_kl_decreasing_in_difficulty():
    """McAllester with K' < 0 (harder data closer to the prior) and an easy target: d*↓."""
    d, k0, k1, t0, rate = D.d, D.k0, D.k1, D.t0, D.t_rate
    model = D.DifficultyModel(
        kl=k0 + k1 * (1 - d), shift=t0 * sp.exp(rate * (d - 1)), risk=D.r0, name="falling-kl"
    )
    d_star = optimal_difficulty(model, NS)
    assert d_star[0] == pytest.approx(1.0) and d_star[-1] == pytest.approx(0.0, abs=1e-9)
    assert np.all(np.diff(d_star) <= 1e-9)


def test_counterexample_kl_form_saturates_at_small_budgets():
    """kl form, constant R̂: while kl⁻¹ saturates at 1 only T matters and d* = 1; once the
    bound is informative d* drops to 0 and then climbs again. Found by random search. (The
    linear-risk family at slope 0: the next test's form, so one compiled solver serves both.)"""
    params = {"k0": 3.654, "k1": 19.873, "t0": 0.056, "t_rate": 2.469, "r0": 0.622, "r1": 0.0}
    model = D.family_model("linear-exponential-linear", generalization="kl", params=params)
    d_star = optimal_difficulty(model, NS)
    assert d_star[0] == pytest.approx(1.0)
    assert np.min(np.diff(d_star)) < -0.9  # the drop from the hardest to the easiest
    assert d_star[-1] == pytest.approx(1.0)
    bound = bound_function(model)
    assert float(bound(d_star[0], NS[0])) >= 1  # the non-monotone part is vacuous


def test_counterexample_kl_form_with_risk_rising_above_one_half():
    """kl form, R̂(d) rising above ½: G_qn > 0 there and d* moves to easier data."""
    params = {"k0": 3.11, "k1": 0.142, "t0": 0.374, "t_rate": 0.572, "r0": 0.416, "r1": 0.22}
    model = D.family_model("linear-exponential-linear", generalization="kl", params=params)
    d_star = optimal_difficulty(model, np.geomspace(2, 1e5, 25))
    assert d_star[0] == pytest.approx(1.0) and d_star[-1] == pytest.approx(0.0, abs=1e-9)
    assert np.all(np.diff(d_star) <= 1e-9)
    # The same model with McAllester's term keeps the optimum monotone (R̂ does not mix with n).
    mcallester = D.family_model("linear-exponential-linear", params=params)
    assert np.all(np.diff(optimal_difficulty(mcallester, np.geomspace(2, 1e5, 25))) >= -1e-7)


def test_linear_shift_with_linear_kl_sits_on_a_boundary():
    """B is concave in d (√ of a linear K): the stationary point is a maximum and the optimum
    jumps from the easiest to the hardest end at one budget, monotone but discontinuous."""
    model = D.family_model("linear-linear")
    d_star = optimal_difficulty(model, np.geomspace(1, 1e7, 40))
    assert set(np.round(d_star, 12)) == {0.0, 1.0}
    assert np.all(np.diff(d_star) >= 0)


def test_bad_model_inputs():
    with pytest.raises(ValueError, match="family 'cubic' is unknown"):
        D.family_model("cubic-linear")
    with pytest.raises(ValueError, match="is not KL-SHIFT"):
        D.family_model("linear")
    with pytest.raises(ValueError, match=r"parameters \['zeta'\] are unknown"):
        D.family_model("linear-linear", params={"zeta": 1.0})
    with pytest.raises(ValueError, match=r"delta = 1\.5 is out of range: allowed \(0, 1\)"):
        D.family_model("linear-linear", params={"delta": 1.5})
    with pytest.raises(ValueError, match="domain = .* is empty"):
        D.family_model("linear-linear", domain=(1.0, 0.0))
    with pytest.raises(ValueError, match=r"^n = 0\.5 \(entry 0\) is out of range"):
        optimal_difficulty(D.family_model("linear-linear"), [0.5, 10])
    with pytest.raises(ValueError, match="strictly increasing"):
        optimal_difficulty(D.family_model("linear-linear"), [10], buckets=[0.5, 0.2])
    with pytest.raises(ValueError, match=r"T\(d\) = -0\.0015625 at d = 1\.25391 is out of range"):
        optimal_difficulty(D.family_model("linear-linear", domain=(0.0, 1.5)), [10])
    with pytest.raises(ValueError, match=r"parameters \['w'\] have no value"):
        D.DifficultyModel(kl=sp.Symbol("w") * D.d, shift=sp.Integer(0), risk=sp.Integer(0))
    with pytest.raises(ValueError, match=r"domain = \(nan, 1\.0\) is not finite"):
        D.family_model("linear-linear", domain=(math.nan, 1.0))
    with pytest.raises(ValueError, match=r"^parameter k1 = inf is not a finite number"):
        D.family_model("linear-linear", params={"k1": math.inf})
    # a term infinite or NaN somewhere on the domain is out of range there, without warnings
    inverse = D.DifficultyModel(kl=1 / D.d, shift=sp.Integer(0), risk=sp.Integer(0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match=r"^K\(d\) = inf at d = 0 is out of range"):
            optimal_difficulty(inverse, [10])
    # measured buckets: budgets are sample sizes
    with pytest.raises(ValueError, match=r"^n = 2\.5 \(entry 0\) is not an integer ≥ 1"):
        bucket_optimum([0.1, 0.2], [1.0, 2.0], [0.3, 0.1], [2.5])


# Each example lowers and compiles a model with the kl inverse: few examples, no shrinking.
@pytest.mark.slow  # about a minute: every example lowers and compiles a model
@settings(max_examples=12, phases=[Phase.explicit, Phase.reuse, Phase.generate])
@given(family=st.sampled_from(D.all_families()), params=params_strategy())
def test_kl_form_optimum_moves_harder_where_its_conditions_hold(family, params):
    """Proposition 3's conditions: K non-decreasing (all families), R̂ ≤ ½ on the domain,
    and an informative bound (B < 1 at the optimum) at every budget."""
    params = params | {"r0": min(params["r0"], 0.25), "r1": min(params["r1"], 0.25)}
    model = D.family_model(family, generalization="kl", params=params)
    n_values = np.geomspace(1e3, 1e6, 10)
    d_star = optimal_difficulty(model, n_values)
    informative = np.asarray(bound_function(model)(d_star, n_values)) < 1
    assume(informative.all())
    assert np.all(np.diff(d_star) >= -1e-6), d_star
