"""The exactly solvable task against brute force and simulation."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pacbound.symbolic import solvable as S
from pacbound.tasks.solvable import SolvableLinear, _expected_kept

TASK = SolvableLinear(levels=5, group=3)


def _data(level, n, seed=0):
    return TASK.sample(np.random.default_rng(seed), level, n)


def test_posterior_is_the_dense_bayesian_update():
    j, s, y = _data(3, 40)
    design = np.zeros((len(j), TASK.dim))
    design[np.arange(len(j)), j] = s
    precision = design.T @ design / TASK.noise_std**2 + np.eye(TASK.dim) / TASK.prior_std**2
    covariance = np.linalg.inv(precision)
    mean = covariance @ (
        design.T @ y / TASK.noise_std**2 + TASK.pretrained_weights / TASK.prior_std**2
    )
    got_mean, got_variance = TASK.posterior(j, s, y)
    np.testing.assert_allclose(got_mean, mean, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got_variance, np.diag(covariance), rtol=1e-12)
    # KL of Gaussians, dense formula.
    prior = TASK.prior_std**2 * np.eye(TASK.dim)
    diff = mean - TASK.pretrained_weights
    dense_kl = 0.5 * (
        np.trace(np.linalg.solve(prior, covariance))
        + diff @ np.linalg.solve(prior, diff)
        - TASK.dim
        + np.linalg.slogdet(prior)[1]
        - np.linalg.slogdet(covariance)[1]
    )
    assert TASK.kl_to_prior(got_mean, got_variance) == pytest.approx(dense_kl, rel=1e-10)


def test_quadrature_is_converged():
    mean, variance = TASK.posterior(*_data(4, 30))
    for level in range(1, TASK.levels + 1):
        coarse = TASK.level_risk(mean, variance, level)
        fine = TASK.level_risk(mean, variance, level, nodes=360)  # numpy stops at ~390
        assert abs(coarse - fine) < 1e-12


@pytest.mark.parametrize("level", [1, 3, 5])
def test_level_risk_matches_simulation(level):
    """θ ~ Q, examples of the level, noise: the average loss within 4 standard errors."""
    mean, variance = TASK.posterior(*_data(5, 50, seed=1))
    rng = np.random.default_rng(level)
    draws = 400_000
    j, s, y = TASK.sample(rng, level, draws)
    theta_j = mean[j] + np.sqrt(variance[j]) * rng.normal(size=draws)
    loss = 1 - np.exp(-((y - theta_j * s) ** 2) / (2 * TASK.loss_scale**2))
    error = loss.std() / np.sqrt(draws)
    assert abs(loss.mean() - TASK.level_risk(mean, variance, level)) < 4 * error


def test_harder_data_moves_the_posterior_further_from_the_prior():
    kls = [TASK.kl_to_prior(*TASK.posterior(*_data(level, 200, seed=2))) for level in (1, 3, 5)]
    assert kls == sorted(kls) and kls[0] < kls[-1]
    # The base model is right on the easiest level and wrong on the hardest.
    prior_variance = np.full(TASK.dim, TASK.prior_std**2)
    base = TASK.level_risks(TASK.pretrained_weights, prior_variance)
    assert base[0] < base[-1]


def test_bad_configuration():
    with pytest.raises(ValueError, match=r"noise_std = 0\.0 is out of range"):
        SolvableLinear(noise_std=0.0)
    with pytest.raises(ValueError, match="level = 9 is out of range"):
        TASK.sample(np.random.default_rng(0), 9, 3)


def test_gaussian_kl_forms_agree():
    import jax.numpy as jnp

    from pacbound.numeric.gaussian import diagonal_gaussian_kl, isotropic_gaussian_kl

    rng = np.random.default_rng(5)
    theta_q, theta_p = rng.normal(size=7), rng.normal(size=7)
    sigma = 0.3
    variance = np.full(7, sigma**2)
    diagonal = float(diagonal_gaussian_kl(theta_q, variance, theta_p, variance))
    isotropic = float(isotropic_gaussian_kl(theta_q, theta_p, sigma))
    assert diagonal == pytest.approx(np.sum((theta_q - theta_p) ** 2) / (2 * sigma**2), rel=1e-12)
    assert isotropic == pytest.approx(diagonal, rel=1e-12)
    assert float(diagonal_gaussian_kl(jnp.zeros(3), jnp.ones(3), jnp.zeros(3), jnp.ones(3))) == 0


@given(st.floats(-3.0, 3.0), st.floats(1e-6, 10.0), st.floats(0.1, 2.0))
def test_the_expected_kept_mass_equals_sympy(mean, variance, scale):
    """The lowered expectation of exp(−r²/2τ²) over a Gaussian residual against sympy."""
    point = {S.residual_mean: mean, S.residual_variance: variance, S.loss_scale: scale}
    kept = float(S.expected_kept.subs(point).evalf(30))
    assert math.isclose(
        float(_expected_kept(mean, variance, scale)), kept, rel_tol=1e-13, abs_tol=1e-300
    )
