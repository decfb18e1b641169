"""The skill ladder: an exactly solvable task where fine-tuning difficulty has a tradeoff.

Skills are input coordinates 1 … K, and a level-k problem uses skills 1 … k: its inputs are
x = (z_1, …, z_k, 0, …, 0) with z_j ~ N(0, 1), its answer y = ⟨w*, x⟩ + ε with ε ~ N(0, σ_k²).
Harder problems contain the easier skills, and their answers are noisier: σ_k grows with k.
The base (the prior's mean θ_pre) is right on the first ``known`` skills and wrong on the
others, the more so the harder the skill. The learner is Bayesian linear regression from the
prior N(θ_pre, σ_p²·I) with a fixed assumed noise σ_a, below the noise of most levels: it is
overconfident, as a network trained to zero training loss is. Hence the tradeoff:

- a few hard examples are fitted closely, noise and all, and the fit spreads over every skill
  they use, the easy ones the base had right included: hard data at small n does damage;
- many hard examples average their noise away and teach every skill up to k: at large n the
  hardest data is best;
- easy data is nearly noiseless but never teaches the hard skills.

Everything about a posterior is exact (``pacbound.symbolic.skills`` derives it): its mean
and covariance given a training set, its KL to the prior, its empirical risk on the training
set, and its risk on each level up to one smooth one-dimensional integral evaluated with an
exp-sinh rule (error below 1e-12; a test compares it with mpmath at 30 digits).
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from pacbound.numeric.lower import lower_to_jax, lower_to_numpy
from pacbound.symbolic import gain, skills, solvable

_expected_kept = lower_to_numpy(
    solvable.expected_kept, ("residual_mean", "residual_variance", "loss_scale")
)
_GAIN_ARGS = ("posterior_mean", "posterior_variance", "prior_mean", "prior_variance", "loss_scale")
_damage_expected = lower_to_numpy(gain.damage_expected, _GAIN_ARGS)
_gain_expected = lower_to_numpy(gain.gain_expected, _GAIN_ARGS)
_log_mgf_factor = lower_to_jax(skills.log_mgf_factor, ("t", "eigenvalue", "rotated_mean"))
_kl_to_isotropic_prior = lower_to_numpy(
    skills.kl_to_isotropic_prior, ("trace", "sq_distance", "log_det", "dim", "prior_var")
)

# The exp-sinh rule for ∫₀^∞ s^{-1/2} e^{−s} f(s) ds: s = exp(π/2·sinh x), the trapezoid rule
# in x with step 1/16 on [−4.5, 2]. Outside that range the integrand is below 1e-15 of the
# integral (at x = −4.5, s^{1/2} ≈ e^{−35}; at x = 2, e^{−s} ≈ e^{−300}).
_STEP = 1 / 16
_X = np.arange(-4.5, 2 + _STEP / 2, _STEP)
EXP_SINH_NODES = np.exp(np.pi / 2 * np.sinh(_X))
EXP_SINH_WEIGHTS = (
    _STEP * np.pi / 2 * np.cosh(_X) * np.sqrt(EXP_SINH_NODES) * np.exp(-EXP_SINH_NODES)
)


@dataclass(frozen=True)
class SkillLadder:
    levels: int = 12  # K: skills, and levels of difficulty
    known: int = 4  # the base is right on skills 1 … known
    noise_max: float = 3.0  # σ_K
    noise_power: float = 2.0  # σ_k = σ_K·(k/K)^power
    assumed_noise: float = 0.1  # σ_a: the noise the learner assumes at every level
    prior_std: float = 0.5  # σ_p
    loss_scale: float = 1.0  # τ

    def __post_init__(self):
        if not 2 <= self.levels <= 64:
            raise ValueError(f"levels = {self.levels} is out of range: allowed [2, 64]")
        if not 0 <= self.known < self.levels:
            raise ValueError(
                f"known = {self.known} is out of range: allowed [0, {self.levels - 1}]"
            )
        for name in ("noise_max", "assumed_noise", "prior_std", "loss_scale"):
            if not 0 < getattr(self, name) < np.inf:
                raise ValueError(
                    f"{name} = {getattr(self, name)} is out of range: allowed (0, inf)"
                )
        if not 0 <= self.noise_power < np.inf:
            raise ValueError(f"noise_power = {self.noise_power} is out of range: allowed [0, inf)")

    @property
    def true_weights(self) -> np.ndarray:
        """w*: every skill weighs 1."""
        return np.ones(self.levels)

    @property
    def pretrained_weights(self) -> np.ndarray:
        """θ_pre: right on skills 1 … known, then wrong by (j − known)/(K − known) of w*_j."""
        skill = np.arange(1, self.levels + 1)
        wrong = np.clip((skill - self.known) / (self.levels - self.known), 0, 1)
        return (1 - wrong) * self.true_weights

    @property
    def noise_std(self) -> np.ndarray:
        """σ_k of levels 1 … K."""
        return self.noise_max * (np.arange(1, self.levels + 1) / self.levels) ** self.noise_power

    # --- data ----------------------------------------------------------------------------

    def inputs(self, level: np.ndarray, z: np.ndarray) -> np.ndarray:
        """x of problems of the given levels (…), from standard normals z (…xK)."""
        return z * (np.arange(1, self.levels + 1) <= np.asarray(level)[..., None])

    def sample(self, rng: np.random.Generator, level: np.ndarray):
        """(x, y) of problems of the given levels: inputs …xK and answers …."""
        level = np.asarray(level)
        if level.size and not (1 <= level.min() and level.max() <= self.levels):
            raise ValueError(f"level is out of range: allowed [1, {self.levels}]")
        x = self.inputs(level, rng.normal(size=(*level.shape, self.levels)))
        noise = self.noise_std[level - 1] * rng.normal(size=level.shape)
        return x, x @ self.true_weights + noise

    # --- the posterior -------------------------------------------------------------------

    def posterior(self, gram: np.ndarray, moment: np.ndarray):
        """Mean …xK and covariance …xKxK of the posterior from the sufficient statistics of a
        training set, gram = Σ x xᵀ and moment = Σ y·x: ``skills.posterior_precision`` and
        ``skills.posterior_mean``, batched (a test checks them against the derivation)."""
        prior_precision, noise_precision = self.prior_std**-2, self.assumed_noise**-2
        precision = prior_precision * np.eye(self.levels) + noise_precision * gram
        covariance = np.linalg.inv(precision)
        covariance = (covariance + np.swapaxes(covariance, -1, -2)) / 2
        pull = prior_precision * self.pretrained_weights + noise_precision * moment
        return np.einsum("...ij,...j->...i", covariance, pull), covariance

    def posterior_over_noise(self, gram: np.ndarray, noise_gram: np.ndarray):
        """The posterior averaged over the answers' noise, given the inputs: its mean is
        Gaussian over the noise, so the average of N(m, Σ) is N(μ, Σ + C) exactly, with μ the
        mean at noiseless answers and C = Σ·(Σ σ_k² x xᵀ)·Σ/σ_a⁴ (noise_gram = Σ σ_k² x xᵀ).
        Any risk of it is the expectation of that risk over the noise."""
        mean, covariance = self.posterior(gram, gram @ self.true_weights)
        spread = covariance @ noise_gram @ covariance / self.assumed_noise**4
        return mean, covariance + (spread + np.swapaxes(spread, -1, -2)) / 2

    def kl_to_prior(self, mean: np.ndarray, covariance: np.ndarray) -> np.ndarray:
        """KL(N(mean, covariance) ‖ N(θ_pre, σ_p²·I)) in nats, over the leading axes."""
        eigenvalues = np.linalg.eigvalsh(covariance)
        return _kl_to_isotropic_prior(
            eigenvalues.sum(-1),
            np.sum((mean - self.pretrained_weights) ** 2, axis=-1),
            np.log(eigenvalues).sum(-1),
            self.levels,
            self.prior_std**2,
        )

    # --- risks ---------------------------------------------------------------------------

    def empirical_risk(self, mean, covariance, x, y, rows=None) -> np.ndarray:
        """R̂_S(Q): E over θ ~ N(mean, covariance) of the loss on the training set itself,
        averaged over its first ``rows`` examples (default all). mean …xK, x …xNxK."""
        x, y = x[..., :rows, :], y[..., :rows]
        residual_mean = y - (x @ mean[..., None])[..., 0]
        residual_variance = np.sum((x @ covariance) * x, axis=-1)
        kept = _expected_kept(residual_mean, residual_variance, self.loss_scale)
        return 1 - kept.mean(axis=-1)

    def empirical_gain(self, mean, covariance, x, y, rows=None):
        """(damage, improvement): the means over the training set of E g⁺ and E g⁻ under
        θ ~ Q = N(mean, covariance) and θ' ~ P (the prior, the base), g = ℓ(θ, z) − ℓ(θ', z)
        (``pacbound.symbolic.gain``), exact. damage − improvement = R̂_S(Q) − R̂_S(P)."""
        x, y = x[..., :rows, :], y[..., :rows]
        args = (
            y - (x @ mean[..., None])[..., 0],
            np.sum((x @ covariance) * x, axis=-1),
            y - x @ self.pretrained_weights,
            self.prior_std**2 * np.sum(x * x, axis=-1),
            self.loss_scale,
        )
        damage = np.asarray(_damage_expected(*args))
        return damage.mean(axis=-1), (damage - _gain_expected(*args)).mean(axis=-1)

    def level_risks(self, mean, covariance, levels=None) -> np.ndarray:
        """R_k(Q) of N(mean, covariance) on each of ``levels`` (default 1 … K), …xL, exact up
        to the rule's error."""
        levels = tuple(range(1, self.levels + 1)) if levels is None else tuple(levels)
        mean, covariance = np.asarray(mean, float), np.asarray(covariance, float)
        lead = mean.shape[:-1]
        kept = _level_kept(
            mean.reshape(-1, self.levels),
            covariance.reshape(-1, self.levels, self.levels),
            self.true_weights,
            self.loss_scale**2 + self.noise_std**2,
            self.loss_scale,
            levels,
        )
        return 1 - kept.reshape(*lead, len(levels))


