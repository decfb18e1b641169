"""kl, kl_inv_upper and kl_inv_lower against the mpmath reference, at every edge."""

import math

import jax
import jax.numpy as jnp
import mpmath
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import pacbound.numeric.kl as klmod
from pacbound.numeric.kl import kl_binary, kl_inv_lower, kl_inv_upper
from pacbound.symbolic.core import mp_kl_inv_lower, mp_kl_inv_upper

UPPER = jax.jit(kl_inv_upper)
LOWER = jax.jit(kl_inv_lower)
GRADIENT = {f: jax.jit(jax.grad(f, argnums=(0, 1))) for f in (kl_inv_upper, kl_inv_lower)}
# Relative tolerance on p. XLA flushes subnormal numbers to zero, so answers within a few
# decades of the smallest normal number are only resolved to that number.
TOLERANCE = {np.float64: 1e-12, np.float32: 1e-5}


def _flush(x, dtype):
    """XLA on CPU flushes subnormal numbers to zero, inputs included."""
    return dtype(0) if abs(x) < np.finfo(dtype).tiny else x


def _close(value, reference, dtype) -> bool:
    """Relative error ≤ the tolerance; only next to the subnormal range an absolute floor."""
    error = abs(mpmath.mpf(float(value)) - reference)
    tiny = np.finfo(dtype).tiny
    if reference >= 1e4 * tiny:
        return error <= TOLERANCE[dtype] * reference
    return error <= TOLERANCE[dtype] * reference + tiny


# Risks: anywhere in [0, 1], within 1e-12 of either end, and the ends themselves.
risks = st.one_of(
    st.floats(0.0, 1.0),
    st.floats(0.0, 1e-12),
    st.floats(0.0, 1e-12).map(lambda x: 1.0 - x),
    st.sampled_from([0.0, 1.0, 0.5, 5e-324, 1e-300]),
)
# Budgets: up to 1e3, with tiny values drawn on a log scale as well.
budgets = st.one_of(
    st.floats(0.0, 1e3),
    st.floats(-300.0, 3.0).map(lambda e: 10.0**e),
    st.sampled_from([0.0, 1e3, 1e-300]),
)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("side", ["upper", "lower"])
@given(q=risks, c=budgets)
def test_inverse_matches_mpmath(side, dtype, q, c):
    q, c = _flush(dtype(q), dtype), _flush(dtype(c), dtype)
    solver, reference = (UPPER, mp_kl_inv_upper) if side == "upper" else (LOWER, mp_kl_inv_lower)
    p = solver(q, c)
    assert p.dtype == dtype
    assert (q <= p <= 1) if side == "upper" else (0 <= p <= q)
    assert _close(p, reference(float(q), float(c)), dtype), (q, c, p)


def _dense_grid(rng, size):
    q = np.concatenate(
        [
            rng.uniform(0, 1, size),
            10 ** rng.uniform(-16, 0, size),
            1 - 10 ** rng.uniform(-16, 0, size),
        ]
    )
    c = np.concatenate([10 ** rng.uniform(-12, 3, 2 * size), 10 ** rng.uniform(-300, -12, size)])
    return q, c


@pytest.mark.slow  # 1,800 mpmath references at 50 digits
def test_fixed_step_count_converges_on_a_dense_grid():
    """STEPS is enough across the whole domain, both inverses, float64."""
    q, c = _dense_grid(np.random.default_rng(7), 300)
    upper = np.asarray(UPPER(q, c))
    lower = np.asarray(LOWER(q, c))
    for qi, ci, up, lo in zip(q, c, upper, lower, strict=True):
        assert _close(up, mp_kl_inv_upper(qi, ci), np.float64), (qi, ci, up)
        assert _close(lo, mp_kl_inv_lower(qi, ci), np.float64), (qi, ci, lo)


