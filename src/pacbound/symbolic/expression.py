"""A user's formula as sympy, parsed and never evaluated.

``sympy.sympify`` runs its input as Python, so a string such as
``__import__('os').system(...)`` would run a command. Here the text is parsed with
``ast.parse(mode="eval")`` and the tree is walked against a whitelist; the sympy object is
built node by node, and nothing the text names is ever looked up in Python's namespace.

Accepted: int and float literals, the names in ``symbols``, binary ``+ - * / **`` (``^`` is
read as ``**``, as sympify reads it), unary ``+ -``, parentheses, and calls of the functions
in ``FUNCTIONS`` by bare name with positional arguments. Everything else is a ``ValueError``
of one line naming the argument, what is wrong and what is allowed.

Integer literals stay exact, as with sympify: ``1/2`` is ``Rational(1, 2)``, and a float
literal keeps its decimal text (``0.1`` is ``Float("0.1")``).

Numbers are those the numeric code computes with: a float literal lies within float64's
range (0, or 2.2e-308 ≤ |x| ≤ 1.8e308, read by ``float()`` before sympy builds it), an exact
number (an integer, a fraction's numerator or denominator) has at most ``MAX_EXACT_BITS``
bits, every number in an exponent lies within ±``MAX_EXPONENT``, and each part without a
symbol evaluates to a finite real float64. Each is checked as the expression is built, a power
before it is computed, so that no input makes sympy compute for long; an expression that is
not finite (``1/0``, ``log(d, 1)``) or complex (``sqrt(-1)``) is refused too.
"""

from __future__ import annotations

import ast
import math
import sys
import warnings
from collections.abc import Mapping

import sympy as sp

#: Longer input is refused before it is parsed: a formula of a few terms fits many times.
MAX_LENGTH = 1000
#: Deeper trees are refused, so that walking them cannot exhaust Python's stack, here or in
#: sympy's lowering (its sort keys recurse about twice per level: 199 levels overflowed).
MAX_DEPTH = 100
#: An exact number of more bits is refused: the numeric code reads an integer as int64, and
#: sympy computes exact arithmetic at once (9**9**9 has 10⁸ digits). A float (2.0**70 for
#: 2**70) has float64's range instead.
MAX_EXACT_BITS = 63
#: A number in an exponent beyond ± this is refused, before the power is computed: a
#: formula of a bound needs no larger one, and (2*d)**(10**8) would compute 2**(10**8).
MAX_EXPONENT = 1000
#: What is not a finite number: sympy's results of 1/0, log(0), 0*oo.
NOT_FINITE = (sp.zoo, sp.oo, -sp.oo, sp.nan)

#: Function name → (sympy function, fewest arguments, most arguments or None for any).
FUNCTIONS: dict[str, tuple[type, int, int | None]] = {
    "exp": (sp.exp, 1, 1),
    "log": (sp.log, 1, 2),
    "ln": (sp.log, 1, 1),
    "sqrt": (sp.sqrt, 1, 1),
    "sin": (sp.sin, 1, 1),
    "cos": (sp.cos, 1, 1),
    "tanh": (sp.tanh, 1, 1),
    "erf": (sp.erf, 1, 1),
    "Abs": (sp.Abs, 1, 1),
    "abs": (sp.Abs, 1, 1),
    "Min": (sp.Min, 1, None),
    "min": (sp.Min, 1, None),
    "Max": (sp.Max, 1, None),
    "max": (sp.Max, 1, None),
}

#: Functions built unevaluated (see _Builder.call).
_UNEVALUATED = (sp.Abs, sp.Min, sp.Max)

_OPERATORS = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
}
_OPERATOR_TEXT = {
    ast.Mod: "%",
    ast.FloorDiv: "//",
    ast.MatMult: "@",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.BitAnd: "&",
    ast.BitOr: "|",
    ast.Invert: "~",
    ast.Not: "not",
}
#: Why a node is refused, for the nodes a user might plausibly write.
_REFUSED = {
    ast.Attribute: "attribute access is not allowed",
    ast.Subscript: "subscripts are not allowed",
    ast.Lambda: "lambda is not allowed",
    ast.Compare: "comparisons are not allowed",
    ast.BoolOp: "and/or are not allowed",
    ast.IfExp: "conditional expressions are not allowed",
    ast.NamedExpr: "assignments (:=) are not allowed",
    ast.ListComp: "comprehensions are not allowed",
    ast.SetComp: "comprehensions are not allowed",
    ast.DictComp: "comprehensions are not allowed",
    ast.GeneratorExp: "comprehensions are not allowed",
    ast.List: "lists are not allowed",
    ast.Tuple: "tuples are not allowed",
    ast.Set: "sets are not allowed",
    ast.Dict: "dicts are not allowed",
    ast.JoinedStr: "strings are not allowed",
    ast.Starred: "starred arguments are not allowed",
}


