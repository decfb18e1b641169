"""PAC-Bayes certificates of fine-tuned networks: a bound on a stochastic predictor that exists.

Per cell, ``Certifier.certify`` returns the certificate of a Gaussian posterior Q around the
fine-tuned weights against the same Gaussian around the pretrained ones (σ and family chosen
on pilot draws from a grid fixed in the config, paid for by a union bound), its Monte-Carlo
risk, its measured risk in the bucket and on the target with exact intervals, and the target
disagreement of two posterior draws. theory/certificates.md states the method and every
choice of δ.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from pacbound.model import apply
from pacbound.numeric.argmin import lowest, tied_minima
from pacbound.numeric.bounds import certificate_bound, certificate_floor
from pacbound.numeric.gaussian import diagonal_gaussian_kl
from pacbound.numeric.testset import binomial_test_bound, clopper_pearson
from pacbound.run.measure import (
    correct_from_logits,
    prediction_disagreement,
    teacher_forced_correct,
)
from pacbound.train import member_strategy

POOL_SEED = 20_011  # fresh validity problems come from a stream no other set uses


def interval(errors: int, trials: int) -> dict:
    """A measured Bernoulli mean with its exact 95% interval."""
    low, high = clopper_pearson(errors, trials)
    return {"risk": errors / trials, "low": float(low), "high": float(high), "draws": trials}


def _length_needed(mask_CxL, length: int, step: int = 16) -> int:
    """The positions a causal model must see to score every masked position of these rows,
    rounded up to a multiple of ``step`` (a few shapes, so a few compiles): what lies after
    the last solution token changes no prediction before it."""
    used = np.flatnonzero(np.asarray(mask_CxL).any(axis=0))
    needed = int(used[-1]) + 2 if len(used) else 1
    return min(length, -(-needed // step) * step)


#: Draws batched together per step when draws run in sequence (a CPU): a single problem's
#: matmuls are too small to run at full rate alone, and a large batch leaves the cache
#: (docs/benchmarks.md measures 1, 2, 4, 8 and 16).
DRAWS_PER_STEP = 4


def _members(strategy: str):
    """f over the rows of its arguments: batched (vmap, on an accelerator) or a few at a
    time in sequence (lax.map, on a CPU)."""
    if strategy == "vmap":
        return lambda f, *rows: jax.vmap(f)(*rows)
    return lambda f, *rows: jax.lax.map(lambda row: f(*row), rows, batch_size=DRAWS_PER_STEP)


def pick_posterior(floors: dict, predicted: dict) -> tuple:
    """The key of ``predicted`` with the lowest value (ties: the smallest floor)."""
    tied = [
        key for key, t in zip(predicted, tied_minima(list(predicted.values())), strict=True) if t
    ]
    return lowest(tied, [floors[key] for key in tied])


class Certifier:
    """Certificates for the cells of one language experiment (theory/certificates.md).

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
        key = jax.random.PRNGKey(c.seed)
        noise = jax.random.normal(key, (rows, self.space_dim(projection)))
        self.bank = noise @ projection.T if self.subspace else noise
        # The second draw θ' of each target pair, from a bank of its own.
        partner = jax.random.normal(
            jax.random.fold_in(key, 1), (c.validity_draws, self.space_dim(projection))
        )
        self.partner = partner @ projection.T if self.subspace else partner
        self.offsets = {
            "pilot": 0,
            "certify": c.pilot_draws,
            "bucket": c.pilot_draws + c.draws,
            "target": c.pilot_draws + c.draws + c.validity_draws,
        }
        ones = jnp.ones_like(base_flat)
        self.weight_scale = {"isotropic": ones, "magnitude": jnp.abs(base_flat) + c.epsilon}

        members = _members(member_strategy())

        # The bank travels whole; each draw's row is read inside the compiled program (no
        # chunk × d copy per call).
        def wrong_C(center_D, scale_D, bank_RxD, rows_C, tokens_CxL, mask_CxL):
            def one(row, tokens_L, mask_L):
                params = unravel(center_D + scale_D * bank_RxD[row])
                logits = lambda t: apply(params, t, model_config)  # noqa: E731
                return ~teacher_forced_correct(logits, tokens_L[None], mask_L[None])[0]

            return members(one, rows_C, tokens_CxL, mask_CxL)

        self._wrong = jax.jit(wrong_C)
        label_free = getattr(config.task, "label_free_steps", 0)

        def pair_C(
            center_D, scale_D, bank_RxD, rows_C, partner_PxD, partner_rows_C, tokens_CxL, mask_CxL
        ):
            # One forward pass per draw serves both the error of θ and the disagreement.
            def one(row, partner_row, tokens_L, mask_L):
                logits = [
                    apply(unravel(center_D + scale_D * z), tokens_L[None], model_config)
                    for z in (bank_RxD[row], partner_PxD[partner_row])
                ]
                wrong = ~correct_from_logits(logits[0], tokens_L[None], mask_L[None])
                anywhere, first = prediction_disagreement(*logits, mask_L[None], label_free)
                return jnp.stack([wrong[0], anywhere[0], first[0]])

            return members(one, rows_C, partner_rows_C, tokens_CxL, mask_CxL)

        self._pair = jax.jit(pair_C)
        self.label_free_steps = label_free

    def space_dim(self, projection) -> int:
        return projection.shape[1] if projection is not None else self.base_flat.shape[0]

    def _errors(self, center, scale, part: str, count: int, tokens, mask) -> int:
        """Wrong answers of ``count`` (θ_j, example_j) pairs, θ_j from the bank rows of
        ``part``; tokens and mask hold the pairs' examples, padded to whole chunks."""
        return int(self._chunked(self._wrong, center, scale, part, count, tokens, mask).sum())

    def _chunked(self, function, center, scale, part, count, tokens, mask, partner=False):
        """``function`` over ``count`` pairs in chunks (θ_j from the bank rows of ``part``,
        and θ'_j from the partner bank when ``partner``), its per-pair outputs stacked."""
        chunk, outputs = min(self.config.chunk, count), []
        first = self.offsets[part]
        for at in range(0, count, chunk):
            size = min(chunk, count - at)
            rows = np.minimum(np.arange(at, at + chunk), count - 1)
            block = slice(at, at + chunk)
            length = _length_needed(mask[block], tokens.shape[1])
            banks = (self.bank, first + rows) + ((self.partner, rows) if partner else ())
            batch = function(
                center,
                scale,
                *banks,
                jnp.asarray(tokens[block, :length]),
                jnp.asarray(mask[block, :length]),
            )
            outputs.append(np.asarray(batch)[:size])
        return np.concatenate(outputs)

    def _target_pairs(self, center, scale, tokens, mask) -> np.ndarray:
        """Per target pair (θ_j, θ'_j, example_j) of the posterior N(center, scale²):
        θ_j wrong, the two draws' teacher-forced argmax differing anywhere, and at the
        label-free leading positions (columns 0, 1, 2)."""
        count = self.config.validity_draws
        return self._chunked(self._pair, center, scale, "target", count, tokens, mask, True)

    def _disagreement(self, pairs) -> dict:
        """d_T of a posterior from its ``_target_pairs``: the fraction of pairs whose draws
        disagree at some solution position (teacher forced) and at a label-free one."""
        differ = pairs[:, 1:].mean(axis=0)
        return {
            "teacher_forced": float(differ[0]),
            "label_free": float(differ[1]) if self.label_free_steps else None,
        }

    @staticmethod
    def _padded(array, rows: int) -> np.ndarray:
        array = np.asarray(array)
        if len(array) >= rows:
            return array
        return np.concatenate([array, np.repeat(array[-1:], rows - len(array), axis=0)])

    def _pairs(self, tokens, mask, indices):
        """The examples of the pairs, shortest first so that a chunk's rows have similar
        lengths (the θ draws are independent of the examples, so which draw meets which
        example may depend on the examples), padded to whole chunks."""
        last = np.asarray(mask)[indices].cumsum(axis=1).argmax(axis=1)
        indices = np.asarray(indices)[np.argsort(last, kind="stable")]
        chunk = min(self.config.chunk, len(indices))
        rows = -(-len(indices) // chunk) * chunk
        return self._padded(tokens[indices], rows), self._padded(mask[indices], rows)

    def certify(
        self, center, posterior_mean, n, train_tokens, train_mask, bucket, seed, pilot_all=False
    ) -> dict:
        """The certificate of one cell. ``center``: θ_ft (weight space, d); ``posterior_mean``:
        θ_ft (full) or w_ft (subspace), the mean of Q in its own space; the first n rows of
        ``train_tokens``/``train_mask`` are the cell's sample S. ``pilot_all``: pilot every
        candidate (no early stop), so that the record holds each one's KL and pilot risk
        (the sweep does so at the grid's largest budget, to extrapolate beyond it)."""
        c, rng = self.config, np.random.default_rng([seed, 11])
        # The KL in float64 (a sum over up to d coordinates); the draws in the weights' dtype.
        mean_q = jnp.asarray(posterior_mean, jnp.float64)
        mean_p = jnp.zeros_like(mean_q) if self.subspace else self.base_flat.astype(jnp.float64)
        candidates = {}
        for family in self.families:
            g = jnp.ones_like(mean_q) if self.subspace else self.weight_scale[family]
            for sigma in c.sigmas:
                variance = (sigma * jnp.asarray(g, jnp.float64)) ** 2
                kl = float(diagonal_gaussian_kl(mean_q, variance, mean_p, variance))
                scale = sigma * (jnp.ones_like(center) if self.subspace else g)
                candidates[(family, sigma)] = (kl, scale.astype(center.dtype))

        def predicted(risk, kl):
            return float(
                certificate_bound(risk, c.draws, kl, n, self.delta, self.choices, c.mc_share)
            )

        floors = {key: predicted(0.0, kl) for key, (kl, _) in candidates.items()}
        pilot_rows = rng.integers(0, n, c.pilot_draws)
        tokens, mask = self._pairs(train_tokens, train_mask, pilot_rows)
        pilot_risk, forecast = {}, {}
        for key in sorted(floors, key=floors.get):
            if not pilot_all and forecast and floors[key] >= min(forecast.values()):
                break  # no later candidate can beat the best forecast
            kl, scale = candidates[key]
            wrong = self._errors(center, scale, "pilot", c.pilot_draws, tokens, mask)
            pilot_risk[key] = wrong / c.pilot_draws
            forecast[key] = predicted(pilot_risk[key], kl)
        chosen = pick_posterior(floors, forecast)
        kl, scale = candidates[chosen]

        rows = rng.integers(0, n, c.draws)
        tokens, mask = self._pairs(train_tokens, train_mask, rows)
        wrong = self._errors(center, scale, "certify", c.draws, tokens, mask)
        mc_risk = wrong / c.draws
        value = predicted(mc_risk, kl)

        count = c.validity_draws
        tokens, mask = self._pairs(*self.pools[bucket], np.arange(count))
        validity = {
            "bucket": interval(self._errors(center, scale, "bucket", count, tokens, mask), count)
        }
        tokens, mask = self._pairs(*self.pools["target"], np.arange(count))
        certified = self._target_pairs(center, scale, tokens, mask)
        errors = int(certified[:, 0].sum())
        validity["target"] = interval(errors, count)
        validity["target"]["test_bound"] = float(binomial_test_bound(errors, count, self.delta))
        near = candidates[("isotropic", min(c.sigmas))][1]
        disagreement = {
            "certified": self._disagreement(certified),
            "near": self._disagreement(self._target_pairs(center, near, tokens, mask)),
            "near_sigma": min(c.sigmas),
            "pairs": count,
        }
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
            "candidates": [
                {"family": f, "sigma": s, "kl": kl, "pilot_risk": pilot_risk.get((f, s))}
                for (f, s), (kl, _) in candidates.items()
            ],
            "in_distribution": validity["bucket"],
            "target": validity["target"],
            "disagreement": disagreement,
        }
