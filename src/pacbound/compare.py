"""Predicted against measured optimal difficulty, from the store.

Measured (``pacbound.optimum``): at each budget, the not-fine-tuned base beside the buckets;
the bucket with the lowest target error (mean over seeds) with an unpaired bootstrap over
seeds (cells in different buckets are independent), per-seed argmin counts, each bucket's
gain over the base with its interval and an exact sign-flip p-value, the probability that an
interior bucket is optimal (the inverted U), the switch budget (from which the hardest bucket
stays optimal) with its bootstrap distribution, and the trend of the optimum with n with an
exact permutation p-value.

Certified bound: at each budget, the argmin over buckets of a two-gap bound whose
in-distribution part is a certificate of a predictor that exists, one per shift term:

    B(cell) = certificate of R_d(Q) + shift(target, bucket)

(for ``coverage``, λ·R_pre + (1 − λ)·certificate + coverage TV, as its theorem states, with
R_pre the measured error on the pretraining levels). For the language tasks the certificate
is ``pacbound.certify``'s (a Gaussian posterior Q around the fine-tuned weights, its
empirical risk by Monte Carlo, every choice paid for by a union bound); an experiment
without certificates gets none. For the solvable task Q is the exact Bayesian posterior and
both its KL and its empirical risk are exact, so the kl bound at the config's δ is its
certificate. A bucket whose certificate (mean over seeds) is not below 1 and below the
base's own error in the bucket predicts nothing; a budget where every bucket is so is "no
prediction", never a tie broken by rule. The floor of the certificate (KL = 0, zero
empirical risk) is reported per budget. The shift terms, exact from the level weights:

- ``tv``: TV(target, bucket);
- ``coverage``: TV(target, λ·pretraining + (1 − λ)·bucket), λ = ``pretrain_share``;
- ``w1``: W₁ over levels rescaled to [0, 1] (the bound for risk 1-Lipschitz across the
  whole range of levels);
- ``upward``: the one-sided shift (valid when per-level risk rises with the level).

Whether the bound, or anything else, tracks the measured optimum is ``pacbound.predict``'s
question: the certified bound is one of its predictors, judged beside the theory-shaped
fit, the target disagreement and the baselines on held-out budgets; each shift term's
assumption is checked on the measured per-level errors (``pacbound.assumptions``). The
report carries their verdicts; ``<name>_predictions.md`` every number.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from pacbound import assumptions, optimum, predict
from pacbound.certify import certificate_vacuous
from pacbound.config import ExperimentConfig, uniform_weights
from pacbound.measure import mixture_error
from pacbound.numeric.bounds import certificate_floor, generalization_bound
from pacbound.numeric.lower import lower_to_numpy
from pacbound.numeric.shift import coverage_tv, tv_between_levels, upward_shift, wasserstein1_levels
from pacbound.store import Cell
from pacbound.symbolic import agreement

SHIFT_TERMS = ("tv", "coverage", "w1", "upward")

_level_tolerance = lower_to_numpy(agreement.level_tolerance, ("test_size", "seeds"))


@dataclass(frozen=True)
class Table:
    """Cells as arrays over (bucket, budget, seed), buckets ordered by difficulty."""

    buckets: tuple[str, ...]
    budgets: tuple[int, ...]
    seeds: tuple[int, ...]
    target_error: np.ndarray  # BxNxS
    level_error: np.ndarray  # BxNxSxK, K the task's levels
    certificate: np.ndarray | None  # BxNxS: the certified bound on R_d(Q); None: none stored
    informative: np.ndarray | None  # BxN: the seed-mean certificate below 1 and the base
    bound: dict[str, np.ndarray]  # shift term -> BxNxS (certificate + shift)
    terms: dict[str, np.ndarray]  # measured errors, certificate, each shift: BxNxS

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
    return {t: _named([b.name for b in buckets], values) for t, values in terms.items()}


def build_table(config: ExperimentConfig, cells: list[Cell], base: dict) -> Table:
    """The cells as arrays; ``base``: the base model's error per level (as stored)."""
    by_key = {(c.bucket, c.budget, c.seed): c.record for c in cells}
    buckets = tuple(b.name for b in config.grid.buckets)  # in difficulty order
    budgets, seeds = tuple(sorted(config.grid.budgets)), tuple(config.grid.seeds)
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
    certificate = informative = None
    if config.task_kind == "solvable":
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
    if certificate is not None:
        terms["certificate"] = certificate
        base_bucket = np.array([bucket_base_error(config, base, b) for b in buckets])
        mean = certificate.mean(axis=-1)
        informative = np.array(
            [
                [not certificate_vacuous(v, base_bucket[i]) for v in row]
                for i, row in enumerate(mean)
            ]
        )
        share = config.compare.pretrain_share
        for term, values in shift_terms(config).items():
            shift = np.broadcast_to(np.array([values[b] for b in buckets])[:, None, None], shape)
            terms[term] = shift
            bound[term] = certificate + shift
        # The coverage theorem: R_T ≤ λ·R_pre(Q) + (1 − λ)·R_d(Q) + coverage TV, with R_pre
        # measured on the pretraining levels.
        terms["pretrain_error"] = level_error @ pretrain_level_weights(config)
        bound["coverage"] = (
            share * terms["pretrain_error"] + (1 - share) * certificate + terms["coverage"]
        )
    return Table(
        buckets, budgets, seeds, target_error, level_error, certificate, informative, bound, terms
    )


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


