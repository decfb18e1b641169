"""A committed comparison report (``<name>_report.json``) read back without its store.

``check_report`` checks the shape of everything the report path reads, once and up front, so
that a file that is not such a report (a predictions report, a truncated or hand-edited one)
is a ``ValueError`` of one line naming the first field that is wrong, never a ``KeyError``
deep inside an analysis. ``not_recomputed`` says what an evaluation made from a report's
seed means cannot give that the store's evaluation, embedded in the report, gave.

What a report holds, and so what the predictors get from it: every run's target error
(``target_error_seeds``), and seed means only of everything else: the per-level errors
(``level_errors``), the weights' complexity, disagreements and certified bucket risk
(``mean_terms``), each certified bound and whether it is informative (``per_budget``).
Every predictor's choices and point metrics need only those seed means; an interval
needs each run's values of every input a predictor reads (a resample draws them with the
runs), and a store that kept held-out outcomes resamples each level's problems too.
"""

from __future__ import annotations

import math

import numpy as np

from pacbound.analysis.runs import DISAGREEMENT_TERMS
from pacbound.config import ExperimentConfig
from pacbound.inputs import NAME, NAME_EXPECTED

REPORT = "a comparison report (<name>_report.json)"
#: The keys every comparison report has, the one the others hang on first.
REQUIRED = ("per_budget", "experiment", "config_hash", "buckets", "budgets", "seeds")
#: ``mean_terms`` entries the report path reads: the weights' complexity (``sq_distance``,
#: ``kl`` on the solvable task), the disagreements and the certified Q's bucket risk.
MEAN_TERMS_READ = ("sq_distance", "kl", *DISAGREEMENT_TERMS.values(), "in_bucket_risk")

#: What each input of a predictor is, in words (``Predictor.inputs``).
INPUTS = {
    "complexity": "complexity of the fine-tuned weights (‖θ − θ_pre‖² or KL)",
    "level_error": "per-level errors",
    "bound": "certificate",
    "disagreement": "disagreements",
    "in_bucket_risk": "certified posterior's bucket risk",
}


