"""The exact experiment: the skill ladder's true optimal difficulty and the theory on it.

Where the transformer experiment measures, this computes. For every sliding bucket of levels
and every budget n, ``draws`` training sets S are drawn (the same random numbers for every
bucket and nested over n, so that differences between cells are paired), and for each:

- the posterior Q_S, its exact KL to the prior and its exact empirical risk R̂_S(Q_S);
- its risk on every level, exact (``pacbound.tasks.skills``), so R_d(Q_S) and R_T(Q_S);
- the same risks averaged over the training answers' noise given the inputs, also exact:
  the target error of a draw is this average, so the only Monte-Carlo error left is the one
  over the training inputs, and it is reported (a paired standard error per budget);
- the kl certificate on R_d(Q_S) at δ, and per shift term the bound on R_T(Q_S).

From these: the true d*(n) (the bucket of least expected target risk) with its band (the
buckets within two paired standard errors of it); whether each certificate and each bound
covers the realized risk of every draw; each shift term's assumption on the exact per-level
risks; the comparative statics of theory/optimal_difficulty.md on the exact terms (is the
KL increasing in difficulty, does the bound have decreasing differences in (d, n)); the
certificate's own d*(n) against the true one; and every predictor of ``pacbound.analysis.predict``
judged on held-out budgets, the same code as for the transformer.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np

from pacbound import inputs
from pacbound.analysis import assumptions, gain, predict
from pacbound.analysis.claims import CLAIMS_SEED, claims_document
from pacbound.analysis.hierarchy import Measured
from pacbound.analysis.optimum import is_inverted_u
from pacbound.analysis.runs import paired_tie_tolerance
from pacbound.analysis.table import (
    certified_bounds,
    informative_mask,
    level_shift_terms,
    level_vector,
)
from pacbound.config import load_file, uniform_weights
from pacbound.inputs import ConfigError, toml_value
from pacbound.numeric.argmin import first_minimum
from pacbound.numeric.bounds import generalization_bound
from pacbound.tasks.skills import SkillLadder


@dataclass(frozen=True)
class ExactConfig:
    name: str
    task: SkillLadder
    width: int  # levels per bucket; buckets slide by one level
    budgets: tuple[int, ...]
    draws: int  # training sets per cell
    target: tuple[int, int]  # the target: uniform over these levels
    seed: int = field(default=0, metadata={"minimum": 0})
    delta: float = 0.05
    bound: str = "kl"
    pretrain_share: float = 0.5  # λ of the coverage term
    # bootstrap resamples of the predictions
    resamples: int = field(default=200, metadata={"minimum": 1})

    def __post_init__(self):
        levels = self.task.levels
        if not 1 <= self.width < levels:
            raise ValueError(f"width = {self.width} is out of range: allowed [1, {levels - 1}]")
        budgets = np.asarray(self.budgets)
        if len(budgets) < 3 or budgets.min() < 1 or np.any(np.diff(budgets) <= 0):
            raise ValueError(
                f"budgets = {list(self.budgets)}: need at least 3 strictly increasing integers "
                "in [1, inf)"
            )
        if self.draws < 2:
            raise ValueError(f"draws = {self.draws} is out of range: allowed [2, inf)")
        low, high = self.target
        if not 1 <= low <= high <= levels:
            raise ValueError(f"target = {list(self.target)} is out of range: levels 1 … {levels}")
        if not 0 < self.delta < 1:
            raise ValueError(f"delta = {self.delta} is out of range: allowed (0, 1)")
        if self.bound not in ("kl", "mcallester"):
            raise ValueError(f"bound = {self.bound!r} is not one of: kl, mcallester")
        if not 0 <= self.pretrain_share <= 1:
            raise ValueError(
                f"pretrain_share = {self.pretrain_share} is out of range: allowed [0, 1]"
            )

    @property
    def buckets(self) -> list[tuple[int, int]]:
        """(first, last) level of each bucket, easiest first."""
        return [(low, low + self.width - 1) for low in range(1, self.task.levels - self.width + 2)]

    @property
    def bucket_names(self) -> tuple[str, ...]:
        return tuple(f"{low}-{high}" for low, high in self.buckets)

    def weights(self) -> dict[str, np.ndarray]:
        """Level weights of the target (K), of every bucket (BxK) and of pretraining (K: the
        skills the base knows)."""
        levels = tuple(range(1, self.task.levels + 1))

        def uniform(low, high):
            return level_vector(uniform_weights(low, high), levels)

        return {
            "target": uniform(*self.target),
            "buckets": np.array([uniform(low, high) for low, high in self.buckets]),
            "pretrain": uniform(1, max(self.task.known, 1)),
        }


def is_exact_file(path: str | Path) -> bool:
    """Whether a preset file describes an exact experiment (``kind = "exact"``)."""
    try:
        return inputs.read_toml(path, "config").get("kind") == "exact"
    except ValueError:
        return False  # the experiment loader reports it


_TABLES = {"grid": ("width", "budgets", "draws", "target", "seed")}
_TABLES["theory"] = ("delta", "bound", "pretrain_share", "resamples")


def load(path: str | Path) -> ExactConfig:
    """The exact experiment of a TOML file; every key is checked (``pacbound.inputs``), an
    error names the file and the line."""
    return load_file(path, from_tables)


def from_tables(raw: dict) -> ExactConfig:
    """The exact experiment of a TOML file's tables; a bad value is a ``ConfigError``."""
    inputs.check_document(raw, ("task", *_TABLES), ("name", "kind"))
    if raw.get("kind") != "exact":
        raise ConfigError(f'kind = {toml_value(raw.get("kind"))}: expected "exact"', None, "kind")
    for needed in ("name", "grid"):
        if needed not in raw:
            raise ConfigError(f"config lacks {needed if needed == 'name' else '[grid]'}")
    inputs.check_name(raw["name"])  # it names the files written (``<name>_model.md``)
    values, every = {}, {f.name for f in fields(ExactConfig)}
    for table, keys in _TABLES.items():
        given = raw.get(table, {})
        inputs.check_table(ExactConfig, given, table, every - set(keys))
        values |= {k: tuple(v) if isinstance(v, list) else v for k, v in given.items()}
    task = inputs.build(SkillLadder, raw.get("task", {}), "task")
    try:
        return ExactConfig(name=raw["name"], task=task, **values)
    except ValueError as error:
        key = str(error).split(" = ")[0]
        table = next((t for t, keys in _TABLES.items() if key in keys), None)
        raise ConfigError(f"[{table}] {error}", table, key) if table else error from None


