"""Input checks at the public boundary.

Every check raises ``ValueError`` with one line naming the argument, the offending value and
the allowed range. Traced values (inside ``jit``, ``vmap``, ``grad``) cannot be inspected and
are passed through: the checks guard what a user types, not what a compiled program computes.
"""

from __future__ import annotations

import math

import jax
import numpy as np


def is_traced(*values) -> bool:
    return any(isinstance(v, jax.core.Tracer) for v in values)


def _interval(low, high, low_open, high_open) -> str:
    left = "(" if low_open or low == -math.inf else "["
    right = ")" if high_open or high == math.inf else "]"
    return f"{left}{low:g}, {high:g}{right}"


def check_range(
    name: str,
    value,
    low: float = -math.inf,
    high: float = math.inf,
    *,
    low_open: bool = False,
    high_open: bool = False,
    allow_inf: bool = False,
) -> None:
    """Raise ValueError unless every entry of ``value`` is a number in the interval.

    NaN is always rejected; ±inf only where ``allow_inf`` (and the interval admits it).
    """
    if is_traced(value):
        return
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} = {value!r} is not a number") from None
    allowed = _interval(low, high, low_open, high_open)
    bad = np.isnan(array)
    if not allow_inf:
        bad |= np.isinf(array)
    with np.errstate(invalid="ignore"):
        bad |= (array <= low) if low_open else (array < low)
        bad |= (array >= high) if high_open else (array > high)
    if np.any(bad):
        first = array[bad].flat[0] if array.ndim else float(array)
        where = "" if array.ndim == 0 else f" (entry {int(np.flatnonzero(bad.ravel())[0])})"
        raise ValueError(f"{name} = {first:g}{where} is out of range: allowed {allowed}")


def check_count(name: str, value, low: int = 1) -> None:
    """Raise ValueError unless every entry of ``value`` is a whole number ≥ ``low``: a sample
    size or a number of draws, where 2.5 is a typo rather than a value to compute with.

    Whole floats (100.0, 1e4) pass; the range is checked first, with ``check_range``'s error.
    """
    check_range(name, value, low)
    if is_traced(value):
        return
    array = np.asarray(value, dtype=np.float64)
    bad = array != np.floor(array)
    if np.any(bad):
        first = array[bad].flat[0] if array.ndim else float(array)
        where = "" if array.ndim == 0 else f" (entry {int(np.flatnonzero(bad.ravel())[0])})"
        raise ValueError(f"{name} = {first:.15g}{where} is not an integer ≥ {low}")


def check_kl_inv_inputs(q, c) -> None:
    check_range("q", q, 0.0, 1.0)
    check_range("c", c, 0.0, math.inf, allow_inf=True)