class _Refused(Exception):
    """A reason the text is not an allowed expression; ``parse_expression`` adds the rest."""


def allowed_text(symbols: Mapping[str, sp.Symbol]) -> str:
    """What an expression may contain, in words, for the errors."""
    names = sorted(symbols, key=lambda name: (name != "d", name))
    functions = ", ".join(FUNCTIONS)
    return f"numbers, {', '.join(names)}, + - * / ^ ( ) and {functions}"


def parse_expression(
    text: str,
    symbols: Mapping[str, sp.Symbol],
    what: str,
    *,
    unknown: str = "",
    values: Mapping[str, float] | None = None,
) -> sp.Expr:
    """``text`` as a sympy expression in ``symbols`` (name → symbol); ``what`` names the
    argument in errors (e.g. "--kl-expr"), ``unknown`` is a hint added to the error for an
    unknown name, formatted with ``name``. ``values`` (name → value) are the values that
    symbols will take: a part of the expression in them alone is checked at those values as
    a number is (sympy would compute it once they are substituted: cos(exp(exp(k1))) at
    k1 = 50 without end), and it stays symbolic.

    Raises ValueError, one line, for anything outside the whitelist of the module's
    docstring, for text longer than ``MAX_LENGTH`` characters or nested deeper than
    ``MAX_DEPTH``, and for numbers outside the module docstring's limits.
    """
    if not isinstance(text, str):
        raise ValueError(f"{what} = {text!r} is not text: give the expression as a string")
    shown = repr(text) if len(text) <= 80 else repr(text[:60]) + "…"
    try:
        if len(text) > MAX_LENGTH:
            raise _Refused(f"{len(text)} characters long: at most {MAX_LENGTH}")
        source = text.replace("^", "**")  # sympify's reading of ^; no strings can hold one
        try:
            with warnings.catch_warnings():  # e.g. an invalid escape: the error says enough
                warnings.simplefilter("ignore")
                tree = ast.parse(source, mode="eval")
        except SyntaxError as error:
            raise _Refused(f"not a valid expression ({error.msg})") from None
        except (ValueError, MemoryError, RecursionError):
            raise _Refused("not a valid expression") from None
        expr, _ = _Builder(source, symbols, unknown, values or {}).build(tree.body, 0)
        _check_atoms(expr, "the expression")
        return expr
    except _Refused as reason:
        raise ValueError(f"{what} {shown}: {reason}; allowed: {allowed_text(symbols)}") from None


#: An expression as built, and its float64 value where it holds no symbol (else None).
_Built = tuple[sp.Expr, float | None]


