"""Which bucket to fine-tune on at a budget N, from pilot runs made with any training stack.

Input: a CSV or JSON Lines file, one row per pilot run (``experiments/pilots-example.csv``):

- ``bucket`` (a name: a string in JSON Lines) and/or ``difficulty`` (a number; buckets are
  ordered by it, and each bucket has one; a bucket without a name is named by its exact
  difficulty). With names only, buckets keep the order of their first appearance, which is
  then taken as the difficulty order.
- ``n``: the run's budget, an integer ≥ 1; ``seed``: an integer; (bucket, n, seed) unique.
- ``target_error`` or ``target_accuracy`` in [0, 1]; or per-level errors ``level_<k>`` in
  [0, 1], whose mean (a uniform target over those levels) is the target error. Every run
  gives the same ``level_<k>`` fields (or none), each a number in [0, 1] even where a target
  error is given: errors over other levels are not comparable.
- optional ``distance`` ≥ 0: ‖θ − θ_pre‖² of the fine-tuned weights, for every run or for
  none (kept with the runs; the two-gap predictor needs level weights too, which only a
  pacbound store has).

Every bucket needs a run at every budget in the file. A bad row is an error naming the file,
its line and field (``<file>, line <n>: …``, as a config's); nothing is guessed or dropped.

The recommendation: each pilot-only predictor of ``pacbound.analysis.predict`` scored by its
far-protocol regret inside the pilots (the smaller half of the pilot budgets predicting the
larger ones: the same question as N beyond the pilots, on budgets whose answer is known;
leave-one-budget-out with two budgets); the one with the lowest regret recommends (ties: the
simpler, in the order listed). The uncertainty has two parts. The bootstrap over seeds
repeats the whole procedure (the pick by regret on the resampled pilots, then its choice).
The extrapolation: every predictor whose pilot regret is not worse than the best's beyond
the bootstrap interval of the paired difference is *plausible*; the 95% set holds the
bootstrap's set and every plausible predictor's choice at N, and where plausible predictors
disagree at N the recommendation says that the pilots cannot tell. So it does for an N
further beyond the largest pilot than the in-pilot protocol reaches (the smaller half's
largest budget to the largest pilot): no prediction that far has been checked, and every
predictor's choice is in the set.
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

import numpy as np

from pacbound.analysis import predict
from pacbound.numeric.argmin import lowest

#: Predictors that need nothing at the budget N itself, simplest first (the tie order).
PILOT_ONLY = (
    "hardest",
    "easiest",
    "middle",
    "largest pilot",
    "nearest pilot",
    "curve fit",
    "scaling law",
    "two-gap fit",
)
EXTRAPOLATION_FACTOR = 2.0  # beyond this factor from the pilot budgets: a warning


class PilotError(ValueError):
    """A pilot file that cannot be read as runs."""


FORMATS = (".csv", ".jsonl", ".ndjson")
EXPECTED = "expected a .csv or .jsonl file"


def _text(path: Path) -> str:
    """The pilot file's text (UTF-8, a byte-order mark allowed), or a one-line error."""
    if path.is_dir():
        raise PilotError(f"pilots = {path} is a directory; {EXPECTED}")
    if not path.is_file():
        raise PilotError(f"pilots = {path}: no such file")
    if path.suffix.lower() not in FORMATS:
        raise PilotError(
            f"pilots = {path}: allowed formats are .csv and .jsonl (.ndjson), "
            f"not {path.suffix or 'a name without extension'!r}"
        )
    try:
        return path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise PilotError(
            f"pilots = {path}: not UTF-8 text (byte {error.start}); {EXPECTED}"
        ) from None
    except OSError as error:
        raise PilotError(f"pilots = {path}: cannot be read ({error.strerror})") from None


def _rows(path: Path) -> list[tuple[int, dict]]:
    """(line number, row) of a CSV or JSON Lines file; a malformed line is a ``PilotError``
    naming the file and the line."""
    text = _text(path)
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        rows = []
        for line, raw in enumerate(text.split("\n"), start=1):
            if not raw.strip():
                continue
            try:
                row = json.loads(raw)
            except json.JSONDecodeError as error:
                raise PilotError(f"{path}, line {line}: not JSON ({error.msg})") from None
            except RecursionError:
                raise PilotError(f"{path}, line {line}: not JSON (nested too deeply)") from None
            if not isinstance(row, dict):
                raise PilotError(f"{path}, line {line}: a row must be a JSON object")
            rows.append((line, row))
        return rows
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None:
            raise PilotError(f"{path}, line 1: the file is empty; {EXPECTED} with a header")
        header = _check_header(path, header)
        rows = []
        for values in reader:
            line = reader.line_num  # a quoted field may span lines: its record's last one
            if not any(v.strip() for v in values):
                continue  # a blank line
            if len(values) != len(header):
                count = f"{len(values)} value{'s' * (len(values) != 1)}"
                raise PilotError(
                    f"{path}, line {line}: {count}, the header has {len(header)} columns"
                )
            rows.append((line, dict(zip(header, values, strict=True))))
    except csv.Error as error:
        raise PilotError(f"{path}, line {reader.line_num}: not CSV ({error})") from None
    return rows