# --- the grid ------------------------------------------------------------------------------


@dataclass
class Arrays:
    """Every exact quantity of the grid, over (bucket, budget, draw[, level])."""

    kl: np.ndarray  # BxNxR
    train_error: np.ndarray  # BxNxR: R̂_S(Q_S)
    level_risk: np.ndarray  # BxNxRxK: R_k(Q_S)
    noise_averaged_level_risk: np.ndarray  # BxNxRxK: E over the answers' noise given inputs
    damage: np.ndarray  # BxNxR: Ê_S E_Q max(g, 0), g the loss minus the base's
    improvement: np.ndarray  # BxNxR: Ê_S E_Q max(−g, 0)
    base_level_risk: np.ndarray  # K: the prior's (the base, n = 0)


def compute(config: ExactConfig) -> Arrays:
    """The posterior of every draw of every cell and its exact quantities."""
    task, budgets = config.task, np.asarray(config.budgets)
    rng = np.random.default_rng(config.seed)
    shape = (config.draws, int(budgets.max()))
    # One stream of random numbers for every bucket: a bucket maps the uniform u to its own
    # levels, so draw r of two buckets differs only by the levels of its problems.
    z, u, noise = rng.normal(size=(*shape, task.levels)), rng.random(shape), rng.normal(size=shape)
    per_bucket = []
    for low, high in config.buckets:
        level = low + np.floor(u * (high - low + 1)).astype(int)
        x = task.inputs(level, z)
        noise_std = task.noise_std[level - 1]
        y = x @ task.true_weights + noise_std * noise
        gram = np.zeros((config.draws, task.levels, task.levels))
        moment, noise_gram = np.zeros((config.draws, task.levels)), np.zeros_like(gram)
        start, means, covariances, averaged, trains, gains = 0, [], [], [], [], []
        for n in budgets:
            rows = x[:, start:n]
            rows_t = np.swapaxes(rows, 1, 2)
            gram += rows_t @ rows
            moment += (rows_t @ y[:, start:n, None])[..., 0]
            noise_gram += rows_t @ (rows * noise_std[:, start:n, None] ** 2)
            start = n
            mean, covariance = task.posterior(gram, moment)
            means.append(mean)
            covariances.append(covariance)
            averaged.append(task.posterior_over_noise(gram, noise_gram))
            trains.append(task.empirical_risk(mean, covariance, x, y, rows=n))
            gains.append(task.empirical_gain(mean, covariance, x, y, rows=n))
        means, covariances = np.stack(means), np.stack(covariances)
        per_bucket.append(
            {
                "kl": task.kl_to_prior(means, covariances),
                "train_error": np.stack(trains),
                "damage": np.stack([d for d, _ in gains]),
                "improvement": np.stack([i for _, i in gains]),
                "level_risk": task.level_risks(means, covariances),
                "noise_averaged_level_risk": task.level_risks(
                    np.stack([m for m, _ in averaged]), np.stack([c for _, c in averaged])
                ),
            }
        )
    prior = task.prior_std**2 * np.eye(task.levels)
    return Arrays(
        **{key: np.stack([b[key] for b in per_bucket]) for key in per_bucket[0]},
        base_level_risk=task.level_risks(task.pretrained_weights[None], prior[None])[0],
    )


