"""Gaussian KL divergences over weights, lowered from ``pacbound.symbolic.gaussian``."""

from __future__ import annotations

import jax.numpy as jnp

from pacbound.numeric.lower import lower_to_jax, lower_to_numpy
from pacbound.symbolic.gaussian import kl_coordinate, kl_isotropic

_ARGS = ("mean_q", "var_q", "mean_p", "var_p")
_kl_coordinate = lower_to_jax(kl_coordinate, _ARGS)
#: The per-coordinate KL in NumPy, for code that stays outside JAX (the solvable task).
kl_coordinate_numpy = lower_to_numpy(kl_coordinate, _ARGS)
_kl_isotropic = lower_to_jax(kl_isotropic, ("distance_sq", "sigma"))


def diagonal_gaussian_kl(mean_q, var_q, mean_p, var_p):
    """KL(N(mean_q, diag var_q) ‖ N(mean_p, diag var_p)), summed over the last axis."""
    return jnp.sum(_kl_coordinate(mean_q, var_q, mean_p, var_p), axis=-1)


def isotropic_gaussian_kl(theta_q, theta_p, sigma):
    """KL(N(θ_Q, σ²I) ‖ N(θ_P, σ²I)) = ‖θ_Q − θ_P‖²/(2σ²), over the last axis."""
    distance_sq = jnp.sum(jnp.square(jnp.asarray(theta_q) - jnp.asarray(theta_p)), axis=-1)
    return _kl_isotropic(distance_sq, sigma)


def isotropic_kl_from_distance(distance_sq, sigma):
    """The same KL from the stored squared distance ‖θ_Q − θ_P‖² alone."""
    return _kl_isotropic(jnp.asarray(distance_sq, jnp.float64), sigma)
