"""Evaluation of every bound of ``pacbound.symbolic.bounds``, lowered to JAX.

``bound_terms`` is pure and jit-able (no checks); ``evaluate_bound`` is the public entry
point: it validates concrete inputs, evaluates in float64 and returns the bound with each of
its terms. All functions broadcast over their array arguments. Their inputs are one table,
``pacbound.bound_options``: those of every form, then each form's own parameters (λ,
Catoni's grid), which its entry of ``BOUNDS`` reads and chooses when they are not given.

A bound ≥ 1 is vacuous for a loss in [0, 1]; it is returned as computed (``vacuous`` flags
it) and never clipped.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import NamedTuple

import jax
import jax.numpy as jnp

from pacbound.bound_options import (
    DEFAULT_MC_DELTA_SHARE,
    FORM_OPTIONS,
    FormOptions,
    Param,
    parameters,
)
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

#: Catoni's C on a geometric grid 2^(k/2), k = −8 … 12 (0.0625 to 64), fixed in advance.
DEFAULT_CATONI_GRID: tuple[float, ...] = tuple(2.0 ** (k / 2) for k in range(-8, 13))

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


def _without_parameter(f):
    """A form with no parameter of its own: NaN in the parameter column."""

    def evaluate(emp_risk, kl_div, n, delta):
        value = f(emp_risk, kl_div, n, delta)
        return value, jnp.full(jnp.shape(value), jnp.nan)

    return evaluate


def _thiemann(emp_risk, kl_div, n, delta, lam=None):
    """The λ form holds for every λ ∈ (0, 2) at once: λ as given, else the minimising λ*."""
    lam = _lambda_optimal(emp_risk, kl_div, n, delta) if lam is None else lam
    value = FORM_FUNCTIONS["lambda"](emp_risk, kl_div, n, delta, lam)
    return value, jnp.broadcast_to(lam, value.shape)


def _catoni(emp_risk, kl_div, n, delta, catoni_grid=None):
    """The minimum over a grid of C fixed before the data (``DEFAULT_CATONI_GRID`` unless
    given); the union bound over its m values is the ln(m/δ) of catoni_budget."""
    grid = jnp.asarray(DEFAULT_CATONI_GRID if catoni_grid is None else catoni_grid)
    inputs = (jnp.asarray(x)[..., None] for x in (emp_risk, kl_div, n, delta))
    # The grid is the trailing axis.
    values = FORM_FUNCTIONS["catoni"](*inputs, grid, grid.shape[0])
    return values.min(axis=-1), grid[first_minimum(values, axis=-1)]


@dataclass(frozen=True)
class Bound:
    """A bound form as evaluated: ``options``, its own parameters (names, defaults, ranges and
    help, which the command line reads too), and ``evaluate(emp_risk, kl_div, n, delta,
    **parameters)`` → (bound, the parameter used or NaN), which chooses a parameter left None.
    """

    options: FormOptions
    evaluate: Callable[..., tuple[jax.Array, jax.Array]]


_WITH_PARAMETERS = {"lambda": _thiemann, "catoni": _catoni}

#: Every bound form, by kind, as ``evaluate_bound`` evaluates it (the command line reads the
#: same options from ``FORM_OPTIONS``, without importing JAX).
BOUNDS: dict[str, Bound] = {
    name: Bound(FORM_OPTIONS[name], _WITH_PARAMETERS.get(name) or _without_parameter(f))
    for name, f in FORM_FUNCTIONS.items()
}
KINDS: tuple[str, ...] = tuple(BOUNDS)


def _table() -> tuple[Param, ...]:
    return parameters(bound.options for bound in BOUNDS.values())


@cache
def _signature(table: tuple[Param, ...], leading: tuple[str, ...] = ()) -> inspect.Signature:
    """The inputs of ``table`` as a signature, after the ``leading`` positional ones."""
    P = inspect.Parameter
    return inspect.Signature(
        [P(name, P.POSITIONAL_OR_KEYWORD) for name in leading]
        + [
            P(
                param.name,
                P.POSITIONAL_OR_KEYWORD if param.positional else P.KEYWORD_ONLY,
                default=P.empty if param.required else param.default,
            )
            for param in table
        ]
    )


def bound_inputs(*args, **kwargs) -> dict:
    """Every input of a bound by name, defaults filled in, from a call's arguments: the inputs
    of ``bound_terms``, ``check_bound_inputs`` and ``evaluate_bound`` (after ``kind``), which
    are ``INPUTS`` and every form's parameters. TypeError for an unknown or missing one."""
    call = _signature(_table()).bind(*args, **kwargs)
    call.apply_defaults()
    return call.arguments


