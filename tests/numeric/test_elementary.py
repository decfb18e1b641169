"""The solver's float64 ln, ln(1 + x), eˣ and eˣ − 1 against mpmath, at every edge."""

import math

import jax
import jax.numpy as jnp
import mpmath
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pacbound.numeric import elementary

LOG = jax.jit(elementary.log)
LOG1P = jax.jit(elementary.log1p)
EXP_AND_EXPM1 = jax.jit(elementary.exp_and_expm1)
LOG_GIVEN_COMPLEMENT = jax.jit(elementary.log_given_complement)
TINY = np.finfo(np.float64).tiny
MAX = np.finfo(np.float64).max


def _ulps(value: float, reference) -> float:
    """|value − reference| in units of the last place of the reference."""
    reference_float = float(reference)
    if reference_float == 0:
        return 0.0 if value == 0 else np.inf
    return float(abs(mpmath.mpf(value) - reference) / np.spacing(abs(reference_float)))


@given(st.floats(TINY, MAX))
def test_log_within_two_ulp(x):
    assert _ulps(float(LOG(jnp.float64(x))), mpmath.log(mpmath.mpf(x))) <= 2


def _normal_or_zero(x: float) -> bool:
    """XLA on CPU flushes subnormal inputs to 0, so they are not compared."""
    return x == 0 or abs(x) >= TINY


@given(
    st.one_of(
        st.floats(-1.0, MAX, exclude_min=True),
        st.floats(-1e-3, 1e-3),
        st.floats(-1e-300, 1e-300),
    ).filter(_normal_or_zero)
)
def test_log1p_within_two_ulp(x):
    assert _ulps(float(LOG1P(jnp.float64(x))), mpmath.log1p(mpmath.mpf(x))) <= 2


def test_dense_sweeps_within_two_ulp():
    rng = np.random.default_rng(3)
    x = np.concatenate([10.0 ** rng.uniform(-307, 308, 3000), rng.uniform(0.5, 2.0, 3000)])
    y = np.concatenate([rng.uniform(-1, 1, 3000), 10.0 ** rng.uniform(-300, 0, 3000)])
    y = np.concatenate([y, -y[y < 1]])
    log_x = zip(np.asarray(LOG(x)), x, strict=True)
    log1p_y = zip(np.asarray(LOG1P(y)), y, strict=True)
    assert max(_ulps(v, mpmath.log(mpmath.mpf(a))) for v, a in log_x) <= 2
    assert max(_ulps(v, mpmath.log1p(mpmath.mpf(a))) for v, a in log1p_y) <= 2


def test_edges():
    x = np.array([0.0, -0.0, -1.0, np.inf, -np.inf, np.nan, 1.0, TINY, MAX])
    expected = np.array([-np.inf, -np.inf, np.nan, np.inf, np.nan, np.nan, 0.0])
    got = np.asarray(LOG(x))
    np.testing.assert_array_equal(got[:7], expected)
    np.testing.assert_allclose(got[7:], np.log(x[7:]), rtol=1e-15)
    y = np.array([-1.0, 0.0, np.inf, np.nan, -2.0, -np.inf, MAX])
    got = np.asarray(LOG1P(y))
    np.testing.assert_array_equal(got[:6], [-np.inf, 0.0, np.inf, np.nan, np.nan, np.nan])
    np.testing.assert_allclose(got[6], np.log(MAX), rtol=1e-15)


@given(st.floats(-800.0, 0.0).filter(_normal_or_zero))
def test_exp_and_expm1_within_two_ulp(x):
    exp, expm1 = (float(v) for v in EXP_AND_EXPM1(jnp.float64(x)))
    reference = mpmath.exp(mpmath.mpf(x))
    if reference < TINY:  # below the normal range XLA flushes to 0
        assert exp == 0.0
    else:
        assert _ulps(exp, reference) <= 2
    assert _ulps(expm1, mpmath.expm1(mpmath.mpf(x))) <= 2


@given(st.floats(-1e-3, 0.0).filter(_normal_or_zero))
def test_expm1_near_zero_within_two_ulp(x):
    _, expm1 = EXP_AND_EXPM1(jnp.float64(x))
    assert _ulps(float(expm1), mpmath.expm1(mpmath.mpf(x))) <= 2


def test_exp_edges():
    x = np.array([0.0, -0.0, -np.inf, np.nan, -800.0, -1e300])
    exp, expm1 = (np.asarray(v) for v in EXP_AND_EXPM1(x))
    np.testing.assert_array_equal(exp, [1.0, 1.0, 0.0, np.nan, 0.0, 0.0])
    np.testing.assert_array_equal(expm1, [0.0, 0.0, -1.0, np.nan, -1.0, -1.0])


@given(st.floats(0.0, 1.0, exclude_min=True).filter(lambda x: x >= TINY))
def test_log_given_complement_uses_the_exact_member(x):
    """ln x from (x, 1 − x) and ln(1 − x) from (1 − x, x), the complement rounded from
    mpmath: within 2 ulp of the logarithm of the member the function documents it uses,
    the complement where that is at most 1 − √½ (so x may have rounded to 1), else x."""
    complement = float(mpmath.mpf(1) - mpmath.mpf(x))
    if complement < TINY:
        return

    def documented(value, its_complement):
        if its_complement <= 1 - math.sqrt(0.5):
            return mpmath.log1p(-mpmath.mpf(its_complement))
        return mpmath.log(mpmath.mpf(value))

    both = LOG_GIVEN_COMPLEMENT(jnp.array([x, complement]), jnp.array([complement, x]))
    log_x, log_complement = (float(v) for v in both)
    assert _ulps(log_x, documented(x, complement)) <= 2
    assert _ulps(log_complement, documented(complement, x)) <= 2


FLOAT32_CASES = [
    (elementary.log, np.log),
    (elementary.log1p, np.log1p),
    (lambda x: elementary.exp_and_expm1(-x)[0], lambda x: np.exp(-x)),
]


@pytest.mark.parametrize(("function", "reference"), FLOAT32_CASES)
def test_float32_is_left_to_jax(function, reference):
    x = np.linspace(0.1, 3.0, 7, dtype=np.float32)
    got = function(jnp.asarray(x))
    assert got.dtype == jnp.float32
    np.testing.assert_allclose(got, reference(x), rtol=1e-6)
