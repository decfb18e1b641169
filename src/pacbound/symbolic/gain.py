"""The gain over the base: a PAC-Bayes bound on R_d(Q) − R_d(θ_pre), derived in sympy.

The base θ_pre (or any distribution over predictors fixed before the sample: the skill
ladder's is its prior) is fixed before the sample is drawn, so the signed loss
g(θ, z) = ℓ(θ, z) − ℓ(θ_pre, z) ∈ [−1, 1] is a loss like any other. It splits into two
losses in [0, 1], g = g⁺ − g⁻ with g⁺ = max(g, 0) (damage: the draw θ does worse than the
base on z) and g⁻ = max(−g, 0) (improvement). The kl bound on each, at δ/2, gives the
split-kl bound of Wu & Seldin (2022) at the split point 0:

    R_d(Q) − R_d(θ_pre) ≤ kl⁻¹₊(Ê g⁺, B) − kl⁻¹₋(Ê g⁻, B),  B = (KL + ln(4√n/δ))/n,

with Ê the mean over S of E_{θ∼Q}. A value below 0 certifies that fine-tuning helps on
the bucket. Beside it, the plain difference of a kl bound on R_d(Q) and a lower bound on the
base's R_d (KL = 0), each at δ/2. Both are stated and proved in theory/bounds.md.

For the skill ladder, whose base is its prior P, the empirical parts are exact: on a training
example the residuals of θ ~ Q and θ' ~ P are independent Gaussians, and E g⁺, E g are
Gaussian integrals in closed form (``damage_expected``, ``gain_expected``; Owen's T).
"""

from __future__ import annotations

import sympy as sp

from pacbound.symbolic.core import (
    KLInvLower,
    KLInvUpper,
    base_emp_risk,
    damage,
    delta,
    emp_risk,
    improvement,
    kl_div,
    n,
)

#: The kl budget of each of the two bounds, at δ/2.
gain_budget = (kl_div + sp.log(4 * sp.sqrt(n) / delta)) / n

#: Split-kl: an upper bound on R_d(Q) − R_d(θ_pre) with probability ≥ 1 − δ.
gain_certificate = KLInvUpper(damage, gain_budget) - KLInvLower(improvement, gain_budget)

#: The difference of two kl bounds: R_d(Q) from above (KL to the prior), R_d(θ_pre) from
#: below (a fixed predictor: KL = 0), each at δ/2.
difference_certificate = KLInvUpper(emp_risk, gain_budget) - KLInvLower(
    base_emp_risk, gain_budget.subs(kl_div, 0)
)

# --- from the bucket's gain to the target's (theory/bounds.md) ---------------------------------

inside_mass = sp.Symbol("inside_mass", nonnegative=True)  # m_d: target mass inside bucket d
bucket_gain = sp.Symbol("bucket_gain", real=True)  # C_d ≥ R_d(Q) − R_d(B), a certificate
transfer_constant = sp.Symbol("transfer_constant", real=True)  # L
transfer_spread = sp.Symbol("transfer_spread", nonnegative=True)  # Σ_{k∉d} w_T(k)·dist/(K − 1)

#: "No harm" (no level outside d gains above 0): G_T ≤ m_d·C_d.
no_harm_target_gain = inside_mass * bucket_gain

#: "Transfer" (a level outside d gains at most G_d + L·dist(k, d)/(K − 1)): G_T ≤ C_d + L·spread.
transfer_target_gain = bucket_gain + transfer_constant * transfer_spread

#: A lower bound on the base's risk from ``trials`` held-out problems, independent of S and
#: of the base (Chernoff's kl form, one-sided, at δ/2; for independent Bernoulli trials with
#: unequal means it bounds their mean, so problems in fixed counts per level are allowed).
#: With a risk certificate at δ/2 it bounds a gain where the empirical gain is not stored.
held_out_trials = sp.Symbol("held_out_trials", positive=True)
base_lower_bound = KLInvLower(base_emp_risk, sp.log(2 / delta) / held_out_trials)

# --- the skill ladder's empirical gain, per training example ----------------------------------
#
# The base of the skill ladder is its prior P = N(θ_pre, σ_p²·I), a stochastic predictor fixed
# before any sample. Against it the loss is g(θ, θ', z) = ℓ(θ, z) − ℓ(θ', z) on a pair drawn
# from Q⊗P, whose KL to P⊗P is KL(Q‖P): the bounds above hold with E_{Q⊗P} g = R(Q) − R(P).
# On a training example, a draw's residual is r ~ N(μ, v) under Q and r' ~ N(μ', v') under P,
# independent, and ℓ(r) = 1 − exp(−r²/(2τ²)).


class OwensT(sp.Function):
    """Owen's T(h, a) = (1/2π)∫₀^a exp(−h²(1 + x²)/2)/(1 + x²) dx (numeric only)."""


posterior_mean = sp.Symbol("posterior_mean", real=True)  # μ
posterior_variance = sp.Symbol("posterior_variance", positive=True)  # v
prior_mean = sp.Symbol("prior_mean", real=True)  # μ'
prior_variance = sp.Symbol("prior_variance", positive=True)  # v'
loss_scale = sp.Symbol("loss_scale", positive=True)  # τ


def kept(mean, variance):
    """E exp(−r²/(2τ²)) for r ~ N(mean, variance): 1 − the expected loss."""
    return sp.sqrt(loss_scale**2 / (loss_scale**2 + variance)) * sp.exp(
        -(mean**2) / (2 * (loss_scale**2 + variance))
    )


def shrunk(mean, variance):
    """exp(−r²/(2τ²)) times the density of N(mean, variance) is ``kept`` times the density
    of N(mean·s, variance·s), s = τ²/(τ² + variance)."""
    s = loss_scale**2 / (loss_scale**2 + variance)
    return mean * s, variance * s


def closer(mean_x, variance_x, mean_y, variance_y):
    """P(|X| < |Y|), X ~ N(mean_x, variance_x), Y ~ N(mean_y, variance_y) independent:
    X² < Y² iff U = Y − X and V = Y + X have one sign, two orthants of a bivariate normal
    with correlation ρ = (v_Y − v_X)/(v_X + v_Y), each Owen's T form of Φ₂ (the Φ terms
    of the two orthants cancel)."""
    scale = sp.sqrt(variance_x + variance_y)
    a, b = (mean_y - mean_x) / scale, (mean_y + mean_x) / scale
    rho = (variance_y - variance_x) / (variance_x + variance_y)
    root = sp.sqrt(1 - rho**2)
    return (
        1
        - 2 * OwensT(a, (b - rho * a) / (a * root))
        - 2 * OwensT(b, (a - rho * b) / (b * root))
        - sp.Heaviside(-a * b, 0)
    )


#: E_{Q⊗P} g on one example: E ℓ(r) − E ℓ(r').
gain_expected = kept(prior_mean, prior_variance) - kept(posterior_mean, posterior_variance)

#: E_{Q⊗P} g⁺: g > 0 exactly where |r'| < |r|, so E g⁺ = E[e^{−r'²/2τ²}; |r'| < |r|] −
#: E[e^{−r²/2τ²}; |r'| < |r|], each a kept part times a ``closer`` probability.
damage_expected = kept(prior_mean, prior_variance) * closer(
    *shrunk(prior_mean, prior_variance), posterior_mean, posterior_variance
) - kept(posterior_mean, posterior_variance) * closer(
    prior_mean, prior_variance, *shrunk(posterior_mean, posterior_variance)
)
