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
"""

from __future__ import annotations

import ast
import warnings
from collections.abc import Mapping

import sympy as sp

#: Longer input is refused before it is parsed: a formula of a few terms fits many times.
MAX_LENGTH = 1000
#: Deeper trees are refused, so that walking them cannot exhaust Python's stack.
MAX_DEPTH = 200
#: sympy computes arithmetic of exact numbers at once (9**9**9 has 10⁸ digits): an exact
#: number of more bits is refused, a power before it is computed. No sensible parameter of a
#: bound needs one; a float (9.0**9**9) has no such limit.
MAX_EXACT_BITS = 10_000

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
    ast.BitXor: "^",
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
    text: str, symbols: Mapping[str, sp.Symbol], what: str, *, unknown: str = ""
) -> sp.Expr:
    """``text`` as a sympy expression in ``symbols`` (name → symbol); ``what`` names the
    argument in errors (e.g. "--kl-expr"), ``unknown`` is a hint added to the error for an
    unknown name, formatted with ``name``.

    Raises ValueError, one line, for anything outside the whitelist of the module's
    docstring, for text longer than ``MAX_LENGTH`` characters or nested deeper than
    ``MAX_DEPTH``, and for an exact power of more than ``MAX_EXACT_BITS`` bits.
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
        return _Builder(source, symbols, unknown).build(tree.body, 0)
    except _Refused as reason:
        raise ValueError(f"{what} {shown}: {reason}; allowed: {allowed_text(symbols)}") from None


class _Builder:
    def __init__(self, source: str, symbols: Mapping[str, sp.Symbol], unknown: str):
        self.source, self.symbols, self.unknown = source, symbols, unknown

    def build(self, node: ast.AST, depth: int) -> sp.Expr:
        if depth > MAX_DEPTH:
            raise _Refused(f"nested more than {MAX_DEPTH} deep")
        if isinstance(node, ast.Constant):
            return self.number(node)
        if isinstance(node, ast.Name):
            return self.name(node.id)
        if isinstance(node, ast.BinOp):
            # A sum of many terms is a long left spine: folded in a loop, not nested calls.
            spine = []
            while isinstance(node, ast.BinOp):
                spine.append(node)
                node = node.left
            value = self.build(node, depth + 1)
            for binary in reversed(spine):
                value = _binary(binary.op, value, self.build(binary.right, depth + 1))
            return value
        if isinstance(node, ast.UnaryOp):
            operand = self.build(node.operand, depth + 1)
            if isinstance(node.op, ast.USub):
                return -operand
            if isinstance(node.op, ast.UAdd):
                return operand
            raise _Refused(f"operator {_OPERATOR_TEXT[type(node.op)]} is not allowed")
        if isinstance(node, ast.Call):
            return self.call(node, depth)
        raise _Refused(_REFUSED.get(type(node), f"{type(node).__name__} is not allowed"))

    def number(self, node: ast.Constant) -> sp.Expr:
        value = node.value
        # bool is an int to Python, but True is no number of a formula.
        if isinstance(value, int) and not isinstance(value, bool):
            return sp.Integer(value)
        if isinstance(value, float):
            # The decimal text, as sympify reads it: 1e400 stays a number, not inf.
            return sp.Float(ast.get_source_segment(self.source, node) or repr(value))
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

    def call(self, node: ast.Call, depth: int) -> sp.Expr:
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
        arguments = [self.build(argument, depth + 1) for argument in node.args]
        try:
            return function(*arguments)
        except (TypeError, ValueError) as error:
            raise _Refused(f"{name}() of these arguments is not defined ({error})") from None


def _binary(operator: ast.operator, left: sp.Expr, right: sp.Expr) -> sp.Expr:
    if isinstance(operator, ast.Pow):
        if isinstance(left, sp.Rational) and isinstance(right, sp.Rational):
            # log2 of the result, less than a bit per factor short: checked before computing.
            size = max(abs(left.p).bit_length(), abs(left.q).bit_length()) - 1
            _check_size(size * abs(int(right)))
        value = left**right
    elif type(operator) in _OPERATORS:
        value = _OPERATORS[type(operator)](left, right)
    else:
        raise _Refused(f"operator {_OPERATOR_TEXT[type(operator)]} is not allowed")
    if isinstance(value, sp.Rational):
        _check_size(max(abs(value.p).bit_length(), abs(value.q).bit_length()))
    return value


def _check_size(bits: int) -> None:
    if bits > MAX_EXACT_BITS:
        raise _Refused(
            f"an exact number of more than {MAX_EXACT_BITS} bits is not allowed: "
            "write a float instead (e.g. 2.0 for 2)"
        )