def _kind(value) -> str:
    """The JSON type of a value, in words."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _expect(condition: bool, where: str, value, expected: str) -> None:
    if not condition:
        shown = repr(value) if _number(value) or isinstance(value, str) else _kind(value)
        raise ValueError(f"{where} is {shown}, expected {expected}")


def _object(value, where: str, keys=None) -> dict:
    """``value``, which must be an object (with every key in ``keys``)."""
    _expect(isinstance(value, dict), where, value, "an object")
    for key in keys or ():
        if key not in value:
            raise ValueError(f"{where} has no {key!r}")
    return value


def _same_keys(value: dict, first: list | None, where: str, expected) -> list:
    """The keys of ``value``, which must be ``first`` (the keys of the first such object; None
    for the first itself); ``expected(keys)`` says what was expected."""
    keys = list(value) if first is None else first
    _expect(list(value) == keys, where, value, expected(keys))
    return keys


def _numbers(values, where: str, count: int, low=-math.inf, high=math.inf) -> None:
    """``values``: a list of ``count`` finite numbers in [low, high]."""
    expected = f"an array of {count} numbers in [{low:g}, {high:g}]"
    _expect(isinstance(values, list) and len(values) == count, where, values, expected)
    for i, value in enumerate(values):
        _expect(
            _number(value) and math.isfinite(value) and low <= value <= high,
            f"{where}[{i}]",
            value,
            f"a finite number in [{low:g}, {high:g}]",
        )


def _name(value, where: str) -> None:
    _expect(
        isinstance(value, str) and NAME.fullmatch(value) is not None,
        where,
        value,
        f"a name ({NAME_EXPECTED})",
    )


def check_report(result, config: ExperimentConfig | None = None) -> None:
    """Raise a one-line ``ValueError`` unless ``result`` has the shape of a comparison report
    in every field the report path reads (and, given its ``config``, that config's buckets,
    budgets, runs and levels). The message names the field, what it is and what was
    expected; the caller names the file."""
    if not isinstance(result, dict):
        raise ValueError(f"not {REPORT}: it is {_kind(result)}, not an object")
    for key in REQUIRED:
        if key not in result:
            if "protocols" in result and "per_budget" not in result:
                raise ValueError(
                    f"a predictions report (<name>_predictions.json), not {REPORT}: "
                    f"it has no {key!r}"
                )
            raise ValueError(f"not {REPORT}: it has no {key!r}")
    _name(result["experiment"], "experiment")
    family = result.get("family")
    if family:
        _name(family, "family")
    _expect(
        isinstance(result["config_hash"], str), "config_hash", result["config_hash"], "a string"
    )
    buckets = result["buckets"]
    _expect(
        isinstance(buckets, list)
        and len(buckets) >= 2
        and all(isinstance(b, str) for b in buckets)
        and len(set(buckets)) == len(buckets),
        "buckets",
        buckets,
        "an array of at least 2 distinct names",
    )
    budgets = result["budgets"]
    _expect(
        isinstance(budgets, list)
        and budgets
        and all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in budgets)
        and all(a < b for a, b in zip(budgets, budgets[1:], strict=False)),
        "budgets",
        budgets,
        "an increasing array of integers ≥ 1",
    )
    seeds = result["seeds"]
    _expect(isinstance(seeds, list) and seeds, "seeds", seeds, "a non-empty array of runs")
    if "draws" in result:
        _expect(isinstance(result["draws"], list), "draws", result["draws"], "an array")
    rows = result["per_budget"]
    _expect(
        isinstance(rows, list) and len(rows) == len(budgets),
        "per_budget",
        rows,
        f"an array of {len(budgets)} objects, one per budget",
    )
    levels = terms_bound = None
    for i, row in enumerate(rows):
        where = f"per_budget[{i}]"
        _object(row, where, ("target_error_seeds", "level_errors"))
        seeds_of = _object(row["target_error_seeds"], f"{where}['target_error_seeds']", buckets)
        for b in buckets:
            _numbers(seeds_of[b], f"{where}['target_error_seeds'][{b!r}]", len(seeds), 0, 1)
        arms = _object(row["level_errors"], f"{where}['level_errors']", ("base", *buckets))
        for arm in ("base", *buckets):
            errors = _object(arms[arm], f"{where}['level_errors'][{arm!r}]")
            levels = _same_keys(
                errors,
                levels,
                f"{where}['level_errors'][{arm!r}]",
                lambda keys: f"errors at the levels {', '.join(keys)}",
            )
            _numbers(list(errors.values()), f"{where}['level_errors'][{arm!r}]", len(levels), 0, 1)
        bound = _object(row.get("bound", {}), f"{where}['bound']")
        terms_bound = _same_keys(
            bound,
            terms_bound,
            f"{where}['bound']",
            lambda keys: f"the terms of per_budget[0]['bound'] ({', '.join(keys) or 'none'})",
        )
        for term, values in bound.items():
            values = _object(values, f"{where}['bound'][{term!r}]", buckets)
            _numbers([values[b] for b in buckets], f"{where}['bound'][{term!r}]", len(buckets))
        if bound:
            flags = _object(
                row.get("certificate_informative"), f"{where}['certificate_informative']", buckets
            )
            for b in buckets:
                _expect(
                    isinstance(flags[b], bool),
                    f"{where}['certificate_informative'][{b!r}]",
                    flags[b],
                    "a boolean",
                )
    terms = _object(result.get("mean_terms", {}), "mean_terms")
    for name in MEAN_TERMS_READ:
        if name in terms:
            values = terms[name]
            where = f"mean_terms[{name!r}]"
            _expect(
                isinstance(values, list) and len(values) == len(buckets),
                where,
                values,
                f"an array of {len(buckets)} arrays (buckets × budgets)",
            )
            for j, row in enumerate(values):
                _numbers(row, f"{where}[{j}]", len(budgets))
    _check_embedded(result.get("predictions"))
    if config is not None:
        _check_against(result, config, levels)


def _check_embedded(predictions) -> None:
    """The store's evaluation a report carries (None for a single budget)."""
    if predictions is None:
        return
    _object(predictions, "predictions", ("protocols",))
    protocols = _object(predictions["protocols"], "predictions['protocols']")
    for name, protocol in protocols.items():
        where = f"predictions['protocols'][{name!r}]"
        _object(protocol, where, ("predictors",))
        _object(protocol["predictors"], f"{where}['predictors']")


def _check_against(result: dict, config: ExperimentConfig, levels: list[str]) -> None:
    """The report's grid is its config's: buckets, budgets, runs per cell and levels."""
    names = [b.name for b in config.grid.buckets]
    if result["buckets"] != names:
        raise ValueError(f"buckets are {result['buckets']}, its config's are {names}")
    budgets = sorted(config.grid.budgets)
    if result["budgets"] != budgets:
        raise ValueError(f"budgets are {result['budgets']}, its config's are {budgets}")
    runs = len(config.base_seeds) * len(config.grid.seeds)
    if len(result["seeds"]) != runs:
        raise ValueError(f"seeds holds {len(result['seeds'])} runs, its config has {runs}")
    expected = [str(k) for k in config.levels]
    if levels != expected:
        raise ValueError(f"level_errors are at levels {levels}, its config's are {expected}")


