"""A user's files and values: one-line errors naming the file, the line, the key and what was
expected (``pacbound.inputs``)."""

import math

import pytest

from pacbound.cli import main
from pacbound.inputs import ConfigError, check_value, expected, read_json, read_toml, toml_line

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
