"""A user's expression is parsed against a whitelist, never run: what is refused, what is
read, and that what sympy prints reads back as the same expression."""

import ast
import json
import math
import subprocess
import sys

import pytest
import sympy as sp
from hypothesis import assume, given
from hypothesis import strategies as st
from sympy.parsing.sympy_parser import convert_xor, parse_expr, standard_transformations

from pacbound.symbolic.difficulty import PARAMETER_SYMBOLS, d, k0, k1, k_power, k_rate, parse_term
from pacbound.symbolic.expression import (
    _OPERATOR_TEXT,
    MAX_EXACT_BITS,
    MAX_EXPONENT,
    MAX_LENGTH,
    parse_expression,
)


def _refused(text: str, fragment: str):
    with pytest.raises(ValueError) as caught:
        parse_term(text, "--kl-expr")
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("--kl-expr ")
    assert fragment in message, message
    return message


def _attempts(path) -> list[str]:
    """Texts that, run as Python, would each create ``path``."""
    target = repr(str(path))
    return [
        f"__import__('os').system('touch {path}')",
        f"open({target}, 'w')",
        f"exec(\"open({target}, 'w')\")",
        f"[open({target}, 'w') for x in (1,)]",
        f"(lambda: open({target}, 'w'))()",
        f"d.__class__.__init__.__globals__['__builtins__']['open']({target}, 'w')",
        f"k0 + __import__('pathlib').Path({target}).touch()",
        f"exp(open({target}, 'w'))",
    ]


@pytest.mark.parametrize("attempt", range(8))
def test_nothing_is_run(tmp_path, attempt):
    sentinel = tmp_path / "ran"
    text = _attempts(sentinel)[attempt]
    with pytest.raises(ValueError):
        parse_term(text, "--kl-expr")
    assert not sentinel.exists()


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("__import__('os').system('echo x')", "attribute access is not allowed"),
        ("d.__class__", "attribute access is not allowed"),
        ("__class__", "names with double underscores (__class__) are not allowed"),
        ("d + __builtins__", "names with double underscores"),
        ("lambda: 1", "lambda is not allowed"),
        ("__import__('os')", "calling __import__() is not allowed"),
        ("exec('x')", "calling exec() is not allowed"),
        ("eval('d')", "calling eval() is not allowed"),
        ("[x for x in ()]", "comprehensions are not allowed"),
        ("(x for x in ())", "comprehensions are not allowed"),
        ("log(d, base=2)", "keyword arguments"),
        ("exp(**{})", "keyword arguments"),
        ("exp(*d)", "starred arguments are not allowed"),
        ("'d'", "strings are not allowed"),
        ("f'{d}'", "strings are not allowed"),
        ("b'd'", "strings are not allowed"),
        ("import os", "not a valid expression"),
        ("k0 + (", "not a valid expression"),
        ("d[0]", "subscripts are not allowed"),
        ("d < 1", "comparisons are not allowed"),
        ("d if d else 1", "conditional expressions are not allowed"),
        ("(x := 1)", "assignments (:=) are not allowed"),
        ("d % 2", "operator % is not allowed"),
        ("~d", "operator ~ is not allowed"),
        ("True", "True is not allowed"),
        ("1j*d", "complex numbers are not allowed"),
        ("(d, 1)", "tuples are not allowed"),
        ("z*d", "unknown name 'z'"),
        ("pi*d", "unknown name 'pi'"),
        ("exp", "exp is a function"),
        ("d(1)", "calling d() is not allowed"),
        ("(1)(d)", "only the listed functions may be called"),
        ("exp(d, 1)", "exp() takes 1 argument, not 2"),
        ("Min()", "Min() takes 1 or more arguments, not 0"),
        ("9**9**9", "an exponent beyond ±1000 (3.8742e+08) is not allowed"),
        ("2**64", "an exact number of more than 63 bits"),
        ("-" * 300 + "d", "nested more than"),
        ("d+" * (MAX_LENGTH // 2) + "d", f"characters long: at most {MAX_LENGTH}"),
    ],
)
def test_anything_else_is_one_line_naming_the_argument(text, fragment):
    _refused(text, fragment)


def test_the_error_says_what_is_allowed_and_which_names_are_known():
    message = _refused("k0 + z*d", "unknown name 'z'")
    assert "--param z=VALUE" in message
    allowed = message.split("; allowed: ")[1]
    assert allowed.startswith("numbers, d, ")
    for name in [*PARAMETER_SYMBOLS, "exp", "log", "sqrt", "+ - * / ^ ( )"]:
        assert name in allowed