def test_one_step_fewer_is_not_enough():
    """The step count is not padded blindly: one step less leaves the middle unsolved."""
    q, c = np.meshgrid(np.linspace(0.05, 0.95, 10), np.geomspace(1e-3, 10.0, 7))
    q, c = q.ravel(), c.ravel()
    # Compiled, as the inverses run: eagerly, each of its operations would compile alone.
    p, _ = jax.jit(klmod._solve_pair, static_argnums=3)(q, 1 - q, c, klmod.STEPS - 1)
    p = np.asarray(p)
    errors = [
        abs(pi - float(mp_kl_inv_upper(qi, ci))) / pi for qi, ci, pi in zip(q, c, p, strict=True)
    ]
    assert max(errors) > 1e-12


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_exact_edges(dtype):
    c = np.array([0.0, 1e-8, 0.3, 5.0, 1e3, np.inf], dtype)
    q = np.array([0.0, 0.2, 1.0], dtype)
    up = np.asarray(UPPER(q[:, None], c[None, :]))
    lo = np.asarray(LOWER(q[:, None], c[None, :]))
    # c = 0: the risk itself.
    np.testing.assert_array_equal(up[:, 0], q)
    np.testing.assert_array_equal(lo[:, 0], q)
    # c = inf: the ends of [0, 1].
    np.testing.assert_array_equal(up[:, -1], 1)
    np.testing.assert_array_equal(lo[:, -1], 0)
    # q = 1: upper is 1; q = 0: lower is 0.
    np.testing.assert_array_equal(up[2], 1)
    np.testing.assert_array_equal(lo[0], 0)
    # q = 0: upper solves −ln(1 − p) = c; q = 1: lower solves −ln p = c.
    finite = np.isfinite(c)
    np.testing.assert_allclose(
        up[0, finite], -np.expm1(-c[finite].astype(np.float64)), rtol=4 * np.finfo(dtype).eps
    )
    np.testing.assert_allclose(
        lo[2, finite],
        np.exp(-c[finite].astype(np.float64)),
        rtol=1e3 * np.finfo(dtype).eps,
        atol=np.finfo(dtype).tiny,
    )


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_no_nan_and_in_range_on_the_whole_domain(dtype):
    q = np.concatenate([np.linspace(0, 1, 101), [1e-30, 1 - 1e-7, np.finfo(dtype).tiny]]).astype(
        dtype
    )
    c = np.concatenate([[0.0, np.inf], np.geomspace(1e-30, 1e3, 61)]).astype(dtype)
    up = np.asarray(UPPER(q[:, None], c[None, :]))
    lo = np.asarray(LOWER(q[:, None], c[None, :]))
    assert not np.isnan(up).any() and not np.isnan(lo).any()
    assert (up >= q[:, None]).all() and (up <= 1).all()
    assert (lo <= q[:, None]).all() and (lo >= 0).all()


def test_kl_of_the_inverse_is_the_budget():
    # Kept where 1 − p is large enough for kl(q‖p) to be well conditioned in p.
    q = np.linspace(0.01, 0.9, 50)
    c = np.geomspace(1e-6, 0.5, 50)
    for inverse in (UPPER, LOWER):
        p = inverse(q, c)
        np.testing.assert_allclose(kl_binary(q, p), c, rtol=1e-9)


def test_kl_binary_edges():
    assert float(kl_binary(0.0, 0.0)) == 0.0
    assert float(kl_binary(1.0, 1.0)) == 0.0
    assert math.isclose(float(kl_binary(0.0, 0.5)), math.log(2))
    assert float(kl_binary(0.3, 1.0)) == math.inf


def test_jit_vmap_and_eager_agree():
    """vmap changes nothing; jit may differ from eager by a few ulp, not more.

    Compiled, the solve is one fused loop in which XLA contracts a·b + c into fused
    multiply-adds; run eagerly, each operation rounds on its own.
    """
    q = jnp.linspace(0.0, 1.0, 17)
    c = jnp.geomspace(1e-4, 10.0, 17)
    for inverse in (kl_inv_upper, kl_inv_lower):
        eager = inverse(q, c)
        compiled = jax.jit(inverse)(q, c)
        np.testing.assert_array_equal(jax.vmap(inverse)(q, c), eager)
        np.testing.assert_array_equal(jax.jit(jax.vmap(inverse))(q, c), compiled)
        np.testing.assert_allclose(compiled, eager, rtol=4 * np.finfo(np.float64).eps, atol=0)


