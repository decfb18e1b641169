"""A formula on the command line is parsed, never run: a string that would run a command is
one line on stderr, exit status 2, and nothing happens."""

import json
import math
import subprocess
import sys
import warnings

import pytest

from pacbound.cli import main
from pacbound.numeric.lower import lower_to_jax
from pacbound.symbolic.difficulty import parse_term


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


# --- every formula: exit 0, or one line on stderr with status 2 -------------------------


def _one_line(capsys, argv) -> str:
    """The one error line of ``argv``, which must exit 2 with nothing on stdout, no
    traceback and no warning (warnings are errors here: one would escape as a traceback)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = captured.err.strip().splitlines()
    assert line.startswith("pacbound: error: ")
    return line


#: Formulas that once computed without end inside the parser, each with its error.
_HANGED = {
    "1e999999999*d": "the number 1e999999999 is beyond float64's range",
    "1e-999999999+d": "the number 1e-999999999 is beyond float64's range",
    "(2**9000*d)**(10**3000)": "an exponent beyond ±1000",
    "(2*d)**(10**8)": "an exponent beyond ±1000 (1e+08)",
    "sqrt(2**9999)**100000": "an exponent beyond ±1000",
    "d**2.0**2.0**2.0**2.0**2.0**2.0": "an exponent beyond ±1000 (65536)",
    # at k1 = 50 (the default) sympy's substitution reduces exp(exp(50)) modulo π
    "cos(exp(exp(k1)))": "exp(exp(k1)) at k1 = 50 is beyond float64's range",
}


def test_formulas_that_computed_without_end_are_one_line_at_once():
    """Checked in a child process with a timeout, so that a regression fails instead of
    hanging the suite; the child exits 1 naming the first formula not refused as it should."""
    script = (
        "import contextlib, io, json, sys\n"
        "from pacbound.cli import main\n"
        "for text, fragment in json.loads(sys.argv[1]).items():\n"
        "    err = io.StringIO()\n"
        "    with contextlib.redirect_stderr(err):\n"
        "        status = main(['optimum', '--n', '100', '--kl-expr', text])\n"
        "    lines = err.getvalue().splitlines()\n"
        "    head = f'pacbound: error: --kl-expr {text!r}: '\n"
        "    if status != 2 or len(lines) != 1 or not lines[0].startswith(head) \\\n"
        "            or fragment not in lines[0]:\n"
        "        sys.exit(f'{text}: status {status}, stderr {lines}')\n"
    )
    argv = [sys.executable, "-W", "error", "-c", script, json.dumps(_HANGED)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120)  # once: hours
    assert done.returncode == 0 and done.stdout == "", done.stderr


#: Formulas whose parse sympy once took minutes on: it evaluated the sign of k0**710 − k0 − 1000.
_SLOW_TO_PARSE = ("Max(k0**710, k0 + 1000)*d", "Min(k0**710, k0 + 1000) + Abs(k0**710 - d)")


def test_abs_min_and_max_are_built_without_asking_sympy_for_signs():
    """Parsed in a child process with a timeout, as above: a regression fails, not hangs."""
    script = (
        "import sys\n"
        "from pacbound.symbolic.difficulty import parse_term\n"
        "for text in sys.argv[1:]:\n"
        "    print(parse_term(text, 'K'))\n"
    )
    argv = [sys.executable, "-W", "error", "-c", script, *_SLOW_TO_PARSE]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "d*Max(k0**710, k0 + 1000)",
        "Abs(-d + k0**710) + Min(k0**710, k0 + 1000)",
    ]


def test_the_deepest_nesting_allowed_lowers_and_one_level_more_is_one_line(capsys):
    """199 nested calls once passed the parser and ended in a RecursionError in the
    lowering; 100 levels is the parser's limit, and what it lets through lowers."""
    deepest = parse_term("tanh(" * 99 + "d" + ")" * 99, "K")
    expected = 0.5
    for _ in range(99):
        expected = math.tanh(expected)
    assert float(lower_to_jax(deepest, ("d",))(0.5)) == pytest.approx(expected, rel=1e-12)
    text = "sin(" * 101 + "d" + ")" * 101
    line = _one_line(capsys, ["optimum", "--n", "100", "--kl-expr", text])
    assert "nested more than 100 deep" in line


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("log(0)", "log(0) is not finite: the expression must be finite and real"),
        ("1/0", "1/0 is not finite"),
        ("d/0", "d/0 is not finite"),
        ("0**-1", "0**-1 is not finite"),
        ("log(d,1)", "log(d,1) is not finite"),
        ("1.0/0.0", "1.0/0.0 is not finite"),
        ("(-1)**0.5*d", "(-1)**0.5 is complex"),
        ("sqrt(-1)*d", "sqrt(-1) is complex"),
        ("log(-1)+d", "log(-1) is complex"),
        ("2**70*d", "an exact number of more than 63 bits"),
        ("9223372036854775808*d", "an exact number of more than 63 bits"),
        ("exp(10**3000)*d", "an exponent beyond ±1000 (3000)"),
        ("exp(1000)*d", "exp(1000) is beyond float64's range"),
        ("1e300*d*1e300", "holds a number beyond float64's range"),
    ],
)
def test_formulas_the_numeric_code_cannot_compute_are_one_line(capsys, text, fragment):
    line = _one_line(capsys, ["optimum", "--n", "100", "--kl-expr", text])
    assert line.startswith(f"pacbound: error: --kl-expr {text!r}: ")
    assert fragment in line and "; allowed: numbers, d, " in line