SAFE = standard_transformations + (convert_xor,)
SYMBOLS = {"d": d, **PARAMETER_SYMBOLS}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("k0 + k1*d**k_power", k0 + k1 * d**k_power),
        ("exp(-k_rate*d)", sp.exp(-k_rate * d)),
        ("2^d", sp.Pow(sp.Integer(2), d)),
        ("2^d + 1", sp.Pow(sp.Integer(2), d) + 1),  # ^ binds as **, not as Python's xor
        ("1/2*d", sp.Rational(1, 2) * d),
        ("-d", -d),
        ("sqrt(d+1)", sp.sqrt(d + 1)),
        ("0.1*d + 3", sp.Float("0.1") * d + 3),
        ("1e308*d", sp.Float("1e308") * d),
        ("log(d, 2) + log(d)", sp.log(d, 2) + sp.log(d)),
        ("(k0 + k1)*d**(1/3)", (k0 + k1) * d ** sp.Rational(1, 3)),
        ("tanh(d) - erf(d) + sin(d)*cos(d)", sp.tanh(d) - sp.erf(d) + sp.sin(d) * sp.cos(d)),
        ("2 * -d", -2 * d),
    ],
)
def test_valid_expressions_are_read_as_sympy_reads_them(text, expected):
    parsed = parse_term(text, "--kl-expr")
    assert sp.srepr(parsed) == sp.srepr(expected)  # exact: 1/2 stays Rational(1, 2)
    # sympy's own reader of these fixed, trusted texts agrees
    assert sp.srepr(parse_expr(text, local_dict=dict(SYMBOLS), transformations=SAFE)) == (
        sp.srepr(expected)
    )


def test_the_lower_case_functions_and_further_parameters():
    text = "Abs(d - 1) + abs(d) + min(d, k0) + Max(k1, d) + w"
    expected = sp.Abs(d - 1) + sp.Abs(d) + sp.Min(d, k0) + sp.Max(k1, d) + sp.Symbol("w")
    assert parse_term(text, "--kl-expr", names=["w"]) == expected
    # d and the family parameters keep their own symbols (and assumptions) whatever is given
    assert parse_term("d + k0", "--kl-expr", names=["d", "k0"]) == d + k0
    assert parse_term("d", "--kl-expr").is_real and parse_term("k0", "--kl-expr").is_positive


# --- numbers: what the numeric code computes with, refused before sympy computes long ------


#: Texts that made sympy compute for minutes or without end (10**exponent of a float's
#: text, exact powers of powers, mpmath's overflow), each with what its error says.
_HANGED = {
    "1e1000000": "the number 1e1000000 is beyond float64's range",
    "1e999999999*d": "the number 1e999999999 is beyond float64's range",
    "1e-999999999+d": "the number 1e-999999999 is beyond float64's range",
    "(2*d)**(2**9000)": "an exponent beyond ±1000 (9000)",
    "(2**9000*d)**(10**3000)": "an exponent beyond ±1000 (9000)",
    "(2*d)**(10**8)": "an exponent beyond ±1000 (1e+08)",
    "1.5**(10**3000)": "an exponent beyond ±1000 (3000)",
    "sqrt(3**6000+1)*d": "an exponent beyond ±1000 (6000)",
    "sqrt(2**9999)**100000": "an exponent beyond ±1000 (9999)",
    "d**2.0**2.0**2.0**2.0**2.0**2.0": "an exponent beyond ±1000 (65536)",
    "exp(exp(exp(9)))*d": "exp(exp(9)) is beyond float64's range",
    # sympy takes 1000**N out of an exponent's sum as its content
    "k1**(1 + 1000**(k0 - 9223372036854775807))": "a number beyond ±1000 in an exponent",
}


