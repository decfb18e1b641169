"""The SQLite store: another config under a stored name, and files that are not a pacbound
store, are one-line errors that leave the file untouched."""

import sqlite3

import pytest

from pacbound.cli import main


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
