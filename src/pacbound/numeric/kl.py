"""Binary kl divergence and its upper and lower inverses, in pure JAX.

``kl_inv_upper(q, c)`` is the largest p in [q, 1] with kl(q‖p) ≤ c, the quantity every
kl-form PAC-Bayes bound needs; ``kl_inv_lower(q, c)`` the smallest p in [0, q]. Both run
under ``jit``, ``vmap`` and ``grad`` (gradients by the implicit-function theorem), in
float32 and float64, and are exact at q ∈ {0, 1}, c = 0 and c = +inf.

How the root is found. With u = −ln(1 − p), f(u) = kl(q‖1 − e^{−u}) − c is convex and
increasing on p ≥ q, and so is f as a function of p. Newton's method started to the right
of the root therefore decreases monotonically to it in either variable, so each iterate may
use whichever is better conditioned: p where p < ½ (the answer needs relative precision),
u where p ≥ ½ (near p = 1 the function is ~ (1 − q)·u, almost linear in u, while in p it
has a log barrier that makes Newton crawl). The start is the smaller of two closed-form
upper bounds on the root, so convergence is quadratic from the first step; a fixed number
of unrolled steps (``HALLEY_STEPS``, chosen by the worst case over a dense grid, see the
tests) lets XLA fuse the whole solve into one pass over memory.

Precision. The residual is evaluated through δ = p − q with log1p, so the O(δ) parts of
the two terms of kl cancel analytically instead of numerically; this is what keeps the
relative error at the level of machine precision when c is tiny and p sits just above q.
The complement 1 − p is carried separately (as exp(−u)), so p near 1 and, for the lower
inverse, p near 0 are resolved to full relative precision.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.scipy.special import xlogy

from pacbound.numeric.lower import lower_to_jax
from pacbound.numeric.validate import check_kl_inv_inputs
from pacbound.symbolic.core import kl_binary_expr

# Worst case over the accuracy grid in tests/test_kl.py is 4 steps to machine precision;
# one more is a margin against inputs that grid did not visit.
HALLEY_STEPS = 5

kl_binary = lower_to_jax(kl_binary_expr, ("q", "p"))
kl_binary.__doc__ = (
    """kl(q‖p) for Bernoulli parameters, with 0·ln 0 = 0; +inf where p ∈ {0, 1} ≠ q."""
)


def _decode(state):
    """(p, 1 − p) from the one-array state: p where p < ½, −(1 − p) where p ≥ ½."""
    low = state > 0  # p = 1 is stored as −0.0
    tiny = jnp.finfo(state.dtype).tiny
    p = jnp.where(low, state, 1 + state)
    # An underflowed complement is kept at the smallest normal number (XLA flushes
    # subnormals to zero) so that ln(1 − p) stays finite; the answer then rounds to p = 1
    # (lower inverse: 0) as it should.
    pc = jnp.where(low, 1 - state, jnp.maximum(-state, tiny))
    return low, p, pc


def _encode(p, pc):
    return jnp.where(p < 0.5, p, -pc)


def _residual_parts(a, ac, low, p, pc):
    """δ = p − a and kl(a‖p) from the pair (p, 1 − p)."""
    # Where p < ½ it is accurate itself; where p ≥ ½ the complement is, and so is ac − pc.
    delta = jnp.where(low, p - a, ac - pc)
    big = jnp.finfo(p.dtype).max / 4
    # a·ln(p/a) = a·log1p(δ/a); clamping only matters for subnormal a, where the term
    # is below the smallest normal number anyway.
    ratio_a = jnp.minimum(delta / jnp.where(a > 0, a, 1), big)
    term_a = jnp.where(a > 0, -a * jnp.log1p(ratio_a), 0.0)
    # ac·ln(ac/pc): log1p keeps precision while pc ≈ ac, the log of pc once pc ≪ ac.
    near = delta <= 0.5 * ac
    safe_ac = jnp.where(ac > 0, ac, 1)
    term_ac = jnp.where(
        near,
        -ac * jnp.log1p(jnp.where(near, -delta / safe_ac, 0.0)),
        ac * (jnp.log(safe_ac) - jnp.log(pc)),
    )
    return delta, term_a + term_ac


def _solve_pair(a, ac, c):
    """Largest p ≥ a with kl(a‖p) ≤ c, returned as the pair (p, 1 − p).

    ``ac`` is 1 − a supplied by the caller so that whichever of a, 1 − a is small is exact.
    Requires 0 < ac and 0 < c < inf; the public functions handle those edges.
    """
    # Start: the smaller of two upper bounds on the root, both closed form.
    # (i) kl(a‖p) ≥ (p − a)² / (2p(1 − a)) on p ≥ a, solved for p.
    t = c * ac
    root_term = t + jnp.sqrt(t * t + 2 * a * t)
    p_quad = a + root_term
    pc_quad = ac - root_term
    # (ii) kl(a‖p) ≥ (1 − a)·u − H(a) with u = −ln(1 − p), H the binary entropy.
    entropy = -xlogy(a, a) - xlogy(ac, ac)
    u_lin = (c + entropy) / ac
    pc_lin = jnp.exp(-u_lin)
    p_lin = -jnp.expm1(-u_lin)
    # Both are upper bounds: keep the smaller p, compared where it is resolved.
    use_quad = jnp.where(p_quad < 0.5, p_quad <= p_lin, pc_quad >= pc_lin)
    state = jnp.where(use_quad, _encode(p_quad, pc_quad), _encode(p_lin, pc_lin))

    for _ in range(HALLEY_STEPS):
        low, p, pc = _decode(state)
        delta, kl_value = _residual_parts(a, ac, low, p, pc)
        residual = kl_value - c
        moving = delta > 0  # rounding can land exactly on a, where the slope is zero
        safe_delta = jnp.where(moving, delta, 1)
        newton_u = residual * p / safe_delta  # f/f' in u = −ln(1 − p): f'(u) = δ/p
        # Halley's correction 1/(1 − f f''/(2 f'^2)) in each variable:
        # u: f''(u) = a(1 − p)/p^2;  p: f'(p) = δ/(p(1 − p)), f''(p) = a/p^2 + (1 − a)/(1 − p)^2.
        inv_delta_sq = 1 / (safe_delta * safe_delta)
        halley_u = newton_u / (1 - 0.5 * residual * a * pc * inv_delta_sq)
        halley_p = (newton_u * pc) / (
            1 - 0.5 * residual * (a * pc * pc + ac * p * p) * inv_delta_sq
        )
        next_low = p - halley_p
        next_high = -pc * jnp.exp(halley_u)  # −(1 − p) after a step in u
        state = jnp.where(moving, jnp.where(low, next_low, next_high), state)
    _, p, pc = _decode(state)
    # The root lies in [a, 1]; rounding in the last step may leave it an ulp outside.
    p = jnp.clip(p, a, 1.0)
    pc = jnp.clip(jnp.where(pc <= jnp.finfo(pc.dtype).tiny, 0.0, pc), 0.0, ac)
    return p, pc


@jax.custom_jvp
def _kl_inv_pair(a, ac, c):
    """(p, 1 − p) for the upper inverse at a, with every edge of the domain handled."""
    a, ac, c = jnp.broadcast_arrays(a, ac, c)
    interior = (c > 0) & (c < jnp.inf) & (ac > 0)
    safe_c = jnp.where(interior, c, 1)
    safe_ac = jnp.where(interior, ac, 0.5)
    safe_a = jnp.where(interior, a, 0.5)
    p, pc = _solve_pair(safe_a, safe_ac, safe_c)
    at_one = (c == jnp.inf) | (ac == 0)  # saturated: kl(a‖p) ≤ c for every p ≥ a
    p = jnp.where(interior, p, jnp.where(at_one, 1.0, a))
    pc = jnp.where(interior, pc, jnp.where(at_one, 0.0, ac))
    return p, pc


@_kl_inv_pair.defjvp
def _kl_inv_pair_jvp(primals, tangents):
    """Implicit-function theorem on kl(a‖p) = c.

    dp/dc = p(1 − p)/δ and dp/da = [ln(p/a) + ln((1 − a)/(1 − p))]·p(1 − p)/δ with
    δ = p − a, both written with log1p so that the limit δ → 0 (where dp/da → 1 and
    dp/dc → +inf, the true derivatives at c = 0) is reached without 0/0. ``ac`` is a
    function of ``a``; its tangent is ignored.
    """
    a, ac, c = primals
    da, _, dc = tangents
    p, pc = _kl_inv_pair(a, ac, c)
    delta = jnp.maximum(p - a, 0)
    moving = delta > 0
    safe_delta = jnp.where(moving, delta, 1)
    scale = p * pc / safe_delta
    log_ratio_a = jnp.log1p(delta / jnp.where(a > 0, a, 1))
    log_ratio_a = jnp.where((a > 0) | ~moving, log_ratio_a, jnp.inf)
    log_ratio_ac = jnp.log1p(delta / jnp.where(pc > 0, pc, 1))
    dp_da = jnp.where(moving, (log_ratio_a + log_ratio_ac) * scale, 1.0)
    dp_dc = jnp.where(moving, scale, jnp.inf)
    saturated = pc == 0  # p = 1: the root no longer moves
    dp_da = jnp.where(saturated, 0.0, dp_da)
    dp_dc = jnp.where(saturated, 0.0, dp_dc)
    # A zero tangent contributes zero even where the partial derivative is infinite.
    dp = jnp.where(da == 0, 0.0, dp_da * da) + jnp.where(dc == 0, 0.0, dp_dc * dc)
    return (p, pc), (dp, -dp)


def _as_float_arrays(q, c):
    q = jnp.asarray(q)
    c = jnp.asarray(c)
    dtype = jnp.result_type(q, c, float)
    return q.astype(dtype), c.astype(dtype)


def kl_inv_upper(q, c):
    """Largest p ∈ [q, 1] with kl(q‖p) ≤ c.

    q: empirical risk in [0, 1]; c: budget ≥ 0, +inf allowed. Broadcasts; dtype follows the
    inputs (float32 or float64). Exact edges: c = 0 → q; q = 1 or c = +inf → 1; q = 0 → 1 − e^{−c}
    up to rounding. Concrete inputs outside the domain raise ValueError; traced inputs (under
    jit, vmap, grad) are not checked.
    """
    check_kl_inv_inputs(q, c)
    q, c = _as_float_arrays(q, c)
    p, _ = _kl_inv_pair(q, 1 - q, c)
    return p


def kl_inv_lower(q, c):
    """Smallest p ∈ [0, q] with kl(q‖p) ≤ c.

    Computed as the mirror image 1 − kl_inv_upper(1 − q, c), but from the complement the
    solver carries, so a result near 0 keeps its relative precision. Exact edges: c = 0 → q;
    q = 0 or c = +inf → 0; q = 1 → e^{−c} up to rounding.
    """
    check_kl_inv_inputs(q, c)
    q, c = _as_float_arrays(q, c)
    _, p = _kl_inv_pair(1 - q, q, c)
    return p
