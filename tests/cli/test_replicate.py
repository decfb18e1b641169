"""`pacbound replicate`: a rerun's report against the committed one through the command, the
summary line's exact form, one-line refusals, and folders paired by the pipeline without a
write."""

import copy
import json

import pytest

from pacbound.cli import main
from pacbound.pipeline.replication import replicate_folders, replicate_reports
from pacbound.report.replication import replications_markdown

SUMMARY = (
    "quick: agrees with the committed results within their uncertainty at {k} of {m} numbers; "
    "verdicts that changed: {changed}."
)


@pytest.fixture(scope="module")
def committed(paper_figs) -> dict:
    return json.loads((paper_figs / "quick_report.json").read_text())


def moved(report: dict, errors: float) -> dict:
    """A copy with every gain and its interval moved by ``errors`` standard errors."""
    copied = copy.deepcopy(report)
    critical = report["bootstrap"].get("critical", 1.959964)
    for row in copied["per_budget"]:
        for bucket, (low, high) in row["gain_interval"].items():
            shift = errors * (high - low) / 2 / critical
            row["gain_over_base"][bucket] += shift
            row["gain_interval"][bucket] = [low + shift, high + shift]
    return copied


def written(folder, name: str, document) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(json.dumps(document))
    return str(path)


def test_a_rerun_within_its_uncertainty(committed, tmp_path, capsys):
    first = written(tmp_path, "a_report.json", committed)
    second = written(tmp_path, "b_report.json", moved(committed, 0.4))
    assert main(["replicate", first, second]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[-1] == SUMMARY.format(k=18, m=18, changed="none")
    assert "| bucket | n | g1 | g2 | se1 | se2 | z | agrees |" in out
    assert out.count("| yes |") == 18 and "**no**" not in out


def test_a_rerun_that_disagrees_is_a_finding_not_an_error(committed, tmp_path, capsys):
    rerun = moved(committed, 5.0)
    rerun["per_budget"][4]["measured_optimum"] = "hard"  # n = 64: medium in the committed
    first = written(tmp_path, "a_report.json", committed)
    second = written(tmp_path, "b_report.json", rerun)
    assert main(["replicate", first, second]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert captured.out.splitlines()[-1] == SUMMARY.format(
        k=0, m=18, changed="optimum at n = 64 (medium → hard)"
    )
    assert "| optimum at n = 64 | medium | hard |" in captured.out
    assert main(["replicate", first, second, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["agreeing"], result["compared"]) == (0, 18)
    assert result["changed"] == [{"verdict": "optimum at n = 64", "old": "medium", "new": "hard"}]


def test_the_committed_report_against_itself(paper_figs, capsys):
    report = str(paper_figs / "quick_report.json")
    claims = str(paper_figs / "claims.json")
    assert main(["replicate", report, report, "--claims", claims, claims]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[-1] == SUMMARY.format(k=18, m=18, changed="none")
    assert "Verdicts: 0 of 30 changed." in out  # 22 of the report, 8 pooled claims


def one_line_error(capsys) -> str:
    captured = capsys.readouterr()
    assert captured.out == "" and "Traceback" not in captured.err
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    return lines[0]


def test_a_non_report_is_refused_in_one_line(committed, paper_figs, tmp_path, capsys):
    good = written(tmp_path, "a_report.json", committed)
    claims = str(paper_figs / "claims.json")
    assert main(["replicate", good, claims]) == 2
    line = one_line_error(capsys)
    assert line.startswith(f"pacbound: error: second = {claims}: not a comparison report")
    assert "missing per_budget, config_hash, buckets, budgets" in line


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (lambda folder: folder / "nowhere.json", "no such file"),
        (lambda folder: folder, "not a file"),
        (lambda folder: folder / "x.json", "not JSON"),
    ],
)
def test_unreadable_files_are_named(committed, tmp_path, capsys, make, fragment):
    good = written(tmp_path, "a_report.json", committed)
    (tmp_path / "x.json").write_text("{not json")
    bad = make(tmp_path)
    assert main(["replicate", str(bad), good]) == 2
    line = one_line_error(capsys)
    assert line.startswith(f"pacbound: error: first = {bad}: {fragment}")


def test_another_config_is_refused_naming_both_hashes(committed, tmp_path, capsys):
    first = written(tmp_path, "a_report.json", committed)
    other = copy.deepcopy(committed) | {"config_hash": "0123456789abcdef"}
    second = written(tmp_path, "b_report.json", other)
    assert main(["replicate", first, second]) == 2
    line = one_line_error(capsys)
    assert "0123456789abcdef" in line and committed["config_hash"] in line
    with pytest.raises(ValueError, match="config_hash"):
        replicate_reports(first, second)


def snapshot(folder) -> dict:
    """Every path under ``folder`` with its bytes (files) and modification time."""
    return {
        p: (p.read_bytes() if p.is_file() else None, p.stat().st_mtime_ns)
        for p in [folder, *folder.rglob("*")]
    }


def test_folders_pair_by_name_and_skip_with_a_reason(committed, paper_figs, tmp_path):
    fresh, old = tmp_path / "fresh", tmp_path / "committed"
    claims = json.loads((paper_figs / "claims.json").read_text())
    rerun_claims = copy.deepcopy(claims)
    quick = next(e for e in rerun_claims["experiments"] if e["experiment"] == "quick")
    quick["pooled"][0]["verdict"] = "fails"
    written(old, "quick_report.json", committed)
    written(old, "claims.json", claims)
    other = copy.deepcopy(committed) | {"experiment": "other"}
    written(old, "other_report.json", other)
    written(fresh, "quick_report.json", moved(committed, 0.2))
    written(fresh, "claims.json", rerun_claims)
    written(fresh, "other_report.json", other | {"config_hash": "f" * 16})
    written(fresh, "new_report.json", committed)
    before = snapshot(tmp_path)
    results = replicate_folders(fresh, old)
    assert snapshot(tmp_path) == before  # reading never writes
    by_name = {r["experiment"]: r for r in results}
    assert by_name["new"]["skipped"].startswith("no new_report.json in")
    assert by_name["other"]["file"] == "other_report.json"
    assert by_name["other"]["skipped"] == (
        f"config hash {'f' * 16} differs from the committed {committed['config_hash']}"
    )
    assert [r["experiment"] for r in results] == ["new", "other", "quick"]  # by file name
    replicated = by_name["quick"]
    assert (replicated["agreeing"], replicated["compared"]) == (18, 18)
    claim = claims["experiments"][0]["pooled"][0]["claim"]
    old_verdict = next(e for e in claims["experiments"] if e["experiment"] == "quick")["pooled"]
    assert replicated["changed"] == [
        {"verdict": f"pooled claim {claim}", "old": old_verdict[0]["verdict"], "new": "fails"}
    ]
    text = replications_markdown(results)
    assert "- new: skipped, no new_report.json" in text
    assert text.rstrip().splitlines()[-1].startswith("quick: agrees with the committed results")
    with pytest.raises(ValueError, match="fresh = .*: not a folder"):
        replicate_folders(tmp_path / "absent", old)