def is_inverted_u(accuracy: np.ndarray) -> bool:
    """True when the best bucket is an interior one, strictly above both end buckets."""
    best = int(np.argmax(accuracy))
    return bool(0 < best < len(accuracy) - 1 and accuracy[best] > max(accuracy[0], accuracy[-1]))


def level_tolerance(config: ExperimentConfig, seeds: int) -> float:
    """Two standard deviations of a difference of two per-level seed means under the
    worst-case binomial variance (¼ per problem); 0 when risks are exact (solvable)."""
    if config.task_kind == "solvable":
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


def run_table(config: ExperimentConfig, table: Table, base: dict) -> predict.RunTable:
    """The comparison's table as the predictors' input."""
    levels = config.levels
    solvable = config.task_kind == "solvable"
    complexity = table.terms.get("kl" if solvable else "sq_distance")
    return predict.RunTable(
        buckets=table.buckets,
        budgets=np.array(table.budgets),
        target_error=table.target_error,
        complexity=complexity,
        complexity_name="KL" if solvable else "‖θ − θ_pre‖²",
        level_error=table.level_error,
        base_level_error=np.array([float(base.get(str(k), base.get(k))) for k in levels]),
        **_level_fields(config, len(table.seeds)),
        bound=table.bound,
        informative=table.informative,
        disagreement={
            kind: table.terms[f"disagreement_{name}"]
            for kind, name in (
                ("label_free", "near_label_free"),
                ("teacher_forced", "near_teacher_forced"),
                ("certified", "certified_teacher_forced"),
            )
            if f"disagreement_{name}" in table.terms
        },
        in_bucket_risk=table.terms.get("in_bucket_risk"),
    )


def _named(names, values) -> dict:
    return dict(zip(names, np.asarray(values).tolist(), strict=True))


def schedule_text(config: ExperimentConfig) -> str:
    """The fine-tuning step policy in words, with the steps it gives each budget."""
    f = config.finetune
    steps = ", ".join(f"{n}: {f.steps_for(n)}" for n in sorted(config.grid.budgets))
    if f.schedule == "fixed":
        policy = f"fixed: {f.steps} steps at every budget"
    else:
        policy = (
            f"epochs: ceil({f.epochs:g}·n/{f.batch}) steps of batch {f.batch}, "
            f"at least {f.min_steps}, at most {f.steps}"
        )
    return f"{policy}; learning rate {f.learning_rate:g} (steps per n: {steps})"