def _check_header(path: Path, header: list[str]) -> list[str]:
    """The CSV header's column names (stripped), each once, with the columns every row
    needs."""
    where = f"{path}, line 1"
    names = [name.strip() for name in header]
    twice = next((name for name in names if names.count(name) > 1), None)
    if twice is not None:
        raise PilotError(f"{where}: column {twice!r} appears twice")
    missing = [
        need
        for need, columns in (
            ("bucket or difficulty", ("bucket", "difficulty")),
            ("n", ("n",)),
            ("seed", ("seed",)),
            ("target_error, target_accuracy or level_<k>", ("target_error", "target_accuracy")),
        )
        if not any(c in names for c in columns)
        and not (need.startswith("target") and any(c.startswith("level_") for c in names))
    ]
    if missing:
        raise PilotError(
            f"{where}: the header has no column {missing[0]} (its columns: {', '.join(names)})"
        )
    return names


def _number(where: str, field: str, value, low: float, high: float, integer=False) -> float:
    try:
        if isinstance(value, bool):
            raise ValueError
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        kind = "an integer" if integer else "a number"
        raise PilotError(f"{where}: {field} = {value!r} is not {kind}") from None
    if math.isfinite(number) and integer and number != int(number):
        raise PilotError(f"{where}: {field} = {value!r} is not an integer")
    if not (math.isfinite(number) and low <= number <= high):
        left, right = "(" if low == -math.inf else "[", ")" if high == math.inf else "]"
        allowed = f"{left}{low:g}, {high:g}{right}"  # a finite number: ±inf is never in it
        raise PilotError(f"{where}: {field} = {value!r} is out of range: allowed {allowed}")
    return int(number) if integer else number


def _present(row: dict, field: str) -> bool:
    return field in row and row[field] not in (None, "")


def _difficulty_name(level: float) -> str:
    """The name of a bucket given by its difficulty alone: the number, exactly (distinct
    difficulties never share a name): "3" for 3.0, "1.0000001", "1e+16"."""
    if level.is_integer() and abs(level) < 2**53:  # every such float is its integer
        return str(int(level))
    return repr(level)  # the shortest text that reads back as this float


