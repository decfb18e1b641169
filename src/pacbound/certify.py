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
5. target disagreement (Germain et al., ICML 2016): on the same target problems, a second
   independent θ' ~ Q beside each θ, and whether the two predict differently: the expected
   disagreement d_T(Q) of the PAC-Bayesian domain-adaptation bound. Measured at every
   solution position under teacher forcing (its context holds the reference solution), and
   at the task's label-free leading positions only (context: the problem alone), which is
   the one that needs no target label; for the certified Q (what the domain-adaptation
   bound needs) and for a "near" posterior, the isotropic one at the grid's smallest σ,
   fixed before any data (where certificates are vacuous the certified Q is chosen with
   the largest σ and is noise, which disagrees everywhere; the near one measures how
   unsettled the fine-tuned network itself is on the target).

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

from pacbound.measure import prediction_disagreement, teacher_forced_correct
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


def _length_needed(mask_CxL, length: int, step: int = 16) -> int:
    """The positions a causal model must see to score every masked position of these rows,
    rounded up to a multiple of ``step`` (a few shapes, so a few compiles): what lies after
    the last solution token changes no prediction before it."""
    used = np.flatnonzero(np.asarray(mask_CxL).any(axis=0))
    needed = int(used[-1]) + 2 if len(used) else 1
    return min(length, -(-needed // step) * step)


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

        def wrong_C(center_D, scale_D, noise_CxD, tokens_CxL, mask_CxL):
            def one(noise_D, tokens_L, mask_L):
                params = unravel(center_D + scale_D * noise_D)
                logits = lambda t: apply(params, t, model_config)  # noqa: E731
                return ~teacher_forced_correct(logits, tokens_L[None], mask_L[None])[0]

            return jax.vmap(one)(noise_CxD, tokens_CxL, mask_CxL)

        self._wrong = jax.jit(wrong_C)
        label_free = getattr(config.task, "label_free_steps", 0)

        def disagree_C(center_D, scale_D, noise_CxD, partner_CxD, tokens_CxL, mask_CxL):
            def one(noise_D, partner_D, tokens_L, mask_L):
                logits = [
                    apply(unravel(center_D + scale_D * z), tokens_L[None], model_config)
                    for z in (noise_D, partner_D)
                ]
                anywhere, first = prediction_disagreement(*logits, mask_L[None], label_free)
                return jnp.stack([anywhere[0], first[0]])

            return jax.vmap(one)(noise_CxD, partner_CxD, tokens_CxL, mask_CxL)

        self._disagree = jax.jit(disagree_C)
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
            banks = (self.bank[first + rows],) + ((self.partner[rows],) if partner else ())
            batch = function(
                center,
                scale,
                *banks,
                jnp.asarray(tokens[block, :length]),
                jnp.asarray(mask[block, :length]),
            )
            outputs.append(np.asarray(batch)[:size])
        return np.concatenate(outputs)

    def _disagreement(self, center, scale, tokens, mask) -> dict:
        """d_T of the posterior N(center, scale²) on the target pool's problems: at every
        solution position (teacher forced) and at the label-free leading positions."""
        count = self.config.validity_draws
        differ = self._chunked(
            self._disagree, center, scale, "target", count, tokens, mask, partner=True
        ).mean(axis=0)
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

        validity = {}
        for part, pool in (("bucket", self.pools[bucket]), ("target", self.pools["target"])):
            count = c.validity_draws
            tokens, mask = self._pairs(*pool, np.arange(count))
            errors = self._errors(center, scale, part, count, tokens, mask)
            validity[part] = interval(errors, count)
            if part == "target":
                validity[part]["test_bound"] = float(binomial_test_bound(errors, count, self.delta))
                near = candidates[("isotropic", min(c.sigmas))][1]
                disagreement = {
                    "certified": self._disagreement(center, scale, tokens, mask),
                    "near": self._disagreement(center, near, tokens, mask),
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


def certificate_vacuous(value: float, base_error: float) -> bool:
    """A certificate says something only below 1 and below the base's own error there."""
    return not (value < 1 and value < base_error)  # NaN compares False: vacuous too


# --- the certificates of a stored experiment --------------------------------------------


def network_test_bound(target_error: float, test_size: int, target_levels: int, delta: float):
    """Langford's test-set bound on the fine-tuned network's own target risk, from its
    errors on the held-out target problems (test_size per level, uniform target)."""
    trials = test_size * target_levels
    return float(binomial_test_bound(round(target_error * trials), trials, delta))


def first_budget_below(risk, kl, draws, delta, choices, share, threshold, start):
    """Per entry of ``risk`` and ``kl`` (arrays of one shape): the smallest budget n ≥
    ``start`` at which a certificate with this Monte-Carlo risk and KL falls below
    ``threshold`` (doubling, then bisecting, all entries at once); inf where none does up
    to start·2³⁰."""
    risk, kl = np.broadcast_arrays(np.asarray(risk, float), np.asarray(kl, float))

    def below(n):
        values = certificate_bound(risk, draws, kl, n, delta, choices, share)
        return np.asarray(values) < threshold

    doublings = start * 2.0 ** np.arange(31)
    hits = np.moveaxis(below(doublings.reshape(-1, *[1] * risk.ndim)), 0, -1)
    reached = hits.any(axis=-1)
    first = np.where(reached, hits.argmax(axis=-1), 0)
    high = np.where(reached, doublings[first], np.inf)
    low = np.where(first > 0, doublings[np.maximum(first - 1, 0)] + 1, start)
    low, high = np.where(reached, low, start), np.where(reached, high, start)
    while np.any(low < high):  # invariant: the answer lies in [low, high]
        middle = np.floor((low + high) / 2)
        ok = below(middle)
        low, high = np.where(ok, low, middle + 1), np.where(ok, middle, high)
    return np.where(reached, high, np.inf)


def _extrapolate(cells, c, delta, choices, threshold):
    """The smallest budget beyond the grid at which some candidate posterior's certificate
    would fall below ``threshold`` if its KL and pilot risk stayed at their values in these
    cells (the grid's largest budget, where every candidate is piloted); the median over
    the cells' seeds. None if no candidate gets there below 2³⁰ times the budget."""
    reached = []
    for cell in cells:
        tried = [
            x
            for x in cell.record["certificate"].get("candidates", [])
            if x["pilot_risk"] is not None
        ]
        if not tried:
            reached.append(math.inf)
            continue
        budgets = first_budget_below(
            [x["pilot_risk"] for x in tried],
            [x["kl"] for x in tried],
            c.draws,
            delta,
            choices,
            c.mc_share,
            threshold,
            cell.budget,
        )
        reached.append(float(budgets.min()))
    middle = float(np.median(reached)) if reached else math.inf
    return None if math.isinf(middle) else int(middle)


def summarize(config, cells, base: dict) -> dict:
    """Every certificate of an experiment beside the risk it certifies, per cell and per
    (bucket, budget), with the fraction of valid cells and where certificates become
    non-vacuous (below the base's own error in the bucket)."""
    c = config.certify
    base_levels = {int(k): float(v) for k, v in base.items()}
    buckets = [b.name for b in config.grid.buckets]
    bucket_base = {
        b.name: sum(float(w) * base_levels[k] for k, w in b.weights().items())
        for b in config.grid.buckets
    }
    target_levels = config.grid.target[1] - config.grid.target[0] + 1
    rows = []
    for cell in sorted(cells, key=lambda x: (buckets.index(x.bucket), x.budget, x.seed)):
        certificate = cell.record["certificate"]
        measured = certificate["in_distribution"]
        rows.append(
            {
                "bucket": cell.bucket,
                "budget": cell.budget,
                "seed": cell.seed,
                **{k: certificate[k] for k in ("family", "sigma", "kl", "mc_risk", "floor")},
                "certificate": certificate["certificate"],
                "risk": measured["risk"],
                "risk_low": measured["low"],
                "risk_high": measured["high"],
                "valid": certificate["certificate"] >= measured["risk"],
                "violated": certificate["certificate"] < measured["low"],
                "vacuous": certificate_vacuous(
                    certificate["certificate"], bucket_base[cell.bucket]
                ),
                "target_risk": certificate["target"]["risk"],
                "target_low": certificate["target"]["low"],
                "target_high": certificate["target"]["high"],
                "target_test_bound": certificate["target"]["test_bound"],
                "network_target_error": cell.record["target_error"],
                "network_target_test_bound": network_test_bound(
                    cell.record["target_error"],
                    config.grid.test_size,
                    target_levels,
                    certificate["delta"],
                ),
            }
        )
    delta = cells[0].record["certificate"]["delta"]
    choices = cells[0].record["certificate"]["choices"]
    per_bucket = {}
    for bucket in buckets:
        mine = [r for r in rows if r["bucket"] == bucket]
        budgets = sorted({r["budget"] for r in mine})
        means = {
            n: {
                key: float(np.mean([r[key] for r in mine if r["budget"] == n]))
                for key in ("certificate", "risk", "kl", "mc_risk", "floor", "target_risk")
            }
            for n in budgets
        }
        informative = [
            n
            for n in budgets
            if not certificate_vacuous(means[n]["certificate"], bucket_base[bucket])
        ]
        extrapolated = None
        if not informative:
            extrapolated = _extrapolate(
                [x for x in cells if x.bucket == bucket and x.budget == budgets[-1]],
                c,
                delta,
                choices,
                bucket_base[bucket],
            )
        per_bucket[bucket] = {
            "base_error": bucket_base[bucket],
            "by_budget": {str(n): v for n, v in means.items()},
            "non_vacuous_budgets": informative,
            "first_non_vacuous": informative[0] if informative else None,
            "extrapolated_non_vacuous": extrapolated,
        }
    valid = [r["valid"] for r in rows]
    return {
        "experiment": config.name,
        "config_hash": config.hash(),
        "learner": (
            f"subspace k = {config.finetune.subspace}" if config.finetune.subspace else "full"
        ),
        "delta": delta,
        "simultaneous": c.simultaneous,
        "choices": choices,
        "mc_share": c.mc_share,
        "draws": c.draws,
        "validity_draws": c.validity_draws,
        "sigmas": list(c.sigmas),
        "families": list(c.families_for(config.finetune.subspace)),
        "cells": rows,
        "valid_fraction": float(np.mean(valid)),
        "violated_count": int(sum(r["violated"] for r in rows)),
        "mean_gap": float(np.mean([r["certificate"] - r["risk"] for r in rows])),
        "vacuous_fraction": float(np.mean([r["vacuous"] for r in rows])),
        "per_bucket": per_bucket,
    }


def certificates_markdown(summary: dict) -> str:
    """The certificates report: per (bucket, budget) and per cell."""
    s, lines = summary, []
    lines.append(f"# Certificates: {s['experiment']} (config {s['config_hash']})\n")
    scope = (
        f"every cell's δ is the grid's δ over its {len(s['cells'])} cells, so all hold at once"
        if s["simultaneous"]
        else "each cell's certificate holds on its own"
    )
    lines.append(
        f"Learner: {s['learner']}. Each certificate bounds the in-distribution risk of a "
        f"Gaussian posterior Q around the fine-tuned weights (prior: the same Gaussian around "
        f"the pretrained weights), with probability ≥ 1 − δ, δ = {s['delta']:.3g} ({scope}). "
        f"Union bound over {s['choices']} posteriors (σ ∈ {s['sigmas']} × "
        f"{', '.join(s['families'])}); {s['mc_share']:.0%} of δ for the Monte-Carlo step "
        f"(Langford–Caruana, {s['draws']} pairs θ ~ Q with a training example). Measured risk: "
        f"Q on {s['validity_draws']} fresh problems of the bucket (of the target), one θ ~ Q "
        "each; exact 95% intervals. Target test bound: Langford's binomial tail inversion "
        "at δ.\n"
    )
    lines.append("## Summary\n")
    lines.append(
        f"- Valid cells (certificate ≥ measured risk of Q): {s['valid_fraction']:.1%} of "
        f"{len(s['cells'])}; cells whose certificate lies below the measured risk's 95% "
        f"interval: {s['violated_count']}. Mean gap certificate − measured risk: "
        f"{s['mean_gap']:.3f}."
    )
    lines.append(
        f"- Vacuous cells (certificate not below the base's own error in the bucket): "
        f"{s['vacuous_fraction']:.0%}."
    )
    for bucket, b in s["per_bucket"].items():
        if b["first_non_vacuous"] is not None:
            where = (
                f"non-vacuous (below the base's {b['base_error']:.3f}) from n = "
                f"{b['first_non_vacuous']}; at n = " + ", ".join(map(str, b["non_vacuous_budgets"]))
            )
        elif b["extrapolated_non_vacuous"] is not None:
            where = (
                f"vacuous at every budget of the grid (base error {b['base_error']:.3f}); "
                f"**extrapolated** non-vacuous from n ≈ {b['extrapolated_non_vacuous']:,} (median "
                "over seeds) if some candidate posterior's KL and pilot risk stayed at their "
                "values at the largest budget"
            )
        else:
            where = (
                f"vacuous at every budget (base error {b['base_error']:.3f}), and no candidate "
                "posterior would get below it at any n with its KL and pilot risk at the "
                "largest budget"
            )
        lines.append(f"- {bucket}: {where}.")
    lines.append("\n## Per bucket and budget (mean over seeds)\n")
    lines.append(
        "| bucket | n | KL | MC risk | certificate | floor | measured risk | target risk |"
    )
    lines.append("|---|---|---|---|---|---|---|---|")
    for bucket, b in s["per_bucket"].items():
        for n, v in b["by_budget"].items():
            lines.append(
                f"| {bucket} | {n} | {v['kl']:.3g} | {v['mc_risk']:.3f} | "
                f"{v['certificate']:.3f} | {v['floor']:.3f} | {v['risk']:.3f} | "
                f"{v['target_risk']:.3f} |"
            )
    lines.append("\n## Per cell\n")
    lines.append(
        "| bucket | n | seed | Q (family, σ) | KL | certificate | measured risk [95%] | valid "
        "| target risk [95%] | target test bound | network target error (test bound) |"
    )
    lines.append("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in s["cells"]:
        lines.append(
            f"| {r['bucket']} | {r['budget']} | {r['seed']} | {r['family']}, {r['sigma']:g} | "
            f"{r['kl']:.3g} | {r['certificate']:.3f} | {r['risk']:.3f} [{r['risk_low']:.3f}, "
            f"{r['risk_high']:.3f}] | {'yes' if r['valid'] else 'NO'} | {r['target_risk']:.3f} "
            f"[{r['target_low']:.3f}, {r['target_high']:.3f}] | {r['target_test_bound']:.3f} | "
            f"{r['network_target_error']:.3f} ({r['network_target_test_bound']:.3f}) |"
        )
    return "\n".join(lines) + "\n"
