"""Binary kl divergence and its upper and lower inverses, in pure JAX.

``kl_inv_upper(q, c)`` is the largest p in [q, 1] with kl(q‖p) ≤ c, the quantity every
kl-form PAC-Bayes bound needs; ``kl_inv_lower(q, c)`` the smallest p in [0, q]. Both run
under ``jit``, ``vmap`` and ``grad`` (gradients by the implicit-function theorem), in
float32 and float64, and are exact at q ∈ {0, 1}, c = 0 and c = +inf.

How the root is found. With u = −ln(1 − p), f(u) = kl(q‖1 − e^{−u}) − c is convex and
increasing on p ≥ q, and so is f as a function of p. Each step works in whichever variable
is better conditioned: p where p < ½ (the answer needs relative precision), u where p ≥ ½
(near p = 1, f ≈ (1 − q)·u is almost linear in u, while in p it has a log barrier). The
start is the smaller of two closed-form upper bounds on the root. Every derivative of kl in
p or u is rational, so a step of order five costs hardly more than Newton's: only f needs
logs. Two such steps (``STEPS``; the tests show one is not enough) reach the precision of
the evaluation of kl everywhere, and the fixed count keeps the solve one straight-line XLA
program.

Speed. On CPU the solve is one fused XLA loop whose time is the latency of its chain of
dependent operations, so the design counts steps and logs: two steps, two logs per step,
three before the first, and a log and exp that XLA vectorises (numeric/elementary.py).

Precision. The residual is evaluated through δ = p − q with log1p, so the O(δ) parts of
the two terms of kl cancel analytically instead of numerically; this keeps the relative
error at machine precision when c is tiny and p sits just above q. The state is one array
holding p where p < ½ and ln(1 − p) where p ≥ ½, so p near 1 and, for the lower inverse
(solved as the mirror image), p near 0 keep full relative precision; one array rather than
several also keeps XLA from materialising intermediate arrays between steps.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from jax.custom_derivatives import SymbolicZero

from pacbound.numeric import elementary
from pacbound.numeric.lambdify import lambdify
from pacbound.numeric.validate import check_kl_inv_inputs
from pacbound.symbolic.core import kl_binary_expr

# Order-five steps from the closed-form start (see _step_factor). Over a dense grid one step
# leaves relative errors up to 1e-2 (a test shows it is not enough); the second takes the
# worst to the 1e-14 floor that the evaluation of kl itself sets.
STEPS = 2
_SERIES_REACH = 0.5 * math.log(2)  # where elementary.expm1_small is exact

_kl_binary = lambdify(kl_binary_expr, ("q", "p"), "jax")


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
    pc = jnp.where(low, 1 - state, elementary.exp_and_expm1(jnp.minimum(state, 0))[0])
    p = jnp.where(low, state, 1 - pc)
    return low, p, pc


def _gap(a, ac, p, pc, low):
    """δ = p − a from the accurate member of each pair: p itself where p < ½ (``low``),
    else the complements, ac − pc; p − a would cancel where p and a are both near 1."""
    return jnp.where(low, p - a, ac - pc)


def _residual_parts(a, ac, inv_a, inv_ac, log_ac, low, p, pc, state):
    """δ = p − a and kl(a‖p) from the state and its decoded pair (p, 1 − p).

    ``inv_a``, ``inv_ac`` and ``log_ac`` are 1/a, 1/(1 − a) and ln(1 − a), computed once.
    """
    delta = _gap(a, ac, p, pc, low)
    big = jnp.finfo(p.dtype).max / 4
    # a·ln(p/a) = a·log1p(δ/a); clamping only matters for tiny a, where the term is below
    # the smallest normal number anyway.
    term_a = jnp.where(a > 0, -a * elementary.log1p(jnp.minimum(delta * inv_a, big)), 0.0)
    # ac·ln(ac/pc): log1p keeps precision while pc ≈ ac; once pc < ac/2 (which needs
    # p > ½, the log-space half of the state) ln pc is the state itself.
    near = delta <= 0.5 * ac
    term_ac = jnp.where(
        near,
        -ac * elementary.log1p(jnp.where(near, -delta * inv_ac, 0.0)),
        ac * (log_ac - state),
    )
    return delta, term_a + term_ac


def _start(a, ac, c, inv_ac, log_a, log_ac):
    """State, p and 1 − p at the smaller of two closed-form upper bounds on the root."""
    # (i) kl(a‖p) ≥ (p − a)² / (2p(1 − a)) on p ≥ a, solved for p.
    # p = a + t + √(t² + 2at) with t = c(1 − a), arranged so that no product underflows.
    sqrt_t = jnp.sqrt(c) * jnp.sqrt(ac)
    t = c * ac
    root_term = t + sqrt_t * jnp.sqrt(t + 2 * a)
    p_quad = a + root_term
    pc_quad = ac - root_term
    # (ii) kl(a‖p) ≥ (1 − a)·u − H(a) with u = −ln(1 − p), H the binary entropy.
    entropy = -jnp.where(a > 0, a * log_a, 0.0) - ac * log_ac
    u_lin = (c + entropy) * inv_ac
    pc_lin, expm1_lin = elementary.exp_and_expm1(-u_lin)
    p_lin = -expm1_lin
    # Both are upper bounds: keep the smaller p, compared where it is resolved.
    use_quad = jnp.where(p_quad < 0.5, p_quad <= p_lin, pc_quad >= pc_lin)
    log_pc_quad = elementary.log(jnp.where(pc_quad > 0, pc_quad, 1))
    state = jnp.where(
        use_quad,
        jnp.where(p_quad < 0.5, p_quad, log_pc_quad),
        jnp.where(p_lin < 0.5, p_lin, -u_lin),
    )
    p = jnp.where(use_quad, p_quad, p_lin)
    pc = jnp.where(use_quad, pc_quad, pc_lin)
    return state, p, pc


def _step_factor(g, inv_delta, low, a, ac, p, pc):
    """S in the order-five step Δ = −h·S, h = f/f′, in the state's variable.

    S = 1 + m₂ + (2m₂² − m₃) + (5m₂³ − 5m₂m₃ + m₄) with m_k = f⁽ᵏ⁾h^(k−1)/(k!·f′) is the
    series reversion of Taylor's expansion of f at the current point, cut after h⁴. The
    derivatives of kl are rational (no logs), so the extra order is almost free. Far from
    the root (|m₂| ≥ ½) the series is not trusted and the step is Newton's (S = 1).

    ``g`` is (kl − c)/δ and ``inv_delta`` is 1/δ. In p (the low half), with f′ = δ/(p(1 − p)):
    m₂ = g/δ·(a(1 − p)² + (1 − a)p²)/2, m₃ = g²/δ·((1 − a)p³ − a(1 − p)³)/3,
    m₄ = g³/δ·(a(1 − p)⁴ + (1 − a)p⁴)/4. In u = −ln(1 − p), with f′ = δ/p, f″ = a(1 − p)/p²,
    f‴ = −a(1 − p)(2 − p)/p³, f⁗ = a(1 − p)(p² − 6p + 6)/p⁴: the same with numerators
    a(1 − p), −a(1 − p)(2 − p)/2 and a(1 − p)(p² − 6p + 6)/6.
    """
    # Each numerator is divided by δ before the powers of g multiply it: where 1 − p has
    # underflowed to 0 the numerators are 0, and g·g·g/δ alone could overflow to inf·0.
    a_pc = a * pc
    pc2, p2 = pc * pc, p * p
    n2 = jnp.where(low, a * pc2 + ac * p2, a_pc)
    n3 = jnp.where(low, ac * p2 * p - a * pc2 * pc, -0.5 * a_pc * (2 - p)) * (1 / 3)
    n4 = jnp.where(low, a * pc2 * pc2 + ac * p2 * p2, a_pc * (p2 - 6 * p + 6) * (1 / 6)) * 0.25
    m2 = g * (n2 * inv_delta) * 0.5
    m3 = g * (n3 * inv_delta) * g
    m4 = g * (n4 * inv_delta) * g * g
    factor = 1 + m2 + (2 * m2 * m2 - m3) + (5 * m2 * m2 * m2 - 5 * m2 * m3 + m4)
    return jnp.where(jnp.abs(m2) < 0.5, factor, 1.0)


def _solve_pair(a, ac, c, steps: int = STEPS):
    """Largest p ≥ a with kl(a‖p) ≤ c, returned as the pair (p, 1 − p).

    ``ac`` is 1 − a supplied by the caller so that whichever of a, 1 − a is small is exact.
    Requires 0 < ac and 0 < c < inf; the public functions handle those edges.
    """
    # Loop invariants. Each divide has one user (see numeric/elementary.py on fusion).
    inv_a = jnp.where(a > 0, 1 / jnp.where(a > 0, a, 1), 0.0)
    inv_ac = jnp.maximum(1 / ac, 0.0)
    inv_c = jnp.maximum(1 / c, 0.0)
    # Logs from whichever of a, 1 − a is exact: the other may have rounded to 1, and
    # a·ln a ≈ −(1 − a) is not negligible when c is as small as 1 − a.
    log_a = elementary.log_given_complement(jnp.where(a > 0, a, 1), ac)  # only a·ln a is used
    log_ac = elementary.log_given_complement(ac, a)

    state, p, pc = _start(a, ac, c, inv_ac, log_a, log_ac)
    low = state >= 0
    for step in range(steps):
        if step > 0:
            low, p, pc = _decode(state)
        delta, kl_value = _residual_parts(a, ac, inv_a, inv_ac, log_ac, low, p, pc, state)
        # Frozen where rounding landed exactly on a (zero slope) or where ln(1 − p) = −inf
        # (1 − p below every float: the answer is already p = 1).
        moving = (delta > 0) & jnp.isfinite(state)
        inv_delta = jnp.where(moving, 1 / jnp.where(moving, delta, 1), 0.0)
        # g = (kl − c)/δ formed as (kl/c − 1)·(c/δ): kl − c itself would flush to zero
        # below the smallest normal number, and so would δ², hence no δ² anywhere.
        g = (kl_value * inv_c - 1) * (c * inv_delta)
        step_size = g * _step_factor(g, inv_delta, low, a, ac, p, pc)
        # Low half: p − h·S with h = g·p(1 − p), taken relative to p (as an absolute step it
        # can be subnormal, and flush to zero). High half: ln(1 − p) = −u grows by h·S with
        # h = g·p.
        next_low = p * (1 - pc * step_size)
        log_growth = p * step_size
        if step > 0 and step == steps - 1:
            # A last step after the first returns (p, 1 − p) without the exp of decoding its
            # state: its change of ln(1 − p) is small (under 2e-3 on a dense grid), so 1 − p
            # grows by the factor e^{log_growth}, from a series exact to 1e-17 up to ln2/2.
            # It is larger only where 1 − p has underflowed to 0 and ln(1 − p) is huge; the
            # clip keeps the product 0·finite there.
            bounded = jnp.clip(log_growth, -_SERIES_REACH, _SERIES_REACH)
            next_pc = pc + pc * elementary.expm1_small(bounded)
            pc = jnp.where(moving, jnp.where(low, 1 - next_low, next_pc), pc)
            p = jnp.where(moving, jnp.where(low, next_low, 1 - next_pc), p)
        else:
            next_state = jnp.where(low, next_low, state + log_growth)
            state = jnp.where(moving, next_state, state)
    if steps < 2:  # the loop above ended on a state, not on (p, 1 − p)
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
    # Safe inputs off the interior keep every intermediate free of NaN (jax_debug_nans
    # users see no false alarm); each from its own argument, since a mask shared by all
    # three made XLA write them out in passes of their own.
    safe_c = jnp.where((c > 0) & (c < jnp.inf), c, 1)
    safe_ac = jnp.where(ac > 0, ac, 0.5)
    safe_a = jnp.where(ac > 0, a, 0.5)
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
