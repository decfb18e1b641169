"""End to end through the pacbound command: the tiny grid under op-count and base-loss
buckets, swept, then figs with the difficulty report; base-loss experiments stay out of
the reports that read buckets as level ranges."""

import json
from pathlib import Path

import pytest

from pacbound.cli import main

CONFIG = Path(__file__).parents[1] / "data" / "tiny_base_loss.toml"


@pytest.mark.e2e
@pytest.mark.slow  # two tiny sweeps and the op-count report: ~20 s
def test_figs_writes_the_difficulty_report_and_leaves_base_loss_out_of_the_others(
    base_cache, tmp_path, monkeypatch
):
    db, out = tmp_path / "r.sqlite", tmp_path / "figs"
    argv = ["sweep", "--config", str(CONFIG), "--db", str(db), "--cache", str(base_cache)]
    assert main([*argv, "--quiet"]) == 0
    assert main(["figs", "--db", str(db), "--out", str(out), "--no-theory"]) == 0
    report = json.loads((out / "tinyrel_difficulty.json").read_text())
    assert [row["base"] for row in report["bases"]] == ["base/0"]  # one range, one draw
    hard = report["bases"][0]["composition"]["hard"]
    assert sum(hard.values()) == pytest.approx(1.0)
    assert (out / "tinyrel_difficulty.png").stat().st_size > 1000
    assert (out / "tinyrel-op-count_report.md").is_file()
    assert not (out / "tinyrel-base-loss_report.md").exists()
    assert "tinyrel-base-loss" not in (out / "claims.md").read_text()
    index = (out / "README.md").read_text()
    assert "Difficulty relative to the base: `tinyrel`" in index
    assert main(["compare", "--db", str(db), "--name", "tinyrel-base-loss"]) == 2
    # The report regenerates from its JSON alone.
    text = (out / "tinyrel_difficulty.md").read_text()
    (out / "tinyrel_difficulty.md").unlink()
    monkeypatch.chdir(tmp_path)
    assert main(["figs", "--reports-only", "--out", str(out)]) == 0
    assert (out / "tinyrel_difficulty.md").read_text() == text
