"""pacbound recommend: pilot files read strictly, recommendations computed by hand."""

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

from pacbound.analysis import predict
from pacbound.analysis.recommend import PilotError, read_pilots, recommend
from pacbound.cli import main
from pacbound.report.recommend import recommendation_markdown

ROOT = Path(__file__).parents[2]
EXAMPLE = ROOT / "experiments" / "pilots-example.csv"


def _write(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def _crossing_rows() -> list[str]:
    """easy: 0.4 flat; hard: 0.8 − 0.1·log2 n (they cross at n = 16); tiny seed noise."""
    rows = []
    for n in (2, 4, 8, 32):
        for seed in (0, 1, 2):
            noise = 1e-4 * (seed - 1)
            rows.append(f"hard,9,{n},{seed},{0.8 - 0.1 * math.log2(n) + noise}")
            rows.append(f"easy,3,{n},{seed},{0.4 + noise}")
    return rows


def test_a_line_in_log_n_recommends_the_bucket_that_wins_beyond_the_crossing(tmp_path):
    path = _write(tmp_path / "p.csv", "bucket,difficulty,n,seed,target_error", _crossing_rows())
    table = read_pilots(path)
    assert table.buckets == ("easy", "hard")  # ordered by difficulty, not by appearance
    assert table.budgets.tolist() == [2, 4, 8, 32]
    result = recommend(table, 256, resamples=50)
    # The far protocol inside the pilots fits on n = 2, 4 and holds out n = 8 (easy wins:
    # 0.4 < 0.5) and n = 32 (hard: 0.3 < 0.4).
    # The curve fit gets both (regret 0) where "hardest" and "easiest" each miss one; it
    # says hard at n = 256 (0.8 − 0.8 = 0 < 0.4).
    assert result["by"] == "curve fit" and result["recommended"] == ["hard"]
    assert result["plausible"] == ["curve fit"] and result["cannot_tell"] is False
    assert result["predictors"]["curve fit"]["regret_on_pilots"] == pytest.approx(0, abs=1e-3)
    assert result["predictors"]["nearest pilot"]["choice"] == ["hard"]
    assert result["predictors"]["easiest"]["regret_on_pilots"] == pytest.approx(0.05, abs=1e-3)
    assert result["bootstrap_frequency"]["hard"] == pytest.approx(1.0)
    assert result["distance"] == {
        "side": "above",
        "factor": 8,
        "low": 2,
        "high": 32,
        "extrapolation": True,
    }
    assert "n = 256 is 8× the largest pilot budget (32): an extrapolation" in (
        recommendation_markdown(result)
    )
    inside = recommend(table, 16, resamples=10)
    assert inside["distance"] == {
        "side": "inside",
        "factor": 1.0,
        "low": 2,
        "high": 32,
        "extrapolation": False,
    }
    text = recommendation_markdown(inside)
    assert "n is inside the pilot budgets (2–32)." in text and "extrapolation" not in text
    below = recommend(table, 1, resamples=10)["distance"]
    assert below["side"] == "below" and below["factor"] == 2 and not below["extrapolation"]


def test_json_lines_with_accuracies_and_per_level_errors(tmp_path):
    rows = []
    for n in (1, 2):
        for seed in (0, 1):
            # Every run gives the same level fields, checked where a target accuracy is given too.
            levels = {"level_3": 0.1, "level_4": 0.3}
            rows.append({"bucket": "a", "n": n, "seed": seed, "target_accuracy": 0.75, **levels})
            rows.append({"bucket": "b", "n": n, "seed": seed, **levels})
    path = tmp_path / "p.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    table = read_pilots(path)
    assert table.buckets == ("a", "b")  # first appearance, no difficulty given
    assert np.allclose(table.target_error[0], 0.25) and np.allclose(table.target_error[1], 0.2)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("easy,3,0,0,0.5", "line 3: n = '0' is out of range: allowed [1, inf)"),
        ("easy,3,abc,0,0.5", "line 3: n = 'abc' is not an integer"),
        ("easy,3,2.5,0,0.5", "line 3: n = '2.5' is not an integer"),
        ("easy,3,4,0,1.5", "line 3: target_error = '1.5' is out of range: allowed [0, 1]"),
        ("easy,3,4,0,nan", "line 3: target_error = 'nan' is out of range"),
        ("easy,3,4,,0.5", "line 3: seed is required"),
        ("easy,3,4,0,", "line 3: target_error, target_accuracy or level_<k> is required"),
        (",,4,0,0.5", "line 3: bucket or difficulty is required"),
        ("easy,5,4,0,0.5", "line 3: bucket 'easy' has two difficulties"),
        ("easy,3,2,0,0.5", "line 3: a second run of bucket 'easy', n = 2, seed 0"),
    ],
)
def test_a_bad_row_is_an_error_naming_its_line_and_field(tmp_path, row, message):
    header = "bucket,difficulty,n,seed,target_error"
    path = _write(tmp_path / "p.csv", header, ["easy,3,2,0,0.5", row, "hard,9,2,0,0.4"])
    with pytest.raises(PilotError, match=re.escape(message)):
        read_pilots(path)


