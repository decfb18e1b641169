"""End to end through the pacbound command: the main job on the tiny experiment, and the
predictions of a committed report rebuilt."""

import json

import pytest

from pacbound.cli import main


@pytest.mark.e2e
def test_reproduce_writes_every_figure_and_the_report(
    tiny, base_cache, tmp_path, capsys, monkeypatch, legend_check
):
    out, db = tmp_path / "figs", tmp_path / "r.sqlite"
    argv = ["reproduce", "--config", str(tiny), "--db", str(db), "--out", str(out), "--quiet"]
    assert main([*argv, "--cache", str(base_cache)]) == 0
    for stem in (
        "theory_landscape",
        "theory_optimum",
        "tiny_gain_heatmap",
        "tiny_accuracy_by_bucket",
        "tiny_optimum_by_budget",
        "tiny_gap_decomposition",
        "tiny_level_gain",
    ):
        for suffix in (".png", ".pdf"):
            assert (out / f"{stem}{suffix}").stat().st_size > 1000, stem
    assert legend_check == []  # every legend names drawn series, beside the data
    index = (out / "README.md").read_text()
    assert "tiny_gain_heatmap.png" in index and "Switch budget" in index
    assert "theory_landscape.png" in index and "theory_optimum.png" in index
    printed = capsys.readouterr().out
    assert "Replication against paper_figs:\ntiny: no committed report to compare" in printed
    # Run again into the same folder, compared with what it held before: the store's cells
    # are reused, so every number agrees and no verdict changes.
    argv = [*argv[:-1], "--committed", str(out), "--quiet", "--cache", str(base_cache)]
    assert main(argv) == 0
    summary = capsys.readouterr().out.splitlines()[-1]
    assert summary.startswith("tiny: agrees with the committed results within their")
    assert summary.endswith("verdicts that changed: none.")
    agreeing, compared = summary.split(" at ")[1].split(" numbers")[0].split(" of ")
    assert agreeing == compared and int(compared) > 0
    report = (out / "tiny_report.md").read_text()
    assert "| base |" in report
    assert "no certificates, so the bound predicts nothing" in report
    # figs without the store keeps every committed report's section in the index.
    monkeypatch.chdir(tmp_path)
    assert main(["figs", "--reports-only", "--out", str(out)]) == 0
    assert (out / "README.md").read_text() == index
    capsys.readouterr()
    assert main(["compare", "--db", str(db), "--out", str(out), "--json"]) == 0
    assert '"certificate_source"' in capsys.readouterr().out
    assert main(["compare", "--db", str(db), "--sigma", "0.3"]) == 2
    assert "unrecognized arguments" in capsys.readouterr().err


@pytest.mark.e2e
def test_predict_rebuilds_the_predictions_of_a_committed_report(paper_figs, tmp_path, capsys):
    report = paper_figs / "quick-fixed_report.json"  # the smallest grid without certificates
    assert main(["predict", str(report), "--out", str(tmp_path)]) == 0
    text = (tmp_path / "quick-fixed_predictions.md").read_text()
    assert "## Assumptions of the shift terms" in text and "| curve fit |" in text
    # No certificates in a report: the one theory-derived predictor is the per-level one.
    assert "| learned + transferred | theory |" in text and "| bound: tv |" not in text
    assert (tmp_path / "quick-fixed_predictions.png").stat().st_size > 1000
    # A report whose preset no longer has its config is refused.
    changed = json.loads(report.read_text()) | {"config_hash": "0" * 16}
    (tmp_path / "old.json").write_text(json.dumps(changed))
    assert main(["predict", str(tmp_path / "old.json"), "--out", str(tmp_path)]) == 2
    assert "no longer has config 0000000000000000" in capsys.readouterr().err
