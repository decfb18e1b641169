"""The derivations: sympy's closed forms against the published ones, relaxations, ξ(n)."""

import math

import mpmath
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from pacbound.symbolic import bounds as B
from pacbound.symbolic.core import (
    KLInvLower,
    KLInvUpper,
    XLogY,
    c,
    catoni_c,
    emp_risk,
    kl_binary,
    kl_div,
    lam,
    n,
    p,
    q,
)
from pacbound.symbolic.core import delta as dlt

# The published forms, written out here independently of the module, to check that what
# sympy derived is what the papers state.
MAURER = (kl_div + sp.log(2 * sp.sqrt(n) / dlt)) / n
PUBLISHED = {
    "mcallester": emp_risk + sp.sqrt((kl_div + sp.log(2 * sp.sqrt(n) / dlt)) / (2 * n)),
    "quad": (sp.sqrt(emp_risk + MAURER / 2) + sp.sqrt(MAURER / 2)) ** 2,
    "lambda": emp_risk / (1 - lam / 2) + MAURER / (lam * (1 - lam / 2)),
    "catoni": (1 - sp.exp(-catoni_c * emp_risk - (kl_div + sp.log(B.grid_size / dlt)) / n))
    / (1 - sp.exp(-catoni_c)),
}
THIEMANN_OPTIMAL_LAMBDA = 2 / (
    sp.sqrt(2 * n * emp_risk / (kl_div + sp.log(2 * sp.sqrt(n) / dlt)) + 1) + 1
)


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_derived_forms_are_the_published_ones(name):
    derived = B.BOUND_FORMS[name].expr
    difference = derived - PUBLISHED[name]
    assert sp.simplify(difference) == 0 or all(
        abs(float(difference.subs(point))) < 1e-12
        for point in _sample_points(derived.free_symbols | PUBLISHED[name].free_symbols)
    )


def _sample_points(symbols, count=20, seed=3):
    rng = __import__("random").Random(seed)
    ranges = {
        "emp_risk": (0, 1),
        "kl_div": (0, 30),
        "n": (1, 1e5),
        "delta": (1e-4, 0.5),
        "lam": (0.01, 1.99),
        "catoni_c": (0.01, 50),
        "grid_size": (1, 100),
    }
    return [{s: rng.uniform(*ranges[s.name]) for s in symbols} for _ in range(count)]


def test_optimal_lambda_is_thiemanns():
    difference = B.lambda_optimal_at - THIEMANN_OPTIMAL_LAMBDA
    for point in _sample_points(difference.free_symbols):
        assert abs(float(difference.subs(point))) < 1e-12
    # The rationalised form is finite at R̂ = 0, where λ* = 1.
    assert B.lambda_optimal.subs(q, 0) == 1


def test_lambda_form_at_its_optimum_is_quad():
    at_optimum = B.lambda_solution.subs(lam, B.lambda_optimal)
    assert sp.simplify(at_optimum - B.quad_solution) == 0


@settings(max_examples=25)  # exact evaluation of kl at 30 digits is slow
@given(qv=st.floats(0.0, 0.999), frac=st.floats(0.0, 1.0), cv=st.floats(0.01, 30.0))
def test_relaxations_are_below_kl(qv, frac, cv):
    pv = qv + frac * (0.999 - qv)  # p ≥ q, as the upper bounds need
    point = {q: qv, p: pv, catoni_c: cv}
    kl_value = float(kl_binary(q, p).subs(point).evalf(20))
    slack = 1e-12
    assert float(B.pinsker_relaxation.subs(point)) <= kl_value + slack
    if pv > 0:
        assert float(B.quad_relaxation.subs(point)) <= kl_value + slack
    assert float(B.catoni_relaxation.subs(point)) <= kl_value + slack


def test_catoni_relaxation_is_tight_at_the_best_c():
    """sup over C of φ_C(p) − Cq is kl(q‖p): Catoni optimised over C is the kl bound."""
    point = {q: 0.1, p: 0.3}
    kl_value = float(kl_binary(q, p).subs(point))
    # The relaxation at this (q, p) as a function of C alone, evaluated by mpmath: a sympy
    # substitution per C would cost a thousand times more for the same numbers.
    relaxation = sp.lambdify(catoni_c, B.catoni_relaxation.subs(point), "mpmath")
    best = max(float(relaxation(mpmath.mpf(x) / 100)) for x in range(1, 1000))
    assert kl_value - 1e-5 <= best <= kl_value