def compare(config: ExperimentConfig, cells: list[Cell], base: dict, seed: int = 0) -> dict:
    """Every number of the comparison, as a JSON-serialisable dict. ``base``: the base
    model's error per level (keys as stored, str or int)."""
    table = build_table(config, cells, base)
    base_levels = {int(k): float(v) for k, v in base.items()}
    base_target = mixture_error(base_levels, config.grid.target_weights())
    measured_optimum = optimum.measure_optimum(
        table.target_error, base_target, table.budgets, np.random.default_rng(seed)
    )
    m = measured_optimum
    buckets, budgets = table.buckets, table.budgets
    runs = run_table(config, table, base)
    checks = assumptions.check(runs)
    evaluation = predict.evaluate(runs, seed=seed) if len(budgets) > 1 else None
    floors = certificate_floors(config, budgets)
    per_budget = []
    for i, n in enumerate(budgets):
        errors = m.mean_BxN[:, i]
        better = [b for b, p in zip(buckets, m.better_p_NxB[i], strict=True) if p <= 0.05]
        worse = [b for b, p in zip(buckets, m.worse_p_NxB[i], strict=True) if p <= 0.05]
        row = {
            "budget": n,
            "steps": int(config.finetune.steps_for(n)),
            "base_target_error": base_target,
            "target_error": _named(buckets, errors),
            "target_error_seeds": _named(buckets, table.target_error[:, i, :]),
            "in_distribution_error": _named(
                buckets, table.terms["in_distribution_error"][:, i].mean(axis=-1)
            ),
            "base_in_distribution_error": {b: bucket_base_error(config, base, b) for b in buckets},
            "measured_optimum": buckets[int(m.optimum_N[i])],
            # The buckets within the tie tolerance (the seeds' noise) of the lowest error.
            "measured_tied": [
                b
                for b, t in zip(buckets, optimum.tied_minima(errors, runs.tolerance), strict=True)
                if t
            ],
            "bootstrap_frequency": _named(buckets, m.frequency_NxB[i]),
            "per_seed_argmin_counts": _named(buckets, m.seed_counts_NxB[i]),
            "inverted_u": is_inverted_u(1 - errors),
            "interior_probability": float(m.interior_N[i]),
            "gain_over_base": _named(buckets, m.gain_NxB[i]),
            "gain_interval": {
                b: [float(lo), float(hi)]
                for b, lo, hi in zip(buckets, m.gain_low_NxB[i], m.gain_high_NxB[i], strict=True)
            },
            "better_than_base_p": _named(buckets, m.better_p_NxB[i]),
            "worse_than_base_p": _named(buckets, m.worse_p_NxB[i]),
            "some_bucket_beats_base_p": float(m.any_better_p_N[i]),
            "buckets_better_than_base": better,
            "buckets_worse_than_base": worse,
            "best_arm_frequency": _named((*buckets, "base"), m.best_arm_frequency_NxA[i]),
            "level_errors": {
                "base": {str(k): base_levels[k] for k in config.levels},
                **{
                    b: _named(map(str, config.levels), table.level_error[j, i].mean(axis=0))
                    for j, b in enumerate(buckets)
                },
            },
            "predicted_optimum": {},
            "predicted_tie": {},
            "bound": {},
        }
        if table.certificate is not None:
            row["certificate"] = _named(buckets, table.certificate[:, i].mean(axis=-1))
            row["certificate_informative"] = _named(buckets, table.informative[:, i])
            row["floor"] = {name: values[i] for name, values in floors.items()}
        for predictor in predict.certified_predictors(table.bound):
            term = predictor.name.removeprefix("bound: ")
            row["bound"][term] = _named(buckets, table.bound[term][:, i].mean(axis=-1))
            # Label-free at the budget itself: the same choice under every protocol.
            chosen = predict.choice(predictor.scores(runs, None, n, i), runs.tolerance)
            row["predicted_optimum"][term] = (
                None if chosen is None else buckets[int(np.flatnonzero(chosen)[0])]
            )
            row["predicted_tie"][term] = bool(chosen is not None and chosen.sum() > 1)
        per_budget.append(row)

    measured = [int(b) for b in m.optimum_N]
    orderings = optimum.orderings(measured)
    switch_names = [*map(str, budgets), "never"]
    low, high = optimum.interval_of(m.switch_frequency)
    seeds = len(table.seeds)
    return {
        "experiment": config.name,
        "family": config.family,
        "config_hash": config.hash(),
        "buckets": list(buckets),
        "budgets": list(budgets),
        "seeds": list(table.seeds),
        "schedule": config.finetune.schedule,
        "subspace": config.finetune.subspace,
        "schedule_text": schedule_text(config),
        "base_target_error": base_target,
        "pretrain_levels": list(config.pretrain.levels) if config.pretrain else None,
        "delta": config.certify.delta if config.certify.enabled else config.compare.delta,
        "certificate_source": certificate_source(config, table),
        "shift_terms": shift_terms(config),
        "per_budget": per_budget,
        "bootstrap": {
            "kind": "unpaired: the seeds of every (bucket, budget) resampled on their own",
            "resamples": m.resamples,
            "distinct_resamples_per_budget": str(m.distinct_per_budget),
            "distinct_resamples_per_bucket_and_budget": optimum.distinct_resamples(seeds),
        },
        "switch": {
            "budget": switch_names[m.switch],
            "frequency": _named(switch_names, m.switch_frequency),
            "interval_95": [switch_names[low], switch_names[high]],
        },
        "trend": {
            "spearman": m.rho,
            "permutation_p": m.trend_p,
            "orderings": orderings,
            "exact": orderings <= optimum.EXACT_ORDERINGS,
            "constant": m.rho is None,
            "non_decreasing": bool(np.all(np.diff(measured) >= 0)) and m.rho is not None,
        },
        "inverted_u_budgets": [r["budget"] for r in per_budget if r["inverted_u"]],
        "no_bucket_beats_base_budgets": [
            r["budget"] for r in per_budget if not r["buckets_better_than_base"]
        ],
        "assumptions": checks,
        "predictions": evaluation and predictions_summary(evaluation),
        "floors": floors,
        "mean_terms": {name: values.mean(axis=-1).tolist() for name, values in table.terms.items()},
        "closed_form_check": closed_form_check(cells) if config.task_kind == "solvable" else None,
    }


def run_table_from_report(result: dict, config: ExperimentConfig) -> predict.RunTable:
    """A committed report's runs as the predictors' input: its per-seed target errors and
    its per-level errors (seed means), with the level weights of its config."""
    buckets, levels = tuple(result["buckets"]), config.levels
    rows = result["per_budget"]
    target = np.array([[r["target_error_seeds"][b] for r in rows] for b in buckets], float)
    level_error = np.array(
        [[[r["level_errors"][b][str(k)] for k in levels] for r in rows] for b in buckets], float
    )[:, :, None, :]
    base = rows[0]["level_errors"]["base"]
    return predict.RunTable(
        buckets=buckets,
        budgets=np.array(result["budgets"]),
        target_error=target,
        level_error=level_error,
        base_level_error=np.array([float(base[str(k)]) for k in levels]),
        **_level_fields(config, len(result["seeds"])),
    )


