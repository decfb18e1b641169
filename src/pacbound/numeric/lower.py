"""Lowering of the symbolic module's expressions to numeric functions, the kl inverses
included.

This is the only way a formula reaches numeric code (``pacbound.numeric.lambdify``, with
the kl inverses of ``pacbound.numeric.kl`` as special functions). Nothing here retypes a
formula.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import sympy as sp

from pacbound.numeric import kl
from pacbound.numeric.lambdify import lambdify

_KL_INVERSES = {
    "jax": {
        "KLInvUpper": lambda q, c: kl.kl_inv_upper(q, c),
        "KLInvLower": lambda q, c: kl.kl_inv_lower(q, c),
    },
    # NumPy has no kl inverse of its own: the JAX solver, returned as a NumPy array.
    "numpy": {
        "KLInvUpper": lambda q, c: np.asarray(kl.kl_inv_upper(q, c)),
        "KLInvLower": lambda q, c: np.asarray(kl.kl_inv_lower(q, c)),
    },
}


def lower_to_jax(expr: sp.Expr, arg_names: Sequence[str]) -> Callable:
    """A JAX function of ``arg_names`` (positional, in that order) computing ``expr``."""
    return lambdify(expr, arg_names, "jax", _KL_INVERSES["jax"])


def lower_to_numpy(expr: sp.Expr, arg_names: Sequence[str]) -> Callable:
    """A NumPy function of ``arg_names`` (positional, in that order) computing ``expr``."""
    return lambdify(expr, arg_names, "numpy", _KL_INVERSES["numpy"])


def padded_length(count: int, least: int = 32) -> int:
    """The length at which a compiled lowering evaluates ``count`` entries: the power of two
    at or above it, at least ``least``, so that calls with other counts share one compiled
    program instead of compiling one per length."""
    return max(least, 1 << max(count - 1, 0).bit_length())
