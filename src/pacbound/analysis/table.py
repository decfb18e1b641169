"""A stored experiment as arrays over (bucket, budget, seed), and what is exact about it.

``cell_arrays`` turns the store's cells into a ``CellArrays`` (target and per-level errors,
the certificate where one was stored, the certified bound per shift term); ``runs_from_arrays``
and ``runs_from_report`` turn those, or a committed report, into the predictors' ``RunTable``.
The shift terms, the certificate floors, the base's error per bucket and which certificates
are informative are computed here once, for the comparison, the certificate summary and the
exact model alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from pacbound.analysis.committed import check_report
from pacbound.analysis.gain import (
    held_out_gain_certificate,
    no_harm_gain,
    risk_certificate_at_half_delta,
)
from pacbound.analysis.runs import (  # noqa: F401 (re-exported: the informative predicate)
    DISAGREEMENT_TERMS,
    RunTable,
    certificate_informative,
    informative_mask,
)
from pacbound.config import ExperimentConfig, uniform_weights
from pacbound.numeric.bounds import certificate_floor, generalization_bound
from pacbound.numeric.lower import lower_to_numpy
from pacbound.numeric.shift import coverage_tv, tv_between_levels, upward_shift, wasserstein1_levels
from pacbound.store import Cell
from pacbound.symbolic import agreement
from pacbound.tasks.base import allocation_distance, cell_seed, mixture_error

SHIFT_TERMS = ("tv", "coverage", "w1", "upward")

_level_tolerance = lower_to_numpy(agreement.level_tolerance, ("test_size", "seeds"))


@dataclass(frozen=True)
class CellArrays:
    """Cells as arrays over (bucket, budget, seed), buckets ordered by difficulty."""

    buckets: tuple[str, ...]
    budgets: tuple[int, ...]
    seeds: tuple[int, ...]
    target_error: np.ndarray  # BxNxS
    level_error: np.ndarray  # BxNxSxK, K the task's levels
    certificate: np.ndarray | None  # BxNxS: the certified bound on R_d(Q); None: none stored
    # (the certificate on the cell's allocated sample plus its ``allocation_gap``)
    informative: np.ndarray | None  # BxN: the seed-mean certificate is informative
    bound: dict[str, np.ndarray]  # shift term -> BxNxS (certificate + shift)
    terms: dict[str, np.ndarray]  # measured errors, certificate, each shift: BxNxS
    base_bucket_error: np.ndarray  # B: the base's error on each bucket's mixture of levels

    @property
    def mean_target_error(self) -> np.ndarray:
        return self.target_error.mean(axis=-1)


def level_vector(weights: dict[int, Fraction], levels: tuple[int, ...]) -> np.ndarray:
    return np.array([float(weights.get(k, 0)) for k in levels])


def pretrain_level_weights(config: ExperimentConfig) -> np.ndarray:
    """The pretraining mixture over the task's levels; the solvable task's base knows its
    first level exactly."""
    levels = config.levels
    low, high = config.pretrain.levels if config.pretrain else (levels[0], levels[0])
    return level_vector(uniform_weights(low, high), levels)


def level_shift_terms(levels, target, pretrain, buckets_BxK, share) -> dict[str, np.ndarray]:
    """{term: B values}, exactly from level weights: the target's and pretraining's (K) and
    each bucket's (BxK); W₁ on the levels rescaled to [0, 1]."""
    unit = (np.array(levels, float) - levels[0]) / max(levels[-1] - levels[0], 1)
    terms: dict[str, list[float]] = {t: [] for t in SHIFT_TERMS}
    for train in buckets_BxK:
        terms["tv"].append(float(tv_between_levels(target, train)))
        terms["coverage"].append(float(coverage_tv(target, pretrain, train, share)))
        terms["w1"].append(float(wasserstein1_levels(target, train, unit)))
        terms["upward"].append(float(upward_shift(target, train)))
    return {term: np.array(values) for term, values in terms.items()}


def shift_terms(config: ExperimentConfig) -> dict[str, dict[str, float]]:
    """{term: {bucket: value}}, exactly from the level weights of target and buckets."""
    levels = config.levels
    buckets = config.grid.buckets
    terms = level_shift_terms(
        levels,
        level_vector(config.grid.target_weights(), levels),
        pretrain_level_weights(config),
        [level_vector(bucket.weights(), levels) for bucket in buckets],
        config.compare.pretrain_share,
    )
    return {t: by_name([b.name for b in buckets], values) for t, values in terms.items()}