def test_files_that_cannot_give_a_recommendation_are_refused(tmp_path):
    header = "bucket,n,seed,target_error"
    one_bucket = _write(tmp_path / "one.csv", header, ["a,1,0,0.5", "a,2,0,0.4"])
    with pytest.raises(PilotError, match="1 bucket given, allowed at least 2"):
        read_pilots(one_bucket)
    missing = _write(tmp_path / "m.csv", header, ["a,1,0,0.5", "b,1,0,0.4", "a,2,0,0.3"])
    with pytest.raises(ValueError, match="no run of bucket 'b' at n = 2"):
        read_pilots(missing)
    with pytest.raises(PilotError, match="allowed formats are .csv and .jsonl"):
        read_pilots(_write(tmp_path / "p.txt", header, []))
    bad_json = tmp_path / "p.jsonl"
    bad_json.write_text('{"bucket": "a"}\n[1, 2]\n')
    with pytest.raises(PilotError, match="p.jsonl, line 2: a row must be a JSON object"):
        read_pilots(bad_json)
    single = _write(tmp_path / "s.csv", header, ["a,1,0,0.5", "b,1,0,0.4"])
    with pytest.raises(ValueError, match="needs at least 2"):
        recommend(read_pilots(single), 8)
    with pytest.raises(ValueError, match="budget = 0 is out of range"):
        recommend(read_pilots(EXAMPLE), 0)


