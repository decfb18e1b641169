"""A rerun against committed results: numbers within their uncertainty, verdicts that moved,
and the refusals (not a report, another config)."""

import copy
import json
import re

import pytest
from scipy import stats

from pacbound.analysis.replication import NORMAL_CRITICAL, replicate, threshold


@pytest.fixture(scope="module")
def committed(paper_figs) -> dict:
    """The committed quick report, read only (every test modifies a copy in memory)."""
    return json.loads((paper_figs / "quick_report.json").read_text())


def moved(report: dict, errors: float, critical: float | None = None) -> dict:
    """A copy of ``report`` whose every gain (and its interval) moved by ``errors`` of its
    own standard error (its interval's half-width over ``critical``, by default the one the
    report states), alternately up and down."""
    critical = critical or report["bootstrap"].get("critical", NORMAL_CRITICAL)
    copied = copy.deepcopy(report)
    sign = 1
    for row in copied["per_budget"]:
        for bucket, (low, high) in row["gain_interval"].items():
            shift = sign * errors * (high - low) / 2 / critical
            row["gain_over_base"][bucket] += shift
            row["gain_interval"][bucket] = [low + shift, high + shift]
            sign = -sign
    return copied


def test_itself_agrees_everywhere(committed):
    result = replicate(committed, committed)
    assert result["compared"] == len(committed["buckets"]) * len(committed["budgets"]) == 18
    assert result["agreeing"] == 18 and result["rms_z"] == 0.0 and result["changed"] == []
    assert result["experiment"] == "quick" and result["config_hash"] == committed["config_hash"]
    df = committed["bootstrap"]["df"]  # t on df1 + df2 degrees of freedom
    assert result["threshold"] == pytest.approx(stats.t.ppf(0.975, 2 * df), abs=1e-6)


def test_a_fraction_of_a_standard_error_agrees(committed):
    result = replicate(committed, moved(committed, 0.3))
    assert result["agreeing"] == result["compared"] == 18
    assert result["changed"] == []
    # each z is 0.3 / √2 in size: both reports have the same standard errors
    assert {round(abs(row["z"]), 6) for row in result["rows"]} == {round(0.3 / 2**0.5, 6)}
    assert result["rms_z"] == pytest.approx(0.3 / 2**0.5)
    assert result["higher"] + result["lower"] == 18 and result["same_sign"] == 9
    row = result["rows"][0]
    low, high = committed["per_budget"][0]["gain_interval"]["easy"]
    assert row["se1"] == pytest.approx((high - low) / 2 / committed["bootstrap"]["critical"])
    assert row["se2"] == pytest.approx(row["se1"])


def test_five_standard_errors_and_a_flipped_optimum_disagree(committed):
    rerun = moved(committed, 5.0)
    assert rerun["per_budget"][4]["budget"] == 64
    rerun["per_budget"][4]["measured_optimum"] = "hard"
    result = replicate(committed, rerun)
    assert result["agreeing"] < result["compared"] == 18
    assert result["agreeing"] == 0  # |z| = 5/√2 ≈ 3.5 everywhere
    assert result["rms_z"] == pytest.approx(5 / 2**0.5)
    assert all(not row["agrees"] for row in result["rows"])
    assert result["changed"] == [{"verdict": "optimum at n = 64", "old": "medium", "new": "hard"}]


def test_every_verdict_kind_is_compared(committed):
    rerun = copy.deepcopy(committed)
    rerun["switch"]["budget"] = "64"
    rerun["inverted_u_budgets"] = [2]
    rerun["no_bucket_beats_base_budgets"] = [1]
    rerun["per_budget"][4]["buckets_better_than_base"] = ["easy", "medium"]
    rerun["per_budget"][0]["buckets_worse_than_base"] = ["medium"]
    significant = committed["trend"]["permutation_p"] <= 0.05
    rerun["trend"]["permutation_p"] = 0.2 if significant else 0.01
    changed = {c["verdict"]: (c["old"], c["new"]) for c in replicate(committed, rerun)["changed"]}
    first, fifth = committed["per_budget"][0], committed["per_budget"][4]
    assert changed == {
        "switch budget": (committed["switch"]["budget"], "64"),
        "inverted-U budgets": (committed["inverted_u_budgets"], [2]),
        "budgets where no bucket beats the base": (
            committed["no_bucket_beats_base_budgets"],
            [1],
        ),
        "better than the base at n = 64": (fifth["buckets_better_than_base"], ["easy", "medium"]),
        "worse than the base at n = 1": (first["buckets_worse_than_base"], ["medium"]),
        "trend significant (p ≤ 0.05)": (significant, not significant),
    }


