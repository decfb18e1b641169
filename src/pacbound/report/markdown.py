"""What every Markdown report shares: table rules, numbers or a dash, yes/no, and writing a
report as a .md/.json pair whose floats are portable across CPUs."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

NONE = "—"  # a value that does not exist (no prediction, no interval)

#: The rule: deterministic outputs are written with this many significant digits, so that
#: last-bit differences between CPUs cannot change their bytes (``portable``, applied by
#: ``write_pair`` to every report). Chosen by measurement: the exact preset (9,630 floats in
#: exact_model.json, exact_predictions.json and its claims entry) computed under XLA's
#: default CPU code (AVX2/AVX-512), under ``XLA_FLAGS=--xla_cpu_max_isa=SSE4_2`` and on the
#: CPU that wrote the committed files differs in up to 4,461 of them, by at most 1.75e-12
#: relative. A float moved by a relative ε crosses a rounding boundary at d digits with
#: probability about ε·m·10^(d−1) (m its mantissa, 1 ≤ m < 10): summed over the measured
#: differences, 0.0009 flips expected per regeneration at 8 digits (none seen; 0.009 at 9
#: digits, 0.09 at 10, where one was seen), and under 0.01 even were another CPU's
#: differences ten times as large. Reports print at most 4 digits; a value within about 1e-8
#: of a printed digit's boundary prints as its 8-digit rounding does (0.17500000000000002 →
#: 0.175 → "0.17"), the same on every CPU.
SIGNIFICANT_DIGITS = 8


def rule(columns: int) -> str:
    """The rule line under a Markdown table header of ``columns`` columns."""
    return "|" + "---|" * columns


def header(*columns: str) -> list[str]:
    """A Markdown table's header and rule lines."""
    return ["| " + " | ".join(columns) + " |", rule(len(columns))]


def shown(value, digits: int = 2) -> str:
    """A number with ``digits`` decimals, or a dash for None."""
    return NONE if value is None else f"{value:.{digits}f}"


def yes_no(flag: bool) -> str:
    return "yes" if flag else "no"


def significant(value: float, digits: int = SIGNIFICANT_DIGITS) -> float:
    """``value`` rounded to ``digits`` significant digits (the nearest double to that
    decimal, so rounding again changes nothing); NaN and ±inf unchanged, −0.0 kept."""
    if not math.isfinite(value):
        return float(value)
    return float(f"{value:.{digits - 1}e}")


def _rounded(data):
    if isinstance(data, float):  # numpy's float64 too
        return significant(data)
    if isinstance(data, dict):
        return {key: _rounded(value) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [_rounded(value) for value in data]
    return data  # ints, bools, None, strings


def portable(data):
    """``data`` as a report's JSON holds it, the same bytes on every CPU: every float rounded
    to ``SIGNIFICANT_DIGITS`` significant digits, so that last-bit differences between CPUs
    (XLA's vector code, BLAS) cannot reach the written digits; NaN and ±inf kept (written
    ``NaN``, ``Infinity``, ``-Infinity``, as ``json`` does); ints, bools, None and strings
    unchanged; tuples become lists and keys strings, as JSON reads them back. Idempotent.

    A float that is zero in exact arithmetic but computed as a rounding residue (1e-17 here,
    -3e-18 there) is not made portable by significant digits: none occurs in the measured
    reports (the smallest float that differed between CPUs is 3.9e-7)."""
    return json.loads(json.dumps(_rounded(data)))


def write_pair(folder, stem: str, render: Callable[[dict], str], data: dict) -> tuple[Path, Path]:
    """<folder>/<stem>.json: ``data`` made ``portable`` (indent 1, trailing newline), and
    <folder>/<stem>.md: ``render`` applied to that JSON as read back. A report rendered right
    after computing and one rendered later from its JSON (``pacbound figs --reports-only``)
    are then the same bytes."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    markdown, document = folder / f"{stem}.md", folder / f"{stem}.json"
    text = json.dumps(_rounded(data), indent=1) + "\n"
    markdown.write_text(render(json.loads(text)))
    document.write_text(text)
    return markdown, document
