"""pacbound predict: a file that is not a comparison report is one line naming it; the
predictions are written where --out says (a scratch folder without it), never into the
committed paper_figs; what a report cannot give is named in a note."""

import functools
import hashlib
import json
from pathlib import Path

import pytest

from pacbound.analysis import predict
from pacbound.cli import main

ROOT = Path(__file__).parents[2]
PAPER_FIGS = ROOT / "paper_figs"


def listing(folder: Path) -> dict[str, str]:
    """{relative path: SHA-256} of every file under ``folder``."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def quick_evaluation(monkeypatch):
    """The predictors' evaluation with a few resamples: what is written and where does not
    depend on how many."""
    monkeypatch.setattr(predict, "evaluate", functools.partial(predict.evaluate, resamples=8))
    monkeypatch.setattr(predict, "VALIDATION_DRAWS", 50)


def _bad_files(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """{case: (file, what the one-line error must say)}."""
    report = json.loads((PAPER_FIGS / "solvable_report.json").read_text())
    text = (PAPER_FIGS / "solvable_report.json").read_text()
    cases = {
        "object": ('{"foo": 1}', "not a comparison report (<name>_report.json): it has no "),
        "array": ("[1, 2, 3]", "not a comparison report (<name>_report.json): it is an array"),
        "no per_budget": (
            json.dumps({k: v for k, v in report.items() if k != "per_budget"}),
            "it has no 'per_budget'",
        ),
        "truncated": (text[: len(text) // 2], "not JSON: "),
        "wrong type": (
            json.dumps(report | {"budgets": "1,2,4"}),
            "budgets is '1,2,4', expected an increasing array of integers",
        ),
        "short seeds": (
            json.dumps(
                report
                | {
                    "per_budget": [
                        row | {"target_error_seeds": {b: [0.5] for b in report["buckets"]}}
                        for row in report["per_budget"]
                    ]
                }
            ),
            "per_budget[0]['target_error_seeds']['easy'] is an array, expected an array of 3",
        ),
    }
    files = {}
    for case, (content, message) in cases.items():
        path = tmp_path / f"{case.replace(' ', '_')}.json"
        path.write_text(content)
        files[case] = (path, message)
    files["predictions"] = (
        PAPER_FIGS / "quick_predictions.json",
        "a predictions report (<name>_predictions.json), not a comparison report",
    )
    files["directory"] = (tmp_path, "is a directory; expected a <name>_report.json file")
    return files


@pytest.mark.parametrize(
    "case",
    [
        "object",
        "array",
        "predictions",
        "no per_budget",
        "truncated",
        "directory",
        "wrong type",
        "short seeds",
    ],
)
def test_a_file_that_is_not_a_comparison_report_is_one_line_naming_it(tmp_path, capsys, case):
    path, message = _bad_files(tmp_path)[case]
    out = tmp_path / "out"
    before = listing(PAPER_FIGS)
    assert main(["predict", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"pacbound: error: report = {path}")
    assert message in err
    assert not out.exists() and listing(PAPER_FIGS) == before


def test_without_out_it_writes_into_a_scratch_folder_it_names(
    tmp_path, capsys, monkeypatch, quick_evaluation
):
    monkeypatch.chdir(tmp_path)  # a relative default lands here, not in the repository
    before = listing(PAPER_FIGS)
    assert main(["predict", str(PAPER_FIGS / "solvable_report.json")]) == 0
    out = capsys.readouterr().out
    scratch = Path("pacbound-results") / "predictions"
    assert f"writing into the scratch folder {scratch}/" in out
    assert f"wrote {scratch / 'solvable_predictions.json'}" in out
    written = sorted(p.name for p in (tmp_path / scratch).iterdir())
    assert written == [f"solvable_predictions.{s}" for s in ("json", "md", "pdf", "png")]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pacbound-results"]
    assert listing(PAPER_FIGS) == before


def test_what_a_report_cannot_give_is_named_in_a_note_and_marked(
    tmp_path, capsys, quick_evaluation
):
    """extended-b24's store resampled held-out problems and held each run's ‖θ − θ_pre‖²
    and per-level errors; its report keeps seed means of those: the two-gap fit's points
    are recomputed, its intervals are not, and every interval is of another kind."""
    report = PAPER_FIGS / "extended-b24_report.json"
    assert main(["predict", str(report), "--out", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    notes = [line for line in captured.err.splitlines() if line.startswith("pacbound: note: ")]
    named = {line.removeprefix("pacbound: note: ").split(": ")[0] for line in notes}
    assert {"two-gap fit", "learned + transferred", "verdict", "intervals"} <= named
    assert "held-out problems" in next(line for line in notes if "note: intervals:" in line)
    data = json.loads((tmp_path / "extended-b24_predictions.json").read_text())
    assert set(data["not_recomputed"]) == named
    row = data["protocols"]["far-half"]["predictors"]["two-gap fit"]
    assert row["interval"] == {} and row["regret_all"] is not None
    assert data["protocols"]["far-half"]["verdict"]["difference_interval"] is None
    text = (tmp_path / "extended-b24_predictions.md").read_text()
    assert "## Not recomputed from the comparison report" in text
    assert "- two-gap fit: its intervals need each run's complexity" in text


def test_a_degenerate_bootstrap_is_warned_of(tmp_path, capsys, monkeypatch):
    """quick has five base draws of one seed each and its report no held-out outcomes: a
    resample is a multiset of five draws, of which at most C(9, 5) = 126 exist, and 40
    draws of them repeat some."""
    monkeypatch.setattr(predict, "evaluate", functools.partial(predict.evaluate, resamples=40))
    monkeypatch.setattr(predict, "VALIDATION_DRAWS", 50)
    assert main(["predict", str(PAPER_FIGS / "quick_report.json"), "--out", str(tmp_path)]) == 0
    warning = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert len(warning) == 1 and "degenerate bootstrap: only" in warning[0]
    data = json.loads((tmp_path / "quick_predictions.json").read_text())
    assert data["distinct_resamples"] < data["resamples"] == 40
    assert data["bootstrap_warning"] in warning[0]
    assert "**Warning: degenerate bootstrap" in (tmp_path / "quick_predictions.md").read_text()
