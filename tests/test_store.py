"""The SQLite store: another config under a stored name, and files that are not a pacbound
store, are one-line errors that leave the file untouched; reading a store never writes (no
store is created, no byte changed, no file added beside it)."""

import sqlite3
from pathlib import Path

import pytest

from pacbound.cli import main
from pacbound.config import preset
from pacbound.pipeline import comparison, stored
from pacbound.store import Store


def test_another_config_under_the_same_name_is_an_error(tiny, tiny_store, tmp_path, capsys):
    changed = tmp_path / "changed.toml"
    changed.write_text(tiny.read_text().replace("seeds = [0, 1, 2]", "seeds = [0, 1]"))
    capsys.readouterr()
    assert main(["sweep", "--config", str(changed), "--db", str(tiny_store), "--quiet"]) == 2
    error = capsys.readouterr().err.strip()
    assert "already holds experiment 'tiny'" in error and "\n" not in error


@pytest.mark.parametrize(
    "content, message",
    [
        (b"not a database at all, just text" * 10, "not a pacbound store"),
        (None, "another program"),
    ],
)
def test_corrupt_or_foreign_files_are_one_line_errors(tiny, tmp_path, capsys, content, message):
    db = tmp_path / "other.sqlite"
    if content is None:
        with sqlite3.connect(db) as connection:
            connection.execute("CREATE TABLE meta (key TEXT, value TEXT)")
            connection.execute("INSERT INTO meta VALUES ('format', 'something-else')")
    else:
        db.write_bytes(content)
    before = db.read_bytes()
    for argv in (
        ["sweep", "--config", str(tiny), "--db", str(db), "--quiet"],
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


def test_a_store_of_another_schema_is_refused_in_one_line(tmp_path, capsys):
    db = tmp_path / "old.sqlite"
    with sqlite3.connect(db) as connection:
        connection.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        connection.executemany(
            "INSERT INTO meta VALUES (?, ?)", [("format", "pacbound-store"), ("schema", "1")]
        )
    before = db.read_bytes()
    capsys.readouterr()
    assert main(["export", "--db", str(db)]) == 2
    error = capsys.readouterr().err.strip()
    assert "schema 1" in error and "new --db" in error and "\n" not in error
    assert db.read_bytes() == before


def test_a_store_to_read_that_does_not_exist_is_an_error_that_creates_nothing(tmp_path):
    missing = tmp_path / "nowhere" / "results.sqlite"
    with pytest.raises(ValueError) as raised:
        Store(missing)
    assert str(raised.value) == f"db = {missing} does not exist; run `pacbound sweep` first"
    assert list(tmp_path.iterdir()) == []
    empty = tmp_path / "empty.sqlite"
    empty.touch()
    with pytest.raises(ValueError, match="is an empty file; run `pacbound sweep` first"):
        Store(empty)
    assert [p.name for p in tmp_path.iterdir()] == ["empty.sqlite"]
    assert empty.read_bytes() == b""


def test_a_store_opened_to_read_refuses_to_write(tiny_store, tmp_path):
    copy = tmp_path / "copy.sqlite"
    copy.write_bytes(tiny_store.read_bytes())
    with Store(copy) as store, pytest.raises(sqlite3.OperationalError, match="readonly"):
        store.register("other", "0123456789abcdef", {})


def snapshot(folder: Path) -> dict:
    return {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_reading_a_store_changes_no_byte_and_adds_no_file_beside_it(tiny_store, tmp_path, capsys):
    folder = tmp_path / "results"
    folder.mkdir()
    db = folder / "results.sqlite"
    db.write_bytes(tiny_store.read_bytes())
    before = snapshot(folder)
    out = tmp_path / "figs"
    for argv in (
        ["export", "--db", str(db), "--format", "json", "--outcomes"],
        ["compare", "--db", str(db), "--out", str(out)],
        ["recommend", "--db", str(db), "--budget", "5"],
        ["figs", "--db", str(db), "--out", str(out), "--reports-only", "--no-theory"],
    ):
        assert main(argv) == 0, argv
    with Store(db) as store:
        assert store.names() == ["tiny"]
    capsys.readouterr()
    assert snapshot(folder) == before  # no -wal, -shm or journal file, the same bytes


def test_an_empty_store_says_so_in_one_line(tmp_path, capsys):
    db = tmp_path / "results.sqlite"
    Store(db, write=True).close()  # what a sweep that has not stored anything yet leaves
    with Store(db) as store:
        with pytest.raises(ValueError) as raised:
            store.experiment()
        assert str(raised.value) == f"db = {db} holds no experiment; run `pacbound sweep` first"
        quick = preset("quick")  # the README's example: an empty store, not a StopIteration
        with pytest.raises(ValueError, match="holds no experiment 'quick'; run `pacbound sweep`"):
            comparison(quick, *stored(store, quick))
    with pytest.raises(ValueError, match="no base draw to compare with"):
        comparison(quick, [], {})  # cells and bases from elsewhere, none yet
    for argv in (["compare", "--db", str(db)], ["export", "--db", str(db)]):
        capsys.readouterr()
        assert main(argv) == 2
        error = capsys.readouterr().err.strip()
        assert (
            error == f"pacbound: error: db = {db} holds no experiment; run `pacbound sweep` first"
        )
