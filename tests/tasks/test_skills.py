"""The skill ladder's closed forms against integration, high-precision quadrature and
simulation."""

import mpmath as mp
import numpy as np
import pytest
import sympy as sp

from pacbound.symbolic import gaussian as G
from pacbound.symbolic import skills as S
from pacbound.tasks.skills import SkillLadder

TASK = SkillLadder(levels=6, known=2, noise_max=2.0)


def _trained(task, levels, seed=0):
    """A posterior from a training set of the given levels, with its data."""
    rng = np.random.default_rng(seed)
    x, y = task.sample(rng, np.asarray(levels))
    mean, covariance = task.posterior(x.T @ x, x.T @ y)
    return mean, covariance, x, y


# --- the symbolic module, derived again -------------------------------------------------------


def test_inverse_square_root_is_the_integral_of_its_integrand():
    integral = sp.integrate(S.inverse_sqrt_integrand, (S.t, 0, sp.oo))
    expected = 1 / sp.sqrt(S.offset + S.quadratic)
    for a, q in [(sp.Rational(3, 2), sp.Rational(1, 7)), (1, 40)]:
        point = {S.offset: a, S.quadratic: q}
        assert abs((integral.subs(point) - expected.subs(point)).evalf(30)) < 1e-25


def test_log_mgf_factor_is_the_gaussian_integral():
    """ln E[exp(−t·u²)] for u ~ N(ẽ, λ), by integration at 30 digits."""
    mp.mp.dps = 30
    factor = sp.lambdify((S.t, S.eigenvalue, S.rotated_mean), S.log_mgf_factor, "mpmath")
    for t, lam, e in [(0.3, 0.2, 0.7), (5.0, 0.01, -1.3), (0.01, 2.0, 0.0)]:
        t, lam, e = mp.mpf(t), mp.mpf(lam), mp.mpf(e)

        def integrand(u, t=t, lam=lam, e=e):
            return mp.exp(-t * u**2) * mp.npdf(u, e, mp.sqrt(lam))

        integral = mp.quad(integrand, [-mp.inf, e, mp.inf])
        assert abs(mp.log(integral) - factor(t, lam, e)) < 1e-25


def test_kl_to_isotropic_prior_is_the_sum_of_coordinate_kls_when_diagonal():
    rng = np.random.default_rng(0)
    variances, means = rng.uniform(0.01, 1.0, 5), rng.normal(size=5)
    prior_mean, prior_var = rng.normal(size=5), 0.3
    kl = sp.lambdify(
        (S.trace, S.sq_distance, S.log_det, S.dim, S.prior_var), S.kl_to_isotropic_prior
    )
    coordinate = sp.lambdify((G.mean_q, G.var_q, G.mean_p, G.var_p), G.kl_coordinate)
    expected = sum(
        coordinate(m, v, p, prior_var) for m, v, p in zip(means, variances, prior_mean, strict=True)
    )
    got = kl(
        variances.sum(), np.sum((means - prior_mean) ** 2), np.log(variances).sum(), 5, prior_var
    )
    assert got == pytest.approx(expected, rel=1e-12)


def test_posterior_mean_is_the_stationary_point_and_matches_the_task():
    """At K = 3: the gradient of the negative log posterior vanishes at ``posterior_mean``,
    its Hessian is ``posterior_precision``, and the task's NumPy posterior is the same."""
    task = SkillLadder(levels=3, known=1)
    _, _, x, y = _trained(task, [1, 2, 3, 3])

    def concrete(expr):
        """``expr`` at K = 3 with this training set's statistics (exact rationals)."""
        expr = expr.subs(S.size, 3)
        values = {
            sp.MatrixSymbol("gram", 3, 3): sp.Matrix(x.T @ x).applyfunc(sp.nsimplify),
            sp.MatrixSymbol("moment", 3, 1): sp.Matrix(x.T @ y).applyfunc(sp.nsimplify),
            sp.MatrixSymbol("prior_mean", 3, 1): sp.Matrix(task.pretrained_weights).applyfunc(
                sp.nsimplify
            ),
        }
        scalars = {S.prior_var: sp.nsimplify(task.prior_std**2)}
        scalars[S.assumed_var] = sp.nsimplify(task.assumed_noise**2)
        return sp.Matrix(expr.xreplace(values).subs(scalars).as_explicit())

    mean = concrete(S.posterior_mean).applyfunc(sp.nsimplify)
    theta = sp.MatrixSymbol("theta", 3, 1)
    gradient = concrete(sp.diff(S.negative_log_posterior, S.theta))
    assert sp.simplify(gradient.xreplace({theta: mean})) == sp.zeros(3, 1)
    entries = sp.symbols("a b c")
    objective = concrete(S.negative_log_posterior).xreplace({theta: sp.Matrix(entries)})[0]
    precision = concrete(S.posterior_precision)
    assert sp.simplify(sp.hessian(objective, entries) - precision) == sp.zeros(3, 3)
    got_mean, got_covariance = task.posterior(x.T @ x, x.T @ y)
    np.testing.assert_allclose(got_mean, np.array(mean, float).ravel(), rtol=1e-12)
    np.testing.assert_allclose(
        np.linalg.inv(got_covariance), np.array(precision, float), rtol=1e-10
    )