def test_erf_and_the_largest_exact_integer_are_computed(capsys):
    argv = ["optimum", "--n", "100,1000", "--json", "--kl-expr", "k0 + k1*erf(d)"]
    assert main(argv) == 0
    rows = json.loads(capsys.readouterr().out)["optimum"]
    assert all(math.isfinite(row["bound"]) for row in rows)
    tiny = "k0 + k1*d + d/9223372036854775807"  # 2**63 - 1: int64 still holds it
    assert main(["optimum", "--n", "100", "--kl-expr", tiny]) == 0


def test_a_model_not_finite_somewhere_is_one_line_naming_the_term_and_where(capsys):
    # K(0) = 1/0: infinite at the easy end of the domain
    line = _one_line(capsys, ["optimum", "--n", "100", "--kl-expr=1/d"])
    assert line == "pacbound: error: K(d) = inf at d = 0 is out of range: allowed [0, inf)"
    # log(d, k0) = log(d)/log(k0) divides by 0 once k0 takes its value, 1
    line = _one_line(capsys, ["optimum", "--n", "100", "--risk-expr", "k1*sqrt(log(d, k0))"])
    assert line == (
        "pacbound: error: R̂(d) is not finite and real at the parameters' values: "
        "R̂(d) = 50.0*sqrt(zoo*log(d))"
    )
    # T = 0/0 at d = 1/512 only: a point of the solver's grid, where it once printed nan
    shift = "0.25 + 0.25*Abs(d - 1/512)/(d - 1/512)"
    line = _one_line(capsys, ["optimum", "--n", "100,1000", "--shift-expr", shift])
    assert line == (
        "pacbound: error: the extrapolation term is nan at d = 0.00195312, n = 100: "
        "the model must be finite on its whole domain"
    )


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (["--n", "2.5"], "n = 2.5 (entry 0) is not an integer ≥ 1"),
        (["--n", "100,1e3,2.5"], "n = 2.5 (entry 2) is not an integer ≥ 1"),
        (["--n", ","], "argument --n: not a comma-separated list of finite numbers: ','"),
        (["--n", "100", "--domain", ","], "argument --domain: not a comma-separated list"),
        (["--n", "100", "--buckets", ","], "argument --buckets: not a comma-separated list"),
        (["--n", "100", "--domain", "nan,1"], "of finite numbers: 'nan,1'"),
        (["--n", "inf"], "argument --n: not a comma-separated list of finite numbers: 'inf'"),
        (["--n", "100", "--param", "k1=inf"], "parameter k1 = inf is not a finite number"),
        (["--n", "100", "--param", "k1=nan"], "parameter k1 = nan is not a finite number"),
        (["--n", "100", "--kl-expr", "k1*d", "--param", "k1=inf"], "k1 = inf is not a finite"),
        (["--n", "100", "--kl-expr", "k0 + exp(w)*d", "--param", "w=1000"], "w = 1000 is beyond"),
    ],
)
def test_budgets_lists_and_parameters_are_one_line(capsys, argv, line):
    assert line in _one_line(capsys, ["optimum", *argv])


def test_an_empty_catoni_grid_is_one_line(capsys):
    argv = ["bound", "--kind", "catoni", "--emp-risk", "0.1", "--kl", "1", "--n", "100"]
    line = _one_line(capsys, [*argv, "--delta", "0.05", "--catoni-grid", ","])
    assert "argument --catoni-grid: not a comma-separated list of finite numbers" in line


def test_the_help_says_how_to_write_a_leading_minus(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    assert main(["optimum", "--help"]) == 0
    out = capsys.readouterr().out
    for option in ("--kl-expr", "--shift-expr", "--risk-expr"):
        assert f"a leading minus: {option}=-d" in out
    assert "--n N                 sample sizes, e.g. 100,1000" in out
    # written so, a leading minus is read as the formula
    line = _one_line(capsys, ["optimum", "--n", "100", "--kl-expr=-d"])
    assert line.startswith("pacbound: error: K(d) = -0.00390625 at d = 0.00390625")
