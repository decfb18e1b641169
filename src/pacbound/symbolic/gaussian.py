"""KL divergences between Gaussian posteriors and priors over weights."""

from __future__ import annotations

import sympy as sp

mean_q, mean_p = sp.symbols("mean_q mean_p", real=True)
var_q, var_p = sp.symbols("var_q var_p", positive=True)
distance_sq, sigma = sp.symbols("distance_sq sigma", positive=True)

#: KL(N(m_q, v_q) ‖ N(m_p, v_p)) for one coordinate; a diagonal Gaussian sums these.
kl_coordinate = sp.Rational(1, 2) * (
    var_q / var_p + (mean_q - mean_p) ** 2 / var_p - 1 - sp.log(var_q / var_p)
)

#: Isotropic Gaussians of the same σ around θ_Q and θ_P: ‖θ_Q − θ_P‖² / (2σ²).
kl_isotropic = sp.simplify(
    kl_coordinate.subs({var_q: sigma**2, var_p: sigma**2}).subs((mean_q - mean_p) ** 2, distance_sq)
)