# --- the task's closed forms ------------------------------------------------------------------


def _reference_level_kept(task, mean, covariance, level):
    """E[τ/√(a + ‖u‖²)] for u ~ N((w* − m)_{1:k}, Σ_{1:k}), by mpmath at 30 digits."""
    mp.mp.dps = 30
    eigenvalues, vectors = np.linalg.eigh(covariance[:level, :level])
    rotated = vectors.T @ (task.true_weights - mean)[:level]
    a = mp.mpf(task.loss_scale**2 + task.noise_std[level - 1] ** 2)

    def integrand(t):
        factors = [
            (1 + 2 * t * lam) ** -0.5 * mp.exp(-t * e**2 / (1 + 2 * t * lam))
            for lam, e in zip(map(mp.mpf, eigenvalues), map(mp.mpf, rotated), strict=True)
        ]
        return t**-0.5 * mp.exp(-a * t) * mp.fprod(factors)

    return task.loss_scale / mp.sqrt(mp.pi) * mp.quad(integrand, [0, 1 / a, 10 / a, mp.inf])


@pytest.mark.parametrize(
    "task, levels",
    [
        (TASK, [4] * 3),  # few examples: wide posterior
        (TASK, [1, 2, 3, 4, 5, 6] * 20),  # many: narrow
        (SkillLadder(levels=6, known=2, prior_std=2.0, loss_scale=0.3), [6] * 2),  # λ/a ≈ 40
    ],
)
def test_level_risk_quadrature_within_1e_10_of_30_digit_reference(task, levels):
    mean, covariance, _, _ = _trained(task, levels)
    got = task.level_risks(mean, covariance)
    for level in range(1, task.levels + 1):
        reference = 1 - _reference_level_kept(task, mean, covariance, level)
        assert abs(got[level - 1] - float(reference)) < 1e-10


def test_level_risk_of_a_point_predictor_is_exact():
    """Σ = 0: the kept part is τ/√(a + ‖e‖²) with no integral left."""
    task = TASK
    point = task.pretrained_weights
    got = task.level_risks(point, np.zeros((task.levels, task.levels)))
    error = np.cumsum((task.true_weights - point) ** 2)
    expected = 1 - task.loss_scale / np.sqrt(task.loss_scale**2 + task.noise_std**2 + error)
    np.testing.assert_allclose(got, expected, atol=1e-13)


def test_posterior_is_prior_times_likelihood():
    """log N(θ; m, Σ) − log prior(θ) − log likelihood(θ) is the same for every θ."""
    task = TASK
    mean, covariance, x, y = _trained(task, [2, 3, 5, 6, 6])
    rng = np.random.default_rng(1)
    thetas = mean + rng.normal(size=(20, task.levels))
    precision = np.linalg.inv(covariance)
    log_q = -0.5 * np.einsum("si,ij,sj->s", thetas - mean, precision, thetas - mean)
    log_prior = -0.5 * np.sum((thetas - task.pretrained_weights) ** 2, 1) / task.prior_std**2
    log_likelihood = -0.5 * np.sum((y - thetas @ x.T) ** 2, 1) / task.assumed_noise**2
    differences = log_q - log_prior - log_likelihood
    assert np.ptp(differences) < 1e-8 * np.abs(differences).max()


