"""The results store: one SQLite file (write-ahead log), resumable, never silently mixed.

Tables: ``meta`` (marks the file as a pacbound store, with its schema version),
``experiments`` (name, config hash, full config, the code that computed it: package version
and source hash, ``pacbound.provenance``), ``bases`` (one row per pretraining draw of the
base: its errors per level) and ``cells`` (one row per finished grid cell, keyed by its base
draw, bucket, budget and seed: its per-level numbers as JSON and its headline numbers as
columns, so plain SQL can query them). Bases and cells of the language tasks also keep their
outcome on every held-out problem (a bit per problem, 1 = wrong, levels in order, packed
with ``numpy.packbits``) beside the hash of the problem set they were scored on.

A store is opened to read it (``Store(path)``: read-only, nothing is created or changed; a
missing file is an error) or to add to it (``Store(path, write=True)``, what the sweep does:
it creates the file if missing). A writer keeps the file in WAL mode while it has it open and
leaves it in rollback-journal mode, so that a reader needs no -wal and -shm files beside it.

A batch of cells is written in one transaction, so a run killed at any moment leaves only
whole batches; the sweep skips what is stored. An experiment name bound to another config
hash is an error, never an overwrite; so is resuming an experiment under other code, unless
``allow_version_change``, which records every code that has computed its cells.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pacbound import provenance

FORMAT = "pacbound-store"
SCHEMA = "2"  # 2: base draws and per-problem outcomes
DEFAULT_PATH = Path("pacbound-results") / "results.sqlite"

_TABLES = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS experiments (
    name TEXT PRIMARY KEY, config_hash TEXT NOT NULL, config TEXT NOT NULL,
    version TEXT NOT NULL, created TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP);
CREATE TABLE IF NOT EXISTS bases (
    name TEXT NOT NULL REFERENCES experiments(name), base INTEGER NOT NULL,
    level_errors TEXT NOT NULL, outcomes BLOB, problems TEXT,
    PRIMARY KEY (name, base));
CREATE TABLE IF NOT EXISTS cells (
    name TEXT NOT NULL REFERENCES experiments(name), base INTEGER NOT NULL,
    task TEXT NOT NULL, bucket TEXT NOT NULL, budget INTEGER NOT NULL, seed INTEGER NOT NULL,
    train_error REAL, in_distribution_error REAL, target_error REAL, sq_distance REAL,
    wall_s REAL, record TEXT NOT NULL, outcomes BLOB, problems TEXT,
    PRIMARY KEY (name, base, bucket, budget, seed));
"""

#: Headline numbers kept as columns; everything else lives in the JSON record.
COLUMNS = ("train_error", "in_distribution_error", "target_error", "sq_distance", "wall_s")


@dataclass(frozen=True)
class Outcomes:
    """Which held-out problems a model got wrong: ``wrong`` (bool, the problems of every
    level in level order) and ``problems``, the hash of the problem set they belong to."""

    wrong: np.ndarray
    problems: str

    def packed(self) -> bytes:
        return np.packbits(np.asarray(self.wrong, bool)).tobytes()

    @staticmethod
    def unpacked(blob: bytes | None, problems: str | None, count: int) -> Outcomes | None:
        if blob is None:
            return None
        bits = np.unpackbits(np.frombuffer(blob, np.uint8), count=count)
        return Outcomes(bits.astype(bool), problems)


@dataclass(frozen=True)
class Cell:
    bucket: str
    budget: int
    seed: int
    record: dict  # level_errors, gain, train_error, …, all JSON-serialisable
    base: int = 0  # the pretraining seed of the cell's base draw
    outcomes: Outcomes | None = None


@dataclass(frozen=True)
class Base:
    """One pretraining draw of an experiment's base: its seed, its error per level and its
    outcomes on the held-out problems (None for the solvable task, whose risks are exact)."""

    seed: int
    level_errors: dict
    outcomes: Outcomes | None = None


