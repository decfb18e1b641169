"""PAC-Bayes bounds, the Monte-Carlo correction and the two-gap bound, derived in sympy.

Each generalization bound is an upper bound on the in-distribution risk R_d(Q) of a
posterior Q that holds with probability ≥ 1 − δ over an i.i.d. sample S of size n, for all
Q at once. Every closed form below is obtained by sympy from a stated inequality, not typed:

- the kl form (Langford–Seeger, Maurer) is the implicit inequality kl(R̂ ‖ R) ≤ B with
  B = (KL + ln(2√n/δ))/n, solved by the upper kl-inverse;
- McAllester's form solves its Pinsker relaxation kl(q‖p) ≥ 2(p − q)²;
- the "quad" form of Pérez-Ortiz et al. solves the relaxation kl(q‖p) ≥ (p − q)²/(2p);
- Thiemann et al.'s λ form relaxes that once more with √(2pB) ≤ λp/2 + B/λ, and its
  optimal λ is the stationary point (at which it equals the quad form);
- Catoni's form inverts φ_C(p) = −ln(1 − p(1 − e^{−C})) at C·R̂ + (KL + ln(m/δ))/n, with a
  union bound over a grid of m values of C fixed before the data are seen;
- Langford–Caruana: the Monte-Carlo estimate of R̂_S(Q) from M draws θ ~ Q satisfies
  kl(R̂_{S,M} ‖ R̂_S) ≤ ln(2/δ')/M;
- two-gap (the paper's Proposition 4.1 with constants): R_T ≤ [bound on R_d] + TV(D_T, D_d).

Numerically delicate subexpressions are rewritten with sympy's C99 optimizations
(expm1, log1p) before lowering, so nothing is retyped for the sake of precision either.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp
from sympy.codegen.rewriting import optimize, optims_c99

from pacbound.symbolic.core import (
    KLInvUpper,
    c,
    catoni_c,
    choices,
    delta,
    emp_risk,
    grid_size,
    kl_binary,
    kl_div,
    lam,
    mc_delta,
    mc_risk,
    mc_samples,
    mc_share,
    n,
    p,
    q,
    shift_tv,
)

# --- complexity (budget) terms ---------------------------------------------------------

#: Maurer's budget: the right-hand side of kl(R̂ ‖ R) ≤ B.
maurer_budget = (kl_div + sp.log(2 * sp.sqrt(n) / delta)) / n

#: Catoni's budget for one value of C out of a grid of m, chosen before the data.
catoni_budget = (kl_div + sp.log(grid_size / delta)) / n

#: Langford–Caruana budget for M Monte-Carlo draws of θ ~ Q.
mc_budget = sp.log(2 / mc_delta) / mc_samples

#: Maurer's ξ(n) = E[exp(n·kl(R̂ ‖ R))] at its worst case over R, exactly; ξ(n) ≤ 2√n.
_k = sp.Symbol("k", integer=True, nonnegative=True)


def maurer_xi(n_value: int) -> sp.Expr:
    """Σ_k C(n, k) (k/n)^k (1 − k/n)^(n−k), exact rational arithmetic (0^0 = 1)."""
    n_value = int(n_value)
    return sum(
        sp.binomial(n_value, k)
        * sp.Rational(k, n_value) ** k
        * sp.Rational(n_value - k, n_value) ** (n_value - k)
        for k in range(n_value + 1)
    )


# --- relaxations of kl(q‖p) for p ≥ q, each ≤ kl -------------------------------------

kl_qp = kl_binary(q, p)
pinsker_relaxation = 2 * (p - q) ** 2
quad_relaxation = (p - q) ** 2 / (2 * p)
# For every C > 0: kl(q‖p) ≥ φ_C(p) − C·q (Donsker–Varadhan with the test function C·1[loss]);
# equality at the best C, which is why Catoni's bound optimised over C is the kl bound.
catoni_phi = -sp.log(1 - p * (1 - sp.exp(-catoni_c)))
catoni_relaxation = catoni_phi - catoni_c * q


def _largest_root(equation: sp.Eq, var: sp.Symbol, at: dict) -> sp.Expr:
    """The root of ``equation`` in ``var`` that is largest at the sample point ``at``."""
    roots = sp.solve(equation, var)
    return max(roots, key=lambda root: float(root.subs(at)))


def _rationalize_numerator(expr: sp.Expr) -> sp.Expr:
    """(√X − Y)/Z → (X − Y²)/(Z(√X + Y)): removes a 0/0 at Z = 0 (e.g. λ* at R̂ = 0)."""
    num, den = sp.fraction(sp.together(expr))
    radical = [t for t in sp.Add.make_args(num) if t.has(sp.sqrt(sp.Wild("x")).func)]
    rest = sp.Add(*[t for t in sp.Add.make_args(num) if t not in radical])
    conj = sp.Add(*radical) - rest
    return sp.cancel(sp.expand(num * conj)) / (den * conj)


_SAMPLE = {q: sp.Rational(1, 10), c: sp.Rational(1, 20), lam: 1}

#: Upper bounds on p from kl(q‖p) ≤ c, with q and c generic.
pinsker_solution = _largest_root(sp.Eq(pinsker_relaxation, c), p, _SAMPLE)
quad_solution = _largest_root(sp.Eq(quad_relaxation, c), p, _SAMPLE)
# √(2pc) ≤ λp/2 + c/λ (AM–GM) in p − q ≤ √(2pc), solved for p: valid for all λ ∈ (0, 2).
lambda_solution = sp.solve(sp.Eq(p - q, lam * p / 2 + c / lam), p)[0]
lambda_optimal = _rationalize_numerator(
    [s for s in sp.solve(sp.diff(lambda_solution, lam), lam) if 0 < float(s.subs(_SAMPLE)) < 2][0]
)
# φ_C(p) = x solved for p, then x = C·q + c.
_x = sp.Symbol("x", positive=True)
catoni_solution = sp.solve(sp.Eq(catoni_phi, _x), p, simplify=False)[0].subs(_x, catoni_c * q + c)


def _stable(expr: sp.Expr) -> sp.Expr:
    return optimize(expr, optims_c99)


def _at(solution: sp.Expr, risk: sp.Expr, budget: sp.Expr) -> sp.Expr:
    return solution.subs({q: risk, c: budget}, simultaneous=True)


# --- the generalization bounds ---------------------------------------------------------


@dataclass(frozen=True)
class BoundForm:
    """One PAC-Bayes bound on R_d(Q) as a sympy expression of its inputs.

    ``expr`` uses emp_risk, kl_div, n, delta and the symbols named in ``extra``. The form's
    own parameters, as a user gives them, are ``bound_options.FORM_OPTIONS[name]``, and how
    they become ``extra`` (chosen when not given) is its entry of ``numeric.bounds.BOUNDS``.
    """

    name: str
    title: str
    expr: sp.Expr
    budget: sp.Expr
    reference: str
    statement: str
    extra: tuple[sp.Symbol, ...] = field(default=())


BOUND_FORMS: dict[str, BoundForm] = {
    form.name: form
    for form in [
        BoundForm(
            name="mcallester",
            title="McAllester–Maurer",
            expr=_at(pinsker_solution, emp_risk, maurer_budget),
            budget=maurer_budget,
            reference="McAllester (1999); Maurer (2004), with Pinsker's inequality",
            statement="Pinsker relaxation of the kl bound: kl(q‖p) ≥ 2(p − q)².",
        ),
        BoundForm(
            name="kl",
            title="Langford–Seeger–Maurer kl",
            expr=KLInvUpper(emp_risk, maurer_budget),
            budget=maurer_budget,
            reference="Langford & Seeger (2001); Seeger (2002); Maurer (2004)",
            statement="kl(R̂_S(Q) ‖ R_d(Q)) ≤ (KL(Q‖P) + ln(2√n/δ))/n for all Q, w.p. ≥ 1 − δ.",
        ),
        BoundForm(
            name="quad",
            title="quad (Pérez-Ortiz et al.)",
            expr=_at(quad_solution, emp_risk, maurer_budget),
            budget=maurer_budget,
            reference="Pérez-Ortiz, Rivasplata, Shawe-Taylor & Szepesvári, JMLR 22 (2021)",
            statement="relaxation kl(q‖p) ≥ (p − q)²/(2p) of the kl bound, solved for p.",
        ),
        BoundForm(
            name="lambda",
            title="Thiemann et al. λ",
            expr=_at(lambda_solution, emp_risk, maurer_budget),
            budget=maurer_budget,
            reference="Thiemann, Igel, Wintenberger & Seldin, ALT 2017",
            statement=(
                "R ≤ R̂/(1 − λ/2) + (KL + ln(2√n/δ))/(nλ(1 − λ/2)) for all λ ∈ (0, 2) at once;"
                " evaluated at the minimising λ* unless λ is given (at λ* it equals quad)."
            ),
            extra=(lam,),
        ),
        BoundForm(
            name="catoni",
            title="Catoni (grid over C)",
            expr=_at(catoni_solution, emp_risk, catoni_budget),
            budget=catoni_budget,
            reference="Catoni (2007), Theorem 1.2.6; union bound over a grid of m values of C",
            statement=(
                "for each C in a grid of m values fixed in advance, w.p. ≥ 1 − δ/m:"
                " −ln(1 − R(1 − e^{−C})) ≤ C·R̂ + (KL + ln(m/δ))/n; the bound is the"
                " minimum over the grid."
            ),
            extra=(catoni_c, grid_size),
        ),
    ]
}

#: The minimising λ of the λ form as a function of the inputs.
lambda_optimal_at = _at(lambda_optimal, emp_risk, maurer_budget)

#: Langford–Caruana: upper bound on R̂_S(Q) from a Monte-Carlo estimate over M draws.
mc_empirical_bound = KLInvUpper(mc_risk, mc_budget)


#: The certificate of a trained network (``pacbound.run.certify``): δ is split, s·δ for the
#: Langford–Caruana step and (1 − s)·δ for the kl bound, whose share is divided again over
#: the m posteriors (families × σ grid) the certificate may choose between after seeing the
#: data (a union bound). With probability ≥ 1 − δ over the sample and the Monte-Carlo draws,
#: R_d(Q) is at most this for the chosen Q, whichever of the m it is.
certificate = (
    BOUND_FORMS["kl"]
    .expr.subs(
        {emp_risk: mc_empirical_bound, delta: (1 - mc_share) * delta / choices}, simultaneous=True
    )
    .subs(mc_delta, mc_share * delta)
)


#: Langford (2005), the test-set bound: with k errors in M independent Bernoulli trials of
#: mean p, P(at most k errors) is this binomial tail; the bound on p at confidence 1 − δ is
#: the largest p at which the tail is still ≥ δ. (Numerically through the identity
#: tail = I_{1−p}(M − k, k + 1), the regularised incomplete beta function.)
_trials, _errors, _i = sp.symbols("trials errors i", integer=True, nonnegative=True)
binomial_tail = sp.Sum(
    sp.binomial(_trials, _i) * p**_i * (1 - p) ** (_trials - _i), (_i, 0, _errors)
)


def lowering_form(expr: sp.Expr) -> sp.Expr:
    """The expression rewritten for numerical evaluation (expm1, log1p where they help)."""
    return _stable(expr)


# --- the two-gap bound ------------------------------------------------------------------


def two_gap_bound(form: BoundForm) -> sp.Expr:
    """R_T(Q) ≤ R̂_S(Q) + [bound − R̂_S(Q)] + TV(D_T, D_d) for a loss in [0, 1]."""
    return form.expr + shift_tv


def two_gap_terms(form: BoundForm) -> dict[str, sp.Expr]:
    """The three terms of the two-gap bound: empirical, generalization, extrapolation."""
    return {
        "empirical": emp_risk,
        "generalization": form.expr - emp_risk,
        "extrapolation": shift_tv,
    }