def cell_arrays(config: ExperimentConfig, cells: list[Cell], base: dict) -> CellArrays:
    """The cells as arrays; ``base``: the base model's error per level (as stored; with
    several base draws, their mean). With several draws the seed axis runs over every
    (draw, seed), draw by draw, so that means over it pool draws and seeds alike."""
    by_key = {(c.bucket, c.budget, _run(c, config)): c.record for c in cells}
    buckets = tuple(b.name for b in config.grid.buckets)  # in difficulty order
    budgets, seeds = tuple(sorted(config.grid.budgets)), runs_of(config)
    missing = [
        k for k in ((b, n, s) for b in buckets for n in budgets for s in seeds) if k not in by_key
    ]
    if missing:
        raise ValueError(
            f"the store lacks {len(missing)} cells, e.g. {missing[0]}: finish the sweep first"
        )
    shape = (len(buckets), len(budgets), len(seeds))
    keys = [(b, n, s) for b in buckets for n in budgets for s in seeds]

    def gather(field, part=None):
        """field of every cell's record (of its ``part``, e.g. the certificate) as BxNxS."""
        records = [by_key[k] for k in keys]
        return np.array([(r if part is None else r[part])[field] for r in records], float).reshape(
            shape
        )

    train_error, target_error = gather("train_error"), gather("target_error")
    level_error = np.array(
        [
            [by_key[(b, n, s)]["level_errors"][str(k)] for k in config.levels]
            for b in buckets
            for n in budgets
            for s in seeds
        ],
        float,
    ).reshape(*shape, len(config.levels))
    n = np.broadcast_to(np.array(budgets, float)[None, :, None], shape)
    terms = {
        "train_error": train_error,
        "in_distribution_error": gather("in_distribution_error"),
    }
    if all("sq_distance" in r for r in by_key.values()):
        terms["sq_distance"] = gather("sq_distance")
    certificate = informative = half_delta = None
    if config.task.exact_risks:
        # Exact KL and exact empirical risk of the Bayesian posterior: the kl bound is exact.
        certificate = np.asarray(
            generalization_bound(
                config.compare.bound, train_error, gather("kl"), n, config.compare.delta
            )[0]
        )
        terms["kl"] = gather("kl")
    elif all("certificate" in r for r in by_key.values()):
        certificate = gather("certificate", part="certificate")
        terms["kl"] = gather("kl", part="certificate")
        # The same certificate at δ/2, for the gain over the base (where its parts are stored).
        if all("mc_risk" in r["certificate"] for r in by_key.values()):
            half_delta = risk_certificate_at_half_delta(
                gather("mc_risk", part="certificate"),
                terms["kl"],
                n,
                gather("delta", part="certificate"),
                gather("choices", part="certificate"),
                config.certify,
            )
        if all("in_distribution" in by_key[k]["certificate"] for k in keys):
            terms["in_bucket_risk"] = np.array(
                [by_key[k]["certificate"]["in_distribution"]["risk"] for k in keys], float
            ).reshape(shape)
        for which in ("near", "certified"):
            for kind in ("teacher_forced", "label_free"):
                values = [
                    by_key[k]["certificate"].get("disagreement", {}).get(which, {}).get(kind)
                    for k in keys
                ]
                if all(v is not None for v in values):
                    name = f"disagreement_{which}_{kind}"
                    terms[name] = np.array(values, float).reshape(shape)
    bound = {}
    base_bucket = np.array([bucket_base_error(config, base, b) for b in buckets])
    if certificate is not None:
        # The sample holds fixed counts per level, so the bound certifies the allocated
        # mixture; its TV to the bucket's mixture makes it a bound on R_d (theory/bounds.md).
        draws_seeds = [r if isinstance(r, tuple) else (config.base_seeds[0], r) for *_, r in keys]
        gap = np.array(
            [
                allocation_gap(config, b, n, seed, draw)
                for (b, n, _), (draw, seed) in zip(keys, draws_seeds, strict=True)
            ]
        ).reshape(shape)
        certificate = np.minimum(1.0, certificate + gap)
        terms["allocation_gap"] = gap
        terms["certificate"] = certificate
        informative = informative_mask(certificate.mean(axis=-1), base_bucket)
        values = shift_terms(config)
        shifts = {term: np.array([values[term][b] for b in buckets]) for term in SHIFT_TERMS}
        for term in SHIFT_TERMS:
            terms[term] = np.broadcast_to(shifts[term][:, None, None], shape)
        terms["pretrain_error"] = level_error @ pretrain_level_weights(config)
        bound = certified_bounds(
            certificate, shifts, terms["pretrain_error"], config.compare.pretrain_share
        )
        if half_delta is not None:
            bound["gain (no harm)"] = _gain_no_harm(
                config,
                np.asarray(half_delta) + gap,
                base_bucket,
                gather("delta", part="certificate"),
            )
    return CellArrays(
        buckets,
        budgets,
        seeds,
        target_error,
        level_error,
        certificate,
        informative,
        bound,
        terms,
        base_bucket,
    )


