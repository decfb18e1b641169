"""Binary kl divergence and its upper and lower inverses, in pure JAX.

``kl_inv_upper(q, c)`` is the largest p in [q, 1] with kl(q‖p) ≤ c, the quantity every
kl-form PAC-Bayes bound needs; ``kl_inv_lower(q, c)`` the smallest p in [0, q]. Both run
under ``jit``, ``vmap`` and ``grad`` (gradients by the implicit-function theorem), in
float32 and float64, and are exact at q ∈ {0, 1}, c = 0 and c = +inf.

How the root is found. With u = −ln(1 − p), f(u) = kl(q‖1 − e^{−u}) − c is convex and
increasing on p ≥ q, and so is f as a function of p. Each step is a Halley step in
whichever variable is better conditioned: p where p < ½ (the answer needs relative
precision), u where p ≥ ½ (near p = 1, f ≈ (1 − q)·u is almost linear in u, while in p it
has a log barrier). The start is the smaller of two closed-form upper bounds on the root, so
three unrolled steps (``HALLEY_STEPS``; the tests show two are not enough) reach machine
precision everywhere, and the fixed count keeps the solve one straight-line XLA program.

Precision. The residual is evaluated through δ = p − q with log1p, so the O(δ) parts of
the two terms of kl cancel analytically instead of numerically; this keeps the relative
error at machine precision when c is tiny and p sits just above q. The state is one array
holding p where p < ½ and −(1 − p) where p ≥ ½, so p near 1 and, for the lower inverse
(solved as the mirror image), p near 0 keep full relative precision; one array rather than
several also keeps XLA from materialising intermediate arrays between steps.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.custom_derivatives import SymbolicZero

from pacbound.numeric.lower import lower_to_jax
from pacbound.numeric.validate import check_kl_inv_inputs
from pacbound.symbolic.core import kl_binary_expr

# After two steps the worst relative error over a dense grid is about 4e-8 (a test shows two
# are not enough); Halley's cubic convergence takes that below 1e-20 in the third step, so
# three reach machine precision with room to spare.
HALLEY_STEPS = 3

_kl_binary = lower_to_jax(kl_binary_expr, ("q", "p"))


def kl_binary(q, p):
    """kl(q‖p) for Bernoulli parameters, with 0·ln 0 = 0; +inf where p ∈ {0, 1} ≠ q."""
    q, p = _as_float_arrays(q, p)
    return _kl_binary(q, p)


def _decode(state):
    """p, 1 − p and ln(1 − p) from the one-array state: p where p < ½, ln(1 − p) where p ≥ ½.

    The upper half is kept in log space so that 1 − p stays exact where it underflows and
    ln(1 − p) costs nothing; ln(1 − p) is only needed there (see _residual_parts).
    """
    low = state >= 0
    pc = jnp.where(low, 1 - state, jnp.exp(jnp.minimum(state, 0)))
    p = jnp.where(low, state, 1 - pc)
    return low, p, pc


def _gap(a, ac, p, pc, low):
    """δ = p − a from the accurate member of each pair: p itself where p < ½ (``low``),
    else the complements, ac − pc; p − a would cancel where p and a are both near 1."""
    return jnp.where(low, p - a, ac - pc)


def _residual_parts(a, ac, low, p, pc, state):
    """δ = p − a and kl(a‖p) from the state and its decoded pair (p, 1 − p)."""
    delta = _gap(a, ac, p, pc, low)
    big = jnp.finfo(p.dtype).max / 4
    # a·ln(p/a) = a·log1p(δ/a); clamping only matters for subnormal a, where the term
    # is below the smallest normal number anyway.
    ratio_a = jnp.minimum(delta / jnp.where(a > 0, a, 1), big)
    term_a = jnp.where(a > 0, -a * jnp.log1p(ratio_a), 0.0)
    # ac·ln(ac/pc): log1p keeps precision while pc ≈ ac; once pc < ac/2 (which needs
    # p > ½, the log-space half of the state) ln pc is the state itself.
    near = delta <= 0.5 * ac
    safe_ac = jnp.where(ac > 0, ac, 1)
    term_ac = jnp.where(
        near,
        -ac * jnp.log1p(jnp.where(near, -delta / safe_ac, 0.0)),
        ac * (jnp.log(safe_ac) - state),
    )
    return delta, term_a + term_ac


def _solve_pair(a, ac, c, steps: int = HALLEY_STEPS):
    """Largest p ≥ a with kl(a‖p) ≤ c, returned as the pair (p, 1 − p).

    ``ac`` is 1 − a supplied by the caller so that whichever of a, 1 − a is small is exact.
    Requires 0 < ac and 0 < c < inf; the public functions handle those edges.
    """
    # Start: the smaller of two upper bounds on the root, both closed form.
    # (i) kl(a‖p) ≥ (p − a)² / (2p(1 − a)) on p ≥ a, solved for p.
    # p = a + t + √(t² + 2at) with t = c(1 − a), arranged so that no product underflows.
    sqrt_t = jnp.sqrt(c) * jnp.sqrt(ac)
    t = c * ac
    root_term = t + sqrt_t * jnp.sqrt(t + 2 * a)
    p_quad = a + root_term
    pc_quad = ac - root_term
    # (ii) kl(a‖p) ≥ (1 − a)·u − H(a) with u = −ln(1 − p), H the binary entropy.
    # Logs from whichever of a, 1 − a is exact: the other may have rounded to 1, and
    # a·ln a ≈ −(1 − a) is not negligible when c is as small as 1 − a.
    small = jnp.minimum(a, ac)
    log_small = jnp.log(jnp.where(small > 0, small, 1))
    log_large = jnp.log1p(-small)
    a_is_small = a <= ac
    entropy = -jnp.where(a > 0, a * jnp.where(a_is_small, log_small, log_large), 0.0) - ac * (
        jnp.where(a_is_small, log_large, log_small)
    )
    u_lin = (c + entropy) / ac
    pc_lin = jnp.exp(-u_lin)
    p_lin = -jnp.expm1(-u_lin)
    # Both are upper bounds: keep the smaller p, compared where it is resolved.
    use_quad = jnp.where(p_quad < 0.5, p_quad <= p_lin, pc_quad >= pc_lin)
    log_pc_quad = jnp.log(jnp.where(pc_quad > 0, pc_quad, 1))
    state = jnp.where(
        use_quad,
        jnp.where(p_quad < 0.5, p_quad, log_pc_quad),
        jnp.where(p_lin < 0.5, p_lin, -u_lin),
    )

    for _ in range(steps):
        low, p, pc = _decode(state)
        delta, kl_value = _residual_parts(a, ac, low, p, pc, state)
        # Frozen where rounding landed exactly on a (zero slope) or where ln(1 − p) = −inf
        # (1 − p below every float: the answer is already p = 1).
        moving = (delta > 0) & jnp.isfinite(state)
        safe_delta = jnp.where(moving, delta, 1)
        # (kl − c)/δ formed as (kl/c − 1)·(c/δ): kl − c itself would flush to zero below the
        # smallest normal number, and so would δ², hence no δ² anywhere.
        per_delta = (kl_value / c - 1) * (c / safe_delta)
        newton_u = per_delta * p  # f/f' in u = −ln(1 − p), where f'(u) = δ/p
        # Halley's correction 1/(1 − x/2), x = f·f''/f'², in each variable:
        # u: f''(u) = a(1 − p)/p²;  p: f'(p) = δ/(p(1 − p)), f''(p) = a/p² + (1 − a)/(1 − p)².
        # Far from the root (|x| ≥ 1) it is dropped and the step is Newton's.
        x_u = per_delta * (a * pc / safe_delta)
        x_p = per_delta * ((a * pc * pc + ac * p * p) / safe_delta)
        halley_u = newton_u / jnp.where(jnp.abs(x_u) < 1, 1 - 0.5 * x_u, 1.0)
        # The p step relative to p: as an absolute step it can be subnormal, and flush.
        relative_p = per_delta * pc / jnp.where(jnp.abs(x_p) < 1, 1 - 0.5 * x_p, 1.0)
        # Low half: a step in p. High half: a step in u, i.e. ln(1 − p) grows by it.
        next_state = jnp.where(low, p * (1 - relative_p), state + halley_u)
        state = jnp.where(moving, next_state, state)
    _, p, pc = _decode(state)
    # The root lies in [a, 1]; rounding in the last step may leave it an ulp outside.
    p = jnp.clip(p, a, 1.0)
    pc = jnp.clip(pc, 0.0, ac)
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
    delta = jnp.maximum(_gap(a, ac, p, pc, p < 0.5), 0)
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
    # An argument that is not differentiated (a symbolic zero) contributes nothing, even
    # where its partial derivative is infinite (q = 0 or c = 0).
    dp = jnp.zeros_like(p)
    if not isinstance(da, SymbolicZero):
        dp = dp + dp_da * da
    if not isinstance(dc, SymbolicZero):
        dp = dp + dp_dc * dc
    return (p, pc), (dp, -dp)


_kl_inv_pair.defjvp(_kl_inv_pair_jvp, symbolic_zeros=True)


def _as_float_arrays(q, c):
    q = jnp.asarray(q)
    c = jnp.asarray(c)
    dtype = jnp.result_type(q, c, float)
    return q.astype(dtype), c.astype(dtype)


def kl_inv_upper(q, c):
    """Largest p ∈ [q, 1] with kl(q‖p) ≤ c.

    q: empirical risk in [0, 1]; c: budget ≥ 0, +inf allowed. Broadcasts; dtype follows the
    inputs (float32 or float64). Exact edges: c = 0 → q; q = 1 or c = +inf → 1;
    q = 0 → 1 − e^{−c} up to rounding. Subnormal inputs count as 0 (XLA flushes them on
    CPU), and results below the smallest normal number flush to 0. Concrete inputs outside
    the domain raise ValueError; traced inputs (under jit, vmap, grad) are not checked.
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