def not_recomputed(result: dict, evaluation: dict) -> dict[str, str]:
    """{what: why} for each part of the store's evaluation (the report's ``predictions``)
    that ``evaluation``, made from the report's runs and seed means, does not reproduce:
    a predictor whose inputs the report lacks (absent from ``evaluation``); a predictor
    whose intervals need each run's inputs (its point values are recomputed); the
    verdict's interval, which needs every predictor's resampled regrets; and every
    interval, where the store's also resampled held-out problems or were of another kind."""
    committed = result.get("predictions") or {}
    protocols = committed.get("protocols", {})
    names = list(
        dict.fromkeys(p for protocol in protocols.values() for p in protocol["predictors"])
    )
    recomputed = {
        p for protocol in evaluation["protocols"].values() for p in protocol["predictors"]
    }
    notes = {}
    for name in names:
        if name not in recomputed:
            notes[name] = f"needs {_needs(name)}, which the report does not hold; not recomputed"
    fixed = evaluation.get("held_fixed", {})
    for name, inputs in fixed.items():
        held = " and ".join(INPUTS.get(i, i) for i in inputs)
        notes[name] = (
            f"its intervals need each run's {held}, which only the store holds (the report "
            "has seed means): point values recomputed, intervals not"
        )
    if fixed:
        notes["verdict"] = (
            "its interval redoes the pick of the best predictor in every resample, which "
            "needs every predictor's resampled regrets: not recomputed"
        )
    reasons = []
    if committed.get("problems"):
        reasons.append(
            "the report's also resample each level's held-out problems, whose outcomes only "
            "the store holds"
        )
    if committed and "critical" not in committed:
        reasons.append(
            "the report's are percentile intervals (judged before valid few-draw inference)"
        )
    if reasons:
        notes["intervals"] = (
            "; ".join(reasons) + "; these are t intervals resampling base draws and seeds only"
        )
    ties = near_ties(result)
    if ties:
        (a, n, b, m), more = ties[0], len(ties) - 1
        others = f" (and {more} more pair{'s' * (more > 1)})" if more else ""
        notes[ORDER_METRICS] = (
            f"{a} at n = {n} and {b} at n = {m}{others} have the same mean error at the "
            "report's 8 significant digits, which the store's unrounded errors may order "
            "either way: Kendall's τ and the sign agreement, which count such a pair as a "
            "tie, may differ from the store's"
        )
    return notes


ORDER_METRICS = "τ and sign agreement"
#: Relative difference below which two cells' mean errors recomputed from a report's
#: 8-significant-digit runs may be ordered otherwise by the store's (each run is rounded by
#: at most 5e-9 relative, so a mean by as much; a factor of 20 to spare).
NEAR_TIE = 1e-7


def near_ties(result: dict) -> list[tuple[str, int, str, int]]:
    """(bucket, n, bucket, n) of every pair of cells whose mean target errors over the
    report's runs lie within ``NEAR_TIE`` of each other (relative): equal, or nearly, at the
    report's digits, while the store's unrounded errors may order them."""
    buckets, budgets, rows = result["buckets"], result["budgets"], result["per_budget"]
    cells = [
        (b, n, float(np.mean(row["target_error_seeds"][b])))
        for b in buckets
        for n, row in zip(budgets, rows, strict=True)
    ]
    return [
        (a, n, b, m)
        for i, (a, n, x) in enumerate(cells)
        for b, m, y in cells[i + 1 :]
        if abs(x - y) <= NEAR_TIE * max(abs(x), abs(y))
    ]


def _needs(name: str) -> str:
    """What a predictor of the store's evaluation needs beyond a report, in words."""
    if name == "two-gap fit":
        return "the weights' complexity (mean_terms 'sq_distance' or 'kl')"
    if name == "learned + transferred":
        return "per-level errors and the config's level weights"
    if name == "bound: domain adaptation":
        return "the certified posterior's disagreement and bucket risk (mean_terms)"
    if name.startswith("bound: "):
        return "the certified bounds and whether each is informative (per_budget 'bound')"
    if name.startswith("disagreement"):
        return "the runs' disagreements (mean_terms 'disagreement_…')"
    return "inputs this version of the predictors does not read from a report"
