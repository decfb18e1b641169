"""Every formula the analysis stage lowers from sympy, against sympy's own evalf: the sign
confidence, the tie tolerances and Germain et al.'s domain-adaptation bound."""

import math

from hypothesis import given
from hypothesis import strategies as st

from pacbound.analysis.predict import _sign_confidence
from pacbound.analysis.predictors import _domain_adaptation_bound
from pacbound.analysis.runs import _tie_tolerance, paired_tie_tolerance
from pacbound.analysis.table import _level_tolerance
from pacbound.symbolic import agreement as A
from pacbound.symbolic import shift as T


def exact(expr, point):
    return float(expr.subs(point).evalf(30))


@given(st.floats(-1.0, 1.0), st.floats(1e-6, 1.0))
def test_sign_confidence_equals_sympy(difference, proxy):
    confidence = exact(A.sign_confidence, {A.difference: difference, A.variance_proxy: proxy})
    assert math.isclose(
        float(_sign_confidence(difference, proxy)), confidence, rel_tol=1e-13, abs_tol=1e-300
    )


@given(
    st.floats(0.0, 1.0),
    st.floats(0.0, 1.0),
    st.floats(0.0, 5.0),
    st.floats(0.0, 1.0),
    st.integers(1, 50),
    st.integers(1, 2048),
)
def test_tolerances_and_domain_adaptation_bound_equal_sympy(d, e, beta, eta, s, m):
    variance = e / 10
    tie = exact(A.tie_tolerance, {A.pooled_variance: variance, A.seeds: s})
    assert math.isclose(float(_tie_tolerance(variance, s)), tie, rel_tol=1e-14, abs_tol=1e-300)
    paired = exact(A.paired_tie_tolerance, {A.difference_variance: variance, A.seeds: s})
    assert math.isclose(
        float(paired_tie_tolerance(variance, s)), paired, rel_tol=1e-14, abs_tol=1e-300
    )
    level = exact(A.level_tolerance, {A.test_size: m, A.seeds: s})
    assert math.isclose(float(_level_tolerance(m, s)), level, rel_tol=1e-14)
    point = {T.disagreement: d, T.density_ratio: beta, T.joint_error: e, T.outside_mass: eta}
    bound = exact(T.domain_adaptation_bound, point)
    assert math.isclose(float(_domain_adaptation_bound(d, beta, e, eta)), bound, rel_tol=1e-14)
