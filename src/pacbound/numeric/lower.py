"""Lowering of the symbolic module's expressions to numeric functions.

This is the only way a formula reaches numeric code: ``sympy.lambdify`` with the JAX or
NumPy printer, plus the project's special functions. Nothing here retypes a formula.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import jax.numpy as jnp
import numpy as np
import sympy as sp


def _xlogy(xp):
    def xlogy(x, y):
        """x·ln y with 0·ln y = 0 for every y, NaN included (0·ln(0/0) in kl(0‖0) is 0)."""
        zero = x == 0
        return xp.where(zero, 0.0, x * xp.log(xp.where(zero, 1.0, y)))

    return xlogy


def _namespace(backend: str) -> dict:
    # Late binding: kl.py lowers its own kl expression through here while it is imported.
    from pacbound.numeric import kl

    if backend == "jax":
        return {
            "XLogY": _xlogy(jnp),
            "KLInvUpper": lambda q, c: kl.kl_inv_upper(q, c),
            "KLInvLower": lambda q, c: kl.kl_inv_lower(q, c),
        }
    # NumPy has no kl inverse of its own: the JAX solver, returned as a NumPy array.
    return {
        "XLogY": _xlogy(np),
        "KLInvUpper": lambda q, c: np.asarray(kl.kl_inv_upper(q, c)),
        "KLInvLower": lambda q, c: np.asarray(kl.kl_inv_lower(q, c)),
    }


def _lower(expr: sp.Expr, arg_names: Sequence[str], backend: str) -> Callable:
    unknown = {s.name for s in expr.free_symbols} - set(arg_names)
    if unknown:
        raise ValueError(f"expression has free symbols {sorted(unknown)} not in arg_names")
    by_name = {s.name: s for s in expr.free_symbols}
    args = [by_name.get(name, sp.Symbol(name)) for name in arg_names]
    return sp.lambdify(args, expr, modules=[_namespace(backend), backend])


def lower_to_jax(expr: sp.Expr, arg_names: Sequence[str]) -> Callable:
    """A JAX function of ``arg_names`` (positional, in that order) computing ``expr``."""
    return _lower(expr, arg_names, "jax")


def lower_to_numpy(expr: sp.Expr, arg_names: Sequence[str]) -> Callable:
    """A NumPy function of ``arg_names`` (positional, in that order) computing ``expr``."""
    return _lower(expr, arg_names, "numpy")