def allocation_gap(config: ExperimentConfig, bucket: str, budget: int, seed: int, draw: int):
    """TV between a bucket's level weights and the level proportions of the sample the
    sweep drew for one cell (of base draw ``draw``)."""
    weights = next(b for b in config.grid.buckets if b.name == bucket).weights()
    return allocation_distance(weights, budget, cell_seed(bucket, budget, seed, draw))


def _gain_no_harm(config: ExperimentConfig, risk_certificate_half_delta, base_bucket, delta):
    """BxNxS: the certified target gain over the base under "no harm" (levels outside the
    bucket gain at most 0): target mass inside × the bucket's gain certificate, a risk
    certificate at δ/2 less a lower bound at δ/2 on the base's bucket risk from its held-out
    problems (theory/bounds.md, "The gain over the base"). With several base draws the
    base's error is their mean, so this ranks buckets for a predictor; the certificate
    report gives each cell's bound against its own draw."""
    fields = _level_fields(config, 1)
    trials = (config.grid.test_size * (fields["bucket_weights"] > 0).sum(axis=1))[:, None, None]
    gain = held_out_gain_certificate(
        risk_certificate_half_delta, base_bucket[:, None, None], trials, delta
    )
    return no_harm_gain(gain, fields["bucket_weights"], fields["target_weights"])


def runs_of(config: ExperimentConfig) -> tuple:
    """The runs of a cell position: its seeds, or (draw, seed) pairs over several draws."""
    if len(config.base_seeds) == 1:
        return tuple(config.grid.seeds)
    return tuple((d, s) for d in config.base_seeds for s in config.grid.seeds)


def _run(cell: Cell, config: ExperimentConfig):
    return cell.seed if len(config.base_seeds) == 1 else (cell.base, cell.seed)


def certified_bounds(certificate, shifts_B: dict, pretrain_error, share: float) -> dict:
    """{term: certificate + shift} over BxNx… arrays, one per shift term, with the coverage
    theorem's own form: R_T ≤ λ·R_pre(Q) + (1 − λ)·R_d(Q) + coverage TV, R_pre measured on
    the pretraining levels (``pretrain_error``, the shape of ``certificate``)."""
    expand = (slice(None),) + (None,) * (np.ndim(certificate) - 1)
    bounds = {term: certificate + shift[expand] for term, shift in shifts_B.items()}
    bounds["coverage"] = (
        share * pretrain_error + (1 - share) * certificate + shifts_B["coverage"][expand]
    )
    return bounds


def bucket_base_error(config: ExperimentConfig, base: dict, bucket: str) -> float:
    """The base model's own error on a bucket's mixture of levels."""
    weights = next(b for b in config.grid.buckets if b.name == bucket).weights()
    return mixture_error({int(k): float(v) for k, v in base.items()}, weights)


def certificate_floors(config: ExperimentConfig, budgets) -> dict[str, list[float]]:
    """Per budget, the least any certificate can say (KL = 0, zero empirical risk): the
    certify module's (its δ share, union bound and Monte-Carlo step) and the bare kl bound
    at δ (no choices, exact empirical risk)."""
    c, budgets = config.certify, np.asarray(budgets, float)
    bare, _ = generalization_bound("kl", 0.0, 0.0, budgets, c.delta)
    floors = {"kl_bound": np.asarray(bare).tolist()}
    if c.enabled:
        choices = c.choices(config.finetune.subspace)
        delta = c.cell_delta(len(config.cells))
        floors["certificate"] = [
            float(certificate_floor(c.draws, n, delta, choices, c.mc_share)) for n in budgets
        ]
    return floors


def level_tolerance(config: ExperimentConfig, seeds: int) -> float:
    """Two standard deviations of a difference of two per-level seed means under the
    worst-case binomial variance (¼ per problem); 0 when the task's risks are exact."""
    if config.task.exact_risks:
        return 0.0
    return float(_level_tolerance(config.grid.test_size, seeds))


