"""Does a rerun agree with committed results within their uncertainty? Two comparison reports
of one experiment config (``<name>_report.json``, as dicts) in, a plain dict out;
``pacbound.report.replication`` renders it.

Training on another CPU follows other float paths and gives other bases, so a rerun is a
replicate, not a copy: its numbers should differ from the committed ones by about their
combined standard error, and its verdicts may move where the evidence was thin.

Numbers compared: every (bucket, budget) gain over the base, with its 95% interval. The
interval's half-width over its critical value is taken as the standard error (the critical
value a report states as ``bootstrap.critical``, else 1.959964: older reports carry
percentile intervals, read as normal ones; an asymmetric interval contributes its mean
half-width). The two reports' z = (g₁ − g₂)/√(se₁² + se₂²) is compared with the 97.5%
quantile of Student t on df₁ + df₂ degrees of freedom (``bootstrap.df``), or of the normal
when either report has none.

Verdicts compared: the measured optimum per budget, the switch budget, the inverted-U
budgets, the budgets where no bucket beats the base, per budget the buckets better and worse
than the base, the trend's significance (permutation p ≤ 0.05), and the claims (a report's
own ``claims``, and a pair of claims.json entries' ``pooled`` verdicts when given).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

NORMAL_CRITICAL = 1.959964  # z_{0.975}: the multiplier of a report that states none
LEVEL = 0.95  # the intervals' level, and the agreement test's
ALPHA = 0.05  # the trend is significant at permutation p ≤ ALPHA
ZERO_WIDTH = 1e-12  # two zero-width intervals agree when their values are this close
REQUIRED = ("per_budget", "config_hash", "buckets", "budgets")
ROW = {"budget": int, "gain_over_base": dict, "gain_interval": dict}  # what each row must hold


def check_report(report, name: str) -> None:
    """Raise ValueError (one line naming ``name``) unless ``report`` looks like a comparison
    report: a dict with every key of ``REQUIRED``."""
    if not isinstance(report, dict):
        raise ValueError(f"{name}: not a comparison report (a {type(report).__name__}, not a dict)")
    missing = [key for key in REQUIRED if key not in report]
    if missing:
        raise ValueError(f"{name}: not a comparison report (missing {', '.join(missing)})")
    rows = report["per_budget"]
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise ValueError(f"{name}: not a comparison report (per_budget is not a list of rows)")
    for row in rows:
        missing = [key for key in ROW if not isinstance(row.get(key), ROW[key])]
        if missing:
            raise ValueError(
                f"{name}: not a comparison report (a per_budget row lacks {', '.join(missing)})"
            )


def uncertainty(report: dict) -> tuple[float, float | None]:
    """(critical, df) of a report's 95% intervals: ``bootstrap.critical`` (default
    1.959964) and ``bootstrap.df`` (None: a normal interval, and for reports without it)."""
    boot = report.get("bootstrap") or {}
    critical = boot.get("critical")
    if critical is None:
        return NORMAL_CRITICAL, None
    if not (isinstance(critical, int | float) and math.isfinite(critical) and critical > 0):
        raise ValueError(f"bootstrap.critical = {critical!r} is out of range: allowed (0, inf)")
    df = boot.get("df")
    if df is not None and not (
        isinstance(df, int | float) and not isinstance(df, bool) and math.isfinite(df) and df > 0
    ):
        raise ValueError(f"bootstrap.df = {df!r} is out of range: allowed (0, inf) or null")
    return float(critical), df


def threshold(df1: float | None, df2: float | None) -> float:
    """The |z| below which two numbers agree: t_{0.975} on df1 + df2 degrees of freedom, or
    the normal quantile when either df is None."""
    upper = 1 - (1 - LEVEL) / 2
    if df1 is None or df2 is None:
        return float(stats.norm.ppf(upper))
    return float(stats.t.ppf(upper, df1 + df2))


def number(bucket, budget, values, intervals, criticals, limit: float) -> dict:
    """One compared number as a row: ``values`` (g1, g2), their 95% ``intervals`` and the
    ``criticals`` of those intervals. z is None, and agrees False, where both intervals have
    zero width and the values differ (an infinite z); z is 0 where they are equal."""
    (value1, value2), (interval1, interval2) = values, intervals
    se1 = (interval1[1] - interval1[0]) / 2 / criticals[0]
    se2 = (interval2[1] - interval2[0]) / 2 / criticals[1]
    if se1 < 0 or se2 < 0:
        raise ValueError(f"gain_interval of {bucket} at n = {budget}: low above high")
    difference, spread = value1 - value2, math.hypot(se1, se2)
    if spread == 0:
        equal = abs(difference) <= ZERO_WIDTH
        z, agrees = (0.0 if equal else None), equal
    else:
        z = difference / spread
        agrees = abs(z) <= limit
    return {
        "bucket": bucket,
        "budget": budget,
        "value1": float(value1),
        "value2": float(value2),
        "se1": float(se1),
        "se2": float(se2),
        "z": None if z is None else float(z),
        "agrees": bool(agrees),
    }


def _grid(first: dict, second: dict) -> None:
    for key in ("buckets", "budgets"):
        if list(first[key]) != list(second[key]):
            raise ValueError(
                f"second: {key} {list(second[key])} differ from first's {list(first[key])} "
                "under one config hash"
            )
    for key in ("first", "second"):
        report = first if key == "first" else second
        listed = [row.get("budget") for row in report["per_budget"]]
        if listed != list(report["budgets"]):
            raise ValueError(f"{key}: per_budget's budgets {listed} are not {report['budgets']}")


def _significant(report: dict):
    p = (report.get("trend") or {}).get("permutation_p")
    return None if p is None else bool(p <= ALPHA)


def _claims(entries) -> dict:
    return {entry["claim"]: entry.get("verdict") for entry in entries or ()}


def verdicts(first: dict, second: dict) -> list[tuple[str, object, object]]:
    """Every verdict as (name, old, new): old from ``first``, new from ``second``."""
    pairs = []
    for row1, row2 in zip(first["per_budget"], second["per_budget"], strict=True):
        n = row1["budget"]
        pairs.append(
            (f"optimum at n = {n}", row1.get("measured_optimum"), row2.get("measured_optimum"))
        )
        for side in ("better", "worse"):
            key = f"buckets_{side}_than_base"
            pairs.append((f"{side} than the base at n = {n}", row1.get(key), row2.get(key)))
    switch1, switch2 = (r.get("switch") or {} for r in (first, second))
    pairs.append(("switch budget", switch1.get("budget"), switch2.get("budget")))
    for key, name in (
        ("inverted_u_budgets", "inverted-U budgets"),
        ("no_bucket_beats_base_budgets", "budgets where no bucket beats the base"),
    ):
        pairs.append((name, first.get(key), second.get(key)))
    pairs.append((f"trend significant (p ≤ {ALPHA})", _significant(first), _significant(second)))
    if "claims" in first or "claims" in second:
        pairs += _claim_pairs("claim", first.get("claims"), second.get("claims"))
    return pairs


def _claim_pairs(label: str, entries1, entries2) -> list[tuple[str, object, object]]:
    old, new = _claims(entries1), _claims(entries2)
    names = [*old, *(name for name in new if name not in old)]
    return [(f"{label} {name}", old.get(name), new.get(name)) for name in names]


def replicate(
    first: dict, second: dict, first_claims: dict | None = None, second_claims: dict | None = None
) -> dict:
    """How far ``second`` (a rerun) agrees with ``first`` (the committed report) of one
    experiment config.

    ``first_claims``/``second_claims``: optional entries of claims.json's ``experiments``
    (``{"experiment", "pooled": [{"claim", "verdict", ...}]}``), whose pooled verdicts are
    compared too; give both or neither.

    Returns a dict: ``experiment``, ``config_hash``, ``rows`` (per bucket and budget:
    bucket, budget, value1, value2, se1, se2, z, agrees), ``agreeing`` of ``compared``,
    ``rms_z`` (over the rows with a z; None without one), ``higher``/``lower`` (rows where
    the rerun's gain is above/below the committed one) and ``same_sign`` (the larger of the
    two) with ``sign_p`` (two-sided sign test; None without a nonzero difference),
    ``threshold`` (the |z| limit), ``critical`` and ``df`` (each report's), ``verdicts``
    (how many compared) and ``changed`` (``{"verdict", "old", "new"}`` for each that
    changed).

    Raises ValueError for a dict that is not a comparison report, for two reports of
    different config hashes, and for one claims document given without the other.
    """
    check_report(first, "first")
    check_report(second, "second")
    if first["config_hash"] != second["config_hash"]:
        raise ValueError(
            f"second: config_hash {second['config_hash']} differs from first's "
            f"{first['config_hash']}: not runs of one experiment config"
        )
    if (first_claims is None) != (second_claims is None):
        raise ValueError("first_claims, second_claims: give both claims documents or neither")
    _grid(first, second)
    (critical1, df1), (critical2, df2) = uncertainty(first), uncertainty(second)
    limit = threshold(df1, df2)
    rows = []
    for row1, row2 in zip(first["per_budget"], second["per_budget"], strict=True):
        for bucket in first["buckets"]:
            values = (row1["gain_over_base"].get(bucket), row2["gain_over_base"].get(bucket))
            intervals = (row1["gain_interval"].get(bucket), row2["gain_interval"].get(bucket))
            if None in values or None in intervals:
                continue  # a gain one report could not estimate: nothing to compare
            rows.append(
                number(bucket, row1["budget"], values, intervals, (critical1, critical2), limit)
            )
    z = np.array([row["z"] for row in rows if row["z"] is not None], dtype=float)
    difference = np.array([row["value2"] - row["value1"] for row in rows])
    higher, lower = int(np.sum(difference > 0)), int(np.sum(difference < 0))
    pairs = verdicts(first, second)
    if first_claims is not None:
        pooled = (first_claims.get("pooled"), second_claims.get("pooled"))
        pairs += _claim_pairs("pooled claim", *pooled)
    return {
        "experiment": first.get("experiment", ""),
        "config_hash": first["config_hash"],
        "rows": rows,
        "agreeing": sum(row["agrees"] for row in rows),
        "compared": len(rows),
        "rms_z": float(np.sqrt(np.mean(z**2))) if z.size else None,
        "higher": higher,
        "lower": lower,
        "same_sign": max(higher, lower),
        "sign_p": float(stats.binomtest(higher, higher + lower).pvalue) if higher + lower else None,
        "threshold": limit,
        "critical": [critical1, critical2],
        "df": [df1, df2],
        "verdicts": len(pairs),
        "changed": [
            {"verdict": name, "old": old, "new": new} for name, old, new in pairs if old != new
        ],
    }
