"""Shift terms between mixtures over difficulty levels, as sympy expressions.

Every training bucket and target is a mixture Σ_k w(k)·D_k of per-level distributions D_k
shared by all of them; the level weights are exact numbers. Each term bounds the
extrapolation gap R_T(Q) − R_d(Q) of a loss in [0, 1] under its own assumption
(theory/optimal_difficulty.md states and proves each):

- ``tv_between_mixtures``: none beyond shared conditionals; ½ Σ_k |w_T(k) − w_d(k)|;
- ``coverage_tv``: the gap to the mixture λ·(pretraining) + (1 − λ)·(bucket), whose risk is
  λ·R_pre + (1 − λ)·R_d; pretraining coverage is credited, so easy buckets that repeat it
  buy little;
- ``wasserstein1``: the per-level risk r(k) is L-Lipschitz in the level value; the gap is
  at most L·W₁(w_T, w_d) = L·Σ_i |F_T(k_i) − F_d(k_i)|·(k_{i+1} − k_i);
- ``upward_shift``: the per-level risk is non-decreasing in the level (harder is harder);
  the gap is at most max_j (S_T(j) − S_d(j))⁺ with S(j) the mass at levels ≥ k_j, so only
  target mass above the training mass (upward extrapolation) is charged.
"""

from __future__ import annotations

from collections.abc import Sequence

import sympy as sp


def _same_levels(**weights: Sequence) -> int:
    sizes = {name: len(w) for name, w in weights.items()}
    if len(set(sizes.values())) != 1:
        detail = ", ".join(f"{name} has {size}" for name, size in sizes.items())
        raise ValueError(f"level weights must cover the same levels: {detail}")
    return next(iter(sizes.values()))


def tv_between_mixtures(w_target: Sequence, w_train: Sequence) -> sp.Expr:
    """TV(D_T, D_d) ≤ ½ Σ_k |w_T(k) − w_d(k)|, with equality for disjoint per-level supports."""
    _same_levels(w_target=w_target, w_train=w_train)
    return sp.Rational(1, 2) * sum(sp.Abs(t - d) for t, d in zip(w_target, w_train, strict=True))


def coverage_tv(w_target: Sequence, w_pretrain: Sequence, w_train: Sequence, share) -> sp.Expr:
    """TV(D_T, λ·D_pre + (1 − λ)·D_d) over levels, λ = ``share`` ∈ [0, 1]."""
    _same_levels(w_target=w_target, w_pretrain=w_pretrain, w_train=w_train)
    effective = [
        share * pre + (1 - share) * train for pre, train in zip(w_pretrain, w_train, strict=True)
    ]
    return tv_between_mixtures(w_target, effective)


def _cumulative(weights: Sequence) -> list:
    total, out = sp.S.Zero, []
    for w in weights:
        total = total + w
        out.append(total)
    return out


def wasserstein1(w_target: Sequence, w_train: Sequence, levels: Sequence) -> sp.Expr:
    """W₁ between the two level distributions on the real line, levels increasing."""
    _same_levels(w_target=w_target, w_train=w_train, levels=levels)
    cdf_target, cdf_train = _cumulative(w_target), _cumulative(w_train)
    return sum(
        sp.Abs(cdf_target[i] - cdf_train[i]) * (levels[i + 1] - levels[i])
        for i in range(len(levels) - 1)
    )


def upward_shift(w_target: Sequence, w_train: Sequence) -> sp.Expr:
    """max_j (S_T(j) − S_d(j))⁺, S(j) = Σ_{k ≥ j} w(k): target mass above the training mass."""
    _same_levels(w_target=w_target, w_train=w_train)
    size = len(w_target)
    tails = [sum(w_target[j:]) - sum(w_train[j:]) for j in range(1, size)]
    return sp.Max(0, *tails)


# --- the PAC-Bayesian domain-adaptation bound ----------------------------------------------

disagreement = sp.Symbol("disagreement", nonnegative=True)  # d_T(Q) on target problems
joint_error = sp.Symbol("joint_error", nonnegative=True)  # e_S(Q), at most R_d(Q)
density_ratio = sp.Symbol("density_ratio", nonnegative=True)  # β_∞ on the bucket's support
outside_mass = sp.Symbol("outside_mass", nonnegative=True)  # η: target mass off that support

#: Germain, Habrard, Laviolette and Morvant (ICML 2016) with q = ∞:
#: R_T(G_Q) ≤ ½·d_T(Q) + β_∞·e_S(Q) + η (η times the worst risk off the support, 1).
domain_adaptation_bound = disagreement / 2 + density_ratio * joint_error + outside_mass