def test_noise_averaged_posterior_against_simulated_answers():
    """Fixed inputs, many draws of the answers' noise: the posterior means are N(μ, C), and
    the average of the posteriors' risks is the risk of N(μ, Σ + C)."""
    task = TASK
    rng = np.random.default_rng(2)
    levels = np.array([3, 4, 5, 6] * 3)
    x, _ = task.sample(rng, levels)
    gram = x.T @ x
    noise_gram = x.T @ (x * task.noise_std[levels - 1, None] ** 2)
    draws = 20000
    answers = x @ task.true_weights + task.noise_std[levels - 1] * rng.normal(
        size=(draws, len(levels))
    )
    means, covariance = task.posterior(np.broadcast_to(gram, (draws, 6, 6)), answers @ x)
    mu, total = task.posterior_over_noise(gram, noise_gram)
    spread = total - covariance[0]
    np.testing.assert_allclose(means.mean(0), mu, atol=4 * np.sqrt(np.diag(spread).max() / draws))
    np.testing.assert_allclose(np.cov(means.T), spread, atol=0.05 * np.abs(spread).max())
    risks = task.level_risks(means[:2000], covariance[:2000])
    se = risks.std(0) / np.sqrt(len(risks))
    assert np.all(np.abs(risks.mean(0) - task.level_risks(mu, total)) < 4 * se + 1e-12)


def test_level_risk_empirical_risk_and_kl_against_simulation():
    task = TASK
    mean, covariance, x, y = _trained(task, [2, 4, 6] * 3)
    rng = np.random.default_rng(3)
    m = 400_000
    thetas = rng.multivariate_normal(mean, covariance, size=m)
    exact_risks = task.level_risks(mean, covariance)
    for level in range(1, task.levels + 1):
        xs, ys = task.sample(rng, np.full(m, level))
        losses = 1 - np.exp(-((ys - np.sum(xs * thetas, 1)) ** 2) / (2 * task.loss_scale**2))
        assert abs(losses.mean() - exact_risks[level - 1]) < 4 * losses.std() / np.sqrt(m)
    rows = rng.integers(0, len(y), m)
    losses = 1 - np.exp(-((y[rows] - np.sum(x[rows] * thetas, 1)) ** 2) / (2 * task.loss_scale**2))
    got = task.empirical_risk(mean, covariance, x, y)
    assert abs(losses.mean() - got) < 4 * losses.std() / np.sqrt(m)
    # KL as E_Q[ln q − ln p] over the same draws.
    precision = np.linalg.inv(covariance)
    centred = thetas - mean
    log_q = (
        -0.5 * np.einsum("si,ij,sj->s", centred, precision, centred)
        - 0.5 * np.linalg.slogdet(covariance)[1]
    )
    log_p = -0.5 * np.sum((thetas - task.pretrained_weights) ** 2, 1) / task.prior_std**2
    log_p -= 0.5 * task.levels * np.log(task.prior_std**2)
    ratio = log_q - log_p
    assert abs(ratio.mean() - task.kl_to_prior(mean, covariance)) < 4 * ratio.std() / np.sqrt(m)


def test_empirical_gain_against_the_prior_matches_simulated_pairs():
    """damage = mean over the training set of E max(ℓ(θ) − ℓ(θ′), 0), improvement of
    E max(ℓ(θ′) − ℓ(θ), 0), θ ~ Q and θ′ ~ P (the prior) independent, against draws of both."""
    task = TASK
    mean, covariance, x, y = _trained(task, [2, 4, 6] * 3)
    rng = np.random.default_rng(5)
    m = 200_000
    thetas = rng.multivariate_normal(mean, covariance, size=m)
    priors = task.pretrained_weights + task.prior_std * rng.normal(size=(m, task.levels))
    rows = rng.integers(0, len(y), m)

    def loss(theta):
        return 1 - np.exp(-((y[rows] - np.sum(x[rows] * theta, 1)) ** 2) / (2 * task.loss_scale**2))

    g = loss(thetas) - loss(priors)
    damage, improvement = task.empirical_gain(mean, covariance, x, y)
    for got, sample in ((damage, np.maximum(g, 0)), (improvement, np.maximum(-g, 0))):
        assert abs(sample.mean() - got) < 4 * sample.std() / np.sqrt(m)
    assert damage > 0 and improvement > 0


def test_bad_parameters_are_one_line_errors():
    with pytest.raises(ValueError, match=r"known = 6 is out of range: allowed \[0, 5\]"):
        SkillLadder(levels=6, known=6)
    with pytest.raises(ValueError, match=r"assumed_noise = 0.0 is out of range"):
        SkillLadder(assumed_noise=0.0)
    with pytest.raises(ValueError, match="level is out of range"):
        TASK.sample(np.random.default_rng(0), np.array([7]))