class Store:
    """The store at ``path``, read-only; ``write=True``: to add to it, creating it if missing.
    ``ValueError`` (one line) if it is not a pacbound store of this schema, or if a store to
    read does not exist."""

    def __init__(self, path: str | Path, write: bool = False):
        self.path, self.write = Path(path), write
        if self.path.is_dir():
            raise ValueError(f"db = {self.path} is a directory, not a store file")
        fresh = not self.path.exists() or self.path.stat().st_size == 0
        if fresh and not write:
            state = "is an empty file" if self.path.exists() else "does not exist"
            raise ValueError(f"db = {self.path} {state}; run `pacbound sweep` first")
        if not fresh:
            # Validate through a read-only connection first: a refused file is never touched
            # (switching to WAL would rewrite its header and create -wal/-shm files).
            uri = self.path.resolve().as_uri() + "?mode=ro"
            reader = sqlite3.connect(uri, uri=True, timeout=30)
            try:
                self._check(reader)
            except ValueError:
                reader.close()
                raise
            if not write:
                self.connection = reader
                return
            reader.close()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.connection = sqlite3.connect(self.path, timeout=30)
        self.connection.execute("PRAGMA journal_mode=WAL")
        if fresh:
            with self.connection:
                self.connection.executescript(_TABLES)
                self.connection.executemany(
                    "INSERT INTO meta VALUES (?, ?)", [("format", FORMAT), ("schema", SCHEMA)]
                )

    def _check(self, connection: sqlite3.Connection) -> None:
        """Raise ValueError unless ``connection`` reads a pacbound store of this schema."""
        try:
            marks = dict(connection.execute("SELECT key, value FROM meta"))
        except sqlite3.DatabaseError:
            raise ValueError(
                f"db = {self.path} is not a pacbound store (not a readable SQLite database "
                "with a pacbound meta table)"
            ) from None
        if marks.get("format") != FORMAT:
            raise ValueError(f"db = {self.path} is an SQLite file of another program")
        if marks.get("schema") != SCHEMA:
            raise ValueError(
                f"db = {self.path} has store schema {marks.get('schema')}; this version reads "
                f"schema {SCHEMA} only (base draws, per-problem outcomes): sweep into a new --db"
            )

    def close(self) -> None:
        if self.write:
            # Back to a rollback journal, unless another connection has the file open (then it
            # stays in WAL mode): readers then open it read-only without -wal/-shm files.
            try:
                self.connection.execute("PRAGMA busy_timeout = 0")
                self.connection.execute("PRAGMA journal_mode=DELETE")
            except sqlite3.OperationalError:
                pass
        self.connection.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # --- experiments ---------------------------------------------------------------------

    def register(
        self, name: str, config_hash: str, config: dict, allow_version_change: bool = False
    ) -> None:
        """Record the experiment, or check that the stored one has the same config hash and
        was computed by this code (``provenance.code_id``). With ``allow_version_change``
        other code may resume it; the stored version then lists every code, "; "-joined."""
        row = self.connection.execute(
            "SELECT config_hash, version FROM experiments WHERE name = ?", (name,)
        ).fetchone()
        code = provenance.code_id()
        if row is None:
            with self.connection:
                self.connection.execute(
                    "INSERT INTO experiments (name, config_hash, config, version) "
                    "VALUES (?, ?, ?, ?)",
                    (name, config_hash, json.dumps(config), code),
                )
            return
        stored_hash, versions = row
        if stored_hash != config_hash:
            raise ValueError(
                f"db = {self.path} already holds experiment {name!r} with config hash "
                f"{stored_hash}; this config hashes to {config_hash}: use another --db or "
                "rename the experiment"
            )
        if code in versions.split("; "):
            return
        if not allow_version_change:
            raise ValueError(
                f"db = {self.path} holds experiment {name!r} computed by pacbound {versions}; "
                f"this is {code}: use another --db, or pass --allow-version-change to resume "
                "it with both recorded"
            )
        with self.connection:
            self.connection.execute(
                "UPDATE experiments SET version = ? WHERE name = ?", (f"{versions}; {code}", name)
            )

    def names(self) -> list[str]:
        """Every experiment the store holds, by name."""
        return [
            row[0] for row in self.connection.execute("SELECT name FROM experiments ORDER BY name")
        ]

    def experiment(self, name: str | None = None) -> dict:
        """{name, config_hash, config, version} of ``name`` (or of the only experiment)."""
        rows = self.connection.execute(
            "SELECT name, config_hash, config, version FROM experiments ORDER BY created, name"
        ).fetchall()
        if name is not None:
            rows = [r for r in rows if r[0] == name]
        if not rows:
            which = f"no experiment {name!r}" if name else "no experiment"
            raise ValueError(f"db = {self.path} holds {which}; run `pacbound sweep` first")
        if len(rows) > 1:
            names = ", ".join(r[0] for r in rows)
            raise ValueError(f"db = {self.path} holds several experiments ({names}): pass --name")
        name, config_hash, config, version = rows[0]
        return {
            "name": name,
            "config_hash": config_hash,
            "config": json.loads(config),
            "version": version,
        }

    # --- results -------------------------------------------------------------------------

    def save_base(self, name: str, base: Base) -> None:
        outcomes = base.outcomes
        with self.connection:
            self.connection.execute(
                "INSERT OR REPLACE INTO bases VALUES (?, ?, ?, ?, ?)",
                (
                    name,
                    base.seed,
                    json.dumps(base.level_errors),
                    None if outcomes is None else outcomes.packed(),
                    None if outcomes is None else outcomes.problems,
                ),
            )

    def bases(self, name: str, problems: int = 0) -> dict[int, Base]:
        """{pretraining seed: Base} of every stored draw of ``name``; ``problems``: the count
        of held-out problems, to unpack the outcomes (0: leave them out)."""
        rows = self.connection.execute(
            "SELECT base, level_errors, outcomes, problems FROM bases WHERE name = ? ORDER BY base",
            (name,),
        )
        return {
            int(seed): Base(
                int(seed),
                json.loads(errors),
                Outcomes.unpacked(blob, problem_set, problems) if problems else None,
            )
            for seed, errors, blob, problem_set in rows
        }

    def save_cells(self, name: str, cells: list[Cell]) -> None:
        """All of ``cells`` in one transaction: either every one is stored or none."""
        rows = [
            (
                name,
                c.base,
                c.record["task"],
                c.bucket,
                c.budget,
                c.seed,
                *(c.record.get(k) for k in COLUMNS),
                json.dumps(c.record),
                None if c.outcomes is None else c.outcomes.packed(),
                None if c.outcomes is None else c.outcomes.problems,
            )
            for c in cells
        ]
        with self.connection:
            self.connection.executemany(
                f"INSERT OR REPLACE INTO cells (name, base, task, bucket, budget, seed, "
                f"{', '.join(COLUMNS)}, record, outcomes, problems) "
                f"VALUES ({', '.join('?' * (9 + len(COLUMNS)))})",
                rows,
            )

    def finished(self, name: str) -> set[tuple[int, str, int, int]]:
        """(base, bucket, budget, seed) of every stored cell of ``name``."""
        rows = self.connection.execute(
            "SELECT base, bucket, budget, seed FROM cells WHERE name = ?", (name,)
        )
        return {(int(d), b, int(n), int(s)) for d, b, n, s in rows}

    def cells(self, name: str, base: int | None = None, problems: int = 0) -> list[Cell]:
        """The stored cells of ``name`` (of one base draw, if ``base`` is given), ordered by
        base, bucket, budget and seed; ``problems`` as for ``bases``."""
        query = (
            "SELECT base, bucket, budget, seed, record, outcomes, problems FROM cells "
            "WHERE name = ?"
        )
        arguments: tuple = (name,)
        if base is not None:
            query, arguments = query + " AND base = ?", (name, base)
        rows = self.connection.execute(query + " ORDER BY base, bucket, budget, seed", arguments)
        return [
            Cell(
                b,
                int(n),
                int(s),
                json.loads(r),
                int(d),
                Outcomes.unpacked(blob, problem_set, problems) if problems else None,
            )
            for d, b, n, s, r, blob, problem_set in rows
        ]


