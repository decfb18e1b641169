"""Predicted against measured optimal difficulty, from the store.

Measured: at each budget, the bucket with the lowest target error (mean over seeds), with a
bootstrap over seeds of that choice, and whether target accuracy against bucket difficulty
is an inverted U.

Predicted: at each budget, the argmin over buckets of the two-gap bound built from measured
terms only, one prediction per shift term:

    B(cell) = Ĝ(training error, KL, n, δ) + shift(target, bucket)

where Ĝ is the PAC-Bayes bound of the config (kl or McAllester) on the in-distribution risk,
KL = ‖θ_ft − θ_pre‖²/(2σ²) for isotropic Gaussians of the stated σ around the fine-tuned and
the base weights (the exact posterior KL for the solvable task), and the shift term is one
of the optimal-difficulty module's, computed exactly from the level weights:

- ``tv``: TV(target, bucket);
- ``coverage``: TV(target, λ·pretraining + (1 − λ)·bucket), λ = ``pretrain_share``;
- ``w1``: W₁ over levels rescaled to [0, 1] (the bound for risk 1-Lipschitz across the
  whole range of levels);
- ``upward``: the one-sided shift (valid when per-level risk rises with the level).

The training error is the 0-1 error of the fine-tuned network itself, a stand-in for the
Gaussian posterior's empirical risk at that σ; the report says so.

Agreement: the fraction of budgets where prediction and measurement are at most one bucket
apart; Spearman's correlation of the optimum's bucket index with n (measured, predicted);
and a Hoeffding-weighted sign agreement over pairs of cells in the spirit of Dziugaite et
al. (NeurIPS 2020, "In search of robust measures of generalization"): a pair counts when
the bound orders the two cells as their measured target errors do, weighted by the
confidence 1 − exp(−Δ²/(2v)) that the measured order is real, where Δ is the difference of
measured target errors and v = Σ_k w_T(k)²/m_k the Hoeffding variance proxy of a difference
of two target errors estimated on m_k test problems per level (each example's difference
lies in [−1, 1]). Exact risks (the solvable task) have v = 0: weight 1 whenever Δ ≠ 0.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from pacbound.config import ExperimentConfig, uniform_weights
from pacbound.numeric.bounds import generalization_bound
from pacbound.numeric.gaussian import isotropic_kl_from_distance
from pacbound.numeric.lower import lower_to_numpy
from pacbound.numeric.shift import coverage_tv, tv_between_levels, upward_shift, wasserstein1_levels
from pacbound.store import Cell
from pacbound.symbolic import agreement

SHIFT_TERMS = ("tv", "coverage", "w1", "upward")
BOOTSTRAP_RESAMPLES = 2000
SIGMA_SCAN = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0)  # σ values the report shows side by side

_sign_confidence = lower_to_numpy(agreement.sign_confidence, ("difference", "variance_proxy"))
_variance_proxy_term = lower_to_numpy(
    agreement.variance_proxy_term, ("level_weight", "level_test_size")
)


@dataclass(frozen=True)
class Table:
    """Cells as arrays over (bucket, budget, seed), buckets ordered by difficulty."""

    buckets: tuple[str, ...]
    budgets: tuple[int, ...]
    seeds: tuple[int, ...]
    target_error: np.ndarray  # BxNxS
    bound: dict[str, np.ndarray]  # shift term -> BxNxS
    terms: dict[str, np.ndarray]  # measured errors, kl, generalization, each shift: BxNxS

    @property
    def mean_target_error(self) -> np.ndarray:
        return self.target_error.mean(axis=-1)


def level_vector(weights: dict[int, Fraction], levels: tuple[int, ...]) -> np.ndarray:
    return np.array([float(weights.get(k, 0)) for k in levels])


def shift_terms(config: ExperimentConfig) -> dict[str, dict[str, float]]:
    """{term: {bucket: value}}, exactly from the level weights of target and buckets."""
    levels = config.levels
    target = level_vector(config.grid.target_weights(), levels)
    # The pretraining mixture; the solvable task's base knows its first level exactly.
    low, high = config.pretrain.levels if config.pretrain else (levels[0], levels[0])
    pretrain = level_vector(uniform_weights(low, high), levels)
    unit = (np.array(levels, float) - levels[0]) / max(levels[-1] - levels[0], 1)
    share = config.compare.pretrain_share
    terms: dict[str, dict[str, float]] = {t: {} for t in SHIFT_TERMS}
    for bucket in config.grid.buckets:
        train = level_vector(bucket.weights(), levels)
        terms["tv"][bucket.name] = float(tv_between_levels(target, train))
        terms["coverage"][bucket.name] = float(coverage_tv(target, pretrain, train, share))
        terms["w1"][bucket.name] = float(wasserstein1_levels(target, train, unit))
        terms["upward"][bucket.name] = float(upward_shift(target, train))
    return terms


def build_table(config: ExperimentConfig, cells: list[Cell]) -> Table:
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

    def gather(field):
        return np.array(
            [by_key[(b, n, s)][field] for b in buckets for n in budgets for s in seeds], float
        ).reshape(shape)

    train_error, target_error = gather("train_error"), gather("target_error")
    if config.task_kind == "solvable":
        kl = gather("kl")
    else:
        kl = np.asarray(isotropic_kl_from_distance(gather("sq_distance"), config.compare.sigma))
    n = np.broadcast_to(np.array(budgets, float)[None, :, None], shape)
    in_distribution, _ = generalization_bound(
        config.compare.bound, train_error, kl, n, config.compare.delta
    )
    in_distribution = np.asarray(in_distribution)
    terms = {
        "train_error": train_error,
        "in_distribution_error": gather("in_distribution_error"),
        "kl": kl,
        "generalization": in_distribution - train_error,
    }
    bound = {}
    for term, values in shift_terms(config).items():
        shift = np.broadcast_to(np.array([values[b] for b in buckets])[:, None, None], shape)
        terms[term] = shift
        bound[term] = in_distribution + shift
    return Table(buckets, budgets, seeds, target_error, bound, terms)


def argmin_with_ties(values: np.ndarray, tolerance: float = 1e-9) -> tuple[int, bool]:
    """The easiest bucket among the minimal ones (within ``tolerance``), and whether there was
    a tie; a tie means the bound does not decide between those buckets."""
    minimal = np.flatnonzero(values <= values.min() + tolerance)
    return int(minimal[0]), len(minimal) > 1


def is_inverted_u(accuracy: np.ndarray) -> bool:
    """True when the best bucket is an interior one, strictly above both end buckets."""
    best = int(np.argmax(accuracy))
    return bool(0 < best < len(accuracy) - 1 and accuracy[best] > max(accuracy[0], accuracy[-1]))


def bootstrap_optimum(target_error_BxS: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """frequency_B: how often each bucket is the argmin of the seed-mean target error when
    the seeds are resampled with replacement."""
    buckets, seeds = target_error_BxS.shape
    draws = rng.integers(0, seeds, (BOOTSTRAP_RESAMPLES, seeds))
    means_RxB = target_error_BxS[:, draws].mean(axis=-1).T
    winners = np.argmin(means_RxB, axis=1)
    return np.bincount(winners, minlength=buckets) / BOOTSTRAP_RESAMPLES


def hoeffding_sign_agreement(bound: np.ndarray, error: np.ndarray, variance: float) -> float:
    """Weighted fraction of pairs (i < j) that the bound orders as the measured errors.

    Weight of a pair: 1 − exp(−Δ²/(2·variance)), Δ the difference of measured errors (1
    for Δ ≠ 0 when variance = 0). Pairs with tied bounds count as disagreeing. NaN when
    every weight is 0.
    """
    bound, error = np.ravel(bound), np.ravel(error)
    i, j = np.triu_indices(len(error), k=1)
    delta = error[i] - error[j]
    if variance > 0:
        weight = _sign_confidence(delta, variance)
    else:  # the limit v → 0 of the confidence
        weight = (delta != 0).astype(float)
    agree = np.sign(bound[i] - bound[j]) == np.sign(delta)
    total = weight.sum()
    return float((weight * agree).sum() / total) if total > 0 else float("nan")


def target_variance(config: ExperimentConfig) -> float:
    """Σ_k w_T(k)²/m_k for measured target errors; 0 when risks are exact (solvable)."""
    if config.task_kind == "solvable":
        return 0.0
    weights = config.grid.target_weights()
    test_size = config.grid.test_size
    return float(sum(_variance_proxy_term(float(w), test_size) for w in weights.values()))


def _spearman(x, y) -> float | None:
    if len(set(x)) < 2 or len(set(y)) < 2:
        return None  # undefined for a constant sequence
    return float(spearmanr(x, y).statistic)


def predicted_optima(table: Table) -> dict[str, list[tuple[int, bool]]]:
    """Per shift term and budget: the bucket index minimising the seed-mean bound, and
    whether that minimum is tied."""
    return {
        term: [argmin_with_ties(bound[:, i].mean(axis=-1)) for i in range(len(table.budgets))]
        for term, bound in table.bound.items()
    }


def _agreement(table: Table, measured: list[int], variance: float) -> dict:
    agreement = {}
    optima = predicted_optima(table)
    for term in SHIFT_TERMS:
        predicted = [best for best, _ in optima[term]]
        agreement[term] = {
            "predicted": [table.buckets[i] for i in predicted],
            "within_one_bucket": float(np.mean(np.abs(np.subtract(predicted, measured)) <= 1)),
            "exact": float(np.mean(np.equal(predicted, measured))),
            "spearman_optimum_vs_n": _spearman(table.budgets, predicted),
            "sign_agreement": hoeffding_sign_agreement(
                table.bound[term], table.target_error, variance
            ),
        }
    return agreement


def compare(config: ExperimentConfig, cells: list[Cell], seed: int = 0) -> dict:
    """Every number of the comparison, as a JSON-serialisable dict."""
    table = build_table(config, cells)
    rng = np.random.default_rng(seed)
    mean_error = table.mean_target_error  # BxN
    optima = predicted_optima(table)
    per_budget = []
    for b_index, n in enumerate(table.budgets):
        errors = mean_error[:, b_index]
        frequency = bootstrap_optimum(table.target_error[:, b_index, :], rng)
        chosen = np.flatnonzero(frequency > 0)
        row = {
            "budget": n,
            "target_error": dict(zip(table.buckets, errors.tolist(), strict=True)),
            "measured_optimum": table.buckets[int(np.argmin(errors))],
            "bootstrap_frequency": dict(zip(table.buckets, frequency.tolist(), strict=True)),
            "bootstrap_range": [table.buckets[int(chosen[0])], table.buckets[int(chosen[-1])]],
            "inverted_u": is_inverted_u(1 - errors),
            "predicted_optimum": {},
            "predicted_tie": {},
            "bound": {},
        }
        for term, bound in table.bound.items():
            mean_bound = bound[:, b_index].mean(axis=-1)
            row["bound"][term] = dict(zip(table.buckets, mean_bound.tolist(), strict=True))
            best, tied = optima[term][b_index]
            row["predicted_optimum"][term] = table.buckets[best]
            row["predicted_tie"][term] = tied
        per_budget.append(row)

    index = {b: i for i, b in enumerate(table.buckets)}
    measured = [index[r["measured_optimum"]] for r in per_budget]
    variance = target_variance(config)
    agreement = _agreement(table, measured, variance)
    scan = {}
    if config.task_kind != "solvable":
        for bound in ("kl", "mcallester"):
            for sigma in SIGMA_SCAN:
                settings = replace(config.compare, sigma=sigma, bound=bound)
                scanned = build_table(replace(config, compare=settings), cells)
                scan[f"{bound} σ={sigma}"] = _agreement(scanned, measured, variance)
    # Best tracking: exact matches first, then sign agreement.
    best = max(
        SHIFT_TERMS,
        key=lambda t: (agreement[t]["exact"], np.nan_to_num(agreement[t]["sign_agreement"])),
    )
    return {
        "experiment": config.name,
        "config_hash": config.hash(),
        "buckets": list(table.buckets),
        "budgets": list(table.budgets),
        "seeds": list(table.seeds),
        "sigma": config.compare.sigma,
        "delta": config.compare.delta,
        "bound_kind": config.compare.bound,
        "kl_source": (
            "the exact KL of the Gaussian posterior to the prior"
            if config.task_kind == "solvable"
            else f"KL of isotropic Gaussians at σ = {config.compare.sigma} around the fine-tuned "
            "and the base weights; the training error of the fine-tuned weights stands in for "
            "the posterior's empirical risk"
        ),
        "shift_terms": shift_terms(config),
        "per_budget": per_budget,
        "measured_spearman_optimum_vs_n": _spearman(table.budgets, measured),
        "measured_optimum_non_decreasing": bool(np.all(np.diff(measured) >= 0)),
        "inverted_u_budgets": [r["budget"] for r in per_budget if r["inverted_u"]],
        "agreement": agreement,
        "sigma_scan": scan,
        "best_shift_term": best,
        "target_error_variance_proxy": variance,
        "mean_terms": {name: values.mean(axis=-1).tolist() for name, values in table.terms.items()},
    }


def report_markdown(result: dict) -> str:
    """The comparison as a short Markdown report."""
    buckets, lines = result["buckets"], []
    lines.append(f"# Comparison: {result['experiment']} (config {result['config_hash']})\n")
    lines.append(
        f"Bound: {result['bound_kind']} at δ = {result['delta']}; {result['kl_source']}.\n"
    )
    lines.append("## Target error by bucket (mean over seeds) and the optima\n")
    header = "| n | " + " | ".join(buckets) + " | measured | bootstrap | inverted U | "
    header += " | ".join(f"pred. {t}" for t in SHIFT_TERMS) + " |"
    lines.append(header)
    lines.append("|" + "---|" * (len(buckets) + 3 + len(SHIFT_TERMS) + 1))
    for row in result["per_budget"]:
        errors = " | ".join(f"{row['target_error'][b]:.3f}" for b in buckets)
        frequency = row["bootstrap_frequency"][row["measured_optimum"]]
        predicted = " | ".join(
            row["predicted_optimum"][t] + (" (tie)" if row["predicted_tie"][t] else "")
            for t in SHIFT_TERMS
        )
        lines.append(
            f"| {row['budget']} | {errors} | {row['measured_optimum']} | "
            f"{frequency:.0%} ({'–'.join(dict.fromkeys(row['bootstrap_range']))}) | "
            f"{'yes' if row['inverted_u'] else 'no'} | {predicted} |"
        )
    lines.append("\n## Agreement per shift term\n")
    lines.append("| shift term | within one bucket | exact | Spearman(opt, n) | sign agreement |")
    lines.append("|---|---|---|---|---|")
    for term, values in result["agreement"].items():
        spearman = values["spearman_optimum_vs_n"]
        lines.append(
            f"| {term} | {values['within_one_bucket']:.2f} | {values['exact']:.2f} | "
            f"{'undefined' if spearman is None else f'{spearman:.2f}'} | "
            f"{values['sign_agreement']:.3f} |"
        )
    measured = result["measured_spearman_optimum_vs_n"]
    lines.append("")
    lines.append(
        f"- Measured optimum non-decreasing in n: **{result['measured_optimum_non_decreasing']}**"
        f" (Spearman with n: {'undefined' if measured is None else f'{measured:.2f}'})."
    )
    inverted = result["inverted_u_budgets"]
    lines.append(
        "- Accuracy against difficulty is an inverted U at budgets: "
        + (", ".join(map(str, inverted)) if inverted else "none")
        + "."
    )
    best = result["best_shift_term"]
    lines.append(f"- Shift term that tracks best: **{best}**.")
    measured_moves = len({r["measured_optimum"] for r in result["per_budget"]}) > 1
    for term, values in result["agreement"].items():
        if measured_moves and len(set(values["predicted"])) == 1:
            lines.append(
                f"- {term} predicts {values['predicted'][0]} at every budget: it cannot "
                "follow the measured optimum's move."
            )
    if result["sigma_scan"]:
        lines.append("\n## Sensitivity to the bound and σ\n")
        lines.append(
            "Each cell: the predicted optimum per budget (initials, budgets ascending), "
            "the fraction of budgets matched exactly, and the sign agreement. The measured "
            "optima are "
            + " ".join(r["measured_optimum"][0].upper() for r in result["per_budget"])
            + ". A scan shows sensitivity; it is not a fit: the headline numbers above use "
            "the config's bound and σ.\n"
        )
        lines.append("| bound, σ | " + " | ".join(SHIFT_TERMS) + " |")
        lines.append("|---|" + "---|" * len(SHIFT_TERMS))
        for setting, agreement in result["sigma_scan"].items():
            cells = " | ".join(
                " ".join(b[0].upper() for b in agreement[t]["predicted"])
                + f" · {agreement[t]['exact']:.2f} · {agreement[t]['sign_agreement']:.3f}"
                for t in SHIFT_TERMS
            )
            lines.append(f"| {setting} | {cells} |")
    return "\n".join(lines) + "\n"


def write_report(result: dict, folder) -> tuple:
    """<folder>/<experiment>_report.md and .json."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    markdown = folder / f"{result['experiment']}_report.md"
    data = folder / f"{result['experiment']}_report.json"
    markdown.write_text(report_markdown(result))
    data.write_text(json.dumps(result, indent=1) + "\n")
    return markdown, data
