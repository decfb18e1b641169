"""The command line's conventions: --version, ``python -m pacbound``, a description and help
for every command and option, a --help that imports nothing heavy, one error style, status
lines for long silent steps, and what an interrupt or a file-system error prints."""

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import pacbound
from pacbound.cli import commands, main
from pacbound.cli.parser import build_parser

SRC = Path(pacbound.__file__).parent
GOOD = ["bound", "--emp-risk", "0.05", "--kl", "12.3", "--n", "5000", "--delta", "0.05"]


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"pacbound {pacbound.__version__}\n"


@pytest.mark.parametrize("module", ["pacbound", "pacbound.cli"])
def test_python_dash_m(module):
    done = subprocess.run(
        [sys.executable, "-m", module, "--version"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"pacbound {pacbound.__version__}\n"


def _parsers(parser, name="pacbound"):
    """(name, parser) of the command and of every subcommand below it."""
    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for command, sub in action.choices.items():
                yield from _parsers(sub, f"{name} {command}")


def test_every_command_has_a_description_and_every_option_help():
    parsers = dict(_parsers(build_parser()))
    assert len(parsers) > 10  # the walk reached the subcommands
    assert parsers["pacbound"].description != "The ``pacbound`` command."
    for name, parser in parsers.items():
        assert parser.description and len(parser.description) > 20, name
        for action in parser._actions:
            assert action.help and action.help != argparse.SUPPRESS, (name, action.dest)


def test_the_parsers_copies_equal_their_originals():
    """The parser copies constants of modules that import sympy and JAX (so that --help is
    quick); each copy must stay what it copies. The bound command's options are not copied:
    the parser and numeric.bounds read the same entries of bound_options."""
    from pacbound.bound_options import FORM_OPTIONS
    from pacbound.cli import parser
    from pacbound.numeric.bounds import BOUNDS, KINDS
    from pacbound.store import DEFAULT_PATH
    from pacbound.symbolic.bounds import BOUND_FORMS
    from pacbound.symbolic.difficulty import GENERALIZATION_FORMS

    assert tuple(FORM_OPTIONS) == KINDS == tuple(BOUND_FORMS)
    assert all(BOUNDS[kind].options is FORM_OPTIONS[kind] for kind in KINDS)
    assert parser.GENERALIZATION_FORMS == GENERALIZATION_FORMS
    assert parser.DEFAULT_DB == DEFAULT_PATH


HEAVY = ("jax", "numpy", "sympy", "scipy", "matplotlib")


def test_help_imports_nothing_heavy():
    """--help answers at once: in a fresh process (the tests' own imports aside), printing
    the help of the command and of a subcommand imports none of the heavy libraries."""
    code = (
        "import contextlib, io, sys\n"
        "from pacbound.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    codes = [main(['--help']), main(['bound', '--help'])]\n"
        f"heavy = sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))\n"
        "print(codes, heavy)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[0, 0] []"


@pytest.mark.parametrize("first", ["pacbound", "jax"])
def test_importing_pacbound_still_turns_on_float64(first):
    """pacbound turns on JAX's float64 without importing JAX, whichever comes first."""
    second = "jax" if first == "pacbound" else "pacbound"
    code = f"import {first}, {second}, jax.numpy as jnp; print(jnp.zeros(1).dtype)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "float64", done.stderr


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["frobnicate"],
        ["--verbose"],
        ["bound", "--kind", "kl"],
        [*GOOD, "--kind", "kl", "--n", "many"],
        [*GOOD, "--kind", "kl", "--delta", "2"],
        ["derive", "--bound", "seeger"],
        ["derive", "--check", "/nonexistent/page.md"],
        ["export", "--format", "xml"],
        ["replicate", "/nonexistent/a.json", "/nonexistent/b.json"],
        ["optimum", "--n", "10", "--param", "k1"],
    ],
)
def test_every_error_is_one_line_in_one_style(capsys, argv):
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("pacbound: error: ") and captured.err.count("\n") == 1
    assert not captured.err.startswith("pacbound: error: pacbound")  # one prefix, not two


def test_a_file_that_is_not_json_is_named(tmp_path, capsys):
    bad = tmp_path / "report.json"
    bad.write_text("{not json")
    assert main(["predict", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"pacbound: error: report = {bad}: not JSON") and err.count("\n") == 1


def test_half_open_intervals_to_infinity_are_written_one_way(tmp_path, capsys):
    pilots = tmp_path / "pilots.csv"
    pilots.write_text("bucket,n,seed,target_error\neasy,0,0,0.5\n")
    assert main(["recommend", str(pilots), "--budget", "8"]) == 2
    assert capsys.readouterr().err.strip().endswith("n = '0' is out of range: allowed [1, inf)")
    # [1, inf) only: neither [1, inf] nor [1, ∞) in any message of the package
    written = re.compile(r"[\[(][^,\[\]()\n]*, (?:inf\]|∞[)\]])")
    for path in SRC.rglob("*.py"):
        assert not written.search(path.read_text()), path


def _failing(monkeypatch, error):
    """Make ``bound`` raise ``error`` once its arguments are parsed."""

    def command(args):
        raise error

    monkeypatch.setitem(commands.COMMANDS, "bound", command)
    # main imported the dictionary itself, so the patched entry is the one it calls
    return [*GOOD, "--kind", "kl"]


def test_an_interrupt_is_one_line_and_status_130(monkeypatch, capsys):
    try:
        code = main(_failing(monkeypatch, KeyboardInterrupt()))
    except KeyboardInterrupt:  # escaping, it would stop pytest itself
        pytest.fail("the interrupt escaped main")
    assert code == 130
    assert capsys.readouterr().err == "pacbound: interrupted\n"


def test_a_file_system_error_on_a_users_path_is_one_line(monkeypatch, capsys, tmp_path):
    folder = tmp_path / "out"
    argv = ["export", "--out", str(folder / "cells.csv")]

    def export(args):
        args.out.write_text("bucket\n")  # the folder does not exist

    monkeypatch.setitem(commands.COMMANDS, "export", export)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err == f"pacbound: error: {folder / 'cells.csv'}: No such file or directory\n"
    folder.mkdir()
    (folder / "cells.csv").mkdir()
    assert main(argv) == 2
    assert capsys.readouterr().err.endswith("cells.csv: Is a directory\n")


@pytest.mark.parametrize(
    "error",
    [
        KeyError("bucket"),
        TypeError("unsupported operand"),
        FileNotFoundError(2, "No such file or directory", "/nonexistent/pacbound/internal.toml"),
    ],
)
def test_programming_errors_keep_their_traceback(monkeypatch, error):
    """A bug is not a user's mistake: its exception reaches the caller (and its traceback
    the terminal), a file-system error included when no path of the command line is in it."""
    with pytest.raises(type(error)):
        main(_failing(monkeypatch, error))


def test_derive_says_it_is_deriving_on_stderr_only(capsys, monkeypatch):
    from pacbound.pipeline.theory import DERIVING
    from pacbound.report import derivations as render

    quick = {name: render.BLOCKS[name] for name in ("budgets", "forms")}
    monkeypatch.setattr(render, "BLOCKS", quick)
    assert main(["derive"]) == 0
    captured = capsys.readouterr()
    assert captured.out == render.render_markdown()  # stdout is the document, unchanged
    assert captured.err == f"pacbound: {DERIVING}\n"


def test_derive_check_says_it_once_the_page_is_read(tmp_path, capsys, monkeypatch):
    from pacbound.report import derivations as render

    monkeypatch.setattr(render, "BLOCKS", {"budgets": render.BLOCKS["budgets"]})
    page = tmp_path / "page.md"
    page.write_text("<!-- generated:budgets -->\nstale\n<!-- end generated:budgets -->\n")
    assert main(["derive", "--check", str(page)]) == 1
    captured = capsys.readouterr()
    assert "generated blocks differ" in captured.out
    assert captured.err.startswith("pacbound: deriving the formulas with sympy")


def test_exact_run_says_each_stage(monkeypatch, tmp_path):
    from pacbound.analysis import exact

    config = tmp_path / "tiny.toml"
    config.write_text(
        'name = "tiny"\nkind = "exact"\n[task]\nlevels = 4\nknown = 1\n'
        "[grid]\nwidth = 2\nbudgets = [2, 8, 32]\ndraws = 8\ntarget = [1, 4]\n"
    )
    heard = []
    monkeypatch.setattr(exact, "compute", lambda config: heard.append("compute"))
    monkeypatch.setattr(exact, "analyse", lambda config, arrays: ({}, {}))
    monkeypatch.setattr(exact, "measured", lambda config, arrays: None)
    monkeypatch.setattr(exact, "claims_document", lambda *args: {})
    exact.run(exact.load(config), heard.append)
    assert heard == [
        "tiny: computing the exact risks of the grid…",
        "compute",
        "tiny: analysing them (bounds, predictors, claims)…",
    ]


def test_reproduce_exact_passes_its_status_lines_to_stderr(monkeypatch, capsys, tmp_path):
    import pacbound.pipeline as pipeline

    def reproduce_exact(path, out, say):
        say("tiny: computing the exact risks of the grid…")
        return "tiny", [out / "README.md"], {"grid": 1.0, "analysis": 2.0}

    monkeypatch.setattr(pipeline, "is_exact", lambda path: True)
    monkeypatch.setattr(pipeline, "reproduce_exact", reproduce_exact)
    assert main(["reproduce", "--preset", "exact", "--out", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert captured.err == "pacbound: tiny: computing the exact risks of the grid…\n"
    assert captured.out.splitlines() == [
        f"wrote {tmp_path / 'README.md'}",
        "tiny: grid computed in 1.0 s, analysed in 2.0 s",
    ]


def test_json_output_is_unchanged_by_status_lines(capsys):
    """A command's JSON stays parseable: status lines go to stderr."""
    assert main([*GOOD, "--kind", "kl", "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["bounds"][0]["kind"] == "kl" and captured.err == ""
