"""A user's expression is parsed against a whitelist, never run: what is refused, what is
read, and that what sympy prints reads back as the same expression."""

import math

import pytest
import sympy as sp
from hypothesis import assume, given
from hypothesis import strategies as st
from sympy.parsing.sympy_parser import convert_xor, parse_expr, standard_transformations

from pacbound.symbolic.difficulty import PARAMETER_SYMBOLS, d, k0, k1, k_power, k_rate, parse_term
from pacbound.symbolic.expression import MAX_LENGTH, parse_expression


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
        ("9**9**9", "an exact number of more than"),
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
        ("1e400*d", sp.Float("1e400") * d),
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


@given(EXPRESSIONS)
def test_printed_expressions_read_back(expr):
    if not all(isinstance(atom, _READABLE) for atom in expr.atoms()):
        assume(False)  # a constant sympy made (E, zoo, …) is outside the whitelist by design
    parsed = parse_term(str(expr), "--kl-expr")
    if parsed == expr:
        return
    # Structure can differ where a float was printed in 15 digits; the values cannot.
    for point in ({d: 0.3, k0: 1.7, k1: 0.6}, {d: 1.9, k0: 0.2, k1: 3.1}):
        want, got = _value(expr, point), _value(parsed, point)
        if math.isfinite(abs(want)):
            assert abs(got - want) <= 1e-9 * max(1.0, abs(want)), (str(expr), str(parsed))