def test_the_command_on_the_example_file_and_on_bad_input(capsys, tmp_path):
    assert main(["recommend", str(EXAMPLE), "--budget", "256"]) == 0
    out = capsys.readouterr().out
    assert "# Recommended bucket at n = 256" in out and "Warning: n = 256 is 8×" in out
    assert main(["recommend", str(EXAMPLE), "--budget", "64", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result["predictors"]) >= {"nearest pilot", "curve fit", "hardest"}
    assert main(["recommend", str(EXAMPLE), "--budget", "-3"]) == 2
    assert "budget = -3 is out of range" in capsys.readouterr().err
    bad = _write(tmp_path / "b.csv", "bucket,n,seed,target_error", ["a,1,0,2"])
    assert main(["recommend", str(bad), "--budget", "8"]) == 2
    err = capsys.readouterr().err.strip()
    assert (
        err == f"pacbound: error: {bad}, line 2: target_error = '2' is out of range: allowed [0, 1]"
    )


HEADER = "bucket,difficulty,n,seed,target_error"
GOOD_ROWS = ["easy,3,8,0,0.5", "hard,9,8,0,0.6", "easy,3,32,0,0.45", "hard,9,32,0,0.4"]


def _malformed(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """{case: (a function making the pilot file, what its one-line error must say)}."""
    csv = tmp_path / "p.csv"

    def write(name, text):  # the file of one case, made when the case is asked for
        def make():
            path = tmp_path / name
            path.write_bytes(text if isinstance(text, bytes) else text.encode())
            return path

        return make

    rows = "\n".join(GOOD_ROWS)
    return {
        "directory": (
            lambda: tmp_path,
            f"pilots = {tmp_path} is a directory; expected a .csv or .jsonl",
        ),
        "missing column": (
            write("p.csv", "bucket,difficulty,n,target_error\neasy,3,8,0.5\n"),
            f"{csv}, line 1: the header has no column seed",
        ),
        "no error column": (
            write("p.csv", "bucket,n,seed\neasy,8,0\n"),
            f"{csv}, line 1: the header has no column target_error, target_accuracy or level_<k>",
        ),
        "non-numeric": (
            write("p.csv", f"{HEADER}\n{rows}\nhard,9,abc,0,0.5\n"),
            f"{csv}, line 6: n = 'abc' is not an integer",
        ),
        "negative n": (
            write("p.csv", f"{HEADER}\n{rows}\nhard,9,-8,0,0.5\n"),
            f"{csv}, line 6: n = '-8' is out of range: allowed [1, inf)",
        ),
        "empty": (write("p.csv", ""), f"{csv}, line 1: the file is empty"),
        "header only": (write("p.csv", HEADER + "\n"), f"{csv}, line 2: no runs in the file"),
        "unknown extension": (
            write("p.txt", f"{HEADER}\n{rows}\n"),
            f"pilots = {tmp_path / 'p.txt'}: allowed formats are .csv and .jsonl",
        ),
        "bad JSON line": (
            write("p.jsonl", '{"bucket": "a", "n": 8, "seed": 0, "target_error": 0.5}\n{n: 8}\n'),
            f"{tmp_path / 'p.jsonl'}, line 2: not JSON",
        ),
        "too many values": (
            write("p.csv", f"{HEADER}\n{rows}\nhard,9,8,1,0.5,7\n"),
            f"{csv}, line 6: 6 values, the header has 5 columns",
        ),
        "duplicate column": (
            write("p.csv", "bucket,n,n,seed,target_error\n"),
            f"{csv}, line 1: column 'n' appears twice",
        ),
        "a missing cell": (
            write("p.csv", f"{HEADER}\n" + "\n".join(GOOD_ROWS[:3]) + "\n"),
            f"pilots = {csv}: no run of bucket 'hard' at n = 32 (line 4 has a run at n = 32",
        ),
        "no difficulty": (
            write("p.csv", f"{HEADER}\n{rows}\nmiddle,,8,0,0.5\nmiddle,,32,0,0.5\n"),
            f"{csv}, line 6: bucket 'middle' has no difficulty, others have one",
        ),
        "not UTF-8": (write("p.csv", b"\xff\xfe\x00"), f"pilots = {csv}: not UTF-8 text"),
        "huge integer": (
            write(
                "p.jsonl",
                '{"bucket": "a", "n": 1' + "0" * 400 + ', "seed": 0, "target_error": 0.5}\n',
            ),
            f"{tmp_path / 'p.jsonl'}, line 1: n = 1000",
        ),
        "one budget": (
            write("p.csv", f"{HEADER}\n" + "\n".join(GOOD_ROWS[:2]) + "\n"),
            f"pilots = {csv}: runs at 1 budget (n = 8), a recommendation needs at least 2",
        ),
    }


@pytest.mark.parametrize(
    "case",
    [
        "directory",
        "missing column",
        "no error column",
        "non-numeric",
        "negative n",
        "empty",
        "header only",
        "unknown extension",
        "bad JSON line",
        "too many values",
        "duplicate column",
        "a missing cell",
        "no difficulty",
        "not UTF-8",
        "huge integer",
        "one budget",
    ],
)
def test_a_malformed_pilot_file_is_one_line_naming_file_and_line(tmp_path, capsys, case):
    make, message = _malformed(tmp_path)[case]
    assert main(["recommend", str(make()), "--budget", "64"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("pacbound: error: ") and message in err


def test_pilots_with_a_byte_order_mark_and_blank_lines_keep_their_line_numbers(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("\ufeff" + HEADER + "\n\n" + "\n".join(GOOD_ROWS) + "\n\neasy,3,8,0,0.5\n")
    with pytest.raises(PilotError, match="line 8: a second run of bucket 'easy', n = 8, seed 0"):
        read_pilots(path)


def test_one_seed_per_cell_is_warned_of_as_a_degenerate_bootstrap(tmp_path, capsys):
    path = _write(tmp_path / "p.csv", HEADER, [*GOOD_ROWS, "easy,3,16,0,0.47", "hard,9,16,0,0.5"])
    assert main(["recommend", str(path), "--budget", "64", "--json"]) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert result["distinct_resamples"] == 1
    assert result["bootstrap_warning"].startswith("degenerate bootstrap: every one of the 400")
    assert captured.err == f"pacbound: warning: {result['bootstrap_warning']}\n"
    text = recommendation_markdown(result)
    assert f"**Warning: {result['bootstrap_warning']}.**" in text
    assert "(of which 1 distinct)" in text or "cannot tell" in text
    # Several seeds per cell: no warning.
    result = recommend(read_pilots(EXAMPLE), 64, resamples=50)
    assert result["bootstrap_warning"] is None and result["distinct_resamples"] == 50


def test_the_help_names_the_protocol_the_recommendation_uses(capsys):
    try:
        main(["recommend", "--help"])
    except SystemExit:
        pass
    text = " ".join(capsys.readouterr().out.split())
    assert "far-half regret" in text and "forward-chaining" not in text
    table = read_pilots(EXAMPLE)
    assert recommend(table, 64, resamples=5)["protocol"] == "far-half"


def test_predictors_as_good_on_the_pilots_that_disagree_beyond_them_cannot_tell():
    # Pilots n = 1 … 8 in which easy and hard have the same runs (0.35, 0.40, 0.45): every
    # predictor has regret 0 on the pilots, so all are plausible; "easiest" says easy at
    # n = 64 and "hardest" hard. The pilots cannot tell, and the set holds both.
    error = np.tile(np.array([0.35, 0.40, 0.45]), (2, 4, 1))
    table = predict.RunTable(("easy", "hard"), np.array([1, 2, 4, 8]), error)
    result = recommend(table, 64, resamples=50)
    assert {"easiest", "hardest"} <= set(result["plausible"])
    assert result["cannot_tell"] is True and result["set_95"] == ["easy", "hard"]
    assert "**The pilots cannot tell.**" in recommendation_markdown(result)
    assert result["validated_factor"] == 4.0  # pilots 1, 2 predicting 4 and 8


@pytest.mark.xfail(
    strict=True,
    reason="a known miss: on extended-b24 as re-swept under valid few-draw inference, the "
    "pilots at n ≤ 32 put easy and medium in the 95% set at 256 (8×, inside the far-half "
    "validated factor) and the optimum there is hard; the pilots' 0-1 errors do not see the "
    "switch coming (continuous signals are the planned remedy)",
)
def test_pilots_up_to_32_of_the_committed_extended_b24_never_exclude_the_optimum_at_256():
    """The practitioner's case: pilots at n ≤ 32 of a committed experiment whose optimum
    (hard) appears only beyond them; the recommendation at 256 names it or cannot tell, and
    its set holds it."""
    from dataclasses import replace

    from pacbound import config
    from pacbound.analysis.table import runs_from_report

    report = json.loads((ROOT / "paper_figs" / "extended-b24_report.json").read_text())
    table = runs_from_report(report, config.preset_all("extended")[0])
    pilots = np.flatnonzero(table.budgets <= 32)
    at = int(np.flatnonzero(table.budgets == 256)[0])
    measured = [
        b
        for b, e in zip(table.buckets, table.mean[:, at], strict=True)
        if e == min(table.mean[:, at])
    ]
    assert measured == ["hard"]
    pilot_table = replace(
        table,
        budgets=table.budgets[pilots],
        target_error=table.target_error[:, pilots],
        level_error=table.level_error[:, pilots],
    )
    result = recommend(pilot_table, 256, resamples=100)
    assert result["recommended"] == ["hard"] or result["cannot_tell"]
    assert "hard" in result["set_95"]


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("\n".join(json.dumps(row) for row in rows) + "\n")
    return path


def _runs(**fields) -> list[dict]:
    """Runs of buckets a and b at n = 8 and 32, seed 0, each with ``fields``."""
    return [
        {"bucket": b, "n": n, "seed": 0, "target_error": e, **fields}
        for n, errors in ((8, (0.5, 0.6)), (32, (0.45, 0.4)))
        for b, e in zip("ab", errors, strict=True)
    ]


@pytest.mark.parametrize(
    ("levels", "names"),
    [((1000000, 1000001), ("1000000", "1000001")), ((1, 1.0000001), ("1", "1.0000001"))],
)
def test_buckets_named_by_difficulty_alone_never_share_a_name(tmp_path, levels, names):
    rows = [f"{d},{n},0,{e}" for n in (8, 32) for d, e in zip(levels, (0.5, 0.4), strict=True)]
    table = read_pilots(_write(tmp_path / "p.csv", "difficulty,n,seed,target_error", rows))
    assert table.buckets == names


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        # A bad level field beside a target error was ignored.
        ((1, {"level_3": "x"}), "line 2: level_3 = 'x' is not a number"),
        # One missing distance dropped every run's.
        ((2, {"distance": None}), "line 3: distance is required, line 1 has one: give every"),
        # Errors over other levels were averaged as if comparable.
        (
            (3, {"level_5": 0.2}),
            "line 4: level fields (level_3, level_4, level_5) differ from line 1's "
            "(level_3, level_4): every run needs the same level_<k> fields",
        ),
        # bucket: 1 and bucket: "1" were one bucket.
        ((1, {"bucket": 1}), "line 2: bucket = 1 is not a name: expected a string"),
    ],
)
def test_nothing_in_a_pilot_file_is_dropped_or_merged(tmp_path, capsys, edit, message):
    rows = _runs(level_3=0.1, level_4=0.3, distance=1.5)
    index, fields = edit
    rows[index] = {k: v for k, v in {**rows[index], **fields}.items() if v is not None}
    path = _jsonl(tmp_path / "p.jsonl", rows)
    assert main(["recommend", str(path), "--budget", "64"]) == 2
    assert capsys.readouterr().err.startswith(f"pacbound: error: {path}, {message}")
    assert list(tmp_path.iterdir()) == [path]


def test_runs_with_a_distance_or_without_one_all_alike_are_read(tmp_path):
    assert read_pilots(_jsonl(tmp_path / "a.jsonl", _runs())).complexity is None
    table = read_pilots(_jsonl(tmp_path / "b.jsonl", _runs(distance=2.0)))
    assert np.all(table.complexity == 2.0)
    rows = _runs()
    rows[0]["distance"] = 1.0  # the first run has one: the first without it is named
    with pytest.raises(PilotError, match=r"b\.jsonl, line 2: distance is required, line 1 has"):
        read_pilots(_jsonl(tmp_path / "b.jsonl", rows))