class _Builder:
    """Builds the sympy expression of a tree, each part checked as it is made."""

    def __init__(
        self,
        source: str,
        symbols: Mapping[str, sp.Symbol],
        unknown: str,
        values: Mapping[str, float],
    ):
        self.source, self.symbols, self.unknown = source, symbols, unknown
        self.values = {symbols[name]: value for name, value in values.items() if name in symbols}

    def build(self, node: ast.AST, depth: int) -> _Built:
        if depth > MAX_DEPTH:
            raise _Refused(f"nested more than {MAX_DEPTH} deep")
        if isinstance(node, ast.Constant):
            value = self.number(node)
            return value, float(value)
        if isinstance(node, ast.Name):
            symbol = self.name(node.id)
            return symbol, self.values.get(symbol)
        if isinstance(node, ast.BinOp):
            # A sum of many terms is a long left spine: folded in a loop, not nested calls.
            spine = []
            while isinstance(node, ast.BinOp):
                spine.append(node)
                node = node.left
            built = self.build(node, depth + 1)
            for binary in reversed(spine):
                operands = [built, self.build(binary.right, depth + 1)]
                built = self.checked(binary, _operation(binary.op, operands), operands)
            return built
        if isinstance(node, ast.UnaryOp):
            operand, number = self.build(node.operand, depth + 1)
            if isinstance(node.op, ast.USub):
                return -operand, None if number is None else -number
            if isinstance(node.op, ast.UAdd):
                return operand, number
            raise _Refused(f"operator {_OPERATOR_TEXT[type(node.op)]} is not allowed")
        if isinstance(node, ast.Call):
            return self.call(node, depth)
        raise _Refused(_REFUSED.get(type(node), f"{type(node).__name__} is not allowed"))

    def checked(self, node: ast.AST, operation, operands: list[_Built]) -> _Built:
        """``operation`` of the operands' expressions, the result of ``node``, unless it is
        not finite or complex; where every operand has a value (it holds no symbol, or only
        symbols of ``values``), its float64 value, from the operands' values (a linear cost
        in the depth, as float64 computes it), unless that is complex or beyond float64's
        range. Its exact numbers are checked unless it is a sum (a sum adds a few bits at
        most: the whole expression's are checked at the end)."""
        text = _shown(ast.get_source_segment(self.source, node) or "the expression")
        not_finite = f"{text} is not finite: the expression must be finite and real"
        try:
            value = operation(*(expr for expr, _ in operands))
        except ArithmeticError:  # a float divided by 0.0
            raise _Refused(not_finite) from None
        if value.has(*NOT_FINITE):
            raise _Refused(not_finite)
        if value.has(sp.I):
            raise _Refused(f"{text} is complex: the expression must be finite and real")
        number = None
        if all(known is not None for _, known in operands):
            if value.free_symbols:  # at the values they will take
                text += " at " + ", ".join(
                    f"{symbol} = {self.values[symbol]:g}"
                    for symbol in sorted(value.free_symbols, key=str)
                )
            if isinstance(value, sp.Rational | sp.Float):
                number = _float_value(value, text)
            else:
                try:
                    image = operation(*(_image(expr, known) for expr, known in operands))
                except ArithmeticError:
                    raise _Refused(not_finite) from None
                number = _float_value(image, text)
        if not isinstance(node, ast.BinOp) or not isinstance(node.op, ast.Add | ast.Sub):
            _check_atoms(value, text)
        return value, number

    def number(self, node: ast.Constant) -> sp.Expr:
        value = node.value
        # bool is an int to Python, but True is no number of a formula.
        if isinstance(value, int) and not isinstance(value, bool):
            _check_size(abs(value).bit_length())
            return sp.Integer(value)
        if isinstance(value, float):
            text = ast.get_source_segment(self.source, node) or repr(value)
            # Python's float first: sympy would build 10**exponent of 1e999999999 exactly.
            mantissa = text.lower().split("e")[0]
            underflow = value == 0 and any(digit in mantissa for digit in "123456789")
            if not math.isfinite(value) or underflow or 0 < abs(value) < sys.float_info.min:
                raise _Refused(
                    f"the number {_shown(text)} is beyond float64's range: a float must be 0 or "
                    "within ±[2.2e-308, 1.8e308]"
                )
            # The decimal text, as sympify reads it: 0.1 stays Float("0.1").
            return sp.Float(text)
        kind = {str: "strings", bytes: "strings", complex: "complex numbers"}.get(type(value))
        raise _Refused(f"{kind or repr(value)} {'are' if kind else 'is'} not allowed")

    def name(self, name: str) -> sp.Expr:
        if name in self.symbols:
            return self.symbols[name]
        if name.startswith("__") or name.endswith("__"):
            raise _Refused(f"names with double underscores ({name}) are not allowed")
        if name in FUNCTIONS:
            raise _Refused(f"{name} is a function: call it, e.g. {name}(d)")
        hint = f" ({self.unknown.format(name=name)})" if self.unknown else ""
        raise _Refused(f"unknown name {name!r}{hint}")

    def call(self, node: ast.Call, depth: int) -> _Built:
        if not isinstance(node.func, ast.Name):
            if isinstance(node.func, ast.Attribute):
                raise _Refused("attribute access is not allowed")
            raise _Refused("only the listed functions may be called, by name")
        name = node.func.id
        if name not in FUNCTIONS:
            raise _Refused(f"calling {name}() is not allowed")
        if node.keywords:
            raise _Refused(f"keyword arguments ({name}(…=…)) are not allowed")
        function, fewest, most = FUNCTIONS[name]
        count = len(node.args)
        if count < fewest or (most is not None and count > most):
            expected = f"{fewest} or more" if most is None else f"{fewest} to {most}"
            expected = f"{fewest}" if fewest == most else expected
            plural = "" if expected == "1" else "s"
            raise _Refused(f"{name}() takes {expected} argument{plural}, not {count}")
        operands = [self.build(argument, depth + 1) for argument in node.args]
        if function is sp.exp and operands[0][0].has(sp.log):
            _check_exponent(operands[0][0])  # exp(c*log(x)) is x**c, computed at once

        # Abs, Min and Max are built unevaluated: evaluating them asks sympy for the sign of
        # a difference, which can take minutes (Max(k0**710, k0 + 1000)).
        options = {"evaluate": False} if function in _UNEVALUATED else {}

        def apply(*arguments):
            try:
                return function(*arguments, **options)
            except (TypeError, ValueError) as error:
                raise _Refused(f"{name}() of these arguments is not defined ({error})") from None

        return self.checked(node, apply, operands)


