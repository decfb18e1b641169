"""Properties of every bound, its lowering, its terms and its input checks."""

import inspect
import math
from functools import cache, partial

import jax
import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from pacbound.bound_options import parameters
from pacbound.numeric.bounds import (
    BOUNDS,
    DEFAULT_CATONI_GRID,
    FORM_FUNCTIONS,
    KINDS,
    bound_terms,
    check_bound_inputs,
    evaluate_bound,
    kl_budget,
)
from pacbound.numeric.kl import kl_inv_upper
from pacbound.numeric.lower import lower_to_numpy
from pacbound.numeric.shift import tv_between_levels
from pacbound.symbolic import core
from pacbound.symbolic.bounds import BOUND_FORMS, lambda_optimal_at, lowering_form

BOUND = {kind: jax.jit(partial(bound_terms, kind)) for kind in KINDS}
# Rounding slack for comparisons between two float64 evaluations.
SLACK = 1e-12

risks = st.floats(0.0, 1.0)
kls = st.one_of(st.floats(0.0, 50.0), st.floats(0.0, 1e4))
sizes = st.one_of(st.integers(1, 100), st.integers(1, 10**7)).map(float)
deltas = st.floats(1e-10, 0.999)


def bound_of(kind, *args, **kwargs) -> float:
    return float(BOUND[kind](*args, **kwargs).bound)


@pytest.mark.parametrize("kind", KINDS)
@given(r=risks, kl=kls, n=sizes, delta=deltas, step=st.floats(0.0, 1.0))
def test_monotone_in_every_argument(kind, r, kl, n, delta, step):
    here = bound_of(kind, r, kl, n, delta)
    assert here >= r - SLACK  # never below the empirical risk
    r_up = min(1.0, r + step * (1 - r))
    assert bound_of(kind, r_up, kl, n, delta) >= here - SLACK
    assert bound_of(kind, r, kl + 10 * step, n, delta) >= here - SLACK
    assert bound_of(kind, r, kl, n * (1 + step), delta) <= here + SLACK
    delta_up = delta + step * (0.999 - delta)
    assert bound_of(kind, r, kl, n, delta_up) <= here + SLACK


@given(r=risks, kl=kls, n=sizes, delta=deltas, lam=st.floats(1e-3, 2 - 1e-3))
def test_orderings_the_theory_guarantees(r, kl, n, delta, lam):
    kl_form = bound_of("kl", r, kl, n, delta)
    quad = bound_of("quad", r, kl, n, delta)
    # Pinsker and (p − q)²/(2p) are relaxations of the same kl inequality.
    assert kl_form <= bound_of("mcallester", r, kl, n, delta) + SLACK
    assert kl_form <= quad * (1 + SLACK)
    # The λ form holds for every λ and is a relaxation of quad; at λ* it equals quad.
    assert quad <= bound_of("lambda", r, kl, n, delta, lam=lam) * (1 + SLACK)
    assert math.isclose(bound_of("lambda", r, kl, n, delta), quad, rel_tol=1e-12)


@given(r=risks, kl=kls, n=sizes, delta=deltas)
def test_catoni_is_above_the_kl_inverse_with_its_own_budget(r, kl, n, delta):
    """For each C, Catoni's bound ≥ kl⁻¹(R̂, (KL + ln(m/δ))/n): φ_C(p) − Cq ≤ kl(q‖p)."""
    m = len(DEFAULT_CATONI_GRID)
    own_budget = (kl + math.log(m / delta)) / n
    floor = float(kl_inv_upper(r, own_budget))
    catoni = FORM_FUNCTIONS["catoni"](r, kl, n, delta, np.array(DEFAULT_CATONI_GRID), m)
    assert np.all(np.asarray(catoni) >= floor * (1 - SLACK) - SLACK)  # at every C of the grid
    # With a grid of m ≥ 2√n values its budget exceeds Maurer's, so it is above the kl form;
    # m here is the power of two at or above 2√n (at most 8192), so that the examples share
    # a few grid lengths, and compiled bounds, instead of one each.
    size = 1 << (max(2, math.ceil(2 * math.sqrt(n))) - 1).bit_length()
    big_grid = np.geomspace(1e-3, 1e3, size)  # one array: one argument of the compiled bound
    assert bound_of("catoni", r, kl, n, delta, catoni_grid=big_grid) >= (
        bound_of("kl", r, kl, n, delta) * (1 - SLACK) - SLACK
    )


