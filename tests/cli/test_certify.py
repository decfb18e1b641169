"""End to end through the pacbound command: certify a tiny grid under two learners, then
figs with the certified predictions, the learners report and the index."""

import pytest

from pacbound.cli import main


@pytest.mark.e2e
def test_the_certify_command_writes_its_report_and_figures(certified_store, tiny):
    _, out = certified_store
    for name in ("tinycert-full", "tinycert-k8"):
        report = (out / f"{name}_certificates.md").read_text()
        assert "Valid cells" in report and "| bucket | n | seed |" in report
        for stem in ("certificate_by_budget", "certificate_vs_risk"):
            assert (out / f"{name}_{stem}.png").stat().st_size > 1000
    assert main(["certify", "--config", str(tiny)]) == 2  # no [certify] table


@pytest.mark.e2e
def test_figs_writes_certified_predictions_and_the_learners_report(certified_store, tmp_path):
    db, _ = certified_store
    out = tmp_path / "figs"
    assert main(["figs", "--db", str(db), "--out", str(out), "--no-theory"]) == 0
    assert not list(out.glob("theory_*"))  # drawn by the reproduce test
    report = (out / "tinycert-full_report.md").read_text()
    assert "## Does a predictor track" in report and "floor (certificate)" in report
    predictions = (out / "tinycert-full_predictions.md").read_text()
    assert "## Assumptions of the shift terms" in predictions
    assert "| bound: tv |" in predictions and "| disagreement (label-free) |" in predictions
    assert (out / "tinycert-full_predictions.png").stat().st_size > 1000
    assert main(["recommend", "--db", str(db), "--name", "tinycert-full", "--budget", "9"]) == 0
    learners = (out / "tinycert_learners.md").read_text()
    assert "Intrinsic dimension" in learners and "| k = 8 |" in learners
    assert (out / "learners_certificate_vs_risk.png").stat().st_size > 1000
    index = (out / "README.md").read_text()
    assert "Certificates: `tinycert-k8`" in index and "Learners: `tinycert`" in index


def test_export_of_certified_cells_holds_every_field_of_every_cell(certified_store, tmp_path):
    """Cells differ in their optional fields (a certificate pilots only the candidates it
    needs, except at the largest budget): the CSV's columns are all of them."""
    import csv
    import json

    from pacbound.cli import main

    db, _ = certified_store
    out = tmp_path / "cells.csv"
    assert main(["export", "--db", str(db), "--name", "tinycert-full", "--out", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    json_out = tmp_path / "cells.json"
    argv = ["export", "--db", str(db), "--name", "tinycert-full", "--format", "json"]
    assert main([*argv, "--out", str(json_out)]) == 0
    every = {key for row in json.loads(json_out.read_text()) for key in row}
    assert set(rows[0]) == every and len(rows) == len(json.loads(json_out.read_text()))