def shift_terms(config: ExactConfig) -> dict[str, np.ndarray]:
    """{term: B values}, exactly from the level weights (``table.level_shift_terms``)."""
    w = config.weights()
    levels = tuple(range(1, config.task.levels + 1))
    return level_shift_terms(
        levels, w["target"], w["pretrain"], w["buckets"], config.pretrain_share
    )


# --- the analysis --------------------------------------------------------------------------


def _paired_band(target_BxNxR: np.ndarray):
    """Per budget: the mean target risk per bucket, the paired standard error of each
    bucket's difference to the best, and the band (buckets within 2 of those errors)."""
    mean = target_BxNxR.mean(-1)
    best = first_minimum(mean)  # N
    draws = target_BxNxR.shape[-1]
    difference = target_BxNxR - target_BxNxR[best, np.arange(len(best))][None]
    se = paired_tie_tolerance(difference.var(-1, ddof=1), draws)
    band = mean - mean[best, np.arange(len(best))][None] <= 2 * se
    return mean, best, se, band


def _cross_differences(values_BxN: np.ndarray) -> np.ndarray:
    """[B(d+1, n') − B(d, n')] − [B(d+1, n) − B(d, n)] for adjacent buckets and budgets:
    ≤ 0 everywhere is decreasing differences, under which d*(n) is non-decreasing (Topkis)."""
    step = np.diff(values_BxN, axis=0)
    return np.diff(step, axis=1)


def _share(mask) -> float:
    return float(np.mean(mask))


def budget_runs(budgets, mask) -> list[list[int]]:
    """Maximal runs of consecutive budgets where ``mask`` holds, as [first, last]."""
    runs, start = [], None
    for i, flag in enumerate(mask):
        if flag and start is None:
            start = i
        if not flag and start is not None:
            runs.append([int(budgets[start]), int(budgets[i - 1])])
            start = None
    if start is not None:
        runs.append([int(budgets[start]), int(budgets[-1])])
    return runs


def exact_runs(
    config: ExactConfig, arrays: Arrays, bounds, informative, certificate=None, base_bucket=None
) -> predict.RunTable:
    """The exact grid as the predictors' input: draws are seeds, paired across cells. With
    the certificates (BxNxR) and the base's risk per bucket, a resample decides which
    certificates are informative from its own draws."""
    w = config.weights()
    return predict.RunTable(
        buckets=config.bucket_names,
        budgets=np.asarray(config.budgets),
        target_error=arrays.noise_averaged_level_risk @ w["target"],
        complexity=arrays.kl,
        complexity_name="KL",
        levels=tuple(range(1, config.task.levels + 1)),
        level_error=arrays.noise_averaged_level_risk,
        base_level_error=arrays.base_level_risk,
        target_weights=w["target"],
        bucket_weights=w["buckets"],
        pretrain_weights=w["pretrain"],
        level_tolerance=0.0,  # per-level risks are exact
        bound=bounds,
        informative=informative,
        certificate=certificate,
        base_bucket_error=base_bucket,
        paired=True,
    )


