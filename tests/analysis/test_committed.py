"""A committed comparison report read back without its store: its shape checked up front, and
the predictions recomputed from it equal to the committed ones in everything it does not
name as not recomputed."""

import json
import math
from pathlib import Path

import numpy as np
import pytest

from pacbound.analysis import predict
from pacbound.analysis.committed import ORDER_METRICS, check_report, near_ties
from pacbound.pipeline.predictions import read_report, report_predictions

PAPER_FIGS = Path(__file__).parents[2] / "paper_figs"
#: Every committed report with a committed predictions report, read when the tests are
#: collected: the extended reports are regenerated from time to time, and the test
#: compares whatever is committed.
COMMITTED = sorted(
    p.name.removesuffix("_report.json")
    for p in PAPER_FIGS.glob("*_report.json")
    if (PAPER_FIGS / p.name.replace("_report.json", "_predictions.json")).exists()
)
#: In the default suite: the one whose intervals are recomputed too (no held-out outcomes
#: were resampled), and the one with every kind of predictor and a degenerate bootstrap.
FAST = ("solvable",)  # the others (quick among them) are slow

# A report's runs are rounded to 8 significant digits (``report.markdown.portable``), so
# numbers recomputed from them agree with the store's to about 1e-8 relative, and an
# interval, a multiple of a bootstrap's standard error, to about 1e-6: far below the 4
# digits any report prints.
RELATIVE, ABSOLUTE = 1e-5, 1e-8
ORDER = ("tau_difficulty", "tau_budget", "granulated_tau", "sign_within", "sign_across")
#: Keys only a recomputation from a report may add: the notes and the seed-mean inputs it
#: held fixed; and, where every interval is noted as of another kind, that kind's keys.
ADDED = {"not_recomputed", "held_fixed"}
ADDED_WITH_OTHER_INTERVALS = {"units", "critical", "distinct_resamples", "bootstrap_warning"}


def differences(committed, recomputed, path: str = "") -> list[str]:
    """Where two JSON values differ: numbers beyond RELATIVE/ABSOLUTE, anything else at all."""
    if isinstance(committed, dict) and isinstance(recomputed, dict):
        if set(committed) != set(recomputed):
            return [f"{path}: keys {sorted(set(committed) ^ set(recomputed))}"]
        return [
            d for k in committed for d in differences(committed[k], recomputed[k], f"{path}/{k}")
        ]
    if isinstance(committed, list) and isinstance(recomputed, list):
        if len(committed) != len(recomputed):
            return [f"{path}: {len(committed)} items != {len(recomputed)}"]
        pairs = zip(committed, recomputed, strict=True)
        return [d for i, (a, b) in enumerate(pairs) for d in differences(a, b, f"{path}[{i}]")]
    numbers = all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in (committed, recomputed)
    )
    if numbers:
        if math.isnan(committed) and math.isnan(recomputed):
            return []
        close = math.isclose(committed, recomputed, rel_tol=RELATIVE, abs_tol=ABSOLUTE)
        return [] if close else [f"{path}: {committed!r} != {recomputed!r}"]
    return [] if committed == recomputed else [f"{path}: {committed!r} != {recomputed!r}"]


def unexplained(committed: dict, recomputed: dict) -> list[str]:
    """Every difference between the committed predictions and those recomputed from the
    report that the recomputation's ``not_recomputed`` does not name."""
    notes = recomputed.get("not_recomputed", {})
    intervals = "intervals" in notes  # every interval of another kind
    order = ORDER_METRICS in notes
    found = []
    allowed = ADDED | (ADDED_WITH_OTHER_INTERVALS if intervals else set())
    found += [f"/{k}: only recomputed" for k in set(recomputed) - set(committed) - allowed]
    for key in committed:
        if key == "protocols" or (key == "problems" and intervals):
            continue
        if key not in recomputed:
            found.append(f"/{key}: not recomputed, no note")
            continue
        if key in ADDED_WITH_OTHER_INTERVALS and intervals:
            continue
        found += differences(committed[key], recomputed[key], f"/{key}")
    for name, protocol in committed["protocols"].items():
        mine = recomputed["protocols"][name]
        for key in ("held_out_budgets", "validation"):
            found += differences(protocol[key], mine[key], f"/{name}/{key}")
        for predictor, row in protocol["predictors"].items():
            if predictor not in mine["predictors"]:
                if predictor not in notes:
                    found.append(f"/{name}/{predictor}: missing, not named in a note")
                continue
            row, got = dict(row), dict(mine["predictors"][predictor])
            if predictor in notes:  # its points recomputed, its intervals not (and marked)
                if got["interval"] != {}:
                    found.append(f"/{name}/{predictor}: noted, yet it has intervals")
            if predictor in notes or intervals:
                row.pop("interval"), got.pop("interval")
            if order:
                for key in ORDER:
                    row.pop(key, None), got.pop(key, None)
            found += differences(row, got, f"/{name}/{predictor}")
        verdict, got = dict(protocol["verdict"]), dict(mine["verdict"])
        if "verdict" in notes:
            if got["difference_interval"] is not None:
                found.append(f"/{name}/verdict: noted, yet it has an interval")
        if "verdict" in notes or intervals:
            for key in ("difference_interval", "theory_beats_baseline"):
                verdict.pop(key, None), got.pop(key, None)
        found += differences(verdict, got, f"/{name}/verdict")
    return found


