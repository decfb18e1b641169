"""A formula on the command line is parsed, never run: a string that would run a command is
one line on stderr, exit status 2, and nothing happens."""

import pytest

from pacbound.cli import main


@pytest.mark.parametrize("option", ["--kl-expr", "--shift-expr", "--risk-expr"])
def test_a_formula_that_would_run_a_command_runs_nothing(capsys, tmp_path, option):
    sentinel = tmp_path / "ran"
    exploit = f"__import__('os').system('touch {sentinel}')"
    assert main(["optimum", "--n", "100", option, exploit]) == 2
    captured = capsys.readouterr()
    assert not sentinel.exists()
    assert captured.out == ""
    (line,) = captured.err.strip().splitlines()
    assert line.startswith(f"pacbound: error: {option} ") and "Traceback" not in captured.err
    assert "attribute access is not allowed; allowed: numbers, d, " in line


def test_a_formula_that_would_open_a_file_opens_nothing(capsys, tmp_path):
    sentinel = tmp_path / "ran"
    argv = ["optimum", "--n", "100", "--kl-expr", f"k0 + k1*d + open({str(sentinel)!r}, 'w')"]
    assert main(argv) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "calling open() is not allowed" in line
    assert not sentinel.exists()


def test_derive_reads_formulas_the_same_way(capsys, tmp_path):
    sentinel = tmp_path / "ran"
    exploit = f"__import__('os').system('touch {sentinel}')"
    assert main(["derive", "--family", "linear-linear", "--kl-expr", exploit]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("pacbound: error: --kl-expr ")
    assert not sentinel.exists()
