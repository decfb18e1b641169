"""The pacbound command: good calls, JSON, and one-line errors with exit status 2."""

import json
import re
import shutil
import subprocess

import pytest

from pacbound.cli import main

GOOD = ["bound", "--emp-risk", "0.05", "--kl", "12.3", "--n", "5000", "--delta", "0.05"]


def test_table_for_all_kinds(capsys):
    assert main([*GOOD, "--kind", "all", "--shift-tv", "0.1"]) == 0
    out = capsys.readouterr().out
    for kind in ("mcallester", "kl", "quad", "lambda", "catoni"):
        assert f"\n{kind} " in out
    assert "generalization" in out and "extrapolation" in out


def test_json_output_has_every_term(capsys):
    assert main([*GOOD, "--kind", "kl", "--shift-tv", "0.1", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    (row,) = data["bounds"]
    assert row["kind"] == "kl" and row["vacuous"] is False
    total = row["empirical"] + row["mc_correction"] + row["generalization"] + row["extrapolation"]
    assert abs(row["bound"] - total) < 1e-12
    assert abs(row["extrapolation"] - 0.1) < 1e-15
    assert data["inputs"]["n"] == 5000


def test_monte_carlo_and_vacuous_flags(capsys):
    assert main([*GOOD, "--kind", "mcallester", "--mc-samples", "100", "--json"]) == 0
    row = json.loads(capsys.readouterr().out)["bounds"][0]
    assert row["mc_correction"] > 0
    args = ["bound", "--kind", "mcallester", "--emp-risk", "0.5", "--kl", "1e4"]
    assert main([*args, "--n", "100", "--delta", "0.05", "--json"]) == 0
    row = json.loads(capsys.readouterr().out)["bounds"][0]
    assert row["bound"] > 1 and row["vacuous"] is True


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        ([*GOOD, "--kind", "kl", "--delta", "1.5"], "delta = 1.5 is out of range: allowed (0, 1)"),
        (["bound", "--kind", "kl", "--emp-risk", "-1", *GOOD[3:]], "emp_risk = -1 is out of range"),
        ([*GOOD, "--kind", "kl", "--n", "0"], "n = 0 is out of range"),
        ([*GOOD, "--kind", "kl", "--n", "2.5"], "n = 2.5 is not an integer ≥ 1"),
        ([*GOOD, "--kind", "all", "--mc-samples", "10.5"], "mc_samples = 10.5 is not an integer"),
        ([*GOOD, "--kind", "kl", "--mc-samples", "0"], "mc_samples = 0 is out of range"),
        ([*GOOD, "--kind", "kl", "--kl", "nan"], "kl = nan is out of range"),
        ([*GOOD, "--kind", "kl", "--shift-tv", "inf"], "shift_tv = inf is out of range"),
        ([*GOOD, "--kind", "bogus"], "invalid choice: 'bogus'"),
        ([*GOOD, "--kind", "kl", "--n", "many"], "argument --n: invalid float value"),
        (["bound", "--kind", "kl"], "the following arguments are required"),
        ([*GOOD, "--kind", "catoni", "--catoni-grid", "1,x"], "not a comma-separated list"),
        ([*GOOD, "--kind", "lambda", "--lambda", "3"], "lambda = 3 is out of range"),
        (["derive", "--check", "/nonexistent/file.md"], "cannot read /nonexistent/file.md"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
    ],
)
def test_bad_arguments_print_one_line_and_exit_2(capsys, argv, fragment):
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert fragment in lines[0]
    assert "Traceback" not in captured.err


@pytest.fixture
def padded(monkeypatch):
    """A bound form registered at run time, with neither numeric.bounds nor the parser
    edited: the kl form plus a slack in [0, 1], 0.01 unless given."""
    import jax.numpy as jnp

    from pacbound import bound_options
    from pacbound.numeric import bounds

    slack = bound_options.Param("slack", "added to the kl bound, in [0, 1]", 0.0, 1.0)
    options = bound_options.FormOptions("kl padded", (slack,), "the slack for padded")

    def evaluate(emp_risk, kl_div, n, delta, slack=None):
        slack = 0.01 if slack is None else slack
        value, _ = bounds.BOUNDS["kl"].evaluate(emp_risk, kl_div, n, delta)
        return value + slack, jnp.broadcast_to(slack, value.shape)

    monkeypatch.setitem(bound_options.FORM_OPTIONS, "padded", options)
    monkeypatch.setitem(bounds.BOUNDS, "padded", bounds.Bound(options, evaluate))


def test_a_registered_entry_is_evaluated_and_checked(padded):
    from pacbound.numeric.bounds import evaluate_bound

    inputs = (0.05, 12.3, 5000, 0.05)
    kl = float(evaluate_bound("kl", *inputs).bound)
    terms = evaluate_bound("padded", *inputs, slack=0.2)
    assert float(terms.bound) == kl + 0.2 and float(terms.parameter) == 0.2
    assert float(evaluate_bound("padded", *inputs).parameter) == 0.01  # the entry's choice
    assert float(evaluate_bound("kl", *inputs, slack=0.2).bound) == kl  # another form's input
    with pytest.raises(ValueError, match=r"^slack = 2 is out of range: allowed \[0, 1\]$"):
        evaluate_bound("padded", *inputs, slack=2.0)


def test_a_registered_entry_is_a_kind_of_the_bound_command(padded, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    assert main(["bound", "--help"]) == 0
    shown = capsys.readouterr().out
    assert "--kind {mcallester,kl,quad,lambda,catoni,padded,all}" in shown
    assert "(McAllester–Maurer, kl, quad, Thiemann's λ, Catoni, kl padded), or all" in shown
    assert "--slack SLACK" in shown and "added to the kl bound, in [0, 1]" in shown
    assert main([*GOOD, "--kind", "padded", "--slack", "0.2", "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)["bounds"]
    assert row["kind"] == "padded" and row["parameter"] == 0.2
    assert main([*GOOD, "--kind", "padded"]) == 0
    assert "the chosen C for Catoni, the slack for padded; vacuous" in capsys.readouterr().out
    assert main([*GOOD, "--kind", "padded", "--slack", "2"]) == 2
    assert capsys.readouterr().err == "pacbound: error: slack = 2 is out of range: allowed [0, 1]\n"


def test_each_bound_option_shows_the_range_it_is_checked_against(capsys):
    """Where an option's help gives a range, an out-of-range value's error gives the same."""
    from pacbound.bound_options import FORM_OPTIONS, parameters

    for param in parameters(FORM_OPTIONS.values()):
        written = re.search(r" in ([\[(][^\])]*[\])])", param.help)
        if written is None:
            continue
        assert main([*GOOD, "--kind", "kl", param.flag, "nan"]) == 2
        error = capsys.readouterr().err
        assert error.endswith(f"is out of range: allowed {written.group(1)}\n"), param.name


def test_derive_prints_markdown_and_latex(capsys, monkeypatch):
    """The command's wiring, on the quick blocks (every block's rendering, the sympy solves of
    the closed forms included, is tests/report/test_derivations.py's)."""
    from pacbound.report import derivations as render

    quick = {name: render.BLOCKS[name] for name in ("budgets", "forms", "certificate")}
    monkeypatch.setattr(render, "BLOCKS", quick)
    assert main(["derive"]) == 0
    out = capsys.readouterr().out
    assert out == render.render_markdown() and "### forms" in out and "$$" in out
    assert main(["derive", "--latex"]) == 0
    latex = capsys.readouterr().out
    assert latex == render.render_latex() and "$$" not in latex and "% certificate" in latex


def test_derive_check_reports_drift(tmp_path, capsys):
    page = tmp_path / "page.md"
    page.write_text("<!-- generated:budgets -->\nstale\n<!-- end generated:budgets -->\n")
    assert main(["derive", "--check", str(page)]) == 1
    assert main(["derive", "--write", str(page)]) == 0
    assert main(["derive", "--check", str(page)]) == 0


@pytest.mark.parametrize("flag", ["--check", "--write"])
def test_derive_refuses_a_file_without_generated_blocks(tmp_path, capsys, flag):
    """Not "up to date": a page with no markers is the wrong file, and is left as it was."""
    page = tmp_path / "README.md"
    page.write_text("# A page\n\nNo generated blocks here.\n")
    assert main(["derive", flag, str(page)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = captured.err.strip().splitlines()
    assert line.endswith(f"{page} has no generated blocks (<!-- generated:NAME --> markers)")
    assert page.read_text() == "# A page\n\nNo generated blocks here.\n"


def test_installed_command_runs():
    """The console script itself, as a user calls it: its exit status and its one-line error
    (one process; the same call's output in-process is the tests' above)."""
    exe = shutil.which("pacbound")
    assert exe is not None, "pacbound is not installed: pip install -e ."
    bad = subprocess.run([exe, *GOOD, "--kind", "kl", "--n", "-3"], capture_output=True, text=True)
    assert bad.returncode == 2
    assert bad.stderr.strip() == "pacbound: error: n = -3 is out of range: allowed [1, inf)"


def test_optimum_table_and_json(capsys):
    argv = ["optimum", "--family", "linear-exponential", "--n", "100,1000,10000"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "linear-exponential-constant (mcallester)" in out and "d_star" in out
    assert main([*argv, "--param", "t_rate=6", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    d_star = [row["d_star"] for row in data["optimum"]]
    assert d_star == sorted(d_star) and data["model"]["params"]["t_rate"] == 6
    row = data["optimum"][0]
    total = row["empirical"] + row["generalization"] + row["extrapolation"]
    assert abs(row["bound"] - total) < 1e-12


def test_optimum_over_buckets(capsys):
    argv = ["optimum", "--family", "linear-exponential", "--n", "100,1e6", "--json"]
    assert main([*argv, "--buckets", "0.1,0.5,0.9"]) == 0
    rows = json.loads(capsys.readouterr().out)["optimum"]
    assert {row["d_star"] for row in rows} <= {0.1, 0.5, 0.9}


@pytest.mark.xdist_group("closed-forms")  # sympy's solves, once per worker
def test_derive_family(capsys):
    assert main(["derive", "--family", "linear-exponential"]) == 0
    out = capsys.readouterr().out
    assert "B_{dn}" in out and "W_{-1}" in out
    assert main(["derive", "--family", "linear-linear", "--latex"]) == 0
    assert "$$" not in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["optimum", "--family", "cubic-linear", "--n", "10"], "KL family 'cubic' is unknown"),
        (["optimum", "--family", "linear-linear", "--n", "0.5"], "n = 0.5 (entry 0) is out of"),
        (["optimum", "--family", "linear-linear", "--n", "10", "--param", "k1"], "NAME=VALUE"),
        (["optimum", "--family", "linear-linear", "--n", "10", "--param", "q=1"], "unknown"),
        (["optimum", "--kl-expr", "k0+n*d", "--n", "10", "--param", "n=5"], "model's variables"),
        (["optimum", "--family", "linear-linear", "--n", "10", "--domain", "1,0"], "is empty"),
    ],
)
def test_optimum_bad_arguments(capsys, argv, fragment):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and fragment in err[0]


def test_optimum_with_custom_expressions(capsys):
    argv = ["optimum", "--kl-expr", "k0 + k1*d**3", "--shift-expr", "t0*exp(-t_rate*d) + w*d"]
    assert main([*argv, "--param", "w=0.01", "--n", "100,10000", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["model"]["family"] == "custom" and data["model"]["params"]["w"] == 0.01
    assert data["optimum"][0]["d_star"] < data["optimum"][1]["d_star"]
    assert main(["optimum", "--kl-expr", "k0 + z*d", "--n", "100"]) == 2
    assert "unknown name 'z' (a new parameter needs a value: --param z=VALUE)" in (
        capsys.readouterr().err
    )
    assert main(["optimum", "--kl-expr", "k0 + (", "--n", "100"]) == 2
    assert "--kl-expr 'k0 + (': not a valid expression" in capsys.readouterr().err