@pytest.mark.parametrize("n", [5.0, 50.0, 1200.0, 123457.0, 1e7])
def test_catoni_on_the_smallest_grid_of_at_least_two_root_n_is_above_the_kl_form(n):
    """The tight case of the property above: m = ⌈2√n⌉ exactly (not a power of two here), so
    Catoni's union bound over the grid is charged at most one value more than Maurer's 2√n."""
    big_grid = np.geomspace(1e-3, 1e3, math.ceil(2 * math.sqrt(n)))
    for r, kl, delta in ((0.05, 10.0, 0.05), (0.3, 200.0, 0.01), (0.0, 0.0, 0.5)):
        assert bound_of("catoni", r, kl, n, delta, catoni_grid=big_grid) >= (
            bound_of("kl", r, kl, n, delta) * (1 - SLACK) - SLACK
        )


def test_catoni_grid_union_is_charged():
    """A finer grid costs ln(m)/n in the budget, so a single C can beat a large grid."""
    best_c = float(BOUND["catoni"](0.05, 10.0, 1000.0, 0.05).parameter)
    single = bound_of("catoni", 0.05, 10.0, 1000.0, 0.05, catoni_grid=(best_c,))
    fine = bound_of(
        "catoni", 0.05, 10.0, 1000.0, 0.05, catoni_grid=tuple(np.geomspace(0.01, 100, 500))
    )
    assert single < fine


@pytest.mark.parametrize(
    "r, kl, n, delta", [(0.05, 10.0, 1000.0, 0.05), (0.3, 2.0, 50.0, 0.1), (0.0, 3.0, 1e5, 0.01)]
)
def test_catoni_takes_the_best_c_of_its_grid(r, kl, n, delta):
    """Catoni's bound at each C of the grid written out here in mpmath, (1 − exp(−C·R̂ −
    (KL + ln(m/δ))/n))/(1 − e^{−C}) with m the grid's size: the bound is their minimum and
    its parameter the C reaching it, evaluated eagerly and jitted alike."""
    grid = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0)
    with mpmath.workdps(30):
        budget = (mpmath.mpf(kl) + mpmath.log(len(grid)) - mpmath.log(delta)) / n
        by_hand = [(1 - mpmath.exp(-c * r - budget)) / (1 - mpmath.exp(-c)) for c in grid]
    best = min(range(len(grid)), key=by_hand.__getitem__)
    for terms in (
        bound_terms("catoni", r, kl, n, delta, catoni_grid=grid),
        BOUND["catoni"](r, kl, n, delta, catoni_grid=grid),
    ):
        assert float(terms.parameter) == grid[best]
        assert float(terms.bound) == pytest.approx(float(by_hand[best]), rel=1e-12)


@pytest.mark.parametrize("kind", KINDS)
@given(r=risks, kl=st.floats(0.0, 50.0), n=sizes, delta=deltas, tv=st.floats(0.0, 1.0))
def test_terms_add_up_with_shift_and_monte_carlo(kind, r, kl, n, delta, tv):
    plain = BOUND[kind](r, kl, n, delta, tv)
    assert math.isclose(float(plain.bound), bound_of(kind, r, kl, n, delta) + tv, rel_tol=1e-12)
    mc = BOUND[kind](r, kl, n, delta, tv, mc_samples=1000)
    parts = mc.empirical + mc.mc_correction + mc.generalization + mc.extrapolation
    assert math.isclose(float(mc.bound), float(parts), rel_tol=1e-12, abs_tol=1e-15)
    assert float(mc.mc_correction) >= 0
    # Spending part of δ on the Monte-Carlo step and adding its correction costs something.
    assert float(mc.bound) >= float(plain.bound) - SLACK


def test_monte_carlo_step_matches_langford_caruana():
    terms = evaluate_bound("kl", 0.1, 5.0, 1000, 0.05, mc_samples=500, mc_delta_share=0.2)
    corrected = float(kl_inv_upper(0.1, math.log(2 / 0.01) / 500))
    assert math.isclose(float(terms.empirical + terms.mc_correction), corrected, rel_tol=1e-12)
    expected = float(kl_inv_upper(corrected, float(kl_budget(5.0, 1000, 0.04))))
    assert math.isclose(float(terms.bound), expected, rel_tol=1e-12)


def test_vacuous_bounds_are_reported_not_clipped():
    terms = evaluate_bound("mcallester", 0.4, 500.0, 100, 0.05, shift_tv=0.5)
    expected = 0.4 + math.sqrt((500 + math.log(2 * math.sqrt(100) / 0.05)) / 200) + 0.5
    assert math.isclose(float(terms.bound), expected, rel_tol=1e-12)
    assert bool(terms.vacuous)
    assert not bool(evaluate_bound("kl", 0.01, 1.0, 10**5, 0.05).vacuous)