def test_numbers_that_would_compute_without_end_are_refused_at_once():
    """Each is refused within seconds, in a child process, so that a regression fails here
    (on its timeout) instead of hanging the suite."""
    script = (
        "import json, sys\n"
        "from pacbound.symbolic.difficulty import parse_term\n"
        "errors = {}\n"
        "for text in json.loads(sys.argv[1]):\n"
        "    try:\n"
        "        parse_term(text, '--kl-expr')\n"
        "    except ValueError as error:\n"
        "        errors[text] = str(error)\n"
        "print(json.dumps(errors))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, json.dumps(list(_HANGED))],
        capture_output=True,
        text=True,
        timeout=120,  # the import takes seconds; the texts once took hours
        check=True,
    )
    errors = json.loads(done.stdout)
    for text, fragment in _HANGED.items():
        assert text in errors, f"{text} was accepted"
        message = errors[text]
        assert message.startswith(f"--kl-expr {text!r}: ") and "\n" not in message
        assert fragment in message, message


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        # not finite: sympy's zoo, in a number or beside d
        ("log(0)", "log(0) is not finite"),
        ("1/0", "1/0 is not finite"),
        ("d/0", "d/0 is not finite"),
        ("0**-1", "0**-1 is not finite"),
        ("log(d,1)", "log(d,1) is not finite"),
        ("1.0/0.0", "1.0/0.0 is not finite"),  # mpmath's ZeroDivisionError
        ("Min(d, 1/0)", "1/0 is not finite"),
        # complex
        ("(-1)**0.5*d", "(-1)**0.5 is complex"),
        ("sqrt(-1)*d", "sqrt(-1) is complex"),
        ("log(-1)+d", "log(-1) is complex"),
        ("(-8)**(1/3)", "(-8)**(1/3) is complex"),
        ("sqrt(-d**2)", "sqrt(-d**2) is complex"),
        ("(-709.0)**(-706.75)*d", "(-709.0)**(-706.75) is complex"),  # 1e-2013 imaginary
        # beyond float64
        ("exp(1000)*d", "exp(1000) is beyond float64's range"),
        ("exp(exp(7))", "exp(exp(7)) is beyond float64's range"),
        ("10.0**400*d", "10.0**400 is beyond float64's range"),
        ("1e300*d*1e300", "1e300*d*1e300 holds a number beyond float64's range"),
        ("exp(1e308-k0)", "exp(1e308-k0) holds a number beyond float64's range"),
        ("1e400*d", "the number 1e400 is beyond float64's range"),
        ("1e-400*d", "the number 1e-400 is beyond float64's range"),
        # exact numbers beyond int64, where the numeric code reads them
        ("9223372036854775808*d", f"an exact number of more than {MAX_EXACT_BITS} bits"),
        ("2**70*d", "write a float instead (e.g. 2.0**70 for 2**70)"),
        ("2**62*d*2**62", "an exact number of more than"),
        ("(2*d)**1000", "an exact number of more than"),
        ("d/2**64", "an exact number of more than"),
        # exponents
        ("d**1001", f"an exponent beyond ±{MAX_EXPONENT} (1001)"),
        ("0.5**2000*d", "an exponent beyond ±1000 (2000)"),
        ("2**exp(7)", "an exponent beyond ±1000 (1096.63)"),
        ("2**(d + 1001)", "a number beyond ±1000 in an exponent (1001)"),
        ("(d**30)**40", "a number beyond ±1000 in an exponent (1200)"),  # sympy's d**1200
        ("d**600*d**600", "a number beyond ±1000 in an exponent (1200)"),
    ],
)
def test_numbers_must_be_finite_real_and_within_float64(text, fragment):
    message = _refused(text, fragment)
    assert message.startswith(f"--kl-expr {text!r}: ")


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("9223372036854775807*d", 2**63 - 1),  # the largest exact integer
        ("2.0**70*d", 2.0**70),
        ("exp(709)*d", math.exp(709)),
        ("1e308*d", 1e308),
        ("2.3e-308*d", 2.3e-308),
        ("0.0*d + d", 1.0),
        ("(-8)**2*d", 64.0),  # an integer power of a negative number is real
        ("(-8)**2.0*d", 64.0),
        ("(2.0*d)**1000", 2.0**1000),
        ("exp(-1000)*d", 0.0),  # underflows to 0, as float64 computes it
    ],
)
def test_numbers_float64_computes_are_read(text, value):
    parsed = parse_term(text, "--kl-expr")
    assert float(parsed.subs(d, 1)) == pytest.approx(value, rel=1e-12)


def test_parts_in_parameters_alone_are_checked_at_their_values():
    """Substituted, cos(exp(exp(k1))) at k1 = 50 makes sympy reduce a number of 10²¹ digits
    modulo π: refused as the parse sees it, at the values the parameters will take."""
    text = "cos(exp(exp(k1)))"
    assert parse_term(text, "--shift-expr") == sp.cos(sp.exp(sp.exp(k1)))  # no values: symbolic
    with pytest.raises(ValueError, match=r"exp\(exp\(k1\)\) at k1 = 50 is beyond float64"):
        parse_term(text, "--shift-expr", values={"k1": 50.0})
    with pytest.raises(ValueError, match=r"exp\(w\) at w = 1000 is beyond float64's range"):
        parse_term("k0 + exp(w)*d", "--kl-expr", names=["w"], values={"w": 1000.0})
    # within range they stay symbols, and d stays the variable whatever the values hold
    parsed = parse_term("exp(k1)*d + d**k_power", "--kl-expr", values={"k1": 50.0, "d": 1e9})
    assert parsed == sp.exp(k1) * d + d**k_power


