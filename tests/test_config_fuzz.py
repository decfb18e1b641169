"""Valid configs (the tiny test config and every preset) mutated at random: one value replaced
by one of the wrong type or range, one key deleted, or the file cut short. Whatever the loader
refuses, the command line refuses in one line on stderr with status 2, no traceback, and no
file written or changed. A mutation the loader accepts is skipped: it would start a run."""

import copy
import io
import json
import math
import re
import tempfile
import tomllib
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from pacbound import config
from pacbound.analysis import exact
from pacbound.cli import main

ROOT = Path(__file__).parent.parent
FILES = sorted((ROOT / "experiments").glob("*.toml")) + [ROOT / "tests" / "data" / "tiny.toml"]
TEXTS = {path.name: path.read_text() for path in FILES}
DOCUMENTS = {name: tomllib.loads(text) for name, text in TEXTS.items()}


def nodes(value, path=()):
    """The path of every value under ``value`` (tables, lists and their items, scalars)."""
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, inner in items:
        yield (*path, key)
        if isinstance(inner, dict | list):
            yield from nodes(inner, (*path, key))


NODES = {name: list(nodes(document)) for name, document in DOCUMENTS.items()}


def toml(value) -> str:
    """``value`` as a TOML value (a table inline)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{key(k)} = {toml(v)}" for k, v in value.items()) + " }"
    return repr(value)


def key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else json.dumps(name)


def dumps(document: dict) -> str:
    """A TOML file of ``document``: its top-level values first, then one [table] each."""
    lines = [f"{key(k)} = {toml(v)}" for k, v in document.items() if not isinstance(v, dict)]
    for name, table in document.items():
        if isinstance(table, dict):
            lines += ["", f"[{key(name)}]"]
            lines += [f"{key(k)} = {toml(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


#: Values of the wrong type or range for some field: strings, bools, negatives, floats where
#: integers belong, lists for scalars, scalars for lists and tables, empty lists, numbers too
#: large, NaN and infinities.
BAD = st.one_of(
    st.text(max_size=6),
    st.booleans(),
    st.integers(-(10**6), -1),
    st.floats(-1e3, 1e3).filter(lambda x: not x.is_integer()),
    st.sampled_from([0, 0.0, 2**40, 2**62, -(2**62), 1e300, math.nan, math.inf, -math.inf]),
    st.lists(st.integers(0, 5), max_size=3),
    st.just({"a": 1}),
)


@st.composite
def mutations(draw) -> tuple[str, str]:
    """(file name, the mutated text)."""
    name = draw(st.sampled_from(sorted(TEXTS)))
    how = draw(st.sampled_from(["replace", "replace", "delete", "cut"]))
    if how == "cut":
        text = TEXTS[name]
        return name, text[: draw(st.integers(0, len(text) - 1))]
    document = copy.deepcopy(DOCUMENTS[name])
    path = draw(st.sampled_from(NODES[name]))
    parent = document
    for part in path[:-1]:
        parent = parent[part]
    if how == "delete":
        del parent[path[-1]]
    else:
        parent[path[-1]] = draw(BAD)
    return name, dumps(document)


def snapshot(folder: Path) -> dict:
    return {p: p.read_bytes() if p.is_file() else None for p in folder.rglob("*")}


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow],
)
@given(mutations())
def test_a_mutated_config_is_refused_in_one_line_and_writes_nothing(mutation):
    name, text = mutation
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        path = folder / name
        path.write_text(text)
        if name == "exact.toml":
            load, argv = exact.load, ["reproduce", "--out", str(folder / "out")]
        else:
            load, argv = config.load_all, ["sweep", "--db", str(folder / "s.sqlite")]
        try:
            load(path)
        except ValueError:
            pass
        else:
            assume(False)  # a valid config: the command would start a run
        before = snapshot(folder)
        stderr, stdout = io.StringIO(), io.StringIO()
        with redirect_stderr(stderr), redirect_stdout(stdout):
            status = main([*argv, "--config", str(path)])
        lines = stderr.getvalue().splitlines()
        assert status == 2, stderr.getvalue()
        assert len(lines) == 1 and lines[0].startswith("pacbound: error: "), lines
        assert str(path) in lines[0] and "Traceback" not in lines[0]
        assert snapshot(folder) == before
