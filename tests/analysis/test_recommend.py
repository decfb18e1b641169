"""pacbound recommend: pilot files read strictly, recommendations computed by hand."""

import json
import math
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
    assert result["distance"]["factor"] == 8 and "extrapolation" in result["distance"]["warning"]
    inside = recommend(table, 16, resamples=10)
    assert inside["distance"]["warning"] is None and "inside" in inside["distance"]["where"]


def test_json_lines_with_accuracies_and_per_level_errors(tmp_path):
    rows = []
    for n in (1, 2):
        for seed in (0, 1):
            rows.append({"bucket": "a", "n": n, "seed": seed, "target_accuracy": 0.75})
            rows.append({"bucket": "b", "n": n, "seed": seed, "level_3": 0.1, "level_4": 0.3})
    path = tmp_path / "p.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    table = read_pilots(path)
    assert table.buckets == ("a", "b")  # first appearance, no difficulty given
    assert np.allclose(table.target_error[0], 0.25) and np.allclose(table.target_error[1], 0.2)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("easy,3,0,0,0.5", "line 3: n = '0' is out of range: allowed [1, inf]"),
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
    with pytest.raises(PilotError, match=message.replace("[", r"\[").replace("]", r"\]")):
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
    with pytest.raises(PilotError, match="p.jsonl line 2: a row must be a JSON object"):
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
        err == "pacbound: error: b.csv line 2: target_error = '2' is out of range: allowed [0, 1]"
    )


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
