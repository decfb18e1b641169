"""The skill ladder's closed forms: what its exact risks, KL and empirical risk are made of.

The task (``pacbound.tasks.skills``): a level-k problem has inputs x = (z_1, …, z_k, 0, …)
with z_j ~ N(0, 1) (it uses skills 1 … k) and answer y = ⟨w*, x⟩ + ε, ε ~ N(0, σ_k²). The
learner's posterior is a Gaussian N(m, Σ) over the weights; the loss of a residual
r = y − ⟨θ, x⟩ is ℓ(r) = 1 − exp(−r²/(2τ²)) ∈ [0, 1) (``pacbound.symbolic.solvable``).

The risk of the posterior on level k is exact up to one smooth one-dimensional integral:

1. Given θ, with u = (w* − θ)_{1:k}, the residual of a fresh level-k problem is N(0, ‖u‖² + σ_k²),
   so the kept part E[1 − ℓ] is τ/√(a + ‖u‖²) with a = τ² + σ_k² (``expected_kept`` at mean 0).
2. (a + q)^{-1/2} = (1/√π)·∫₀^∞ t^{-1/2}·e^{−(a + q)t} dt (``inverse_sqrt_integrand``).
3. Under θ ~ N(m, Σ), u ~ N(e, Σ_{1:k}) with e = (w* − m)_{1:k}; in the eigenbasis of Σ_{1:k}
   (eigenvalues λ_i, rotated mean ẽ_i) E[e^{−t‖u‖²}] is the product over i of
   (1 + 2tλ_i)^{-1/2}·exp(−t·ẽ_i²/(1 + 2tλ_i)) (``log_mgf_factor`` is its logarithm).

So the kept part is (τ/√π)·∫₀^∞ t^{-1/2} e^{−at} Π_i(…) dt, an integral of a smooth function
with its singularities on the negative axis; the task evaluates it with an exp-sinh rule.
The posterior is the minimiser of the negative log posterior under the assumed noise σ_a
(``negative_log_posterior``): precision I/σ_p² + XᵀX/σ_a² and mean precision⁻¹(θ_pre/σ_p² +
Xᵀy/σ_a²) (``posterior_precision``, ``posterior_mean``, matrix expressions in the sufficient
statistics XᵀX and Xᵀy; the task evaluates the same expressions in batched NumPy, and a test
checks both against the derivation). The KL of N(m, Σ) to the prior N(θ_pre, σ_p²·I)
depends on Σ only through its eigenvalues (``kl_to_isotropic_prior``). Tests derive each
closed form again by integration or differentiation.
"""

from __future__ import annotations

import sympy as sp

t = sp.Symbol("t", positive=True)  # the integration variable of step 2
offset = sp.Symbol("offset", positive=True)  # a = τ² + σ_k²
quadratic = sp.Symbol("quadratic", nonnegative=True)  # q = ‖u‖²
eigenvalue = sp.Symbol("eigenvalue", nonnegative=True)  # λ_i of Σ_{1:k}
rotated_mean = sp.Symbol("rotated_mean", real=True)  # ẽ_i

#: The integrand of (a + q)^{-1/2} = ∫₀^∞ (…) dt.
inverse_sqrt_integrand = (
    t ** sp.Rational(-1, 2) * sp.exp(-(offset + quadratic) * t) / sp.sqrt(sp.pi)
)

#: ln E[exp(−t·u²)] for u ~ N(ẽ, λ): one eigen-coordinate's factor of the product in step 3.
log_mgf_factor = -sp.log(1 + 2 * t * eigenvalue) / 2 - t * rotated_mean**2 / (
    1 + 2 * t * eigenvalue
)

# --- the KL of a Gaussian posterior to the isotropic prior ----------------------------------

trace = sp.Symbol("trace", nonnegative=True)  # tr Σ
log_det = sp.Symbol("log_det", real=True)  # ln det Σ
sq_distance = sp.Symbol("sq_distance", nonnegative=True)  # ‖m − θ_pre‖²
dim = sp.Symbol("dim", positive=True, integer=True)  # D
prior_var = sp.Symbol("prior_var", positive=True)  # σ_p²

#: KL(N(m, Σ) ‖ N(θ_pre, σ_p² I)) = ½[tr Σ/σ_p² + ‖m − θ_pre‖²/σ_p² − D + D·ln σ_p² − ln det Σ].
kl_to_isotropic_prior = (
    trace / prior_var + sq_distance / prior_var - dim + dim * sp.log(prior_var) - log_det
) / 2

# --- the posterior ----------------------------------------------------------------------------

size = sp.Symbol("size", integer=True, positive=True)  # K
gram = sp.MatrixSymbol("gram", size, size)  # XᵀX
moment = sp.MatrixSymbol("moment", size, 1)  # Xᵀy
prior_mean = sp.MatrixSymbol("prior_mean", size, 1)  # θ_pre
theta = sp.MatrixSymbol("theta", size, 1)
assumed_var = sp.Symbol("assumed_var", positive=True)  # σ_a²

#: −ln p(θ | S) up to a constant: the Gaussian prior and likelihood at the assumed noise,
#: with ‖y − Xθ‖² = yᵀy − 2θᵀXᵀy + θᵀXᵀXθ (yᵀy does not depend on θ).
negative_log_posterior = ((theta - prior_mean).T * (theta - prior_mean)) / (2 * prior_var) + (
    theta.T * gram * theta - 2 * theta.T * moment
) / (2 * assumed_var)

#: Its Hessian, the posterior precision, and its stationary point, the posterior mean.
posterior_precision = sp.Identity(size) / prior_var + gram / assumed_var
posterior_mean = posterior_precision.I * (prior_mean / prior_var + moment / assumed_var)