def test_claims_of_the_report_and_pooled_claims(committed, paper_figs):
    experiments = json.loads((paper_figs / "claims.json").read_text())["experiments"]
    entry = next(e for e in experiments if e["experiment"] == "quick")
    changed_entry = copy.deepcopy(entry)
    first_claim = changed_entry["pooled"][0]
    old_verdict, first_claim["verdict"] = first_claim["verdict"], "holds"
    assert old_verdict != "holds"
    same = replicate(committed, committed, entry, entry)
    assert same["changed"] == [] and same["verdicts"] == 22 + len(entry["pooled"])
    result = replicate(committed, committed, entry, changed_entry)
    assert result["changed"] == [
        {"verdict": f"pooled claim {first_claim['claim']}", "old": old_verdict, "new": "holds"}
    ]
    with_claims = copy.deepcopy(committed) | {"claims": [{"claim": "C3", "verdict": "holds"}]}
    rerun = copy.deepcopy(committed) | {"claims": [{"claim": "C3", "verdict": "undecided"}]}
    assert replicate(with_claims, rerun)["changed"] == [
        {"verdict": "claim C3", "old": "holds", "new": "undecided"}
    ]
    with pytest.raises(ValueError, match="give both claims documents or neither"):
        replicate(committed, committed, entry, None)


def test_stated_critical_values_and_degrees_of_freedom(committed):
    """New reports state their intervals' multiplier and df: se uses that multiplier and the
    agreement threshold is t on df1 + df2."""
    t4 = float(stats.t.ppf(0.975, 4))
    first = copy.deepcopy(committed)
    first["bootstrap"] |= {"critical": t4, "df": 4}
    former = copy.deepcopy(committed)  # a report from before: percentile intervals
    for key in ("critical", "df"):
        former["bootstrap"].pop(key, None)
    second = moved(first, 1.0, critical=t4)
    result = replicate(first, second)
    assert result["threshold"] == pytest.approx(stats.t.ppf(0.975, 8))
    assert result["df"] == [4, 4] and result["critical"] == [t4, t4]
    low, high = committed["per_budget"][0]["gain_interval"]["easy"]
    assert result["rows"][0]["se1"] == pytest.approx((high - low) / 2 / t4)
    assert result["rows"][0]["z"] == pytest.approx(-(2**-0.5))
    # one report with a normal interval makes the threshold normal
    assert replicate(first, former)["threshold"] == pytest.approx(stats.norm.ppf(0.975))
    assert replicate(former, former)["critical"] == [NORMAL_CRITICAL] * 2
    assert threshold(None, 4) == threshold(4, None) == pytest.approx(stats.norm.ppf(0.975))
    bad = copy.deepcopy(committed)
    bad["bootstrap"]["critical"] = -1.0
    with pytest.raises(ValueError, match="bootstrap.critical = -1.0 is out of range"):
        replicate(committed, bad)
    bad["bootstrap"] |= {"critical": 2.0, "df": "two"}
    with pytest.raises(ValueError, match="bootstrap.df = 'two' is out of range"):
        replicate(committed, bad)


def test_zero_width_intervals_agree_only_when_equal(committed):
    first, second = copy.deepcopy(committed), copy.deepcopy(committed)
    for report in (first, second):
        row = report["per_budget"][0]
        row["gain_interval"]["easy"] = [row["gain_over_base"]["easy"]] * 2
    row = replicate(first, second)["rows"][0]
    assert (row["bucket"], row["budget"], row["z"], row["agrees"]) == ("easy", 1, 0.0, True)
    row = second["per_budget"][0]
    row["gain_over_base"]["easy"] += 1e-9
    row["gain_interval"]["easy"] = [row["gain_over_base"]["easy"]] * 2
    result = replicate(first, second)
    assert result["rows"][0]["z"] is None and result["rows"][0]["agrees"] is False
    assert result["agreeing"] == 17
    json.dumps(result, allow_nan=False)  # no infinite z in the JSON


def test_different_config_hashes_are_refused(committed):
    other = copy.deepcopy(committed) | {"config_hash": "0123456789abcdef"}
    with pytest.raises(ValueError) as error:
        replicate(committed, other)
    message = str(error.value)
    assert "config_hash" in message and "0123456789abcdef" in message
    assert committed["config_hash"] in message and "\n" not in message


@pytest.mark.parametrize(
    ("which", "report", "fragment"),
    [
        ("first", {"experiments": []}, "first: not a comparison report (missing per_budget"),
        ("second", [], "second: not a comparison report (a list, not a dict)"),
        ("second", "budgets", "second: not a comparison report"),
    ],
)
def test_a_non_report_is_refused(committed, which, report, fragment):
    arguments = (report, committed) if which == "first" else (committed, report)
    with pytest.raises(ValueError, match=re.escape(fragment)):
        replicate(*arguments)


def test_a_missing_key_is_named(committed):
    partial = {k: v for k, v in committed.items() if k != "buckets"}
    with pytest.raises(ValueError, match=r"^second: not a comparison report \(missing buckets\)$"):
        replicate(committed, partial)
    rowless = copy.deepcopy(committed)
    del rowless["per_budget"][2]["gain_interval"]
    with pytest.raises(ValueError, match=r"^first: not a comparison report \(a per_budget row"):
        replicate(rowless, committed)