@pytest.mark.parametrize("n_value", range(1, 21))
def test_maurer_xi_is_below_two_root_n(n_value):
    """ξ(n) ≤ 2√n, proved by Maurer for n ≥ 8, holds exactly for the small n too."""
    xi = B.maurer_xi(n_value)
    assert xi >= sp.sqrt(n_value)
    assert xi <= 2 * sp.sqrt(n_value)


def test_special_functions_evaluate_and_differentiate():
    assert XLogY(0, 0).evalf() == 0
    assert math.isclose(float(XLogY(2, 3).evalf()), 2 * math.log(3))
    assert sp.diff(XLogY(q, p), p) == q / p
    value = KLInvUpper(sp.Rational(1, 10), sp.Rational(1, 20)).evalf(40)
    residual = kl_binary(sp.Rational(1, 10), value).rewrite(sp.log).evalf(40) - sp.Rational(1, 20)
    assert abs(residual) < 1e-35
    lower = KLInvLower(sp.Rational(1, 10), sp.Rational(1, 20)).evalf(40)
    assert lower < sp.Rational(1, 10) < value
    assert KLInvUpper(q, c).evalf() == KLInvUpper(q, c)  # stays symbolic without numbers
    assert sp.latex(KLInvUpper(q, c)).startswith(r"\mathrm{kl}^{-1}_{+}")


def test_mpmath_reference_at_its_edges():
    from pacbound.symbolic.core import mp_kl_inv_lower, mp_kl_inv_upper

    assert mp_kl_inv_upper(0.3, 0) == mpmath.mpf(0.3)
    assert mp_kl_inv_upper(1, 2) == 1
    assert mp_kl_inv_upper(0.2, mpmath.inf) == 1
    with mpmath.workdps(60):
        assert abs(mp_kl_inv_upper(0, 0.5) - (1 - mpmath.exp(-0.5))) < mpmath.mpf(10) ** -45
        assert abs(mp_kl_inv_lower(1, 0.5) - mpmath.exp(-0.5)) < mpmath.mpf(10) ** -45
    assert mp_kl_inv_lower(0, 2) == 0


def test_mpmath_inverses_agree_with_the_tests_reference(kl_inverse):
    """The Newton solver behind KLInvUpper/KLInvLower's evalf against the tests' bisection
    (conftest.py) inside (0, 1), where neither has a closed form."""
    from pacbound.symbolic.core import mp_kl_inv_lower, mp_kl_inv_upper

    for p_value, budget in ((0.1, 0.05), (0.37, 0.8), (0.9, 0.01), (0.02, 2.0)):
        assert abs(mp_kl_inv_upper(p_value, budget) - kl_inverse(p_value, budget)) < 1e-18
        lower = kl_inverse(p_value, budget, upper=False)
        assert abs(mp_kl_inv_lower(p_value, budget) - lower) < 1e-18


def test_tv_between_mixtures_refuses_mismatched_levels():
    from pacbound.symbolic.shift import tv_between_mixtures

    with pytest.raises(ValueError, match="w_target has 2, w_train has 3"):
        tv_between_mixtures([0.5, 0.5], [0.2, 0.3, 0.5])


def test_solvable_expected_kept_is_the_gaussian_integral_of_the_loss():
    """E[1 − ℓ(r)] for r ~ N(g, v), integrated by sympy, equals the module's closed form."""
    from pacbound.symbolic import solvable as S

    v = sp.Symbol("v", positive=True)
    density = sp.exp(-((S.residual - S.residual_mean) ** 2) / (2 * v)) / sp.sqrt(2 * sp.pi * v)
    integral = sp.integrate((1 - S.loss) * density, (S.residual, -sp.oo, sp.oo))
    closed_form = S.expected_kept.subs(S.residual_variance, v)
    R = sp.Rational
    for g_value, v_value, tau_value in [(R(3, 10), R(1, 5), R(1, 2)), (-2, R(1, 1000), R(1, 10))]:
        point = {S.residual_mean: g_value, v: v_value, S.loss_scale: tau_value}
        difference = integral.subs(point).evalf(40) - closed_form.subs(point).evalf(40)
        assert abs(difference) < 1e-30