def predictions_from_report(result: dict, folder) -> tuple[dict, list]:
    """The predictions report of a committed comparison report (whose store is not at hand),
    checked against its preset's config hash; (predictions, written paths)."""
    from pacbound import config as configs

    name = result["experiment"]
    try:
        experiments = configs.preset_all(result.get("family") or name)
    except (FileNotFoundError, ValueError):
        raise ValueError(f"report {name!r}: no preset of that name to read its grid from") from None
    found = [e for e in experiments if e.name == name]
    if not found or found[0].hash() != result["config_hash"]:
        raise ValueError(
            f"report {name!r}: its preset no longer has config {result['config_hash']}; "
            "regenerate the report from its store"
        )
    table = run_table_from_report(result, found[0])
    evaluation = predictions_summary(predict.evaluate(table))
    checks = assumptions.check(table)
    predictions = {"experiment": name, "buckets": list(table.buckets), "assumptions": checks}
    predictions |= evaluation
    paths = _write_pair(
        folder, f"{name}_predictions", predict.markdown(name, evaluation, checks), predictions
    )
    return predictions, list(paths)


def predictions_summary(evaluation: dict) -> dict:
    """The evaluation without its bootstrap draws (kept only for paired comparisons)."""
    protocols = {}
    for name, protocol in evaluation["protocols"].items():
        rows = {
            predictor: {k: v for k, v in row.items() if k != "regret_draws"}
            for predictor, row in protocol["predictors"].items()
        }
        protocols[name] = {**protocol, "predictors": rows}
    return {**evaluation, "protocols": protocols}


def certificate_source(config: ExperimentConfig, table: Table) -> str:
    """What the in-distribution part of the predictions is, in words."""
    if config.task_kind == "solvable":
        return (
            f"the {config.compare.bound} bound at δ = {config.compare.delta} with the exact KL "
            "and exact empirical risk of the Bayesian posterior (a certificate of that posterior)"
        )
    if table.certificate is None:
        return "none: this experiment stored no certificates, so the bound predicts nothing"
    c = config.certify
    learner = f"subspace k = {config.finetune.subspace}" if config.finetune.subspace else "full"
    return (
        f"pacbound.certify certificates ({learner} fine-tuning; Gaussian posteriors, σ and "
        f"family chosen under a union bound over {c.choices(config.finetune.subspace)}; "
        f"δ = {c.cell_delta(len(config.cells)):.3g} per cell, {c.mc_share:.0%} of it for the "
        f"Monte-Carlo step with {c.draws} pairs)"
    )


def _verdict(row: dict) -> str:
    """Whether fine-tuning beat not fine-tuning at this budget, with its p-value."""
    better, worse = row["buckets_better_than_base"], row["buckets_worse_than_base"]
    text = f"{', '.join(better)} better" if better else "none better"
    if worse:
        text += f"; {', '.join(worse)} worse"
    return text + f" (Holm p = {row['some_bucket_beats_base_p']:.3f})"