def test_broadcasting():
    terms = evaluate_bound(
        "catoni", np.array([0.0, 0.1, 0.5]), 5.0, np.array([[10.0], [1e4]]), 0.05
    )
    assert terms.bound.shape == (2, 3)
    assert (terms.bound[1] < terms.bound[0]).all()
    for column in range(3):
        single = evaluate_bound("catoni", [0.0, 0.1, 0.5][column], 5.0, 1e4, 0.05)
        assert math.isclose(float(single.bound), float(terms.bound[1, column]), rel_tol=1e-15)


@cache
def _lowering_form_of(kind: str) -> sp.Expr:
    """The rewrite is symbolic work (a tenth of a second): once per kind, not per example."""
    return lowering_form(BOUND_FORMS[kind].expr)


def _evalf(expr, values: dict, digits: int = 30) -> float:
    subs = {sym: sp.Float(values[sym.name], digits) for sym in expr.free_symbols}
    return float(expr.evalf(digits, subs=subs))


@pytest.mark.parametrize("kind", KINDS)
@given(r=risks, kl=st.floats(0.0, 100.0), n=sizes, delta=deltas, extra=st.floats(0.05, 1.95))
def test_lowered_forms_equal_their_sympy_expression(kind, r, kl, n, delta, extra):
    form = BOUND_FORMS[kind]
    values = {
        "emp_risk": r,
        "kl_div": kl,
        "n": n,
        "delta": delta,
        "lam": extra,
        "catoni_c": 10 * extra,
        "grid_size": 21,
    }
    extra_values = [values[s.name] for s in form.extra]
    lowered = float(FORM_FUNCTIONS[kind](r, kl, n, delta, *extra_values))
    for expr in (form.expr, _lowering_form_of(kind)):
        assert math.isclose(lowered, _evalf(expr, values), rel_tol=1e-11, abs_tol=1e-300)


@given(r=risks, kl=st.floats(0.0, 100.0), n=sizes, delta=deltas)
def test_lowered_lambda_optimum_and_budget_equal_sympy(r, kl, n, delta):
    values = {"emp_risk": r, "kl_div": kl, "n": n, "delta": delta}
    lam = float(BOUND["lambda"](r, kl, n, delta).parameter)
    assert math.isclose(lam, _evalf(lambda_optimal_at, values), rel_tol=1e-11)
    assert 0 < lam < 2
    budget = float(kl_budget(kl, n, delta))
    assert math.isclose(budget, _evalf(BOUND_FORMS["kl"].budget, values), rel_tol=1e-12)


@pytest.mark.parametrize(
    ("argument", "kwargs", "message"),
    [
        ("emp_risk", {"emp_risk": 1.5}, r"emp_risk = 1\.5 is out of range: allowed \[0, 1\]"),
        ("emp_risk", {"emp_risk": -0.1}, r"emp_risk = -0\.1 "),
        ("kl", {"kl_div": -1.0}, r"kl = -1 is out of range: allowed \[0, inf\)"),
        ("n", {"n": 0.5}, r"n = 0\.5 is out of range: allowed \[1, inf\)"),
        ("delta", {"delta": 0.0}, r"delta = 0 is out of range: allowed \(0, 1\)"),
        ("delta", {"delta": 1.0}, r"delta = 1 "),
        ("shift_tv", {"shift_tv": 2.0}, r"shift_tv = 2 "),
        ("nan", {"kl_div": math.nan}, r"kl = nan "),
        ("inf", {"n": math.inf}, r"n = inf "),
        ("mc", {"mc_samples": 0}, r"mc_samples = 0 "),
        ("n whole", {"n": 2.5}, r"n = 2\.5 is not an integer ≥ 1$"),
        ("n entry", {"n": np.array([10, 100.5])}, r"n = 100\.5 \(entry 1\) is not an integer"),
        ("n digits", {"n": 1e6 + 0.5}, r"n = 1000000\.5 is not"),
        ("mc whole", {"mc_samples": 10.5}, r"mc_samples = 10\.5 is not an integer ≥ 1$"),
        ("share", {"mc_samples": 10, "mc_delta_share": 1.0}, r"mc_delta_share = 1 "),
        ("lambda", {"lam": 2.0}, r"lambda = 2 is out of range: allowed \(0, 2\)"),
        ("grid", {"catoni_grid": (1.0, -2.0)}, r"catoni_grid = -2 \(entry 1\)"),
        ("array", {"emp_risk": np.array([0.1, 0.2, 3.0])}, r"emp_risk = 3 \(entry 2\)"),
    ],
)
def test_bad_inputs_name_the_argument_and_range(argument, kwargs, message):
    args = {"emp_risk": 0.1, "kl_div": 1.0, "n": 100, "delta": 0.05} | kwargs
    with pytest.raises(ValueError, match=rf"^{message}"):
        evaluate_bound("kl", **args)