@pytest.mark.parametrize(
    "name",
    [n if n in FAST else pytest.param(n, marks=pytest.mark.slow) for n in COMMITTED],
)
def test_predictions_from_a_committed_report_equal_the_committed_ones(name):
    committed = json.loads((PAPER_FIGS / f"{name}_predictions.json").read_text())
    recomputed = report_predictions(read_report(PAPER_FIGS / f"{name}_report.json"))
    assert unexplained(committed, recomputed) == []
    notes = recomputed.get("not_recomputed", {})
    # Every predictor is recomputed: the report holds seed means of every input.
    for protocol in committed["protocols"]:
        assert set(committed["protocols"][protocol]["predictors"]) <= set(
            recomputed["protocols"][protocol]["predictors"]
        )
    assert all(isinstance(why, str) and why for why in notes.values())


def test_the_comparison_catches_what_a_note_does_not_explain():
    committed = json.loads((PAPER_FIGS / "solvable_predictions.json").read_text())
    changed = json.loads(json.dumps(committed))
    row = changed["protocols"]["far-half"]["predictors"]["curve fit"]
    row["regret_all"] += 1e-3
    for protocol in changed["protocols"].values():
        protocol["predictors"].pop("two-gap fit")
    found = unexplained(committed, changed | {"not_recomputed": {}})
    assert any(line.startswith("/far-half/curve fit/regret_all: ") for line in found)
    assert any("two-gap fit: missing, not named in a note" in line for line in found)
    # An interval beyond the rounding, with no note, is caught too.
    row["regret_all"] -= 1e-3
    row["interval"]["regret_all"][0] += 1e-4
    before = committed["protocols"]["far-half"]["predictors"]["curve fit"]["interval"]
    assert unexplained(committed, changed | {"not_recomputed": {"two-gap fit": "x"}}) == [
        "/far-half/curve fit/interval/regret_all[0]: "
        f"{before['regret_all'][0]!r} != {row['interval']['regret_all'][0]!r}"
    ]


def test_report_shapes_are_checked_up_front():
    report = json.loads((PAPER_FIGS / "solvable_report.json").read_text())
    check_report(report)  # a committed one passes
    cases = [
        ({"foo": 1}, "it has no 'per_budget'"),
        ([1, 2, 3], "it is an array, not an object"),
        (report | {"experiment": "../paper_figs/x"}, "experiment is '../paper_figs/x'"),
        (report | {"budgets": [1, 2, 2, 4]}, "expected an increasing array of integers"),
        (report | {"buckets": ["easy"]}, "at least 2 distinct names"),
        (report | {"per_budget": report["per_budget"][:2]}, "expected an array of 4 objects"),
        (report | {"mean_terms": {"kl": [[1.0]]}}, "mean_terms['kl'] is an array, expected"),
        (report | {"predictions": [1]}, "predictions is an array, expected an object"),
    ]
    row = report["per_budget"][1]
    cases.append(
        (
            report
            | {
                "per_budget": [
                    report["per_budget"][0],
                    row | {"level_errors": {"base": {}}},
                    *report["per_budget"][2:],
                ]
            },
            "per_budget[1]['level_errors'] has no 'easy'",
        )
    )
    broken = dict(row["bound"], tv={"easy": "x", "medium": 1.0, "hard": 1.0})
    rows = [*report["per_budget"][:3], row | {"bound": broken}]
    cases.append((report | {"per_budget": rows}, "per_budget[3]['bound']['tv'][0] is 'x'"))
    for result, message in cases:
        with pytest.raises(ValueError, match=None) as error:
            check_report(result)
        assert message in str(error.value)
        assert "\n" not in str(error.value)


def test_cells_with_equal_means_at_the_report_digits_are_near_ties():
    report = {
        "buckets": ["a", "b"],
        "budgets": [1, 2],
        "per_budget": [
            {"target_error_seeds": {"a": [0.1, 0.3], "b": [0.5, 0.5]}},
            {"target_error_seeds": {"a": [0.2, 0.2000000001], "b": [0.7, 0.9]}},
        ],
    }
    assert near_ties(report) == [("a", 1, "a", 2)]


def test_one_run_per_cell_is_a_degenerate_bootstrap():
    table = predict.RunTable(
        ("easy", "hard"),
        np.array([1, 2, 4]),
        np.array([[[0.5], [0.4], [0.35]], [[0.6], [0.4], [0.2]]]),
    )
    evaluation = predict.evaluate(table, resamples=20)
    assert evaluation["distinct_resamples"] == 1
    assert evaluation["bootstrap_warning"].startswith("degenerate bootstrap: every one of the 20")
    runs = np.concatenate([table.target_error + 0.01 * k for k in range(4)], axis=-1)
    many = predict.RunTable(table.buckets, table.budgets, runs)
    assert "distinct_resamples" not in predict.evaluate(many, resamples=20)
