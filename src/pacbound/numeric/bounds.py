"""Evaluation of every bound of ``pacbound.symbolic.bounds``, lowered to JAX.

``bound_terms`` is pure and jit-able (no checks); ``evaluate_bound`` is the public entry
point: it validates concrete inputs, evaluates in float64 and returns the bound with each of
its terms. All functions broadcast over their array arguments.

A bound ≥ 1 is vacuous for a loss in [0, 1]; it is returned as computed (``vacuous`` flags
it) and never clipped.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from pacbound.numeric.argmin import first_minimum
from pacbound.numeric.lower import lower_to_jax
from pacbound.numeric.validate import check_count, check_range
from pacbound.symbolic.bounds import (
    BOUND_FORMS,
    certificate,
    lambda_optimal_at,
    lowering_form,
    maurer_budget,
    mc_empirical_bound,
)

KINDS: tuple[str, ...] = tuple(BOUND_FORMS)

#: Catoni's C on a geometric grid 2^(k/2), k = −8 … 12 (0.0625 to 64), fixed in advance.
DEFAULT_CATONI_GRID: tuple[float, ...] = tuple(2.0 ** (k / 2) for k in range(-8, 13))

#: Share of δ spent on the Monte-Carlo step when the empirical risk is estimated by sampling.
DEFAULT_MC_DELTA_SHARE = 0.5

_BASE_ARGS = ("emp_risk", "kl_div", "n", "delta")

#: Each bound form lowered to JAX: f(emp_risk, kl_div, n, delta, *extra) with the extra
#: arguments of the form (Catoni: C, grid size; λ: λ).
FORM_FUNCTIONS = {
    name: lower_to_jax(lowering_form(form.expr), _BASE_ARGS + tuple(s.name for s in form.extra))
    for name, form in BOUND_FORMS.items()
}
_lambda_optimal = lower_to_jax(lowering_form(lambda_optimal_at), _BASE_ARGS)
_maurer_budget = lower_to_jax(lowering_form(maurer_budget), ("kl_div", "n", "delta"))
_mc_empirical_bound = lower_to_jax(mc_empirical_bound, ("mc_risk", "mc_samples", "mc_delta"))
# Jitted: the certify module evaluates it many times over arrays of a few shapes.
_certificate = jax.jit(
    lower_to_jax(
        certificate, ("mc_risk", "mc_samples", "kl_div", "n", "delta", "choices", "mc_share")
    )
)


class BoundTerms(NamedTuple):
    """A bound on the target risk and its decomposition (all float64 arrays).

    bound = empirical + mc_correction + generalization + extrapolation, where
    - empirical: R̂_S(Q) as given (its Monte-Carlo estimate when ``mc_samples`` is set);
    - mc_correction: Langford–Caruana upper bound on R̂_S(Q) minus the estimate (else 0);
    - generalization: the PAC-Bayes bound on R_d(Q) minus the (corrected) empirical risk;
    - extrapolation: the shift term TV(D_T, D_d);
    - parameter: λ used by the λ form, the best C of Catoni's grid, NaN for other kinds.
    """

    bound: jax.Array
    empirical: jax.Array
    mc_correction: jax.Array
    generalization: jax.Array
    extrapolation: jax.Array
    parameter: jax.Array

    @property
    def vacuous(self) -> jax.Array:
        return self.bound >= 1


def generalization_bound(kind, emp_risk, kl_div, n, delta, *, lam=None, catoni_grid=None):
    """Upper bound on R_d(Q) of the given kind, and its parameter (λ, best C or NaN).

    Pure and jit-able; inputs are not validated.
    """
    f = FORM_FUNCTIONS[kind]
    if kind == "lambda":
        lam = _lambda_optimal(emp_risk, kl_div, n, delta) if lam is None else lam
        value = f(emp_risk, kl_div, n, delta, lam)
        return value, jnp.broadcast_to(lam, value.shape)
    if kind == "catoni":
        grid = jnp.asarray(DEFAULT_CATONI_GRID if catoni_grid is None else catoni_grid)
        grid_size = grid.shape[0]
        # The grid is the trailing axis; the union bound over it is in catoni_budget.
        values = f(
            *(jnp.asarray(x)[..., None] for x in (emp_risk, kl_div, n, delta)), grid, grid_size
        )
        return values.min(axis=-1), grid[first_minimum(values, axis=-1)]
    value = f(emp_risk, kl_div, n, delta)
    return value, jnp.full(jnp.shape(value), jnp.nan)


def bound_terms(
    kind,
    emp_risk,
    kl_div,
    n,
    delta,
    shift_tv=0.0,
    *,
    mc_samples=None,
    mc_delta_share=DEFAULT_MC_DELTA_SHARE,
    lam=None,
    catoni_grid=None,
) -> BoundTerms:
    """The two-gap bound R_T ≤ R̂ + (MC correction) + generalization + extrapolation.

    With ``mc_samples`` = M, ``emp_risk`` is a Monte-Carlo estimate from M draws θ ~ Q and
    δ is split: ``mc_delta_share``·δ for the Langford–Caruana step, the rest for the
    PAC-Bayes bound, so the whole statement holds with probability ≥ 1 − δ.
    Pure and jit-able; inputs are not validated.
    """
    emp_risk, kl_div, n, delta, shift_tv = (
        jnp.asarray(x, jnp.float64) for x in (emp_risk, kl_div, n, delta, shift_tv)
    )
    if mc_samples is None:
        risk_for_bound = emp_risk
        pac_delta = delta
    else:
        mc_delta = delta * mc_delta_share
        pac_delta = delta - mc_delta
        risk_for_bound = _mc_empirical_bound(
            emp_risk, jnp.asarray(mc_samples, jnp.float64), mc_delta
        )
    in_distribution, parameter = generalization_bound(
        kind, risk_for_bound, kl_div, n, pac_delta, lam=lam, catoni_grid=catoni_grid
    )
    shape = jnp.broadcast_shapes(in_distribution.shape, shift_tv.shape, emp_risk.shape)
    bound = in_distribution + shift_tv
    return BoundTerms(
        bound=jnp.broadcast_to(bound, shape),
        empirical=jnp.broadcast_to(emp_risk, shape),
        mc_correction=jnp.broadcast_to(risk_for_bound - emp_risk, shape),
        generalization=jnp.broadcast_to(in_distribution - risk_for_bound, shape),
        extrapolation=jnp.broadcast_to(shift_tv, shape),
        parameter=jnp.broadcast_to(parameter, shape),
    )


def check_bound_inputs(
    emp_risk,
    kl_div,
    n,
    delta,
    shift_tv=0.0,
    *,
    mc_samples=None,
    mc_delta_share=None,
    lam=None,
    catoni_grid=None,
) -> None:
    """ValueError naming the first argument outside its allowed range."""
    check_range("emp_risk", emp_risk, 0.0, 1.0)
    check_range("kl", kl_div, 0.0)
    check_count("n", n)
    check_range("delta", delta, 0.0, 1.0, low_open=True, high_open=True)
    check_range("shift_tv", shift_tv, 0.0, 1.0)
    if mc_samples is not None:
        check_count("mc_samples", mc_samples)
    if mc_delta_share is not None:
        check_range("mc_delta_share", mc_delta_share, 0.0, 1.0, low_open=True, high_open=True)
    if lam is not None:
        check_range("lambda", lam, 0.0, 2.0, low_open=True, high_open=True)
    if catoni_grid is not None:
        check_range("catoni_grid", catoni_grid, 0.0, low_open=True)
        if len(catoni_grid) == 0:
            raise ValueError("catoni_grid = () is empty: give at least one value C > 0")


def evaluate_bound(
    kind: str,
    emp_risk,
    kl_div,
    n,
    delta,
    shift_tv=0.0,
    *,
    mc_samples=None,
    mc_delta_share=DEFAULT_MC_DELTA_SHARE,
    lam=None,
    catoni_grid=None,
) -> BoundTerms:
    """Validated evaluation of one bound kind (see ``KINDS``) with its terms, in float64.

    Ranges: emp_risk ∈ [0, 1], kl_div ≥ 0, n an integer ≥ 1, delta ∈ (0, 1), shift_tv ∈
    [0, 1], mc_samples an integer ≥ 1, mc_delta_share ∈ (0, 1), lam ∈ (0, 2), catoni_grid
    values > 0.
    Every value must be finite. Raises ValueError naming the offending argument.
    """
    if kind not in KINDS:
        raise ValueError(f"kind = {kind!r} is not a bound kind: allowed {', '.join(KINDS)}")
    check_bound_inputs(
        emp_risk,
        kl_div,
        n,
        delta,
        shift_tv,
        mc_samples=mc_samples,
        mc_delta_share=mc_delta_share,
        lam=lam,
        catoni_grid=catoni_grid,
    )
    if catoni_grid is not None:
        catoni_grid = tuple(float(x) for x in catoni_grid)
    return bound_terms(
        kind,
        emp_risk,
        kl_div,
        n,
        delta,
        shift_tv,
        mc_samples=mc_samples,
        mc_delta_share=mc_delta_share,
        lam=lam,
        catoni_grid=catoni_grid,
    )


def kl_budget(kl_div, n, delta):
    """Maurer's budget (KL + ln(2√n/δ))/n, the right-hand side of the kl bound."""
    return _maurer_budget(jnp.asarray(kl_div, jnp.float64), n, delta)


