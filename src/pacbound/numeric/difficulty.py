"""The bound-minimising difficulty d*(n), computed: continuous d or a finite set of buckets.

Everything is lowered from ``pacbound.symbolic.difficulty``; the solver is pure JAX,
vectorised over budgets n (and jit-compiled once per model and grid size).

Continuous d: B(·, n) is evaluated on a grid over the domain, the best grid point (the
easiest one on ties) brackets the minimum, a golden-section search refines it inside [its
left, its right neighbour], and two Newton steps on B_d = 0 polish it. This finds the
global minimum whenever the grid resolves the basins of B, with no convexity needed (the
comparative statics hold without it too).
Buckets: the argmin over the given difficulties, ties broken toward the easier bucket.
"""

from __future__ import annotations

import math
from functools import cache

import jax
import jax.numpy as jnp
import numpy as np
import sympy as sp

from pacbound.numeric.argmin import first_minimum
from pacbound.numeric.lower import lower_to_jax, padded_length
from pacbound.numeric.validate import check_count, check_range
from pacbound.symbolic.core import delta, n
from pacbound.symbolic.difficulty import (
    DifficultyModel,
    maurer_log,
    stationary_points,
)
from pacbound.symbolic.expression import NOT_FINITE

GRID_POINTS = 513
GOLDEN_STEPS = 60  # bracket shrinks by 0.618^60 ≈ 3e-13 of two grid cells
NEWTON_POLISH = 2
_INV_PHI = (math.sqrt(5) - 1) / 2


def _with_maurer_log(model: DifficultyModel, expr: sp.Expr) -> sp.Expr:
    """``expr`` with L = ln(2√n/δ) written out and every parameter given its value."""
    return model.substituted(expr.subs(maurer_log, sp.log(2 * sp.sqrt(n) / delta)))


def _lowered(model: DifficultyModel, expr: sp.Expr):
    function = lower_to_jax(_with_maurer_log(model, expr), ("d", "n"))

    def broadcast(d_values, n_values):
        # A term free of d or n (a constant R̂, say) still returns the broadcast shape.
        shape = jnp.broadcast_shapes(jnp.shape(d_values), jnp.shape(n_values))
        return jnp.broadcast_to(function(d_values, n_values), shape)

    return broadcast


@cache
def _bound_function(model: DifficultyModel):
    return _lowered(model, model.bound())


def bound_function(model: DifficultyModel):
    """B(d, n) as a JAX function with the model's parameters filled in; broadcasts."""
    return _bound_function(model)


def term_functions(model: DifficultyModel) -> dict:
    """Each term of B(d, n) as a JAX function of (d, n)."""
    return {name: _lowered(model, expr) for name, expr in model.terms().items()}


def _check_budgets(n_values) -> jnp.ndarray:
    check_range("n", n_values, 1.0)
    return jnp.atleast_1d(jnp.asarray(n_values, jnp.float64))


@cache
def _derivatives(model: DifficultyModel):
    """B_d and B_dd of scalar (d, n), by automatic differentiation of the lowered bound:
    the functions the symbolic module writes out, without lowering their (large) expressions."""
    bound = _bound_function(model)
    first = jax.grad(lambda d_value, n_value: bound(d_value, n_value).sum())
    second = jax.grad(first)
    return first, second