def measured_lines(result: dict) -> list[str]:
    """The measured half of the report: the base beside the buckets, the optimum with its
    intervals, the switch, the trend, the inverted U."""
    buckets, lines = result["buckets"], []
    boot = result["bootstrap"]
    levels = result["pretrain_levels"]
    base = f"pretrained on levels {levels[0]}–{levels[1]}" if levels else "the prior mean"
    lines.append(
        f"Fine-tuning schedule: {result['schedule_text']}. Base: {base}; its target error "
        f"(not fine-tuned) {result['base_target_error']:.3f}.\n"
    )
    lines.append(
        f"Intervals: {boot['kind']} ({boot['resamples']} resamples; "
        f"{boot['distinct_resamples_per_bucket_and_budget']} distinct resamples of one cell's "
        f"{len(result['seeds'])} seeds). Errors are scored on the same held-out problems for "
        "every arm; their sampling noise is not in the intervals. p-values: exact one-sided "
        "sign-flip tests of a bucket's seeds against the base; Holm over buckets for 'some "
        f"bucket beats the base' (its floor with {len(result['seeds'])} seeds is "
        f"{min(1.0, len(buckets) * 2.0 ** -len(result['seeds'])):.3f}).\n"
    )
    lines.append("## Target error: the base and each bucket (mean over seeds)\n")
    lines.append(
        "| n | steps | base | "
        + " | ".join(buckets)
        + " | optimum (bootstrap) | per-seed argmin | P(interior) | vs base |"
    )
    lines.append("|" + "---|" * (len(buckets) + 7))
    for row in result["per_budget"]:
        errors = " | ".join(
            f"{row['target_error'][b]:.3f} ({row['gain_interval'][b][0]:+.3f}, "
            f"{row['gain_interval'][b][1]:+.3f})"
            for b in buckets
        )
        best = row["measured_optimum"]
        counts = "/".join(str(row["per_seed_argmin_counts"][b]) for b in buckets)
        tied = [b for b in row.get("measured_tied", [best]) if b != best]
        tie = f"; tied: {', '.join(tied)}" if tied else ""
        lines.append(
            f"| {row['budget']} | {row['steps']} | {row['base_target_error']:.3f} | {errors} | "
            f"{best} ({row['bootstrap_frequency'][best]:.0%}{tie}) | {counts} | "
            f"{row['interior_probability']:.2f} | {_verdict(row)} |"
        )
    lines.append(
        "\nIn brackets: the 95% bootstrap interval of the gain over the base (base error − "
        "bucket error; > 0 is better than not fine-tuning). Optimum: the lowest mean error, "
        "its bootstrap frequency, and the buckets tied with it within the seeds' noise (the "
        "predictions' tie tolerance). Per-seed argmin: how often each bucket wins among the "
        "cells of one seed index.\n"
    )
    switch, trend = result["switch"], result["trend"]
    lines.append("## Headlines\n")
    never = [r["budget"] for r in result["per_budget"] if not r["buckets_better_than_base"]]
    floor = 2.0 ** -len(result["seeds"])
    if floor > 0.05:
        lines.append(
            f"- Fine-tuning against not fine-tuning: with {len(result['seeds'])} seeds an exact "
            f"one-sided test cannot reach p ≤ 0.05 (its floor is {floor:.3f}); read the gain "
            "intervals in the table instead."
        )
    elif never:
        lines.append(
            "- Fine-tuning against not fine-tuning: no bucket is better than the base (exact "
            f"one-sided p ≤ 0.05 per bucket) at n = {', '.join(map(str, never))}."
        )
    else:
        lines.append(
            "- At every budget some bucket is better than the base (exact one-sided p ≤ 0.05 "
            "per bucket)."
        )
    hardest = buckets[-1]
    lines.append(
        f"- Switch budget (from which {hardest} stays optimal): **{switch['budget']}**, "
        f"95% bootstrap interval [{switch['interval_95'][0]}, {switch['interval_95'][1]}]; "
        f"P(no switch within the grid) = {switch['frequency']['never']:.2f}."
    )
    if trend["constant"]:
        lines.append("- The measured optimum is the same bucket at every budget: constant.")
    else:
        how = (
            f"exact over its {trend['orderings']:,} orderings"
            if trend["exact"]
            else f"{optimum.PERMUTATION_DRAWS:,} random of its {trend['orderings']:,} orderings"
        )
        lines.append(
            f"- Trend of the optimum with n: Spearman ρ = {trend['spearman']:.2f}, permutation "
            f"p = {trend['permutation_p']:.2g} ({how}; one-sided, harder with n); "
            + (
                "non-decreasing."
                if trend["non_decreasing"]
                else "not monotone (it moves back to an easier bucket at a larger n)."
            )
        )
    interior = [
        f"{r['budget']}: {r['interior_probability']:.2f}"
        for r in result["per_budget"]
        if r["interior_probability"] >= 0.005
    ]
    lines.append(
        "- Inverted U (an interior bucket optimal), bootstrap probability by n: "
        + (
            ", ".join(interior) + "; below 0.005 elsewhere"
            if interior
            else "below 0.005 at every budget"
        )
        + "."
    )
    lines.append("\n## Per-level error: the base and each bucket\n")
    rows = result["per_budget"]
    for row in (rows[0], rows[-1]) if len(rows) > 1 else rows:
        levels = list(row["level_errors"]["base"])
        lines.append(f"n = {row['budget']}:\n")
        lines.append("| arm | " + " | ".join(levels) + " |")
        lines.append("|---|" + "---|" * len(levels))
        for arm, errors in row["level_errors"].items():
            lines.append(f"| {arm} | " + " | ".join(f"{errors[k]:.2f}" for k in levels) + " |")
        lines.append("")
    return lines


def report_markdown(result: dict) -> str:
    """The comparison as a Markdown report: measurement first, then the bound's predictions."""
    lines = [f"# Comparison: {result['experiment']} (config {result['config_hash']})\n"]
    lines += measured_lines(result)
    lines.append("## The bound's predictions\n")
    lines.append(f"Certificate: {result['certificate_source']}.\n")
    if result["per_budget"][0]["bound"]:
        lines += bound_lines(result)
    if result["predictions"]:
        lines += prediction_headlines(result)
    return "\n".join(lines) + "\n"


