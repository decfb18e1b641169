"""An exactly solvable task: Bayesian linear regression where levels are groups of inputs.

Ground truth for the rest of the pipeline: the fine-tuned posterior, its KL to the prior
centred at the pretrained weights, its risk on every level (loss in [0, 1]) and the shift
between level mixtures are all closed form or one-dimensional quadrature.

- Coordinates are split into ``levels`` groups of ``group`` each. An example of level k is
  x = s·e_j with j uniform in group k and s ~ N(0, 1), and y = ⟨w*, x⟩ + ε, ε ~ N(0, σ_y²).
- The pretrained weights know the easy groups and not the hard ones:
  θ_pre,j = (1 − h_k)·w*_j with hardness h_k = (k − 1)/(levels − 1) for j in group k.
- The prior is N(θ_pre, σ_p² I); fine-tuning on n examples gives the Gaussian posterior,
  coordinate by coordinate (each example touches one coordinate).
- The loss is ℓ = 1 − exp(−r²/(2τ²)) ∈ [0, 1) with r = y − ⟨θ, x⟩. Given s, r is Gaussian
  under θ ~ Q and ε, so E[e^{−r²/2τ²}] is closed form, and the risk on a level is an average
  over its coordinates of a Gauss–Hermite integral over s.
- Level supports are disjoint (the coordinate reveals the level), so
  TV between mixtures is exactly ½ Σ_k |w_T(k) − w_d(k)|.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from pacbound.numeric.gaussian import kl_coordinate_numpy
from pacbound.numeric.lower import lower_to_numpy
from pacbound.symbolic import solvable

# E[1 − ℓ(r)] for r ~ N(g, v), from the symbolic module.
_expected_kept = lower_to_numpy(
    solvable.expected_kept, ("residual_mean", "residual_variance", "loss_scale")
)

QUADRATURE_NODES = 256  # Gauss–Hermite nodes, rescaled per coordinate; keep below ~350, where
# the rescaling factor e^{(1 − c²)t²/2} at the outer nodes would overflow


@cache
def _standard_normal_nodes(nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss–Hermite nodes and weights for an expectation over t ~ N(0, 1), computed once
    per node count (an eigenproblem of that size) and shared read-only."""
    t, weights = np.polynomial.hermite_e.hermegauss(nodes)
    weights = weights / weights.sum()
    t.flags.writeable = weights.flags.writeable = False
    return t, weights


@dataclass(frozen=True)
class SolvableLinear:
    levels: int = 6
    group: int = 4
    noise_std: float = 0.3  # σ_y
    prior_std: float = 0.5  # σ_p
    loss_scale: float = 0.5  # τ
    seed: int = 0  # draws w*

    # The posterior is the learner: its risks and KL are closed form, so the certificate is
    # the bound at the exact KL, and KL is the complexity the predictors read.
    exact_risks = True
    complexity = ("kl", "KL")
    solution_roles = False  # no tokens
    label_free_steps = 0
    level_key = "levels"

    def __post_init__(self):
        for name in ("levels", "group"):
            if getattr(self, name) < (2 if name == "levels" else 1):
                raise ValueError(f"{name} = {getattr(self, name)} is too small")
        for name in ("noise_std", "prior_std", "loss_scale"):
            if not getattr(self, name) > 0:
                raise ValueError(
                    f"{name} = {getattr(self, name)} is out of range: allowed (0, inf)"
                )

    @property
    def level_range(self) -> range:
        return range(1, self.levels + 1)

    @property
    def dim(self) -> int:
        return self.levels * self.group

    @property
    def level_of_coordinate(self) -> np.ndarray:
        """level_D: the level (1 … levels) each coordinate belongs to."""
        return np.repeat(np.arange(1, self.levels + 1), self.group)

    @property
    def true_weights(self) -> np.ndarray:
        return np.random.default_rng([self.seed, 0]).normal(size=self.dim)

    @property
    def pretrained_weights(self) -> np.ndarray:
        hardness = (self.level_of_coordinate - 1) / (self.levels - 1)
        return (1 - hardness) * self.true_weights

    # --- data ----------------------------------------------------------------------------

    def sample(self, rng: np.random.Generator, level: int, n: int):
        """n examples of one level: coordinates j_N, scales s_N, targets y_N."""
        if not 1 <= level <= self.levels:
            raise ValueError(f"level = {level} is out of range: allowed [1, {self.levels}]")
        j = (level - 1) * self.group + rng.integers(0, self.group, n)
        s = rng.normal(size=n)
        y = self.true_weights[j] * s + self.noise_std * rng.normal(size=n)
        return j, s, y

    # --- the posterior and its KL --------------------------------------------------------

    def posterior(self, j, s, y) -> tuple[np.ndarray, np.ndarray]:
        """Mean_D and variance_D of the Gaussian posterior after the examples (j, s, y)."""
        prior_precision = 1 / self.prior_std**2
        noise_precision = 1 / self.noise_std**2
        precision = np.full(self.dim, prior_precision)
        np.add.at(precision, j, noise_precision * s**2)
        moment = self.pretrained_weights * prior_precision
        np.add.at(moment, j, noise_precision * s * y)
        return moment / precision, 1 / precision

    def kl_to_prior(self, mean, variance) -> float:
        """KL(N(mean, diag variance) ‖ N(θ_pre, σ_p² I)) in nats."""
        prior_variance = np.full(self.dim, self.prior_std**2)
        return float(
            np.sum(kl_coordinate_numpy(mean, variance, self.pretrained_weights, prior_variance))
        )

    # --- risks ---------------------------------------------------------------------------

    def level_risk(self, mean, variance, level: int, nodes: int = QUADRATURE_NODES) -> float:
        """E over level-k examples, θ ~ N(mean, variance) and noise of 1 − e^{−r²/2τ²}."""
        t, weights = _standard_normal_nodes(nodes)
        group = slice((level - 1) * self.group, level * self.group)
        error = self.true_weights[group] - mean[group]
        # The integrand in s has width ~ √(τ² + σ_y²)/|error|: where that is below 1, the
        # nodes are rescaled to it (s = c·t), with the density ratio φ(ct)/φ(t) folded in.
        scale = np.minimum(
            1.0, np.sqrt(self.loss_scale**2 + self.noise_std**2) / np.maximum(np.abs(error), 1e-300)
        )
        s = scale[:, None] * t[None, :]
        ratio = scale[:, None] * np.exp(-0.5 * (s**2 - t[None, :] ** 2))
        spread = variance[group][:, None] * s**2 + self.noise_std**2
        kept = _expected_kept(error[:, None] * s, spread, self.loss_scale)
        return float(1 - np.mean((kept * ratio) @ weights))

    def level_risks(self, mean, variance) -> np.ndarray:
        return np.array([self.level_risk(mean, variance, k) for k in range(1, self.levels + 1)])

    def empirical_risk(self, mean, variance, j, s, y) -> float:
        """R̂_S(Q): the same Gaussian expectation over θ ~ Q, on the sample itself."""
        kept = _expected_kept(y - mean[j] * s, variance[j] * s**2, self.loss_scale)
        return float(1 - np.mean(kept))