def _level_kept(mean_PxK, covariance_PxKxK, true_weights, offsets_K, loss_scale, levels):
    """E[1 − ℓ] of each posterior on each of ``levels``: the three steps of the symbolic
    module. The eigendecompositions run in LAPACK, the integral in JAX."""
    error_PxK = true_weights - mean_PxK
    kept = []
    for k in levels:  # level k sees the top-left k×k block
        eigenvalues, vectors = np.linalg.eigh(covariance_PxKxK[:, :k, :k])
        rotated = np.einsum("pij,pi->pj", vectors, error_PxK[:, :k])
        offset = offsets_K[k - 1]
        integral = _exp_sinh_integral(np.maximum(eigenvalues, 0), rotated, offset)
        kept.append(loss_scale / np.sqrt(np.pi * offset) * np.asarray(integral))
    return np.stack(kept, axis=-1)


@jax.jit
def _exp_sinh_integral(eigenvalues_PxK, rotated_PxK, offset):
    """∫₀^∞ s^{-1/2} e^{−s} Π_i mgf_i(s/a) ds, with t = s/a folding e^{−at} into e^{−s}."""
    t = jnp.asarray(EXP_SINH_NODES)[None, :, None] / offset
    log_mgf = _log_mgf_factor(t, eigenvalues_PxK[:, None, :], rotated_PxK[:, None, :])
    return jnp.exp(log_mgf.sum(-1)) @ jnp.asarray(EXP_SINH_WEIGHTS)