@given(q=st.floats(1e-3, 1 - 1e-3), c=st.floats(-6.0, 1.0).map(lambda e: 10.0**e))
def test_gradients_match_finite_differences(q, c):
    """Implicit-function-theorem gradients against central differences in float64.

    A difference quotient carries the solver's error (≈ 1e-14 relative) divided by the
    step; that noise floor is the absolute tolerance. The differences are of the compiled
    solve (the eager one agrees with it to a few ulp, test_jit_vmap_and_eager_agree).
    """
    for inverse, compiled in ((kl_inv_upper, UPPER), (kl_inv_lower, LOWER)):
        grad_q, grad_c = GRADIENT[inverse](q, c)
        hq = 1e-4 * min(q, 1 - q)
        hc = 1e-4 * c
        fd_q = (float(compiled(q + hq, c)) - float(compiled(q - hq, c))) / (2 * hq)
        fd_c = (float(compiled(q, c + hc)) - float(compiled(q, c - hc))) / (2 * hc)
        assert math.isclose(grad_q, fd_q, rel_tol=1e-4, abs_tol=1e-13 / hq), (inverse, q, c)
        assert math.isclose(grad_c, fd_c, rel_tol=1e-4, abs_tol=1e-13 / hc), (inverse, q, c)


@pytest.mark.parametrize(("q", "c"), [(1e-6, 10.0), (1e-9, 1e-8), (0.999999, 0.01), (0.3, 1e-12)])
def test_gradients_near_the_edges_match_mpmath(q, c):
    """Where float64 differences are too noisy, against differences of the mpmath reference."""
    with mpmath.workdps(60):
        h = mpmath.mpf(10) ** -25
        for inverse, reference in (
            (kl_inv_upper, mp_kl_inv_upper),
            (kl_inv_lower, mp_kl_inv_lower),
        ):
            grad_q, grad_c = (float(g) for g in GRADIENT[inverse](q, c))
            ref_q = (reference(q + h * q, c, 60) - reference(q - h * q, c, 60)) / (2 * h * q)
            ref_c = (reference(q, c + h * c, 60) - reference(q, c - h * c, 60)) / (2 * h * c)
            # A derivative below the smallest normal number flushes to zero.
            tiny = np.finfo(np.float64).tiny
            assert abs(grad_q - ref_q) <= 1e-8 * abs(ref_q) + tiny, (inverse, q, c)
            assert abs(grad_c - ref_c) <= 1e-8 * abs(ref_c) + tiny, (inverse, q, c)


def test_gradients_at_the_edges_are_not_nan():
    q = jnp.array([0.0, 0.0, 0.3, 0.3, 1.0, 0.5])
    c = jnp.array([0.0, 0.5, 0.0, jnp.inf, 0.5, 1e3])
    for inverse in (kl_inv_upper, kl_inv_lower):
        grads = jax.vmap(jax.grad(inverse, argnums=(0, 1)))(q, c)
        for g in grads:
            assert not np.isnan(np.asarray(g)).any()
    # At c = 0 the inverse is the identity in q.
    assert float(jax.grad(kl_inv_upper)(0.3, 0.0)) == 1.0
    # Saturated at 1: it no longer moves.
    assert float(jax.grad(kl_inv_upper, argnums=1)(0.3, jnp.inf)) == 0.0


def test_no_intermediate_nan_at_the_edges():
    """No operation inside the solve makes a NaN, even in lanes that are discarded, so
    users who debug with jax_debug_nans on are not stopped by a false alarm."""
    q = np.array([0.0, 0.3, 1.0, 1e-300])
    c = np.array([0.0, 1e-3, np.inf, 1e-300])
    with jax.debug_nans(True):
        for inverse in (kl_inv_upper, kl_inv_lower):
            for qi in q:
                for ci in c:
                    inverse(jnp.float64(qi), jnp.float64(ci))  # eager: every op is checked
            jax.jit(inverse)(q[:, None], c[None, :])
            jax.grad(inverse, argnums=(0, 1))(0.3, 1e-3)


@pytest.mark.parametrize(
    ("q", "c", "name"),
    [
        (-0.1, 0.5, "q"),
        (1.5, 0.5, "q"),
        (math.nan, 0.5, "q"),
        (0.5, -1.0, "c"),
        (0.5, math.nan, "c"),
    ],
)
def test_bad_inputs_raise(q, c, name):
    with pytest.raises(ValueError, match=rf"^{name} = .* out of range"):
        kl_inv_upper(q, c)
    with pytest.raises(ValueError, match=rf"^{name} = "):
        kl_inv_lower(q, c)