def read_pilots(path) -> predict.RunTable:
    """The pilot file as a ``RunTable`` (see the module doc for its format)."""
    path = Path(path)
    runs, difficulty, lines = {}, {}, {}  # lines: (bucket, n, seed) -> its line
    first_levels = None  # (the level_<k> fields of the first run, its line)
    distances = {True: [], False: []}  # lines with a distance, and without
    rows = _rows(path)
    if not rows:
        after = "line 1" if path.suffix.lower() != ".csv" else "line 2"
        raise PilotError(f"{path}, {after}: no runs in the file")
    for line, row in rows:
        where = f"{path}, line {line}"
        if not (_present(row, "bucket") or _present(row, "difficulty")):
            raise PilotError(f"{where}: bucket or difficulty is required")
        level = None
        if _present(row, "difficulty"):
            level = _number(where, "difficulty", row["difficulty"], -math.inf, math.inf)
        if _present(row, "bucket") and not isinstance(row["bucket"], str):
            raise PilotError(
                f"{where}: bucket = {row['bucket']!r} is not a name: expected a string"
            )
        bucket = row["bucket"] if _present(row, "bucket") else _difficulty_name(level)
        if level is not None and difficulty.setdefault(bucket, level) != level:
            raise PilotError(f"{where}: bucket {bucket!r} has two difficulties")
        for field in ("n", "seed"):
            if not _present(row, field):
                raise PilotError(f"{where}: {field} is required")
        n = _number(where, "n", row["n"], 1, math.inf, integer=True)
        seed = _number(where, "seed", row["seed"], -math.inf, math.inf, integer=True)
        levels = sorted(k for k in row if k.startswith("level_") and _present(row, k))
        level_errors = [_number(where, k, row[k], 0, 1) for k in levels]  # each, used or not
        if first_levels is None:
            first_levels = (tuple(levels), line)
        elif tuple(levels) != first_levels[0]:
            raise PilotError(
                f"{where}: level fields ({', '.join(levels) or 'none'}) differ from line "
                f"{first_levels[1]}'s ({', '.join(first_levels[0]) or 'none'}): every run needs "
                "the same level_<k> fields (errors over other levels do not compare)"
            )
        if _present(row, "target_error"):
            error = _number(where, "target_error", row["target_error"], 0, 1)
        elif _present(row, "target_accuracy"):
            error = 1 - _number(where, "target_accuracy", row["target_accuracy"], 0, 1)
        elif levels:
            error = float(np.mean(level_errors))
        else:
            raise PilotError(f"{where}: target_error, target_accuracy or level_<k> is required")
        distance = None
        if _present(row, "distance"):
            distance = _number(where, "distance", row["distance"], 0, math.inf)
        distances[distance is not None].append(line)
        if distances[True] and distances[False]:  # the first run without one, and one with
            without, given = distances[False][0], distances[True][0]
            raise PilotError(
                f"{path}, line {without}: distance is required, line {given} has one: give "
                "every run a distance or none"
            )
        if (bucket, n, seed) in runs:
            raise PilotError(f"{where}: a second run of bucket {bucket!r}, n = {n}, seed {seed}")
        runs[(bucket, n, seed)] = (error, distance)
        lines[(bucket, n, seed)] = line
    buckets = list(dict.fromkeys(b for b, _, _ in runs))
    if difficulty:
        missing = [b for b in buckets if b not in difficulty]
        if missing:
            line = min(v for (b, _, _), v in lines.items() if b == missing[0])
            where = f"{path}, line {line}"
            raise PilotError(f"{where}: bucket {missing[0]!r} has no difficulty, others have one")
        buckets.sort(key=difficulty.get)
    if len(buckets) < 2:
        raise PilotError(f"pilots = {path}: {len(buckets)} bucket given, allowed at least 2")
    budgets = sorted({n for _, n, _ in runs})
    if len(budgets) < 2:
        raise PilotError(
            f"pilots = {path}: runs at {len(budgets)} budget (n = {budgets[0]}), a "
            "recommendation needs at least 2"
        )
    present = {(b, n) for b, n, _ in runs}
    for b in buckets:
        for n in budgets:
            if (b, n) not in present:
                line = min(v for (_, m, _), v in lines.items() if m == n)
                raise PilotError(
                    f"pilots = {path}: no run of bucket {b!r} at n = {n} (line {line} has a "
                    f"run at n = {n}; every bucket needs a run at every budget)"
                )
    seeds = sorted({s for _, _, s in runs})
    shape = (len(buckets), len(budgets), len(seeds))
    error, distance = np.full(shape, np.nan), np.full(shape, np.nan)
    for (b, n, s), (e, d) in runs.items():
        index = (buckets.index(b), budgets.index(n), seeds.index(s))
        error[index] = e
        distance[index] = np.nan if d is None else d
    return predict.RunTable(
        buckets=tuple(buckets),
        budgets=np.array(budgets),
        target_error=error,
        complexity=distance if distances[True] else None,
        complexity_name="‖θ − θ_pre‖²",
    )


def _distance(budget: int, budgets) -> dict:
    """How far N lies from the pilot budgets: the side (above, below or inside), the factor
    from the nearest end of the pilots, and whether it is beyond EXTRAPOLATION_FACTOR."""
    low, high = int(min(budgets)), int(max(budgets))
    side, factor = ("above", budget / high) if budget > high else ("inside", 1.0)
    if budget < low:
        side, factor = "below", low / budget
    extrapolation = factor > EXTRAPOLATION_FACTOR
    return {
        "side": side,
        "factor": factor,
        "low": low,
        "high": high,
        "extrapolation": extrapolation,
    }


def _choose(table, predictor, budget: int):
    """The predictor's choice at ``budget`` from every pilot budget (a mask, or None), its
    ties decided by the noise of these pilots (of a resample: its own), as in ``predict``."""
    pilots = np.arange(len(table.budgets))
    scores = predictor.scores(table, pilots, float(budget), None)
    return predict.choice(scores, table.tolerance_over(pilots))


def _regret(table, predictor, protocol: str) -> float | None:
    return predict.metrics(table, predict.run_protocol(table, predictor, protocol))["regret_all"]


