"""The sweep through the real CLI into a real SQLite file: resume after SIGKILL, bad files."""

import json
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pacbound import config
from pacbound.cli import main
from pacbound.store import Store

TINY = Path(__file__).parents[1] / "data" / "tiny.toml"


@pytest.fixture
def sweep(base_cache):
    """``pacbound sweep`` of the tiny experiment into ``db``, the session's bases cached."""

    def run(db, *extra):
        argv = ["sweep", "--config", str(TINY), "--db", str(db), "--cache", str(base_cache)]
        return main([*argv, "--quiet", *extra])

    return run


def _exported(db, capsys):
    capsys.readouterr()
    assert main(["export", "--db", str(db), "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    for row in rows:
        row.pop("wall_s")
    return rows


@pytest.fixture
def finished(tiny_store):
    """The session's swept tiny store: read here, never written."""
    return tiny_store


def test_a_sweep_stores_every_cell_with_its_measurements(finished):
    experiment = config.load(TINY)
    with Store(finished) as store:
        stored = store.experiment()
        assert stored["config_hash"] == experiment.hash()
        assert stored["config"]["grid"]["budgets"] == [2, 5]
        cells = store.cells("tiny", problems=24)
        (stored_base,) = store.bases("tiny", problems=24).values()
    base = stored_base.level_errors
    assert len(cells) == len(experiment.cells) == 12
    assert set(base) == {"2", "3", "4"}
    for model, errors in [(stored_base, base)] + [(c, c.record["level_errors"]) for c in cells]:
        # The outcome on each of the 3 × 8 held-out problems, levels in order, is what each
        # level's error counts, and every model was scored on the same problems.
        wrong = model.outcomes.wrong.reshape(3, 8)
        assert wrong.mean(axis=1).tolist() == [errors[k] for k in ("2", "3", "4")]
        assert model.outcomes.problems == stored_base.outcomes.problems
    for cell in cells:
        assert cell.base == 0
        record = cell.record
        assert set(record["level_errors"]) == {"2", "3", "4"}
        for level, error in record["level_errors"].items():
            assert 0 <= error <= 1
            assert record["gain"][level] == pytest.approx(base[level] - error)
        # Mixtures of the level errors: the bucket's for in-distribution, uniform for target.
        errors = record["level_errors"]
        assert record["target_error"] == pytest.approx(sum(errors.values()) / 3)
        bucket = {"easy": ("2", "3"), "hard": ("4",)}[cell.bucket]
        expected = sum(errors[k] for k in bucket) / len(bucket)
        assert record["in_distribution_error"] == pytest.approx(expected)
        assert 0 <= record["train_error"] <= 1 and record["sq_distance"] > 0


def test_a_rerun_skips_finished_cells(finished, sweep, capsys):
    capsys.readouterr()
    assert sweep(finished) == 0
    assert "0 cells computed" in capsys.readouterr().out


def test_export_csv_has_one_row_per_cell(finished, tmp_path):
    out = tmp_path / "cells.csv"
    assert main(["export", "--db", str(finished), "--format", "csv", "--out", str(out)]) == 0
    lines = out.read_text().splitlines()
    assert len(lines) == 13
    assert lines[0].startswith("task,base,bucket,budget,seed,train_error")
    assert "error_L4" in lines[0] and "gain_L2" in lines[0]
    # Every stored field is exported, per-level dicts as one column per level.
    header = lines[0].split(",")
    with Store(finished) as store:
        record = store.cells("tiny")[0].record
    for field, value in record.items():
        if isinstance(value, dict):
            prefix = "error" if field == "level_errors" else field
            assert {f"{prefix}_L{k}" for k in value} <= set(header), field
        else:
            assert field in header, field
    assert {"final_loss", "schedule", "steps"} <= set(header)


def test_export_with_outcomes_writes_a_bit_per_held_out_problem(finished, capsys):
    capsys.readouterr()
    assert main(["export", "--db", str(finished), "--format", "json", "--outcomes"]) == 0
    rows = json.loads(capsys.readouterr().out)
    for row in rows:
        assert len(row["wrong"]) == 24 and set(row["wrong"]) <= {"0", "1"}
        per_level = [row["wrong"][i : i + 8].count("1") / 8 for i in (0, 8, 16)]
        assert per_level == [row[f"error_L{k}"] for k in (2, 3, 4)]
    assert len({row["problems"] for row in rows}) == 1


def test_base_draws_each_fine_tune_the_grid_and_draw_zero_is_the_single_draw_run(
    finished, sweep, tmp_path, capsys
):
    """``[pretrain] seeds = [0, 1]``: two bases, 24 cells; the draw with seed 0 stores the
    cells a one-draw run stores, the other draw its own (another base, other data)."""
    draws = tmp_path / "draws.toml"
    draws.write_text(TINY.read_text().replace("[pretrain]\n", "[pretrain]\nseeds = [0, 1]\n"))
    db = tmp_path / "draws.sqlite"
    argv = ["sweep", "--config", str(draws), "--db", str(db), "--quiet"]
    assert main(argv) == 0
    with Store(db) as store, Store(finished) as single:
        bases = store.bases("tiny")
        assert sorted(bases) == [0, 1]
        assert bases[0].level_errors == single.bases("tiny")[0].level_errors
        assert len(store.finished("tiny")) == 24
        first = [(c.bucket, c.budget, c.seed, c.record) for c in store.cells("tiny", 0)]
        again = [(c.bucket, c.budget, c.seed, c.record) for c in single.cells("tiny")]
        other = store.cells("tiny", 1)
    strip = lambda rows: [(*key, {**r, "wall_s": 0}) for *key, r in rows]  # noqa: E731
    assert strip(first) == strip(again)
    assert [c.record["sq_distance"] for c in other] != [r[3]["sq_distance"] for r in first]
    capsys.readouterr()
    assert main(argv) == 0
    assert "0 cells computed, 24 stored" in capsys.readouterr().out


@pytest.mark.slow  # a subprocess killed and resumed
def test_a_run_killed_mid_grid_resumes_to_the_uninterrupted_result(
    finished, sweep, base_cache, tmp_path, capsys
):
    db = tmp_path / "killed.sqlite"
    command = [sys.executable, "-m", "pacbound.cli", "sweep", "--config", str(TINY)]
    command += ["--cache", str(base_cache), "--db", str(db), "--quiet"]
    process = subprocess.Popen(command, stderr=subprocess.DEVNULL)
    stored, deadline = 0, time.time() + 300
    while time.time() < deadline and process.poll() is None:
        if db.exists():
            try:
                with sqlite3.connect(db) as connection:
                    stored = connection.execute("SELECT COUNT(*) FROM cells").fetchone()[0]
            except sqlite3.OperationalError:
                stored = 0  # tables not created yet
            if stored >= 2:
                break
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert 2 <= stored < 12, "the kill must land mid-grid"
    with Store(db) as store:
        partial = len(store.cells("tiny"))
    assert partial < 12
    capsys.readouterr()
    assert sweep(db) == 0
    assert f"{12 - partial} cells computed" in capsys.readouterr().out
    assert _exported(db, capsys) == _exported(finished, capsys)


DISTRIBUTED = """
[distributed]
enabled = true
coordinator_address = "localhost:{port}"
num_processes = 2
process_id = {process}
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("localhost", 0))
        return probe.getsockname()[1]


def _two_processes(tmp_path: Path) -> list[subprocess.Popen]:
    """A tiny sweep as 2 jax.distributed processes on this machine, each with its own
    config (process id), store and cache; a fresh coordinator port each time."""
    port, processes = _free_port(), []
    for process in (0, 1):
        folder = tmp_path / f"process{process}"
        folder.mkdir(exist_ok=True)
        config = folder / "tiny.toml"
        config.write_text(TINY.read_text() + DISTRIBUTED.format(port=port, process=process))
        command = [sys.executable, "-m", "pacbound.cli", "sweep", "--config", str(config)]
        command += ["--db", str(folder / "results.sqlite"), "--quiet"]
        processes.append(
            subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        )
    return processes


def _stored_cells(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db) as connection:
            return connection.execute("SELECT COUNT(*) FROM cells").fetchone()[0]
    except sqlite3.OperationalError:
        return 0  # tables not created yet


@pytest.mark.slow  # two jax.distributed processes, killed and resumed
def test_two_processes_killed_mid_grid_resume_to_the_one_process_result(finished, tmp_path, capsys):
    db = tmp_path / "process0" / "results.sqlite"
    processes = _two_processes(tmp_path)
    stored, deadline = 0, time.time() + 300
    while time.time() < deadline and all(p.poll() is None for p in processes):
        stored = _stored_cells(db)
        if stored >= 2:
            break
        time.sleep(0.005)
    for process in processes:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert 2 <= stored < 12, "the kill must land mid-grid"
    # Resumed: process 0 alone reads its store and tells process 1 what is left (process
    # 1's own store is empty); both run the same batches, process 0 writes.
    processes = _two_processes(tmp_path)
    try:
        codes = [p.wait(timeout=600) for p in processes]
    finally:
        for process in processes:
            process.kill()
    assert codes == [0, 0]
    assert _stored_cells(tmp_path / "process1" / "results.sqlite") == 0
    resumed, alone = _exported(db, capsys), _exported(finished, capsys)
    assert [(r["bucket"], r["budget"], r["seed"]) for r in resumed] == [
        (r["bucket"], r["budget"], r["seed"]) for r in alone
    ]
    for one, other in zip(resumed, alone, strict=True):
        assert one.keys() == other.keys()
        for key, value in one.items():
            if isinstance(value, float):
                assert value == pytest.approx(other[key], rel=1e-5, abs=1e-7), key
            else:
                assert value == other[key], key


@pytest.mark.parametrize(
    "argv, message",
    [
        (["sweep", "--preset", "nosuch"], "preset = 'nosuch' is not one of"),
        (["sweep", "--config", "missing.toml"], "config = missing.toml: no such file"),
        (["export", "--db", "missing.sqlite"], "does not exist"),
        (["export", "--format", "xml"], "invalid choice"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    error = capsys.readouterr().err.strip()
    assert message in error and "\n" not in error


@pytest.mark.parametrize(
    "edit, message",
    [
        (("ensemble = 1", "ensemble = 1\ncolour = 3"), "[grid] has unknown keys ['colour']"),
        (("hard = [4, 4]", "hard = [4, 9]"), "bucket hard = [4, 9] is not a range"),
        (("budgets = [2, 5]", "budgets = [0, 5]"), "budgets = [0, 5] is out of range"),
        (('kind = "igsm-chain"', 'kind = "poetry"'), "task kind = 'poetry' is not one of"),
        (("steps = 4\n", "steps = 0\n"), "steps = 0 is out of range"),
        (("[grid]", "[grid"), "not valid TOML: Expected ']' at the end of a table declaration"),
    ],
)
def test_bad_configs_are_one_line_errors(edit, message, tmp_path, capsys):
    path = tmp_path / "bad.toml"
    text = TINY.read_text()
    assert edit[0] in text
    path.write_text(text.replace(*edit, 1))
    assert main(["sweep", "--config", str(path), "--db", str(tmp_path / "r.sqlite")]) == 2
    error = capsys.readouterr().err.strip()
    assert message in error and "\n" not in error


def test_the_stored_config_rebuilds_the_same_experiment(finished):
    with Store(finished) as store:
        stored = store.experiment()
    rebuilt = config.from_dict(stored["config"])
    assert rebuilt.hash() == stored["config_hash"] == config.load(TINY).hash()
    assert [b.name for b in rebuilt.grid.buckets] == ["easy", "hard"]


def test_progress_moves_within_a_batch(sweep, tmp_path, capsys, monkeypatch):
    """The log of a quiet sweep reports fractions of a batch's cells as its training steps
    advance, then the measurement, before the batch is stored."""
    from pacbound import train

    monkeypatch.setattr(train, "PROGRESS_STEPS", 1)
    assert sweep(tmp_path / "r.sqlite") == 0
    lines = capsys.readouterr().err.splitlines()
    done = [float(line.split(": ")[1].split("/")[0]) for line in lines if "] fine-tune: " in line]
    assert any(d != int(d) for d in done)  # a fraction of a batch: within-batch progress
    assert done == sorted(done)
    assert any("] measure: " in line for line in lines)
