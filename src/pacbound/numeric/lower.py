"""Lowering of the symbolic module's expressions to numeric functions.

This is the only way a formula reaches numeric code: ``sympy.lambdify`` with the JAX
printer, plus the project's special functions. Nothing here retypes a formula.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import jax.numpy as jnp
import sympy as sp


def _xlogy(x, y):
    """x·ln y with 0·ln y = 0 for every y, NaN included (0·ln(0/0) in kl(0‖0) is 0)."""
    zero = x == 0
    return jnp.where(zero, 0.0, x * jnp.log(jnp.where(zero, 1.0, y)))


def _jax_namespace() -> dict:
    # Late binding: kl.py lowers its own kl expression through here while it is imported.
    from pacbound.numeric import kl

    return {
        "XLogY": _xlogy,
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
