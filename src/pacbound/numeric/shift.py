"""Shift (extrapolation) terms between difficulty-level mixtures, lowered from sympy."""

from __future__ import annotations

from functools import cache

import jax.numpy as jnp
import numpy as np
import sympy as sp

from pacbound.numeric.lower import lower_to_jax
from pacbound.numeric.validate import check_range, is_traced
from pacbound.symbolic.bounds import tv_between_mixtures

#: How far from 1 a weight vector may sum (float64 rounding of a user's weights).
WEIGHT_SUM_TOLERANCE = 1e-9


@cache
def _tv_function(levels: int):
    target = sp.symbols(f"w_target:{levels}", nonnegative=True)
    train = sp.symbols(f"w_train:{levels}", nonnegative=True)
    expr = tv_between_mixtures(target, train)
    names = tuple(s.name for s in (*target, *train))
    return lower_to_jax(expr, names)


def check_level_weights(name: str, weights) -> None:
    """Weights over difficulty levels: a non-empty vector of numbers ≥ 0 summing to 1."""
    if is_traced(weights):
        return
    array = np.asarray(weights, dtype=np.float64)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"{name} must be a non-empty vector of level weights")
    check_range(name, array, 0.0, 1.0)
    total = float(array.sum())
    if abs(total - 1.0) > WEIGHT_SUM_TOLERANCE:
        raise ValueError(f"{name} sums to {total:g}: level weights must sum to 1")


def tv_between_levels(w_target, w_train):
    """TV(D_T, D_d) = ½ Σ_k |w_T(k) − w_d(k)| for mixtures sharing per-level conditionals."""
    check_level_weights("w_target", w_target)
    check_level_weights("w_train", w_train)
    w_target = jnp.asarray(w_target, jnp.float64)
    w_train = jnp.asarray(w_train, jnp.float64)
    if w_target.shape != w_train.shape:
        raise ValueError(
            f"w_target has {w_target.shape[0]} levels but w_train has {w_train.shape[0]}: "
            "both must weight the same levels"
        )
    levels = w_target.shape[0]
    return _tv_function(levels)(*w_target, *w_train)
