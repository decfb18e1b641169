"""The one way a sympy expression becomes a numeric function: ``sympy.lambdify`` with the JAX
or NumPy printer and the project's special functions (``XLogY`` here; the kl inverses are
added by ``pacbound.numeric.lower``). A leaf: it imports nothing of pacbound.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import jax.numpy as jnp
import jax.scipy.special as jsp_special
import numpy as np
import scipy.special as sp_special
import sympy as sp


def xlogy(xp):
    def xlogy(x, y):
        """x·ln y with 0·ln y = 0 for every y, NaN included (0·ln(0/0) in kl(0‖0) is 0)."""
        zero = x == 0
        return xp.where(zero, 0.0, x * xp.log(xp.where(zero, 1.0, y)))

    return xlogy


BACKENDS = {"jax": jnp, "numpy": np}
#: Special functions neither array module has under sympy's name.
SPECIAL = {
    "jax": {"erf": jsp_special.erf, "erfc": jsp_special.erfc},
    "numpy": {"erf": sp_special.erf, "erfc": sp_special.erfc, "OwensT": sp_special.owens_t},
}


def lambdify(
    expr: sp.Expr, arg_names: Sequence[str], backend: str, special: dict | None = None
) -> Callable:
    """A function of ``arg_names`` (positional, in that order) computing ``expr`` with
    ``backend`` ("jax" or "numpy"); ``special``: more functions the printer may call."""
    unknown = {s.name for s in expr.free_symbols} - set(arg_names)
    if unknown:
        raise ValueError(f"expression has free symbols {sorted(unknown)} not in arg_names")
    by_name = {s.name: s for s in expr.free_symbols}
    args = [by_name.get(name, sp.Symbol(name)) for name in arg_names]
    namespace = {"XLogY": xlogy(BACKENDS[backend]), **SPECIAL[backend], **(special or {})}
    return sp.lambdify(args, expr, modules=[namespace, backend])