def flat_rows(cells: list[Cell]) -> list[dict]:
    """One flat dict per cell holding every stored field: the cell's key, the headline
    numbers, then every other field; a per-level dict becomes one column per level,
    ``error_L<k>`` for the level errors and ``<field>_L<k>`` for the others; the certificate
    becomes ``certificate_<name>`` columns (nested parts joined by ``_``, lists as JSON).
    Cells read with their outcomes add ``problems`` (the problem set's hash) and ``wrong``,
    one character per held-out problem (1: wrong), levels in order."""
    rows = []
    for cell in cells:
        row = {"task": cell.record["task"], "base": cell.base, "bucket": cell.bucket}
        row |= {"budget": cell.budget, "seed": cell.seed}
        row.update({k: cell.record.get(k) for k in COLUMNS})
        for field, value in cell.record.items():
            if field == "certificate":
                row.update(_flattened(value, "certificate"))
            elif isinstance(value, dict):
                prefix = "error" if field == "level_errors" else field
                row.update({f"{prefix}_L{level}": v for level, v in value.items()})
            elif field not in row:
                row[field] = value
        if cell.outcomes is not None:
            row["problems"] = cell.outcomes.problems
            row["wrong"] = "".join("1" if w else "0" for w in cell.outcomes.wrong)
        rows.append(row)
    return rows


def _flattened(value, prefix: str) -> dict:
    if isinstance(value, dict):
        flat = {}
        for key, inner in value.items():
            flat.update(_flattened(inner, f"{prefix}_{key}"))
        return flat
    return {prefix: json.dumps(value) if isinstance(value, list) else value}
