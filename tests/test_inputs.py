"""A user's files and values: one-line errors naming the file, the line, the key and what was
expected (``pacbound.inputs``)."""

import math
from dataclasses import dataclass

import pytest

from pacbound.cli import main
from pacbound.inputs import (
    ConfigError,
    build,
    check_choices,
    check_name,
    check_value,
    expected,
    read_json,
    read_toml,
    toml_line,
)

TEXT = """# a comment
name = "x"

[grid]
budgets = [
  [2, 4],
]
"seeds" = [0, 1]

[pretrain]  # the base
seeds = [0]
buckets = { easy = [2, 4] }
"""


@pytest.mark.parametrize(
    ("table", "key", "line"),
    [
        (None, "name", 2),
        ("grid", None, 4),
        ("grid", "budgets", 5),
        ("grid", "seeds", 8),  # a quoted key; a nested list inside an array is no header
        ("pretrain", None, 10),
        ("pretrain", "seeds", 11),
        ("pretrain", "easy", None),  # inside an inline table: not looked for
        ("grid", "target", None),
        ("model", None, None),
    ],
)
def test_toml_line_finds_a_key_in_its_table(table, key, line):
    assert toml_line(TEXT, table, key) == line


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (None, "no such file"),
        ("dir", "not a file"),
        (b"\xff{}", "not UTF-8 text (byte 0)"),
        ('{"a": [1, 2,\n  }', "not JSON: Expecting value: line 2 column 3 (char 15)"),
        ("[" * 100_000, "JSON nested too deeply"),
    ],
    ids=["missing", "folder", "binary", "truncated", "deep"],
)
def test_a_json_file_that_cannot_be_read_is_named(content, fragment, tmp_path):
    path = tmp_path / "x.json"
    if content == "dir":
        path.mkdir()
    elif content is not None:
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(ValueError) as raised:
        read_json(path, "report")
    assert str(raised.value) == f"report = {path}: {fragment}"


def test_a_toml_file_that_is_too_deep_is_named(tmp_path):
    path = tmp_path / "x.toml"
    path.write_text("a = " + "[" * 100_000)
    with pytest.raises(ValueError, match=f"^config = {path}: TOML nested too deeply$"):
        read_toml(path, "config")


@pytest.mark.parametrize(
    ("value", "hint", "options", "message"),
    [
        (True, int, {}, "[t] k = true: expected an integer"),
        (3.0, int, {}, "[t] k = 3.0: expected an integer"),
        (2**31, int, {}, "[t] k = 2147483648 is out of range: allowed integers below 2^31"),
        (-1, int, {"minimum": 0}, "[t] k = -1 is out of range: allowed [0, inf)"),
        (False, float, {}, "[t] k = false: expected a finite number"),
        (math.nan, float, {}, "[t] k = nan: expected a finite number"),
        (-math.inf, float | None, {}, "[t] k = -inf: expected a finite number"),
        (10**400, float, {}, "expected a finite number"),
        ("0.1", float, {}, '[t] k = "0.1": expected a finite number'),
        (1, bool, {}, "[t] k = 1: expected true or false"),
        ([1, 2], str, {}, "[t] k = [1, 2]: expected a string"),
        (3, tuple[int, ...], {}, "[t] k = 3: expected a non-empty list of integers"),
        ([], tuple[float, ...], {}, "[t] k = []: expected a non-empty list of finite numbers"),
        ([1, 2, 3], tuple[int, int], {}, "[t] k = [1, 2, 3]: expected a list of 2 integers"),
        ([1, True], tuple[int, int], {}, "[t] k = [1, true]: expected a list of 2 integers"),
        (
            [1, 1],
            tuple[int, ...],
            {"distinct": True, "minimum": 1},
            "[t] k = [1, 1]: expected a non-empty list of distinct integers ≥ 1",
        ),
        (
            [0, 2],
            tuple[int, ...],
            {"minimum": 1},
            "[t] k = [0, 2] is out of range: allowed integers ≥ 1",
        ),
    ],
)
def test_a_value_of_the_wrong_type_or_range_is_named_with_what_was_expected(
    value, hint, options, message
):
    with pytest.raises(ConfigError) as raised:
        check_value("t", "k", value, hint, **options)
    assert message in str(raised.value)
    assert (raised.value.table, raised.value.key) == ("t", "k")