def certificate_bound(mc_risk, mc_samples, kl_div, n, delta, choices, mc_share):
    """The certificate of ``pacbound.symbolic.bounds.certificate``, in float64: R_d(Q) is at
    most this, with probability ≥ 1 − δ, for a Q chosen among ``choices`` posteriors, when
    ``mc_risk`` is the mean loss of ``mc_samples`` fresh (θ ~ Q, example of S) pairs.

    Ranges: mc_risk ∈ [0, 1], mc_samples ≥ 1, kl_div ≥ 0, n ≥ 1, delta and mc_share in
    (0, 1), choices ≥ 1. Raises ValueError naming the offending argument.
    """
    check_range("mc_risk", mc_risk, 0.0, 1.0)
    check_range("mc_samples", mc_samples, 1.0)
    check_range("kl", kl_div, 0.0)
    check_range("n", n, 1.0)
    check_range("delta", delta, 0.0, 1.0, low_open=True, high_open=True)
    check_range("choices", choices, 1.0)
    check_range("mc_share", mc_share, 0.0, 1.0, low_open=True, high_open=True)
    values = (mc_risk, mc_samples, kl_div, n, delta, choices, mc_share)
    return _certificate(*(jnp.asarray(x, jnp.float64) for x in values))


def certificate_floor(mc_samples, n, delta, choices, mc_share):
    """The certificate at KL = 0 and zero Monte-Carlo risk: no posterior of this budget,
    confidence and union bound can certify less."""
    return certificate_bound(0.0, mc_samples, 0.0, n, delta, choices, mc_share)


__all__ = [
    "certificate_bound",
    "certificate_floor",
    "DEFAULT_CATONI_GRID",
    "KINDS",
    "BoundTerms",
    "bound_terms",
    "evaluate_bound",
    "generalization_bound",
    "kl_budget",
]