def analyse(config: ExactConfig, arrays: Arrays) -> tuple[dict, dict]:
    """(result, evaluation): every number of the report, and the predictions' evaluation."""
    w = config.weights()
    names, budgets = config.bucket_names, np.asarray(config.budgets)
    n_BxNxR = np.broadcast_to(budgets[None, :, None].astype(float), arrays.kl.shape)
    certificate = np.asarray(
        generalization_bound(config.bound, arrays.train_error, arrays.kl, n_BxNxR, config.delta)[0]
    )
    in_bucket = np.einsum("bnrk,bk->bnr", arrays.level_risk, w["buckets"])
    realized_target = arrays.level_risk @ w["target"]
    pretrain_risk = arrays.level_risk @ w["pretrain"]
    shifts = shift_terms(config)
    bounds = certified_bounds(certificate, shifts, pretrain_risk, config.pretrain_share)
    base_bucket = w["buckets"] @ arrays.base_level_risk
    base_target = float(w["target"] @ arrays.base_level_risk)
    gains = gain.certificates(
        arrays.damage, arrays.improvement, arrays.train_error, arrays.kl, n_BxNxR, config.delta
    )
    # The certified gain as a bound on R_T: the base's exact target risk (data-free) plus
    # the target mass inside × the split-kl gain certificate, outside levels assumed not to lose.
    bounds["gain (no harm)"] = base_target + gain.no_harm_gain(
        gains["split-kl"], w["buckets"], w["target"]
    )
    informative = informative_mask(certificate.mean(-1), base_bucket)
    table = exact_runs(config, arrays, bounds, informative, certificate, base_bucket)
    mean, best, se, band = _paired_band(table.target_error)
    truth = {
        "d_star": [names[b] for b in best],
        "band": [[names[b] for b in np.flatnonzero(band[:, i])] for i in range(len(budgets))],
        "mean": mean.tolist(),
        "paired_se": se.tolist(),
        "max_paired_se": float(se.max()),
        "inverted_u": [is_inverted_u(int(best[i]), band[:, i]) for i in range(len(budgets))],
        "moves": [
            {"budget": int(budgets[i]), "from": names[best[i - 1]], "to": names[best[i]]}
            for i in range(1, len(budgets))
            if best[i] != best[i - 1]
        ],
        "monotone": bool(np.all(np.diff(best) >= 0)),
        "tie_tolerance": table.tolerance,
        "base_target_risk": base_target,
    }
    coverage = {
        "certificate": _share_per_cell(certificate >= in_bucket),
        **{term: _share_per_cell(bounds[term] >= realized_target) for term in bounds},
    }
    margin = certificate - in_bucket
    certificates = {
        "bound": config.bound,
        "delta": config.delta,
        "mean_certificate": certificate.mean(-1).tolist(),
        "mean_in_bucket_risk": in_bucket.mean(-1).tolist(),
        "coverage_min": {k: v["min"] for k, v in coverage.items()},
        "smallest_margin": float(margin.min()),
        "informative": informative.tolist(),
        "base_bucket_risk": base_bucket.tolist(),
        "mean_kl": arrays.kl.mean(-1).tolist(),
        "mean_train_error": arrays.train_error.mean(-1).tolist(),
    }
    statics = _comparative_statics(
        arrays.kl.mean(-1), {t: b.mean(-1) for t, b in bounds.items()}, mean
    )
    bound_optimum = {}
    for term, values in bounds.items():
        chosen = first_minimum(values.mean(-1))
        value = values.mean(-1)[chosen, np.arange(len(budgets))]
        in_band = band[chosen, np.arange(len(budgets))]
        bound_optimum[term] = {
            "d_star": [names[b] for b in chosen],
            "in_band": in_band.tolist(),
            "tracks": budget_runs(budgets, in_band),
            "distance": (chosen - best).tolist(),
            "regret": (
                mean[chosen, np.arange(len(budgets))] - mean[best, np.arange(len(budgets))]
            ).tolist(),
            "bound_at_choice": value.tolist(),
            "non_vacuous": budget_runs(budgets, value < 1),
            "below_base": budget_runs(budgets, value < base_target),
        }
    large = max(len(budgets) - 5, len(budgets) // 2)  # the large budget of the figures
    shown = sorted({len(budgets) // 6, len(budgets) // 2 - 1, large})
    diagnosis = {
        int(budgets[i]): {
            "in_bucket_risk": in_bucket[:, i].mean(-1).tolist(),
            "target_risk": mean[:, i].tolist(),
            "certificate": certificate[:, i].mean(-1).tolist(),
            "bound": {t: b[:, i].mean(-1).tolist() for t, b in bounds.items()},
        }
        for i in shown
    }
    gain_summary = gain.summarize(
        names, budgets, gains, in_bucket - base_bucket[:, None, None], config.delta
    )
    pilots = np.arange(len(budgets)) < predict.far_pilot_count(predict.HEADLINE, len(budgets))
    gain_summary["target"] = gain.target_summary(
        names,
        budgets,
        {**gains, "risk": certificate},
        arrays.level_risk - arrays.base_level_risk,
        w,
        band,
        pilots,
    )
    evaluation = predict.evaluate(table, resamples=config.resamples, seed=config.seed)
    checks = assumptions.check(table)
    result = {
        "experiment": config.name,
        "task": {f.name: getattr(config.task, f.name) for f in fields(SkillLadder)},
        "noise_std": config.task.noise_std.tolist(),
        "pretrained_weights": config.task.pretrained_weights.tolist(),
        "buckets": list(names),
        "budgets": budgets.tolist(),
        "draws": config.draws,
        "target": list(config.target),
        "base_level_risk": arrays.base_level_risk.tolist(),
        "truth": truth,
        "shift_terms": {t: v.tolist() for t, v in shifts.items()},
        "certificates": certificates,
        "coverage": coverage,
        "assumptions": checks,
        "comparative_statics": statics,
        "bound_optimum": bound_optimum,
        "gain": gain_summary,
        "diagnosis": diagnosis,
        "bound_landscape": {t: {"mean": b.mean(-1).tolist()} for t, b in bounds.items()},
        "level_risk_mean": arrays.noise_averaged_level_risk.mean(2).tolist(),
        "level_risk_budgets": [int(budgets[max(len(budgets) // 4 - 1, 0)]), int(budgets[large])],
        "predictions": _prediction_summary(evaluation),
    }
    return result, evaluation


def _share_per_cell(mask_BxNxR) -> dict:
    per_cell = mask_BxNxR.mean(-1)
    return {"min": float(per_cell.min()), "all": bool(mask_BxNxR.all())}


def _comparative_statics(kl_BxN, bounds: dict, truth_BxN) -> dict:
    """The conditions of theory/optimal_difficulty.md on the exact (draw-mean) terms."""
    kl_up = np.diff(kl_BxN, axis=0) >= 0
    out = {
        "kl_increasing": {
            "share": _share(kl_up),
            "pairs": int(kl_up.size),
            "decreasing_at": [[int(b), int(i)] for b, i in np.argwhere(~kl_up)][:10],
        }
    }
    for name, values in {**bounds, "true risk": truth_BxN}.items():
        cross = _cross_differences(values)
        out[f"decreasing_differences: {name}"] = {
            "share": _share(cross <= 0),
            "pairs": int(cross.size),
            "largest_violation": float(cross.max()),
            "d_star_monotone": bool(np.all(np.diff(first_minimum(values)) >= 0)),
        }
    return out


def _prediction_summary(evaluation: dict) -> dict:
    """Per protocol: every predictor's regret with its interval (``pacbound.report.exact``
    puts the verdict in words before it)."""
    out = {}
    for protocol, data in evaluation["protocols"].items():
        out[protocol] = {
            "regret": {
                name: {
                    "kind": row["kind"],
                    "regret": row["regret_all"],
                    "interval": row["interval"].get("regret_all"),
                    "exact": row["exact"],
                }
                for name, row in data["predictors"].items()
            },
        }
    return out


def run(config: ExactConfig, say=None) -> tuple[dict, dict, dict, dict]:
    """The whole exact experiment: (result, evaluation, claims, seconds of each stage). The
    report holds no timings, so that rerunning it changes no committed file. ``say`` (e.g. a
    status line) hears each stage as it starts."""
    say = say or (lambda line: None)
    started = time.perf_counter()
    say(f"{config.name}: computing the exact risks of the grid…")
    arrays = compute(config)
    computed = time.perf_counter()
    say(f"{config.name}: analysing them (bounds, predictors, claims)…")
    result, evaluation = analyse(config, arrays)
    rng = np.random.default_rng(CLAIMS_SEED)
    claims = claims_document(config.name, measured(config, arrays), config.width, rng, 1)
    seconds = {"grid": computed - started, "analysis": time.perf_counter() - computed}
    return result, evaluation, claims, seconds


def measured(config: ExactConfig, arrays: Arrays) -> Measured:
    """The exact risks as the claims read them: one base, one "seed" per cell holding its
    expected risk per level (the mean over its training-set draws, each exact), so nothing
    is resampled and every interval has width 0."""
    w = config.weights()
    return Measured(
        buckets=config.bucket_names,
        budgets=tuple(config.budgets),
        draws=(0,),
        levels=tuple(range(1, config.task.levels + 1)),
        level_error=arrays.level_risk.mean(axis=2)[None, :, :, None, :],
        base_level_error=arrays.base_level_risk[None],
        train_error=arrays.train_error.mean(axis=2)[None, :, :, None],
        target_weights=w["target"],
        bucket_weights=w["buckets"],
    )