def generalization_bound(kind, emp_risk, kl_div, n, delta, **parameters):
    """Upper bound on R_d(Q) of the given kind, and its parameter (λ, best C or NaN).

    ``parameters``: forms' own parameters by name (those of other forms are ignored, so that
    one set of inputs serves every kind); a form chooses those not given. Pure and jit-able;
    inputs are not validated.
    """
    bound = BOUNDS[kind]
    unknown = set(parameters) - {param.name for param in _table()}
    if unknown:
        raise TypeError(f"generalization_bound() got unexpected parameters {sorted(unknown)}")
    own = {param.name: parameters.get(param.name, param.default) for param in bound.options.params}
    return bound.evaluate(emp_risk, kl_div, n, delta, **own)


def bound_terms(kind, *args, **kwargs) -> BoundTerms:
    """The two-gap bound R_T ≤ R̂ + (MC correction) + generalization + extrapolation.

    With ``mc_samples`` = M, ``emp_risk`` is a Monte-Carlo estimate from M draws θ ~ Q and
    δ is split: ``mc_delta_share``·δ for the Langford–Caruana step, the rest for the
    PAC-Bayes bound, so the whole statement holds with probability ≥ 1 − δ.
    Pure and jit-able; inputs are not validated.
    """
    inputs = bound_inputs(*args, **kwargs)
    emp_risk, kl_div, n, delta, shift_tv = (
        jnp.asarray(inputs.pop(name), jnp.float64)
        for name in ("emp_risk", "kl_div", "n", "delta", "shift_tv")
    )
    mc_samples, mc_delta_share = inputs.pop("mc_samples"), inputs.pop("mc_delta_share")
    if mc_samples is None:
        risk_for_bound = emp_risk
        pac_delta = delta
    else:
        mc_delta = delta * mc_delta_share
        pac_delta = delta - mc_delta
        risk_for_bound = _mc_empirical_bound(
            emp_risk, jnp.asarray(mc_samples, jnp.float64), mc_delta
        )
    # What is left of the inputs are the forms' own parameters.
    in_distribution, parameter = generalization_bound(
        kind, risk_for_bound, kl_div, n, pac_delta, **inputs
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


def _check(param: Param, value) -> None:
    """``param``'s range; a count must be a whole number, a list must not be empty."""
    if param.count:
        check_count(param.label, value, param.low)
        return
    check_range(
        param.label,
        value,
        param.low,
        param.high,
        low_open=param.low_open,
        high_open=param.high_open,
    )
    if param.each and len(value) == 0:
        raise ValueError(f"{param.label} = () is empty: give at least one value {param.each}")


def check_bound_inputs(*args, **kwargs) -> None:
    """ValueError naming the first argument outside its allowed range; those not given (None)
    are not checked. A form's parameter is checked whichever kind is evaluated."""
    inputs = bound_inputs(*args, **kwargs)
    for param in _table():
        if inputs[param.name] is not None:
            _check(param, inputs[param.name])


def evaluate_bound(kind: str, *args, **kwargs) -> BoundTerms:
    """Validated evaluation of one bound kind (see ``KINDS``) with its terms, in float64.

    Each input must be finite and in its range of ``pacbound.bound_options`` (emp_risk ∈
    [0, 1], n an integer ≥ 1, delta ∈ (0, 1), λ ∈ (0, 2), …). Raises ValueError naming the
    offending argument.
    """
    if kind not in BOUNDS:
        raise ValueError(f"kind = {kind!r} is not a bound kind: allowed {', '.join(BOUNDS)}")
    inputs = bound_inputs(*args, **kwargs)
    check_bound_inputs(**inputs)
    for param in _table():
        if param.each and inputs[param.name] is not None:
            inputs[param.name] = tuple(float(x) for x in inputs[param.name])
    return bound_terms(kind, **inputs)


# The table is the signature of all three, for help() and inspect.
for _function, _leading in ((bound_terms, ("kind",)), (evaluate_bound, ("kind",))):
    _function.__signature__ = _signature(_table(), _leading)
check_bound_inputs.__signature__ = _signature(_table())


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
    "DEFAULT_MC_DELTA_SHARE",
    "KINDS",
    "BOUNDS",
    "Bound",
    "BoundTerms",
    "bound_inputs",
    "bound_terms",
    "check_bound_inputs",
    "evaluate_bound",
    "generalization_bound",
    "kl_budget",
]