def _level_fields(config: ExperimentConfig, seeds: int) -> dict:
    """The RunTable fields that come from the config's levels."""
    levels = config.levels
    return {
        "levels": tuple(levels),
        "target_weights": level_vector(config.grid.target_weights(), levels),
        "bucket_weights": np.array(
            [level_vector(b.weights(), levels) for b in config.grid.buckets]
        ),
        "pretrain_weights": pretrain_level_weights(config),
        "level_tolerance": level_tolerance(config, seeds),
    }


def runs_from_arrays(
    config: ExperimentConfig, table: CellArrays, base: dict, outcomes=None
) -> RunTable:
    """The comparison's table as the predictors' input; ``outcomes``: the experiment's
    ``hierarchy.Measured``, whose held-out outcomes (when stored) its resamples draw from."""
    levels = config.levels
    wrong = base_wrong = None
    if outcomes is not None and outcomes.wrong is not None:
        draws, buckets, budgets, seeds = outcomes.wrong.shape[:4]
        # DxBxNxS… to BxNx(D·S)…: the runs draw by draw, as ``runs_of`` orders them.
        runs = np.moveaxis(outcomes.wrong, 0, 2)
        wrong = runs.reshape(buckets, budgets, draws * seeds, *runs.shape[4:])
        base_wrong = outcomes.base_wrong
    term, name = config.task.complexity
    return RunTable(
        buckets=table.buckets,
        budgets=np.array(table.budgets),
        target_error=table.target_error,
        complexity=table.terms.get(term),
        complexity_name=name,
        level_error=table.level_error,
        base_level_error=np.array([float(base.get(str(k), base.get(k))) for k in levels]),
        **_level_fields(config, len(table.seeds)),
        bound=table.bound,
        informative=table.informative,
        certificate=table.certificate,
        base_bucket_error=table.base_bucket_error,
        draws=len(config.base_seeds),
        disagreement={
            kind: table.terms[stored]
            for kind, stored in DISAGREEMENT_TERMS.items()
            if stored in table.terms
        },
        in_bucket_risk=table.terms.get("in_bucket_risk"),
        wrong=wrong,
        base_wrong=base_wrong,
    )


def runs_from_report(result: dict, config: ExperimentConfig, seed_means: bool = False) -> RunTable:
    """A committed report's runs as the predictors' input: its per-seed target errors and
    its per-level errors (seed means), with the level weights of its config. ``seed_means``:
    also every other input the report holds as seed means (BxNx1, which a resample keeps
    as they are; ``pacbound.analysis.committed``): the weights' complexity, each certified
    bound with whether it is informative, the disagreements and the certified Q's bucket
    risk, so that every predictor the store had gets its point values. The report's shape
    is checked first (``check_report``: a ``ValueError`` naming the field)."""
    check_report(result, config)
    buckets, levels = tuple(result["buckets"]), config.levels
    rows = result["per_budget"]
    target = np.array([[r["target_error_seeds"][b] for r in rows] for b in buckets], float)
    level_error = np.array(
        [[[r["level_errors"][b][str(k)] for k in levels] for r in rows] for b in buckets], float
    )[:, :, None, :]
    base = rows[0]["level_errors"]["base"]
    extra = _seed_means(result, config) if seed_means else {}
    return RunTable(
        buckets=buckets,
        budgets=np.array(result["budgets"]),
        target_error=target,
        level_error=level_error,
        base_level_error=np.array([float(base[str(k)]) for k in levels]),
        **_level_fields(config, len(result["seeds"])),
        draws=len(config.base_seeds),
        **extra,
    )


def _seed_means(result: dict, config: ExperimentConfig) -> dict:
    """The RunTable fields a report holds as seed means (BxNx1), as ``runs_from_arrays``
    takes them from the store's runs."""
    buckets, rows = result["buckets"], result["per_budget"]
    terms = result.get("mean_terms", {})

    def term(name):
        return np.array(terms[name], float)[:, :, None] if name in terms else None

    fields = {}
    stored, name = config.task.complexity
    complexity = term(stored)
    if complexity is not None:
        fields["complexity"] = complexity
        fields["complexity_name"] = name
    bounds = list(rows[0].get("bound", {}))
    if bounds:
        fields["bound"] = {
            t: np.array([[r["bound"][t][b] for r in rows] for b in buckets], float)[:, :, None]
            for t in bounds
        }
        fields["informative"] = np.array(
            [[r["certificate_informative"][b] for r in rows] for b in buckets], bool
        )
    fields["disagreement"] = {
        kind: term(stored) for kind, stored in DISAGREEMENT_TERMS.items() if stored in terms
    }
    fields["in_bucket_risk"] = term("in_bucket_risk")
    return fields


def by_name(names, values) -> dict:
    return dict(zip(names, np.asarray(values).tolist(), strict=True))
