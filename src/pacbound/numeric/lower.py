"""Lowering of the symbolic module's expressions to numeric functions.

This is the only way a formula reaches numeric code: ``sympy.lambdify`` with the JAX
printer, plus the project's special functions. Nothing here retypes a formula.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import sympy as sp
from jax.scipy.special import xlogy


def _jax_namespace() -> dict:
    # Late binding: kl.py lowers its own kl expression through here while it is imported.
    from pacbound.numeric import kl

    return {
        "XLogY": xlogy,
        "KLInvUpper": lambda q, c: kl.kl_inv_upper(q, c),
        "KLInvLower": lambda q, c: kl.kl_inv_lower(q, c),
    }


def _symbols(expr: sp.Expr, names: Sequence[str]) -> list[sp.Symbol]:
    by_name = {s.name: s for s in expr.free_symbols}
    return [by_name.get(name, sp.Symbol(name)) for name in names]


def lower_to_jax(expr: sp.Expr, arg_names: Sequence[str]) -> Callable:
    """A JAX function of ``arg_names`` (positional, in that order) computing ``expr``."""
    unknown = {s.name for s in expr.free_symbols} - set(arg_names)
    if unknown:
        raise ValueError(f"expression has free symbols {sorted(unknown)} not in arg_names")
    return sp.lambdify(_symbols(expr, arg_names), expr, modules=[_jax_namespace(), "jax"])