def bound_lines(result: dict) -> list[str]:
    """Per budget: the certificates, the floor, and the certified bound's argmin per term."""
    buckets, lines = result["buckets"], []
    floor_names = list(result["floors"])
    checks = result["assumptions"]
    terms = list(result["per_budget"][0]["bound"])
    lines.append(
        "Per budget: each bucket's certificate on its in-distribution risk (mean over seeds; "
        "* where it is informative: below 1 and below the base's own error in the bucket), "
        "the floor no certificate can go below (KL = 0, zero empirical risk), and the argmin "
        "of the certified bound on the target over the informative buckets, per shift term "
        "(coverage: λ·R_pre + (1 − λ)·certificate + coverage TV, R_pre measured). Where no "
        "bucket is informative the bound makes no prediction.\n"
    )
    lines.append(
        "| n | "
        + " | ".join(f"cert. {b}" for b in buckets)
        + " | "
        + " | ".join(f"floor ({name.replace('_', ' ')})" for name in floor_names)
        + " | "
        + " | ".join(f"pred. {predict.label('bound: ' + t, checks)[7:]}" for t in terms)
        + " |"
    )
    lines.append("|---|" + "---|" * (len(buckets) + len(floor_names) + len(terms)))
    for row in result["per_budget"]:
        certs = " | ".join(
            f"{row['certificate'][b]:.3f}" + ("*" if row["certificate_informative"][b] else "")
            for b in buckets
        )
        floors = " | ".join(f"{row['floor'][name]:.3f}" for name in floor_names)
        predicted = " | ".join(
            "no prediction"
            if row["predicted_optimum"][t] is None
            else row["predicted_optimum"][t] + (" (tie)" if row["predicted_tie"][t] else "")
            for t in terms
        )
        lines.append(f"| {row['budget']} | {certs} | {floors} | {predicted} |")
    lines.append("")
    return lines


def prediction_headlines(result: dict) -> list[str]:
    """The predictions report's verdicts in a few lines."""
    lines = ["## Does a predictor track the measured optimum on held-out budgets?\n"]
    checks = result["assumptions"]
    violated = [t for t, c in checks.items() if c["status"] == "violated"]
    if violated:
        lines.append(
            "- Shift-term assumptions violated on the measured per-level errors: "
            + "; ".join(f"{t} ({checks[t]['detail']})" for t in violated)
            + "."
        )
    for protocol, data in result["predictions"]["protocols"].items():
        lines.append(f"- {protocol}: {predict.verdict_text(data)}.")
    lines.append(
        f"\nEvery predictor, metric and interval: `{result['experiment']}_predictions.md`.\n"
    )
    return lines


def closed_form_and_simulation(cells) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(exact, simulated, standard error) of every per-level risk of every solvable cell."""
    exact, simulated, error = [], [], []
    for cell in cells:
        for level, value in cell.record["level_errors"].items():
            exact.append(value)
            simulated.append(cell.record["mc_level_errors"][level])
            error.append(cell.record["mc_standard_errors"][level])
    return np.asarray(exact), np.asarray(simulated), np.asarray(error)


def closed_form_check(cells) -> dict:
    """{within, count}: the share of the solvable task's per-level risks whose simulation
    lies within 3 standard errors of the closed form, and how many there are."""
    exact, simulated, error = closed_form_and_simulation(cells)
    z = np.abs(simulated - exact) / error
    return {"within": float(np.mean(z <= 3)), "count": len(z)}


def _write_pair(folder, stem: str, markdown_text: str, result: dict) -> tuple:
    """<folder>/<stem>.md and <folder>/<stem>.json."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    markdown, data = folder / f"{stem}.md", folder / f"{stem}.json"
    markdown.write_text(markdown_text)
    data.write_text(json.dumps(result, indent=1) + "\n")
    return markdown, data


def write_report(result: dict, folder) -> tuple:
    """<folder>/<experiment>_report.md and .json, and the predictions report
    <folder>/<experiment>_predictions.md and .json."""
    name = result["experiment"]
    written = _write_pair(folder, f"{name}_report", report_markdown(result), result)
    if not result["predictions"]:
        return written
    predictions = {
        "experiment": name,
        "buckets": result["buckets"],
        "assumptions": result["assumptions"],
        **result["predictions"],
    }
    return written + _write_pair(
        folder,
        f"{name}_predictions",
        predict.markdown(name, result["predictions"], result["assumptions"]),
        predictions,
    )


def compare_bases(results: list[dict]) -> dict:
    """Bases of one family side by side, weakest first: does a stronger base move the
    optimum harder? Strength is the base's own target accuracy (measured, not fine-tuned);
    the pretraining range is shown beside it, since a wider range need not give a more
    accurate base. Bases are trained and fine-tuned independently, so the probability that
    a stronger base switches to the hardest bucket at a smaller budget than a weaker one is
    exact from their two bootstrap distributions."""
    results = sorted(results, key=lambda r: -r["base_target_error"])
    names = [*map(str, results[0]["budgets"]), "never"]
    buckets = results[0]["buckets"]
    bases = []
    for result in results:
        expected = [
            sum(i * row["bootstrap_frequency"][b] for i, b in enumerate(buckets))
            for row in result["per_budget"]
        ]
        bases.append(
            {
                "experiment": result["experiment"],
                "pretrain_levels": result["pretrain_levels"],
                "base_target_error": result["base_target_error"],
                "optimum": [row["measured_optimum"] for row in result["per_budget"]],
                "expected_optimum_index": expected,
                "switch": result["switch"],
                "trend": result["trend"],
                "no_bucket_beats_base_budgets": result["no_bucket_beats_base_budgets"],
            }
        )
    pairs = []
    for weak, strong in zip(bases, bases[1:], strict=False):
        f_weak = np.array([weak["switch"]["frequency"][k] for k in names])
        f_strong = np.array([strong["switch"]["frequency"][k] for k in names])
        joint = np.outer(f_strong, f_weak)  # [i, j]: strong switches at i, weak at j
        pairs.append(
            {
                "weaker": weak["experiment"],
                "stronger": strong["experiment"],
                "p_stronger_switches_earlier": float(np.triu(joint, 1).sum()),
                "p_same": float(np.trace(joint)),
                "p_stronger_switches_later": float(np.tril(joint, -1).sum()),
            }
        )
    switches = [names.index(b["switch"]["budget"]) for b in bases]
    by_range = sorted(range(len(bases)), key=lambda i: tuple(bases[i]["pretrain_levels"][::-1]))
    return {
        "family": results[0]["family"],
        "budgets": results[0]["budgets"],
        "buckets": buckets,
        "bases": bases,
        "pairs": pairs,
        # Non-increasing switch budget from the weakest to the strongest base.
        "switch_earlier_with_strength": bool(np.all(np.diff(switches) <= 0)),
        "switch_earlier_with_pretraining_range": bool(
            np.all(np.diff([switches[i] for i in by_range]) <= 0)
        ),
    }