def _select(available, regrets: dict, rows: dict):
    """The predictor with the lowest regret among those that choose (the simpler on ties)."""
    usable = [p for p in available if rows[p.name]["choice"] is not None]
    return lowest(usable, [regrets[p.name] for p in usable])


def _validated_factor(table, protocol: str) -> float:
    """How far beyond its pilots the in-pilot protocol checks a prediction: the largest
    held-out budget over the largest budget it was predicted from."""
    steps = predict.held_out(protocol, len(table.budgets))
    return max(float(table.budgets[i] / table.budgets[pilots].max()) for i, pilots in steps)


def recommend(table: predict.RunTable, budget: int, resamples: int = 400, seed: int = 0):
    """The recommendation at ``budget`` from every pilot budget of ``table``."""
    if isinstance(budget, bool) or not isinstance(budget, int) or budget < 1:
        raise ValueError(f"budget = {budget!r} is out of range: allowed integers [1, inf)")
    if len(table.budgets) < 2:
        raise ValueError(
            f"budgets: {len(table.budgets)} in the pilots, a recommendation needs at least 2"
        )
    available = [p for p in predict.predictors_for(table) if p.name in PILOT_ONLY]
    available.sort(key=lambda p: PILOT_ONLY.index(p.name))
    protocol = "far-half" if len(table.budgets) >= 3 else "leave-one-budget-out"
    tolerance = table.tolerance_over(np.arange(len(table.budgets)))
    rows = {}
    for predictor in available:
        chosen = _choose(table, predictor, budget)
        rows[predictor.name] = {
            "choice": None
            if chosen is None
            else [table.buckets[i] for i in np.flatnonzero(chosen)],
            "regret_on_pilots": _regret(table, predictor, protocol),
        }
    best = _select(available, {name: row["regret_on_pilots"] for name, row in rows.items()}, rows)
    # The interval repeats the whole procedure on each resample of the seeds: the choice of
    # predictor by its regret on the resampled pilots, then that predictor's choice. The
    # resampled regrets also give each predictor's paired difference from the best.
    rng = np.random.default_rng(seed)
    frequency = np.zeros(len(table.buckets))
    differences = {p.name: [] for p in available}
    keys = set()  # the distinct resamples: one run per cell makes every one the pilots
    for _ in range(resamples):
        resample = table.resampled(rng)
        keys.add(predict.resample_key(resample))
        regrets = {p.name: _regret(resample, p, protocol) for p in available}
        picks = {p.name: _choose(resample, p, budget) for p in available}
        winner = _select(available, regrets, {k: {"choice": v} for k, v in picks.items()})
        frequency += picks[winner.name] / picks[winner.name].sum()
        for name in differences:
            differences[name].append(regrets[name] - regrets[best.name])
    frequency /= resamples
    order = np.argsort(-frequency, kind="stable")
    cover = order[: int(np.searchsorted(np.cumsum(frequency[order]), 0.95 - 1e-12)) + 1]
    plausible = [
        p.name
        for p in available
        if rows[p.name]["choice"] is not None
        and np.percentile(differences[p.name], 2.5) <= 1e-12  # not worse beyond the interval
    ]
    # Beyond the furthest extrapolation the pilots can check, no predictor is vouched for,
    # and the optimum may move to a bucket no predictor picks from the pilots: every bucket
    # is in the set, and the answer is that they cannot tell.
    validated = _validated_factor(table, protocol)
    largest = float(table.budgets.max())
    beyond = budget > largest * validated * (1 + 1e-12)
    named = set(table.buckets) if beyond else {b for p in plausible for b in rows[p]["choice"]}
    set_95 = [b for b in table.buckets if b in named or b in {table.buckets[i] for i in cover}]
    cannot_tell = beyond or len({tuple(rows[name]["choice"]) for name in plausible}) > 1
    recommended = rows[best.name]["choice"]
    return {
        "budget": budget,
        "recommended": recommended,
        "by": best.name,
        "protocol": protocol,
        "bootstrap_frequency": dict(zip(table.buckets, frequency.tolist(), strict=True)),
        "plausible": plausible,
        "cannot_tell": cannot_tell,
        "set_95": set_95,
        "resamples": resamples,
        "distinct_resamples": len(keys),
        "bootstrap_warning": predict.bootstrap_warning(len(keys), resamples),
        "tolerance": tolerance,
        "predictors": rows,
        "pilot_budgets": [int(n) for n in table.budgets],
        "distance": _distance(budget, table.budgets),
        "validated_factor": validated,
        "beyond_validated": beyond,
    }