@pytest.mark.parametrize(
    ("value", "hint"),
    [(3, float), (0.5, float | None), (2**31 - 1, int), ([2, 4], tuple[int, int]), ("x", str)],
)
def test_a_value_of_its_type_passes(value, hint):
    check_value("t", "k", value, hint)


def test_what_is_expected_reads_as_words():
    assert expected(tuple[int, ...], 0, True) == "a non-empty list of distinct integers ≥ 0"
    assert expected(float | None) == "a finite number"


def test_a_broken_committed_report_is_named_by_figs(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no store at the default path: figs reads --out's reports
    out = tmp_path / "figs"
    out.mkdir()
    (out / "x_report.json").write_text('{"experiment": "x",\n "budgets": [1, 2')
    assert main(["figs", "--out", str(out), "--reports-only", "--no-theory"]) == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error == (
        f"pacbound: error: report = {out / 'x_report.json'}: not JSON: "
        "Expecting ',' delimiter: line 2 column 18 (char 37)"
    )


RULE = "expected letters, digits, '-', '_' and '.' only, beginning with a letter or digit"


@pytest.mark.parametrize(
    "name", ["quick", "extended-b24", "dft-sft", "base-loss-b24-op-count", "subspace-k16", "v1.2_x"]
)
def test_a_plain_file_stem_is_a_name(name):
    check_name(name)


@pytest.mark.parametrize("name", ["", "../x", "a/b", "a\nb", ".hidden", "-x", "a b", "a\\b"])
def test_a_name_that_is_not_a_plain_file_stem_is_refused(name):
    """A name becomes ``<name>_report.md`` in --out: a folder in it would escape."""
    with pytest.raises(ConfigError) as raised:
        check_name(name)
    assert str(raised.value) == f"name = {name!r}: {RULE}"
    assert (raised.value.table, raised.value.key) == (None, "name")
    assert "\n" not in str(raised.value)  # one line, whatever the name holds


def test_a_list_of_choices_out_of_range_is_named_as_written():
    with pytest.raises(
        ConfigError, match=r"^\[t\] k = \[0, -1\] is out of range: allowed integers ≥ 0$"
    ):
        check_choices("t", "k", [0, -1], int, minimum=0)
    with pytest.raises(
        ConfigError, match=r"^\[t\] k = \[1, 1\]: expected an integer ≥ 0, or a non-"
    ):
        check_choices("t", "k", [1, 1], int, minimum=0)
    check_choices("t", "k", [0, 16], int, minimum=0)


@dataclass(frozen=True)
class _Heads:
    """A class whose own check divides by a value before checking it."""

    width: int = 8
    heads: int = 2

    def __post_init__(self):
        if self.width % self.heads:
            raise ValueError(f"width = {self.width} is not a multiple of heads = {self.heads}")


def test_limits_refuse_a_value_before_the_class_divides_by_it():
    table = {"heads": 0}
    with pytest.raises(ConfigError) as raised:
        build(_Heads, table, "model", limits={"heads": {"minimum": 1}})
    assert str(raised.value) == "[model] heads = 0 is out of range: allowed [1, inf)"
    assert (raised.value.table, raised.value.key) == ("model", "heads")
    with pytest.raises(ConfigError, match=r"^\[model\] integer (division or )?modulo by zero$"):
        build(_Heads, table, "model")  # without them: still one line, never a traceback


@pytest.mark.parametrize("command", ["compare", "export", "recommend", "figs"])
@pytest.mark.parametrize("what", ["directory", "missing"])
def test_a_db_that_is_not_a_store_file_is_named_in_the_store_s_words(
    command, what, tmp_path, capsys, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    db = tmp_path if what == "directory" else tmp_path / "missing.sqlite"
    argv = [command, "--db", str(db)]
    argv += {"recommend": ["--budget", "8"], "figs": ["--out", "figs", "--no-theory"]}.get(
        command, []
    )
    assert main(argv) == 2
    state = "is a directory, not a store file" if what == "directory" else "does not exist"
    error = capsys.readouterr().err
    assert error.startswith(f"pacbound: error: db = {db} {state}") and error.count("\n") == 1
    assert list(tmp_path.iterdir()) == []  # nothing written