def bases_markdown(comparison: dict) -> str:
    """The base-strength comparison as a Markdown report."""
    buckets, lines = comparison["buckets"], []
    lines.append(f"# Base strength: {comparison['family']}\n")
    lines.append(
        "Each base is its own experiment (same task, fine-tuning schedule, grid and seeds); "
        "reports: "
        + ", ".join(f"`{b['experiment']}_report.md`" for b in comparison["bases"])
        + ".\n"
    )
    lines.append(
        "| base (pretrained on) | base target error | "
        + " | ".join(f"n = {n}" for n in comparison["budgets"])
        + " | switch [95%] |"
    )
    lines.append("|---|---|" + "---|" * (len(comparison["budgets"]) + 1))
    for base in comparison["bases"]:
        optima = " | ".join(
            f"{o} ({e:.2f})"
            for o, e in zip(base["optimum"], base["expected_optimum_index"], strict=True)
        )
        switch = base["switch"]
        lines.append(
            f"| {base['experiment']} ({base['pretrain_levels'][0]}–"
            f"{base['pretrain_levels'][1]}) | {base['base_target_error']:.3f} | {optima} | "
            f"{switch['budget']} [{switch['interval_95'][0]}, {switch['interval_95'][1]}] |"
        )
    lines.append(
        "\nCells: the measured optimum and, in brackets, its expected bucket index under the "
        f"bootstrap (0 = {buckets[0]}, {len(buckets) - 1} = {buckets[-1]}).\n"
    )
    lines.append(
        "Bases are ordered by their own target error (weakest first). "
        + (
            "The switch budget falls as the base gets stronger"
            if comparison["switch_earlier_with_strength"]
            else "The switch budget does not fall monotonically as the base gets stronger"
        )
        + "; ordered by pretraining range instead, it "
        + ("falls too." if comparison["switch_earlier_with_pretraining_range"] else "does not.")
        + "\n"
    )
    for pair in comparison["pairs"]:
        lines.append(
            f"- {pair['stronger']} against {pair['weaker']}: P(switches to {buckets[-1]} at a "
            f"smaller budget) = {pair['p_stronger_switches_earlier']:.2f}, P(same budget) = "
            f"{pair['p_same']:.2f}, P(larger) = {pair['p_stronger_switches_later']:.2f}."
        )
    return "\n".join(lines) + "\n"


def write_bases_report(comparison: dict, folder) -> tuple:
    """<folder>/<family>_bases.md and .json."""
    stem = f"{comparison['family']}_bases"
    return _write_pair(folder, stem, bases_markdown(comparison), comparison)