@cache
def check_model(model: DifficultyModel) -> None:
    """ValueError unless K ≥ 0 and T, R̂ ∈ [0, 1] on the whole domain (checked on a grid),
    each finite: a term that is NaN or infinite somewhere (1/d at 0) is named with where."""
    low, high = model.domain
    grid = np.linspace(low, high, 257)
    for name, expr, upper in (
        ("K(d)", model.kl, math.inf),
        ("T(d)", model.shift, 1.0),
        ("R̂(d)", model.risk, 1.0),
    ):
        if n in expr.free_symbols:
            raise ValueError(f"{name} = {expr} depends on n: only G may")
        at_values = model.substituted(expr)
        if at_values.has(*NOT_FINITE, sp.I):  # log(d, k0) at k0 = 1
            shown = str(at_values) if len(str(at_values)) <= 60 else str(at_values)[:50] + "…"
            raise ValueError(
                f"{name} is not finite and real at the parameters' values: {name} = {shown}"
            )
        function = lower_to_jax(at_values, ("d",))
        with np.errstate(all="ignore"):  # NumPy's warnings of a NaN or inf: refused below
            computed = np.broadcast_to(np.asarray(function(grid)), grid.shape)
        # Python's power of a negative float is complex: (-2.0)**0.5 at the parameters' values
        values = computed.real.astype(float)
        allowed = "[0, inf)" if upper == math.inf else "[0, 1]"
        complex_at = np.flatnonzero(np.imag(computed) != 0)
        if complex_at.size:
            i = int(complex_at[0])
            raise ValueError(f"{name} is complex at d = {grid[i]:g}: allowed real values {allowed}")
        bad = ~(np.isfinite(values) & (values >= 0) & (values <= upper))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"{name} = {values[i]:g} at d = {grid[i]:g} is out of range: allowed {allowed}"
            )


def _continuous_solver(model: DifficultyModel, grid_points: int):
    """The solver of ``model``'s d*(n): one compiled program per form of B and domain, its
    parameters passed as values, so that models of one family share the compilation."""
    expr = model.bound().subs(maurer_log, sp.log(2 * sp.sqrt(n) / delta))
    names = tuple(sorted(s.name for s in expr.free_symbols if s.name not in ("d", "n")))
    compiled = _compiled_solver(expr, names, model.domain, grid_points)
    values = jnp.asarray([model.params[name] for name in names], jnp.float64)

    def solve(budgets):
        # Budgets padded to a power of two (at least 32): calls with other numbers of
        # budgets reuse the compiled program instead of compiling one per length.
        count = budgets.shape[0]
        size = padded_length(count)
        return compiled(jnp.pad(budgets, (0, size - count), mode="edge"), values)[:count]

    return solve


@cache
def _compiled_solver(expr: sp.Expr, names: tuple[str, ...], domain: tuple, grid_points: int):
    function = lower_to_jax(expr, ("d", "n", *names))

    def bound(d_values, n_value, params):
        shape = jnp.broadcast_shapes(jnp.shape(d_values), jnp.shape(n_value))
        return jnp.broadcast_to(function(d_values, n_value, *params), shape)

    first = jax.grad(lambda d_value, n_value, params: bound(d_value, n_value, params).sum())
    second = jax.grad(first)
    low, high = domain
    grid = jnp.linspace(low, high, grid_points)

    def solve_one(n_value, params):
        values = bound(grid, n_value, params)
        best = jnp.argmin(values)  # first minimum: the easiest on ties
        left = grid[jnp.maximum(best - 1, 0)]
        right = grid[jnp.minimum(best + 1, grid_points - 1)]

        def golden(_, bracket):
            a, b = bracket
            x1 = b - _INV_PHI * (b - a)
            x2 = a + _INV_PHI * (b - a)
            keep_left = bound(x1, n_value, params) <= bound(x2, n_value, params)
            return jnp.where(keep_left, a, x1), jnp.where(keep_left, x2, b)

        a, b = jax.lax.fori_loop(0, GOLDEN_STEPS, golden, (left, right))
        refined = 0.5 * (a + b)

        # Comparing values of B locates its minimum only to ~√eps; Newton steps on B_d = 0
        # (kept inside the bracket, where B_dd > 0) take it to full precision.
        def newton(_, point):
            curvature_here = second(point, n_value, params)
            slope = first(point, n_value, params)
            step = jnp.where(curvature_here > 0, slope / curvature_here, 0.0)
            candidate = point - step
            inside = (candidate >= left) & (candidate <= right)
            return jnp.where(inside, candidate, point)

        refined = jax.lax.fori_loop(0, NEWTON_POLISH, newton, refined)
        # The refinement replaces the grid point it started from only where B is lower there
        # (on a tie the grid point stays: an end of the domain stays exactly at the end).
        return jnp.where(bound(refined, n_value, params) < values[best], refined, grid[best])

    return jax.jit(jax.vmap(solve_one, in_axes=(0, None)))


