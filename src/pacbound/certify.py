"""PAC-Bayes certificates for fine-tuned networks: a bound on a stochastic predictor that exists.

For every cell the predictor is a Gaussian posterior Q around the fine-tuned weights and the
prior P the same Gaussian around the pretrained ones; both depend on nothing but the weights
(the prior on the pretrained weights only, whose training data is drawn apart from every
fine-tuning sample). Two learners:

- full fine-tuning: Q = N(θ_ft, diag(σ²g²)), P = N(θ_pre, diag(σ²g²)), with g fixed before
  any fine-tuning data exists: ``isotropic`` (g = 1) or ``magnitude`` (g_i = |θ_pre,i| + ε);
- subspace fine-tuning (θ = θ_pre + P·w, ``[finetune] subspace = k``): Q = N(w_ft, σ²I_k),
  P = N(0, σ²I_k) on w; only the isotropic family applies there.

The certificate (``pacbound.symbolic.bounds.certificate``):

1. choices: m = |σ grid| × |families|, all fixed in the config; the kl bound pays ln m.
2. pilot: each candidate's empirical risk from a few (θ ~ Q, training example) pairs; the
   candidate whose certificate the pilot predicts lowest is chosen. Candidates are tried
   in order of their certificate at zero risk (KL alone), and the search stops once that
   floor is above the best predicted certificate, which no remaining candidate can beat.
3. certificate: ``draws`` fresh pairs (θ_j ~ Q, an example drawn uniformly from the n),
   independent of everything the choice saw; each pair's 0-1 loss is a Bernoulli draw of
   mean R̂_S(Q), so Langford–Caruana bounds R̂_S(Q) with s·δ, and the kl bound with the
   union over the m candidates spends the rest.
4. validity: Q's own risk in distribution and on the target, each from ``validity_draws``
   pairs with fresh problems drawn from the bucket's (the target's) mixture, each used
   once: exact Clopper–Pearson intervals and Langford's test-set bound on the target risk.

θ draws come from banks of standard normal noise drawn once per experiment from the
config's seed (the draws of one cell are independent of its sample and of each other; that
cells share a bank matters to no statement here, which are per cell or union-bounded).
With ``simultaneous = true`` each cell's δ is the config's δ over the number of cells, so
every certificate of the grid holds at once with probability ≥ 1 − δ.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from pacbound.measure import teacher_forced_correct
from pacbound.model import apply
from pacbound.numeric.bounds import certificate_bound, certificate_floor
from pacbound.numeric.gaussian import diagonal_gaussian_kl
from pacbound.numeric.testset import binomial_test_bound, clopper_pearson

FAMILIES = ("isotropic", "magnitude")
POOL_SEED = 20_011  # fresh validity problems come from a stream no other set uses


@dataclass(frozen=True)
class CertifyConfig:
    """The ``[certify]`` table. Every choice the certificate may make is listed here, before
    any data is drawn: the σ grid and the families (their product is the union bound)."""

    enabled: bool = False
    sigmas: tuple[float, ...] = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3)
    families: tuple[str, ...] = FAMILIES
    epsilon: float = 1e-3  # ε of the magnitude-aware scale g_i = |θ_pre,i| + ε
    delta: float = 0.05
    mc_share: float = 0.5  # share of δ spent on the Monte-Carlo step
    pilot_draws: int = 16
    draws: int = 256
    validity_draws: int = 256
    simultaneous: bool = False
    chunk: int = 64  # θ draws evaluated by one compiled call
    seed: int = 0

    def __post_init__(self):
        if not self.sigmas or min(self.sigmas) <= 0:
            raise ValueError(f"sigmas = {list(self.sigmas)}: need at least one, all > 0")
        unknown = set(self.families) - set(FAMILIES)
        if not self.families or unknown or len(set(self.families)) != len(self.families):
            raise ValueError(
                f"families = {list(self.families)}: allowed distinct values of {FAMILIES}"
            )
        for name in ("delta", "mc_share"):
            if not 0 < getattr(self, name) < 1:
                raise ValueError(f"{name} = {getattr(self, name)} is out of range: allowed (0, 1)")
        if not self.epsilon > 0:
            raise ValueError(f"epsilon = {self.epsilon} is out of range: allowed (0, inf)")
        for name in ("pilot_draws", "draws", "validity_draws", "chunk"):
            if getattr(self, name) < 1:
                raise ValueError(
                    f"{name} = {getattr(self, name)} is out of range: allowed [1, inf)"
                )

    def families_for(self, subspace: int) -> tuple[str, ...]:
        """The families a learner can use: on w (subspace) only the isotropic one."""
        return ("isotropic",) if subspace else self.families

    def choices(self, subspace: int) -> int:
        return len(self.sigmas) * len(self.families_for(subspace))

    def cell_delta(self, cells: int) -> float:
        return self.delta / cells if self.simultaneous else self.delta


def interval(errors: int, trials: int) -> dict:
    """A measured Bernoulli mean with its exact 95% interval."""
    low, high = clopper_pearson(errors, trials)
    return {"risk": errors / trials, "low": float(low), "high": float(high), "draws": trials}


def pick_posterior(floors: dict, predicted: dict) -> tuple:
    """The key of ``predicted`` with the lowest value (ties: the smallest floor)."""
    return min(predicted, key=lambda key: (predicted[key], floors[key]))


class Certifier:
    """Certificates for the cells of one language experiment (see the module docstring).

    ``base_flat``: θ_pre as one vector (d); ``unravel``: vector → parameter pytree;
    ``projection``: P (d × k) for the subspace learner, else None; ``pools``: {name:
    (tokens_VxL, mask_VxL)} of fresh problems for every bucket and for "target".
    """

    def __init__(self, config, model_config, base_flat, unravel, projection, pools, cells: int):
        self.config = config.certify
        self.subspace = projection is not None
        self.families = self.config.families_for(config.finetune.subspace)
        self.choices = self.config.choices(config.finetune.subspace)
        self.delta = self.config.cell_delta(cells)
        self.base_flat = base_flat
        self.pools = pools
        c = self.config
        rows = c.pilot_draws + c.draws + 2 * c.validity_draws
        # Standard normal noise in the posterior's own space, mapped to weight space once.
        noise = jax.random.normal(jax.random.PRNGKey(c.seed), (rows, self.space_dim(projection)))
        self.bank = noise @ projection.T if self.subspace else noise
        self.offsets = {
            "pilot": 0,
            "certify": c.pilot_draws,
            "bucket": c.pilot_draws + c.draws,
            "target": c.pilot_draws + c.draws + c.validity_draws,
        }
        ones = jnp.ones_like(base_flat)
        self.weight_scale = {"isotropic": ones, "magnitude": jnp.abs(base_flat) + c.epsilon}

        def wrong_C(center_D, scale_D, noise_CxD, tokens_CxL, mask_CxL):
            def one(noise_D, tokens_L, mask_L):
                params = unravel(center_D + scale_D * noise_D)
                logits = lambda t: apply(params, t, model_config)  # noqa: E731
                return ~teacher_forced_correct(logits, tokens_L[None], mask_L[None])[0]

            return jax.vmap(one)(noise_CxD, tokens_CxL, mask_CxL)

        self._wrong = jax.jit(wrong_C)

    def space_dim(self, projection) -> int:
        return projection.shape[1] if projection is not None else self.base_flat.shape[0]

    def _errors(self, center, scale, part: str, start: int, count: int, tokens, mask) -> int:
        """Wrong answers of ``count`` (θ_j, example_j) pairs, θ_j from bank rows of ``part``."""
        chunk, wrong = self.config.chunk, 0
        first = self.offsets[part] + start
        for at in range(0, count, chunk):
            size = min(chunk, count - at)
            rows = np.arange(first + at, first + at + chunk)
            rows = np.minimum(rows, first + count - 1)  # a short last chunk repeats its end
            batch = self._wrong(
                center,
                scale,
                self.bank[rows],
                jnp.asarray(tokens[at : at + chunk]),
                jnp.asarray(mask[at : at + chunk]),
            )
            wrong += int(np.asarray(batch)[:size].sum())
        return wrong

    @staticmethod
    def _padded(array, rows: int) -> np.ndarray:
        array = np.asarray(array)
        if len(array) >= rows:
            return array
        return np.concatenate([array, np.repeat(array[-1:], rows - len(array), axis=0)])

    def _pairs(self, tokens, mask, indices, chunk):
        rows = -(-len(indices) // chunk) * chunk
        return self._padded(tokens[indices], rows), self._padded(mask[indices], rows)

    def certify(self, center, posterior_mean, n, train_tokens, train_mask, bucket, seed) -> dict:
        """The certificate of one cell. ``center``: θ_ft (weight space, d); ``posterior_mean``:
        θ_ft (full) or w_ft (subspace), the mean of Q in its own space; the first n rows of
        ``train_tokens``/``train_mask`` are the cell's sample S."""
        c, rng = self.config, np.random.default_rng([seed, 11])
        prior_mean = jnp.zeros_like(posterior_mean) if self.subspace else self.base_flat
        candidates = {}
        for family in self.families:
            g = jnp.ones_like(posterior_mean) if self.subspace else self.weight_scale[family]
            for sigma in c.sigmas:
                variance = (sigma * g) ** 2
                kl = float(diagonal_gaussian_kl(posterior_mean, variance, prior_mean, variance))
                scale = sigma * (jnp.ones_like(center) if self.subspace else g)
                candidates[(family, sigma)] = (kl, scale)

        def predicted(risk, kl):
            return float(
                certificate_bound(risk, c.draws, kl, n, self.delta, self.choices, c.mc_share)
            )

        floors = {key: predicted(0.0, kl) for key, (kl, _) in candidates.items()}
        pilot_rows = rng.integers(0, n, c.pilot_draws)
        tokens, mask = self._pairs(train_tokens, train_mask, pilot_rows, c.chunk)
        pilot_risk, forecast = {}, {}
        for key in sorted(floors, key=floors.get):
            if forecast and floors[key] >= min(forecast.values()):
                break  # no later candidate can beat the best forecast
            kl, scale = candidates[key]
            wrong = self._errors(center, scale, "pilot", 0, c.pilot_draws, tokens, mask)
            pilot_risk[key] = wrong / c.pilot_draws
            forecast[key] = predicted(pilot_risk[key], kl)
        chosen = pick_posterior(floors, forecast)
        kl, scale = candidates[chosen]

        rows = rng.integers(0, n, c.draws)
        tokens, mask = self._pairs(train_tokens, train_mask, rows, c.chunk)
        wrong = self._errors(center, scale, "certify", 0, c.draws, tokens, mask)
        mc_risk = wrong / c.draws
        value = predicted(mc_risk, kl)

        validity = {}
        for part, pool in (("bucket", self.pools[bucket]), ("target", self.pools["target"])):
            count = c.validity_draws
            tokens, mask = self._pairs(*pool, np.arange(count), c.chunk)
            errors = self._errors(center, scale, part, 0, count, tokens, mask)
            validity[part] = interval(errors, count)
            if part == "target":
                validity[part]["test_bound"] = float(binomial_test_bound(errors, count, self.delta))
        return {
            "family": chosen[0],
            "sigma": chosen[1],
            "kl": kl,
            "choices": self.choices,
            "delta": self.delta,
            "draws": c.draws,
            "mc_risk": mc_risk,
            "certificate": value,
            "floor": float(certificate_floor(c.draws, n, self.delta, self.choices, c.mc_share)),
            "pilot": {f"{f} σ={s:g}": r for (f, s), r in pilot_risk.items()},
            "in_distribution": validity["bucket"],
            "target": validity["target"],
        }


def certificate_vacuous(value: float, base_error: float) -> bool:
    """A certificate says something only below 1 and below the base's own error there."""
    return not (value < 1 and value < base_error) or math.isnan(value)