def compare_learners(results: list[dict], summaries: dict[str, dict]) -> dict:
    """Learners of one family side by side (full fine-tuning, k = 0, and random subspaces):
    the intrinsic dimension (per bucket, the smallest k whose in-distribution gain over the
    base at the largest budget reaches 90% of full fine-tuning's), where each learner's
    certificates become non-vacuous (``summaries``: the certify summaries by experiment),
    and whether the measured optimum still moves with n under each learner."""
    results = sorted(results, key=lambda r: r["subspace"])
    buckets = results[0]["buckets"]
    full = next((r for r in results if r["subspace"] == 0), None)

    def gain(result):
        last = result["per_budget"][-1]
        return {
            b: last["base_in_distribution_error"][b] - last["in_distribution_error"][b]
            for b in buckets
        }

    learners = []
    for result in results:
        summary = summaries.get(result["experiment"])
        learners.append(
            {
                "experiment": result["experiment"],
                "subspace": result["subspace"],
                "gain_at_largest_budget": gain(result),
                "gain_ratio": (
                    {b: gain(result)[b] / gain(full)[b] for b in buckets if gain(full)[b] > 0}
                    if full
                    else {}
                ),
                "optimum": [row["measured_optimum"] for row in result["per_budget"]],
                "switch": result["switch"],
                "trend": result["trend"],
                "optimum_gain": [
                    [
                        row["gain_over_base"][row["measured_optimum"]],
                        *row["gain_interval"][row["measured_optimum"]],
                    ]
                    for row in result["per_budget"]
                ],
                "first_non_vacuous": (
                    {
                        b: v["first_non_vacuous"]
                        or (
                            f"≈{v['extrapolated_non_vacuous']:,} (extrapolated)"
                            if v["extrapolated_non_vacuous"]
                            else None
                        )
                        for b, v in summary["per_bucket"].items()
                    }
                    if summary
                    else None
                ),
                "valid_fraction": summary["valid_fraction"] if summary else None,
            }
        )
    intrinsic = {}
    for b in buckets:
        reached = [
            learner["subspace"]
            for learner in learners
            if learner["subspace"] and learner["gain_ratio"].get(b, 0) >= 0.9
        ]
        intrinsic[b] = min(reached) if reached else None
    return {
        "family": results[0]["family"],
        "budgets": results[0]["budgets"],
        "largest_budget": results[0]["budgets"][-1],
        "buckets": buckets,
        "learners": learners,
        "intrinsic_dimension": intrinsic,
    }


def _learner_name(learner: dict) -> str:
    return f"k = {learner['subspace']}" if learner["subspace"] else "full"


def learners_markdown(comparison: dict) -> str:
    """The learner comparison as a Markdown report."""
    c, lines = comparison, []
    buckets = c["buckets"]
    lines.append(f"# Learners: {c['family']}\n")
    lines.append(
        "Full fine-tuning (k = 0) and fine-tuning in random k-dimensional subspaces, same "
        "base, grid and seeds; reports: "
        + ", ".join(f"`{x['experiment']}_report.md`" for x in c["learners"])
        + ".\n"
    )
    lines.append(f"## Intrinsic dimension (in-distribution gain at n = {c['largest_budget']})\n")
    lines.append("| learner | " + " | ".join(f"gain {b} (× full)" for b in buckets) + " |")
    lines.append("|---|" + "---|" * len(buckets))
    for x in c["learners"]:
        cells = " | ".join(
            f"{x['gain_at_largest_budget'][b]:+.3f}"
            + (f" ({x['gain_ratio'][b]:.2f})" if b in x["gain_ratio"] else "")
            for b in buckets
        )
        lines.append(f"| {_learner_name(x)} | {cells} |")
    lines.append(
        "\nIntrinsic dimension (smallest k of the grid reaching 90% of full fine-tuning's "
        "gain): "
        + ", ".join(
            f"{b}: {'beyond the grid' if k is None else k}"
            for b, k in c["intrinsic_dimension"].items()
        )
        + ".\n"
    )
    lines.append("## Certificates: first budget below the base's own error\n")
    lines.append("| learner | valid cells | " + " | ".join(buckets) + " |")
    lines.append("|---|---|" + "---|" * len(buckets))
    for x in c["learners"]:
        name = _learner_name(x)
        if x["first_non_vacuous"] is None:
            lines.append(f"| {name} | — | " + " | ".join("—" for _ in buckets) + " |")
            continue
        cells = " | ".join(
            "never" if x["first_non_vacuous"][b] is None else str(x["first_non_vacuous"][b])
            for b in buckets
        )
        lines.append(f"| {name} | {x['valid_fraction']:.0%} | {cells} |")
    lines.append("\n## Does the difficulty tradeoff survive? (measured optimum per budget)\n")
    lines.append(
        "Each cell: the measured optimal bucket and its target-error gain over the base "
        "(95% bootstrap interval); an optimum whose gain interval holds 0 ranks buckets "
        "that barely moved the base.\n"
    )
    lines.append(
        "| learner | " + " | ".join(f"n = {n}" for n in c["budgets"]) + " | switch [95%] | "
        "trend ρ (p) |"
    )
    lines.append("|---|" + "---|" * (len(c["budgets"]) + 2))
    for x in c["learners"]:
        name = _learner_name(x)
        switch, trend = x["switch"], x["trend"]
        rho = (
            "constant"
            if trend["spearman"] is None
            else f"{trend['spearman']:.2f} ({trend['permutation_p']:.2g})"
        )
        lines.append(
            f"| {name} | "
            + " | ".join(
                f"{o} {g:+.3f} ({lo:+.3f}, {hi:+.3f})"
                for o, (g, lo, hi) in zip(x["optimum"], x["optimum_gain"], strict=True)
            )
            + f" | {switch['budget']} [{switch['interval_95'][0]}, {switch['interval_95'][1]}] "
            f"| {rho} |"
        )
    return "\n".join(lines) + "\n"


def write_learners_report(comparison: dict, folder) -> tuple:
    """<folder>/<family>_learners.md and .json."""
    stem = f"{comparison['family']}_learners"
    return _write_pair(folder, stem, learners_markdown(comparison), comparison)