def optimal_difficulty(
    model: DifficultyModel, n_values, *, buckets=None, grid_points: int = GRID_POINTS
) -> np.ndarray:
    """d*(n) = argmin_d B(d, n) for each budget in ``n_values`` (each ≥ 1).

    The budgets may be any real numbers ≥ 1: the theory's view of B is continuous in n (its
    figures take geometric grids of n); ``pacbound optimum`` asks for sample sizes, integers.
    With ``buckets`` (difficulties, easiest first) the argmin is over them, ties broken
    toward the easier bucket; otherwise over the continuous domain of the model.
    """
    budgets = _check_budgets(n_values)
    check_model(model)
    if buckets is None:
        if grid_points < 3:
            raise ValueError(f"grid_points = {grid_points} is out of range: allowed [3, inf)")
        return np.asarray(_continuous_solver(model, int(grid_points))(budgets))
    levels = np.asarray(buckets, dtype=np.float64)
    if levels.ndim != 1 or levels.size == 0:
        raise ValueError("buckets must be a non-empty list of difficulties")
    low, high = model.domain
    check_range("buckets", levels, low, high)
    if np.any(np.diff(levels) <= 0):
        raise ValueError("buckets must be strictly increasing (easiest first)")
    values = _bound_function(model)(jnp.asarray(levels)[None, :], budgets[:, None])
    return levels[first_minimum(np.asarray(values), axis=1)]  # ties: the easiest


def closed_form_optimum(model: DifficultyModel, n_values) -> np.ndarray | None:
    """d*(n) from the closed-form stationary points and the two ends of the domain.

    None where sympy finds no closed form for B_d = 0. Candidates are the real stationary
    points inside the domain with B_dd > 0, plus both ends; the one with the smallest B wins.
    """
    roots = stationary_points(model)
    if not roots:
        return None
    budgets = _check_budgets(n_values)
    bound = _bound_function(model)
    second = jax.vmap(_derivatives(model)[1])
    low, high = model.domain
    candidates = [jnp.full(budgets.shape, low), jnp.full(budgets.shape, high)]
    for root in roots:
        # mpmath evaluates LambertW on both branches; off its real range the value is
        # complex and the root is dropped.
        at_n = sp.lambdify(n, _with_maurer_log(model, root), modules="mpmath")
        values = np.array([complex(at_n(float(b))) for b in np.asarray(budgets)])
        real = np.abs(values.imag) <= 1e-12 * np.maximum(1.0, np.abs(values.real))
        d_values = jnp.asarray(np.where(real, values.real, np.nan))
        inside = (d_values >= low) & (d_values <= high)
        minimum = second(jnp.where(inside, d_values, low), budgets) > 0
        candidates.append(jnp.where(inside & minimum, d_values, jnp.nan))
    stacked = jnp.stack(candidates)
    values = jnp.where(jnp.isnan(stacked), jnp.inf, bound(jnp.nan_to_num(stacked), budgets))
    return np.asarray(stacked[jnp.argmin(values, axis=0), jnp.arange(budgets.shape[0])])


def bucket_optimum(emp_risk, kl_div, shift, n_values, *, kind: str = "mcallester", delta=0.05):
    """Index of the bound-minimising bucket for each budget, from measured terms per bucket.

    ``emp_risk``, ``kl_div`` and ``shift`` hold one value per bucket (easiest first); the
    bound is the two-gap bound of ``kind``. The budgets ``n_values`` are sample sizes:
    integers ≥ 1. Ties go to the easier bucket. Returns an int array with one index per
    budget.
    """
    from pacbound.numeric.bounds import evaluate_bound

    check_count("n", n_values)
    budgets = _check_budgets(n_values)
    risk, kl, tv = (
        np.atleast_1d(np.asarray(x, dtype=np.float64)) for x in (emp_risk, kl_div, shift)
    )
    if not (risk.shape == kl.shape == tv.shape) or risk.ndim != 1:
        raise ValueError("emp_risk, kl_div and shift must hold one value per bucket each")
    bounds = evaluate_bound(kind, risk[None, :], kl[None, :], budgets[:, None], delta, tv[None, :])
    return first_minimum(np.asarray(bounds.bound), axis=1)