def test_sample_sizes_given_as_whole_floats_are_accepted():
    exact = evaluate_bound("kl", 0.1, 1.0, 10_000, 0.05, mc_samples=500)
    as_floats = evaluate_bound("kl", 0.1, 1.0, 1e4, 0.05, mc_samples=500.0)
    assert float(as_floats.bound) == float(exact.bound)
    assert evaluate_bound("kl", 0.1, 1.0, np.array([10.0, 100.0]), 0.05).bound.shape == (2,)


def test_one_table_is_the_signature_of_the_three_functions():
    """bound_terms, check_bound_inputs and evaluate_bound take the inputs of one table (every
    form's, then each form's own parameters) with its defaults, and refuse any other."""
    table = parameters(bound.options for bound in BOUNDS.values())
    names = ["emp_risk", "kl_div", "n", "delta", "shift_tv", "mc_samples", "mc_delta_share"]
    assert [param.name for param in table] == [*names, "lam", "catoni_grid"]
    empty = inspect.Parameter.empty
    expected = [(param.name, empty if param.required else param.default) for param in table]
    for function, leading in (
        (bound_terms, [("kind", empty)]),
        (evaluate_bound, [("kind", empty)]),
        (check_bound_inputs, []),
    ):
        signature = inspect.signature(function).parameters.values()
        assert [(param.name, param.default) for param in signature] == leading + expected
    for call in (partial(bound_terms, "kl"), partial(evaluate_bound, "kl"), check_bound_inputs):
        with pytest.raises(TypeError, match="'lamda'"):
            call(0.1, 1.0, 100, 0.05, lamda=1.0)


@pytest.mark.parametrize("kind", KINDS)
def test_each_entry_takes_its_own_parameters_and_chooses_them(kind):
    """An entry evaluates with the parameters its options declare (those the command line
    offers and the checks read) and chooses each one not given: NaN only without any."""
    bound = BOUNDS[kind]
    arguments = list(inspect.signature(bound.evaluate).parameters)
    assert arguments == [
        "emp_risk",
        "kl_div",
        "n",
        "delta",
        *(p.name for p in bound.options.params),
    ]
    value, parameter = bound.evaluate(0.05, 12.3, 5000.0, 0.05)
    assert float(value) == float(evaluate_bound(kind, 0.05, 12.3, 5000.0, 0.05).bound)
    assert math.isnan(float(parameter)) == (not bound.options.params)


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match=r"^kind = 'pinsker' is not a bound kind: allowed"):
        evaluate_bound("pinsker", 0.1, 1.0, 100, 0.05)


def test_tv_between_levels():
    assert float(tv_between_levels([0.25] * 4, [0.5, 0.5, 0.0, 0.0])) == 0.5
    # Equal-width disjoint buckets inside a uniform target: the same TV for every bucket.
    target = [1 / 6] * 6
    buckets = [[0.5, 0.5, 0, 0, 0, 0], [0, 0, 0.5, 0.5, 0, 0], [0, 0, 0, 0, 0.5, 0.5]]
    values = {float(tv_between_levels(target, b)) for b in buckets}
    assert len({round(v, 12) for v in values}) == 1
    with pytest.raises(ValueError, match="w_train sums to 0.9"):
        tv_between_levels([0.5, 0.5], [0.5, 0.4])
    with pytest.raises(ValueError, match="w_target has 3, w_train has 2"):
        tv_between_levels([0.5, 0.25, 0.25], [0.5, 0.5])


def test_core_symbols_carry_assumptions():
    assert core.kl_div.is_nonnegative and core.n.is_positive and core.delta.is_positive


@pytest.mark.parametrize("kind", KINDS)
def test_numpy_and_jax_lowerings_agree(kind):
    form = BOUND_FORMS[kind]
    names = ("emp_risk", "kl_div", "n", "delta", *(s.name for s in form.extra))
    as_numpy = lower_to_numpy(_lowering_form_of(kind), names)
    rng = np.random.default_rng(0)
    inputs = [
        rng.uniform(0, 1, 50),
        rng.uniform(0, 30, 50),
        rng.uniform(1, 1e4, 50),
        rng.uniform(1e-4, 0.5, 50),
    ]
    extra = {
        "lam": rng.uniform(0.1, 1.9, 50),
        "catoni_c": rng.uniform(0.1, 10, 50),
        "grid_size": np.full(50, 21.0),
    }
    inputs += [extra[s.name] for s in form.extra]
    np.testing.assert_allclose(as_numpy(*inputs), FORM_FUNCTIONS[kind](*inputs), rtol=1e-13)


def test_lowering_refuses_unlisted_symbols():
    with pytest.raises(ValueError, match=r"free symbols \['n'\] not in arg_names"):
        lower_to_numpy(BOUND_FORMS["mcallester"].expr, ("emp_risk", "kl_div", "delta"))
