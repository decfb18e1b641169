"""The one argmin of pacbound, with ties: every choice of a bucket goes through it.

A non-finite entry (NaN, ±inf) is never minimal; a slice with no finite entry has no
minimum (an all-False mask). Concrete values give numpy arrays; traced values (inside
``jax.jit``) give traced ones, with no branch on the values, so a jitted bound (Catoni's
best C on its grid) chooses through the same argmin.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


def _array_module(values):
    """jax.numpy for traced values (inside ``jax.jit``), numpy for concrete ones."""
    return jnp if isinstance(values, jax.core.Tracer) else np


def tied_minima(values, tolerance: float = 0.0, axis: int = 0) -> np.ndarray:
    """The one argmin of pacbound: a mask of the entries within ``tolerance`` of the minimum
    along ``axis`` (non-finite: never minimal; no finite entry: all False). Every choice of a
    bucket (measured optimum, a predictor's choice, a bound's argmin) goes through it, so
    ties mean the same everywhere."""
    if not np.isfinite(tolerance) or tolerance < 0:
        raise ValueError(f"tolerance = {tolerance} is out of range: allowed [0, inf)")
    xp = _array_module(values)
    values = xp.asarray(values, float)
    finite = xp.isfinite(values)
    if values.size == 0:
        return xp.zeros(values.shape, bool)
    # A slice with no finite entry has lowest = inf, and its mask is all False.
    lowest = xp.min(xp.where(finite, values, xp.inf), axis=axis, keepdims=True)
    return finite & (values <= lowest + tolerance)


def first_minimum(values, tolerance: float = 0.0, axis: int = 0) -> np.ndarray:
    """The first (easiest) index among the tied minima along ``axis``."""
    return _array_module(values).argmax(tied_minima(values, tolerance, axis), axis=axis)


def lowest(keys, values, tolerance: float = 0.0):
    """The first of ``keys`` (in their order) among the tied minima of ``values`` (None and
    non-finite values never minimal); a ValueError when no value is finite."""
    mask = tied_minima(np.array([np.nan if v is None else v for v in values], float), tolerance)
    if not mask.any():
        raise ValueError(f"values = {list(values)}: none is finite, nothing to choose")
    return list(keys)[int(np.argmax(mask))]
