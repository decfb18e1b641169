"""Shift terms between difficulty-level mixtures, lowered from ``pacbound.symbolic.shift``.

Each function takes level weights (vectors ≥ 0 summing to 1, the same levels throughout)
and returns a float64 JAX scalar. The lowered expression is built once per number of levels.
"""

from __future__ import annotations

from functools import cache

import jax.numpy as jnp
import numpy as np
import sympy as sp

from pacbound.numeric.lower import lower_to_jax
from pacbound.numeric.validate import check_range, is_traced
from pacbound.symbolic import shift as S

#: How far from 1 a weight vector may sum (float64 rounding of a user's weights).
WEIGHT_SUM_TOLERANCE = 1e-9


def _weights(prefix: str, levels: int):
    return sp.symbols(f"{prefix}:{levels}", nonnegative=True)


@cache
def _lowered(term: str, levels: int):
    target, train, pre, where = (_weights(p, levels) for p in ("t", "d", "p", "k"))
    share = sp.Symbol("share", nonnegative=True)
    exprs = {
        "tv": (S.tv_between_mixtures(target, train), (*target, *train)),
        "coverage": (S.coverage_tv(target, pre, train, share), (*target, *pre, *train, share)),
        "w1": (S.wasserstein1(target, train, where), (*target, *train, *where)),
        "upward": (S.upward_shift(target, train), (*target, *train)),
    }
    expr, args = exprs[term]
    return lower_to_jax(expr, tuple(a.name for a in args))


def check_level_weights(name: str, weights) -> np.ndarray | None:
    """Weights over difficulty levels: a non-empty vector of numbers ≥ 0 summing to 1."""
    if is_traced(weights):
        return None
    array = np.asarray(weights, dtype=np.float64)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"{name} must be a non-empty vector of level weights")
    check_range(name, array, 0.0, 1.0)
    total = float(array.sum())
    if abs(total - 1.0) > WEIGHT_SUM_TOLERANCE:
        raise ValueError(f"{name} sums to {total:g}: level weights must sum to 1")
    return array


def _vectors(**weights) -> list[jnp.ndarray]:
    for name, w in weights.items():
        check_level_weights(name, w)
    arrays = {name: jnp.asarray(w, jnp.float64) for name, w in weights.items()}
    sizes = {name: a.shape[0] for name, a in arrays.items()}
    if len(set(sizes.values())) != 1:
        detail = ", ".join(f"{name} has {size}" for name, size in sizes.items())
        raise ValueError(f"level weights must cover the same levels: {detail}")
    return list(arrays.values())


def tv_between_levels(w_target, w_train):
    """½ Σ_k |w_T(k) − w_d(k)|: TV(D_T, D_d) for mixtures sharing per-level conditionals."""
    target, train = _vectors(w_target=w_target, w_train=w_train)
    return _lowered("tv", target.shape[0])(*target, *train)


def coverage_tv(w_target, w_pretrain, w_train, share):
    """TV between the target and λ·pretraining + (1 − λ)·bucket, λ = ``share`` ∈ [0, 1]."""
    check_range("share", share, 0.0, 1.0)
    target, pre, train = _vectors(w_target=w_target, w_pretrain=w_pretrain, w_train=w_train)
    return _lowered("coverage", target.shape[0])(*target, *pre, *train, share)


def wasserstein1_levels(w_target, w_train, levels=None):
    """W₁ over level values (default 0, 1, …); times L it bounds the gap for L-Lipschitz risk."""
    target, train = _vectors(w_target=w_target, w_train=w_train)
    size = target.shape[0]
    where = np.arange(size, dtype=np.float64) if levels is None else np.asarray(levels, np.float64)
    if where.shape != (size,):
        raise ValueError(f"levels has {where.size} values but the weights cover {size} levels")
    check_range("levels", where)
    if np.any(np.diff(where) <= 0):
        raise ValueError("levels must be strictly increasing")
    return _lowered("w1", size)(*target, *train, *where)


def upward_shift(w_target, w_train):
    """max_j (S_T(j) − S_d(j))⁺: the gap bound when per-level risk rises with the level."""
    target, train = _vectors(w_target=w_target, w_train=w_train)
    return _lowered("upward", target.shape[0])(*target, *train)
