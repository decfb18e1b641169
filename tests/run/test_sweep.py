"""The sweep through the real CLI into a real SQLite file: resume after SIGKILL, bad files."""

import json
import os
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

TINY = Path(__file__).parent / "data" / "tiny.toml"


def _sweep(db, *extra):
    return main(["sweep", "--config", str(TINY), "--db", str(db), "--quiet", *extra])


def _exported(db, capsys):
    capsys.readouterr()
    assert main(["export", "--db", str(db), "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    for row in rows:
        row.pop("wall_s")
    return rows


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    db = tmp_path_factory.mktemp("clean") / "results.sqlite"
    assert _sweep(db) == 0
    return db


def test_a_sweep_stores_every_cell_with_its_measurements(finished):
    experiment = config.load(TINY)
    with Store(finished) as store:
        stored = store.experiment()
        assert stored["config_hash"] == experiment.hash()
        assert stored["config"]["grid"]["budgets"] == [2, 5]
        cells = store.cells("tiny")
        base = store.base("tiny")
    assert len(cells) == len(experiment.cells) == 12
    assert set(base) == {"2", "3", "4"}
    for cell in cells:
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


def test_a_rerun_skips_finished_cells(finished, capsys):
    capsys.readouterr()
    assert _sweep(finished) == 0
    assert "0 cells computed" in capsys.readouterr().out


def test_export_csv_has_one_row_per_cell(finished, tmp_path):
    out = tmp_path / "cells.csv"
    assert main(["export", "--db", str(finished), "--format", "csv", "--out", str(out)]) == 0
    lines = out.read_text().splitlines()
    assert len(lines) == 13
    assert lines[0].startswith("task,bucket,budget,seed,train_error")
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


@pytest.mark.slow  # a subprocess killed and resumed
def test_a_run_killed_mid_grid_resumes_to_the_uninterrupted_result(finished, tmp_path, capsys):
    db = tmp_path / "killed.sqlite"
    command = [sys.executable, "-m", "pacbound.cli", "sweep", "--config", str(TINY)]
    process = subprocess.Popen([*command, "--db", str(db), "--quiet"], stderr=subprocess.DEVNULL)
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
    assert _sweep(db) == 0
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


def test_another_config_under_the_same_name_is_an_error(finished, tmp_path, capsys):
    changed = tmp_path / "changed.toml"
    changed.write_text(TINY.read_text().replace("seeds = [0, 1, 2]", "seeds = [0, 1]"))
    capsys.readouterr()
    assert main(["sweep", "--config", str(changed), "--db", str(finished), "--quiet"]) == 2
    error = capsys.readouterr().err.strip()
    assert "already holds experiment 'tiny'" in error and "\n" not in error


def test_resuming_under_other_code_is_refused_unless_allowed(
    finished, tmp_path, capsys, monkeypatch
):
    from pacbound import provenance

    copy = tmp_path / "copy.sqlite"
    copy.write_bytes(finished.read_bytes())
    with Store(copy) as store:
        stored = store.experiment("tiny")["version"]
    assert stored == provenance.code_id()  # the code that computed it, hash and all
    assert stored.endswith(" on cpu")  # and the platform whose programs ran it
    monkeypatch.setattr(provenance, "code_id", lambda: "9.9.9+0123456789abcdef")
    capsys.readouterr()
    assert _sweep(copy) == 2
    error = capsys.readouterr().err.strip()
    assert f"computed by pacbound {stored}; this is 9.9.9+0123456789abcdef" in error
    assert "--allow-version-change" in error and "\n" not in error
    assert _sweep(copy, "--allow-version-change") == 0
    with Store(copy) as store:
        assert store.experiment("tiny")["version"] == f"{stored}; 9.9.9+0123456789abcdef"
    assert _sweep(copy) == 0  # both are recorded now: no question asked again


def test_the_source_hash_follows_the_source(tmp_path, monkeypatch):
    from pacbound import provenance

    for name, text in (("a.py", "x = 1\n"), ("sub/b.py", "y = 2\n")):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(text)
    monkeypatch.setattr(provenance, "_ROOT", tmp_path)
    provenance.source_hash.cache_clear()
    before = provenance.source_hash(("a.py", "sub"))
    (tmp_path / "sub" / "b.py").write_text("y = 3\n")
    provenance.source_hash.cache_clear()
    assert provenance.source_hash(("a.py", "sub")) != before
    assert provenance.source_hash(("a.py",)) == provenance.source_hash(("a.py",))
    provenance.source_hash.cache_clear()


@pytest.mark.parametrize(
    "content, message",
    [
        (b"not a database at all, just text" * 10, "not a pacbound store"),
        (None, "another program"),
    ],
)
def test_corrupt_or_foreign_files_are_one_line_errors(tmp_path, capsys, content, message):
    db = tmp_path / "other.sqlite"
    if content is None:
        with sqlite3.connect(db) as connection:
            connection.execute("CREATE TABLE meta (key TEXT, value TEXT)")
            connection.execute("INSERT INTO meta VALUES ('format', 'something-else')")
    else:
        db.write_bytes(content)
    before = db.read_bytes()
    for argv in (
        ["sweep", "--config", str(TINY), "--db", str(db), "--quiet"],
        ["export", "--db", str(db)],
    ):
        capsys.readouterr()
        assert main(argv) == 2
        error = capsys.readouterr().err.strip()
        assert message in error and "\n" not in error
    # Refused without being touched: same bytes, no journal files beside it.
    assert db.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.sqlite"]


def test_an_sqlite_file_without_our_tables_is_foreign(tmp_path, capsys):
    db = tmp_path / "foreign.sqlite"
    with sqlite3.connect(db) as connection:
        connection.execute("CREATE TABLE people (name TEXT)")
    before = db.read_bytes()
    capsys.readouterr()
    assert main(["export", "--db", str(db)]) == 2
    assert "not a pacbound store" in capsys.readouterr().err
    assert db.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["foreign.sqlite"]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["sweep", "--preset", "nosuch"], "preset = 'nosuch' is not one of"),
        (["sweep", "--config", "missing.toml"], "does not exist"),
        (["export", "--db", "missing.sqlite"], "does not exist"),
        (["export", "--format", "xml"], "invalid choice"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(argv, message, capsys, tmp_path):
    os.chdir(tmp_path)
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
        (("[grid]", "[grid"), "is not valid TOML"),
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


def test_progress_moves_within_a_batch(tmp_path, capsys, monkeypatch):
    """The log of a quiet sweep reports fractions of a batch's cells as its training steps
    advance, then the measurement, before the batch is stored."""
    from pacbound import train

    monkeypatch.setattr(train, "PROGRESS_STEPS", 1)
    assert _sweep(tmp_path / "r.sqlite") == 0
    lines = capsys.readouterr().err.splitlines()
    done = [float(line.split(": ")[1].split("/")[0]) for line in lines if "] fine-tune: " in line]
    assert any(d != int(d) for d in done)  # a fraction of a batch: within-batch progress
    assert done == sorted(done)
    assert any("] measure: " in line for line in lines)