def test_formulas_of_bounds_are_read():
    for text in ("k0 + k1*d**3", "exp(-k_rate*d)", "2^d", "(1-d)**2", "d**0.5", "erf(d)"):
        assert parse_term(text, "--kl-expr").has(d)
    assert parse_term("(1 + d/3)**50", "--kl-expr") == (1 + d / 3) ** 50  # exact, unexpanded


def test_xor_is_read_as_a_power_and_has_no_operator_text():
    assert parse_term("d ^ 2", "--kl-expr") == d**2
    assert ast.BitXor not in _OPERATOR_TEXT  # ^ never reaches the tree as xor


def test_text_is_required():
    with pytest.raises(ValueError, match=r"^x = 3 is not text"):
        parse_expression(3, {"d": d}, "x")


# --- round trip: what sympy prints reads back as the same expression ------------------

_LEAVES = st.one_of(
    st.sampled_from([d, k0, k1]),
    st.integers(-9, 9).map(sp.Integer),
    st.tuples(st.integers(-9, 9), st.integers(1, 9)).map(lambda pq: sp.Rational(*pq)),
    st.sampled_from(["0.5", "2.25", "1e-3"]).map(sp.Float),
)


def _comparable(function, a, b):
    """Min or Max where sympy can order the arguments (not of zoo or I), else a sum."""
    try:
        return function(a, b)
    except (TypeError, ValueError):
        return a + b


_UNARY = [sp.exp, sp.log, sp.sqrt, sp.sin, sp.cos, sp.tanh, sp.erf, sp.Abs, lambda x: -x]
_BINARY = [
    lambda a, b: a + b,
    lambda a, b: a - b,
    lambda a, b: a * b,
    lambda a, b: a / b,
    lambda a, b: _comparable(sp.Min, a, b),
    lambda a, b: _comparable(sp.Max, a, b),
]


def _extend(children):
    return st.one_of(
        st.tuples(st.sampled_from(_UNARY), children).map(lambda fx: fx[0](fx[1])),
        st.tuples(st.sampled_from(_BINARY), children, children).map(lambda f: f[0](f[1], f[2])),
        st.tuples(children, st.integers(-3, 3)).map(lambda be: be[0] ** be[1]),
        st.tuples(children, st.sampled_from([d, k0])).map(lambda be: be[0] ** be[1]),
    )


EXPRESSIONS = st.recursive(_LEAVES, _extend, max_leaves=12)
#: What the parser reads: printed numbers and symbols (no E, pi, I, oo, zoo, nan).
_READABLE = (sp.Symbol, sp.Integer, sp.Rational, sp.Float)


def _value(expr, point):
    """expr at point, or nan where sympy cannot evaluate it (Min of complex values)."""
    try:
        return complex(expr.evalf(subs=point))
    except (TypeError, ValueError):
        return complex(math.nan)


def _beyond_float64(expr) -> bool:
    """Whether a part of ``expr`` without a symbol is complex, not finite or beyond float64,
    or an exact number has more than MAX_EXACT_BITS bits: what the parser refuses."""
    for part in sp.preorder_traversal(expr):
        if isinstance(part, sp.Rational) and max(abs(part.p), part.q).bit_length() > 63:
            return True
        if not part.free_symbols:
            value = complex(part)
            if value.imag != 0 or not math.isfinite(value.real):
                return True
    return False


@given(EXPRESSIONS)
def test_printed_expressions_read_back(expr):
    if not all(isinstance(atom, _READABLE) for atom in expr.atoms()):
        assume(False)  # a constant sympy made (E, zoo, …) is outside the whitelist by design
    try:
        parsed = parse_term(str(expr), "--kl-expr")
    except ValueError:
        assert _beyond_float64(expr), str(expr)  # log(-2), exp(exp(9)): refused, rightly
        return
    if parsed == expr:
        return
    # Structure can differ where a float was printed in 15 digits; the values cannot.
    for point in ({d: 0.3, k0: 1.7, k1: 0.6}, {d: 1.9, k0: 0.2, k1: 3.1}):
        want, got = _value(expr, point), _value(parsed, point)
        if math.isfinite(abs(want)):
            assert abs(got - want) <= 1e-9 * max(1.0, abs(want)), (str(expr), str(parsed))
