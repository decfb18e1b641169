"""The solvable task's loss and its expectation under Gaussian residuals.

The loss of a residual r is ℓ(r) = 1 − exp(−r²/(2τ²)) ∈ [0, 1). When r ~ N(g, v), as it is
under a Gaussian posterior with Gaussian noise, E[exp(−r²/(2τ²))] is
√(τ²/(τ² + v))·exp(−g²/(2(τ² + v))); a test derives it again by integration.
"""

from __future__ import annotations

import sympy as sp

residual = sp.Symbol("residual", real=True)  # r = y − ⟨θ, x⟩
loss_scale = sp.Symbol("loss_scale", positive=True)  # τ
residual_mean = sp.Symbol("residual_mean", real=True)  # g
residual_variance = sp.Symbol("residual_variance", nonnegative=True)  # v

#: ℓ(r) = 1 − exp(−r²/(2τ²)).
loss = 1 - sp.exp(-(residual**2) / (2 * loss_scale**2))

#: E[1 − ℓ(r)] for r ~ N(g, v): the part of the loss a Gaussian residual keeps below 1.
expected_kept = sp.sqrt(loss_scale**2 / (loss_scale**2 + residual_variance)) * sp.exp(
    -(residual_mean**2) / (2 * (loss_scale**2 + residual_variance))
)
