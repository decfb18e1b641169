"""Every formula the analysis stage lowers from sympy, against its closed form written out
here in mpmath (not the sympy expression it was lowered from) and against values worked out
by hand: the sign confidence, the tie tolerances and Germain et al.'s domain-adaptation
bound."""

import math

import mpmath
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pacbound.analysis.predict import _sign_confidence
from pacbound.analysis.predictors import _domain_adaptation_bound
from pacbound.analysis.runs import _tie_tolerance, paired_tie_tolerance
from pacbound.analysis.table import _level_tolerance


@mpmath.workdps(30)
def sign_confidence(d, v):
    """1 − exp(−d²/(2v)): one minus the Gaussian tail bound on the sign of a difference d
    with variance proxy v (expm1, so a tiny exponent keeps its digits)."""
    return float(-mpmath.expm1(-(mpmath.mpf(d) ** 2) / (2 * mpmath.mpf(v))))


@mpmath.workdps(30)
def tie_tolerance(variance, seeds):
    """√(2s²/S): the standard deviation of a difference of two means of S seeds."""
    return float(mpmath.sqrt(2 * mpmath.mpf(variance) / seeds))


@mpmath.workdps(30)
def paired_tolerance(variance, seeds):
    """√(s_Δ²/S): the standard deviation of a mean of S paired differences."""
    return float(mpmath.sqrt(mpmath.mpf(variance) / seeds))


@mpmath.workdps(30)
def level_tolerance(test_size, seeds):
    """2·√(2·¼/(mS)): two standard deviations of a difference of two per-level means of S
    seeds, each over m problems at the worst-case binomial variance ¼."""
    return float(2 * mpmath.sqrt(2 * mpmath.mpf(1) / 4 / (test_size * seeds)))


@mpmath.workdps(30)
def domain_adaptation(d, beta, e, eta):
    """Germain et al. (2016), q = ∞: ½·d_T(Q) + β_∞·e_S(Q) + η."""
    return float(mpmath.mpf(d) / 2 + mpmath.mpf(beta) * mpmath.mpf(e) + mpmath.mpf(eta))


def test_the_formulas_at_points_worked_out_by_hand():
    # d²/(2v) = ln 2: confidence ½; d = 1, v = ½: 1 − 1/e; no difference: no confidence.
    assert _sign_confidence(math.sqrt(2 * math.log(2) * 0.3), 0.3) == pytest.approx(0.5, 1e-14)
    assert _sign_confidence(1.0, 0.5) == pytest.approx(1 - math.exp(-1), rel=1e-14)
    assert _sign_confidence(0.0, 0.7) == 0
    assert _tie_tolerance(0.02, 4) == pytest.approx(0.1, rel=1e-14)  # √(0.04/4)
    assert paired_tie_tolerance(0.09, 9) == pytest.approx(0.1, rel=1e-14)  # √(0.09/9)
    assert _level_tolerance(50, 1) == pytest.approx(0.2, rel=1e-14)  # 2√(½/50)
    assert _level_tolerance(100, 2) == pytest.approx(0.1, rel=1e-14)  # 2√(½/200)
    assert _domain_adaptation_bound(0.4, 2.0, 0.1, 0.05) == pytest.approx(0.45, rel=1e-14)


@given(st.floats(-1.0, 1.0), st.floats(1e-6, 1.0))
def test_sign_confidence_equals_its_closed_form(difference, proxy):
    assert math.isclose(
        float(_sign_confidence(difference, proxy)),
        sign_confidence(difference, proxy),
        rel_tol=1e-13,
        abs_tol=1e-300,
    )


@given(
    st.floats(0.0, 1.0),
    st.floats(0.0, 1.0),
    st.floats(0.0, 5.0),
    st.floats(0.0, 1.0),
    st.integers(1, 50),
    st.integers(1, 2048),
)
def test_tolerances_and_domain_adaptation_bound_equal_their_closed_forms(d, e, beta, eta, s, m):
    variance = e / 10
    assert math.isclose(
        float(_tie_tolerance(variance, s)), tie_tolerance(variance, s), rel_tol=1e-14
    )
    assert math.isclose(
        float(paired_tie_tolerance(variance, s)), paired_tolerance(variance, s), rel_tol=1e-14
    )
    assert math.isclose(float(_level_tolerance(m, s)), level_tolerance(m, s), rel_tol=1e-14)
    assert math.isclose(
        float(_domain_adaptation_bound(d, beta, e, eta)),
        domain_adaptation(d, beta, e, eta),
        rel_tol=1e-14,
    )