def _operation(operator: ast.operator, operands: list[_Built]):
    """The sympy operation of a binary operator; a power's exponent checked first."""
    if isinstance(operator, ast.Pow):
        (base, _), (exponent, number) = operands
        if number is None:
            # sympy's canonical forms compute with an exponent's numbers too: 1000**(k0 - N)
            # takes 1000**N out, as its content.
            _check_exponent(exponent)
        else:
            # Bounded before the power is computed: sympy computes exact powers at once.
            if abs(number) > MAX_EXPONENT:
                raise _Refused(f"an exponent beyond ±{MAX_EXPONENT} ({number:g}) is not allowed")
            if isinstance(exponent, sp.Rational):
                bits = max((_bits(atom) for atom in base.atoms(sp.Rational)), default=0)
                _check_size(bits * math.ceil(abs(number)), limit=MAX_EXACT_BITS * MAX_EXPONENT)
        return lambda a, b: a**b
    if type(operator) in _OPERATORS:
        return _OPERATORS[type(operator)]
    raise _Refused(f"operator {_OPERATOR_TEXT[type(operator)]} is not allowed")


def _image(expr: sp.Expr, number: float) -> sp.Expr:
    """What stands for a number in computing a value: an exact number itself (an integer
    power of a negative base stays real), any other as its float64 value."""
    return expr if isinstance(expr, sp.Rational) else sp.Float(number)


def _float_value(value: sp.Expr, text: str) -> float:
    """A number's float64 value; refused where it is not finite, complex or beyond range."""
    try:
        real, imaginary = value.as_real_imag()
        number = complex(value)
    except (TypeError, ValueError, ArithmeticError):
        raise _Refused(f"{text} is not a number: the expression must be finite and real") from None
    if math.isnan(number.real) or math.isnan(number.imag):
        raise _Refused(f"{text} is not finite: the expression must be finite and real")
    if imaginary != 0:  # sympy's, not float64's: an imaginary part of 1e-2013 counts
        raise _Refused(f"{text} is complex: the expression must be finite and real")
    if not math.isfinite(number.real):
        raise _Refused(f"{text} is beyond float64's range: every number must lie within ±1.8e308")
    return number.real


def _shown(text: str) -> str:
    return text if len(text) <= 40 else text[:30] + "…"


def _bits(number: sp.Rational) -> int:
    return max(abs(number.p).bit_length(), number.q.bit_length())


def _check_atoms(expr: sp.Expr, text: str) -> None:
    """The exact numbers of ``expr`` (``text``, for the error) within ``MAX_EXACT_BITS``
    bits, its floats within float64's range (a product of floats, 1e300*d*1e300, is one)
    and the numbers of its exponents within ±``MAX_EXPONENT`` (``(d**30)**40`` is d**1200)."""
    for number in expr.atoms(sp.Rational):
        _check_size(_bits(number))
    for power in expr.atoms(sp.Pow):
        _check_exponent(power.exp)
    for number in expr.atoms(sp.Float):
        if not abs(float(number)) <= sys.float_info.max:
            raise _Refused(
                f"{text} holds a number beyond float64's range: every number must lie "
                "within ±1.8e308"
            )


def _check_exponent(exponent: sp.Expr) -> None:
    for number in exponent.atoms(sp.Number):
        if abs(number) > MAX_EXPONENT:
            raise _Refused(
                f"a number beyond ±{MAX_EXPONENT} in an exponent ({float(number):g}) is not allowed"
            )


def _check_size(bits: int, limit: int = MAX_EXACT_BITS) -> None:
    if bits > limit:
        raise _Refused(
            f"an exact number of more than {MAX_EXACT_BITS} bits (beyond 2**63) is not "
            "allowed: write a float instead (e.g. 2.0**70 for 2**70)"
        )
