"""How difficulty enters the bound, and where the bound-minimising difficulty d*(n) sits.

The bound as a function of difficulty d and budget n:

    B(d, n) = R̂(d) + G(K(d), R̂(d), n, δ) + T(d)

with G the generalization term of a bound form of ``pacbound.symbolic.bounds`` (McAllester
or kl), K(d) the KL to the pretrained prior, T(d) an extrapolation (shift) term and R̂(d) the
empirical risk. Families for K, T and R̂ are named below; a user may pass expressions in d
instead (``parse_term``: parsed against a whitelist, never evaluated).

What is derived here (rendered in theory/optimal_difficulty.md):
- the first-order condition B_d = 0 and, by the implicit-function theorem at an interior
  minimum with B_dd > 0, dd*/dn = −B_dn / B_dd;
- B_dn = K'(d)·G_Kn + R̂'(d)·G_qn, since T and R̂ do not depend on n. For McAllester's form
  G_qn = 0 and sympy proves G_Kn < 0, so K' ≥ 0 gives decreasing differences and d*(n) is
  non-decreasing (Topkis: no convexity needed);
- closed forms of the stationary points where sympy finds them (LambertW for linear K with
  exponential-decay T, a rational expression for linear K with linear T).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache

import sympy as sp

from pacbound.symbolic.bounds import BOUND_FORMS
from pacbound.symbolic.core import delta, emp_risk, kl_div, n
from pacbound.symbolic.expression import parse_expression

d = sp.Symbol("d", real=True)  # difficulty, on the model's domain [d_min, d_max]

# Family parameters: all positive, so that K grows, T decays and R̂ grows with d.
k0, k1, k_power, k_rate = sp.symbols("k0 k1 k_power k_rate", positive=True)
t0, t1, t_power, t_rate = sp.symbols("t0 t1 t_power t_rate", positive=True)
r0, r1 = sp.symbols("r0 r1", nonnegative=True)

#: KL(Q‖P) as a function of difficulty: harder data pulls the posterior further away.
KL_FAMILIES: dict[str, sp.Expr] = {
    "linear": k0 + k1 * d,
    "power": k0 + k1 * d**k_power,
    "exponential": k0 * sp.exp(k_rate * d),
}
#: The shift term as a function of difficulty: harder data sits closer to a hard target.
SHIFT_FAMILIES: dict[str, sp.Expr] = {
    "linear": t0 - t1 * d,
    "power": t0 * (1 + d) ** (-t_power),
    "exponential": t0 * sp.exp(-t_rate * d),
}
#: The empirical risk as a function of difficulty: harder data is harder to fit.
RISK_FAMILIES: dict[str, sp.Expr] = {
    "constant": r0,
    "linear": r0 + r1 * d,
}

#: Default parameter values: chosen so that d*(n) moves across [0, 1] for n in 10² … 10⁶.
DEFAULT_PARAMS: dict[str, float] = {
    "k0": 1.0,
    "k1": 50.0,
    "k_power": 2.0,
    "k_rate": 4.0,
    "t0": 0.5,
    "t1": 0.4,
    "t_power": 2.0,
    "t_rate": 5.0,
    "r0": 0.02,
    "r1": 0.05,
    "delta": 0.05,
}

GENERALIZATION_FORMS = ("mcallester", "kl")

#: Every family parameter by name, so that a user's expression means the same symbols.
PARAMETER_SYMBOLS: dict[str, sp.Symbol] = {
    s.name: s
    for table in (KL_FAMILIES, SHIFT_FAMILIES, RISK_FAMILIES)
    for expr in table.values()
    for s in expr.free_symbols
    if s != d
}


def parse_term(
    text: str, what: str, names: Iterable[str] = (), values: dict[str, float] | None = None
) -> sp.Expr:
    """A user's expression in d and the family parameters as sympy; ``what`` names it in
    errors. ``names`` are further parameters (given values elsewhere), each a plain symbol;
    d and the family parameters keep their own symbols whatever ``names`` holds. ``values``:
    the parameters' values, at which each part in parameters alone must be a finite real
    float64 (``parse_expression``); d is variable whatever they hold.

    The text is parsed, never evaluated (``pacbound.symbolic.expression``).
    """
    symbols = {name: sp.Symbol(name) for name in names} | {"d": d, **PARAMETER_SYMBOLS}
    hint = "a new parameter needs a value: --param {name}=VALUE"
    # A value that is not finite is refused with the model's parameters, naming --param.
    known = {
        name: value
        for name, value in (values or {}).items()
        if name != "d" and math.isfinite(value)
    }
    return parse_expression(text, symbols, what, unknown=hint, values=known)


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: lowered once each
class DifficultyModel:
    """B(d, n) = R̂(d) + G(K(d), R̂(d), n, δ) + T(d) on d ∈ [d_min, d_max].

    ``params`` maps parameter names (and "delta") to values; the expressions may use any
    symbols besides d and n as long as every one of them is given a value.
    """

    kl: sp.Expr
    shift: sp.Expr
    risk: sp.Expr
    generalization: str = "mcallester"
    domain: tuple[float, float] = (0.0, 1.0)
    params: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_PARAMS))
    name: str = "custom"

    def __post_init__(self):
        if self.generalization not in GENERALIZATION_FORMS:
            raise ValueError(
                f"generalization = {self.generalization!r} is not supported: "
                f"allowed {', '.join(GENERALIZATION_FORMS)}"
            )
        low, high = self.domain
        if not (math.isfinite(low) and math.isfinite(high)):
            raise ValueError(f"domain = {self.domain} is not finite: need finite d_min < d_max")
        if not low < high:
            raise ValueError(f"domain = {self.domain} is empty: need d_min < d_max")
        variables = sorted({"d", "n"} & set(self.params))
        if variables:
            # substituted() replaces by name: a value for d or n would fix the variable itself.
            raise ValueError(
                f"params {variables}: d and n are the model's variables, not parameters "
                "(the budgets are --n)"
            )
        for name, value in self.params.items():
            if not math.isfinite(value):
                raise ValueError(
                    f"parameter {name} = {value} is not a finite number (--param {name}=VALUE)"
                )
        missing = sorted(self.parameter_names() - set(self.params))
        if missing:
            raise ValueError(f"parameters {missing} have no value: give them in params (--param)")
        confidence = self.params["delta"]
        if not 0 < confidence < 1:
            raise ValueError(f"delta = {confidence:g} is out of range: allowed (0, 1)")

    def parameter_names(self) -> set[str]:
        symbols = (self.kl.free_symbols | self.shift.free_symbols | self.risk.free_symbols) - {d}
        return {s.name for s in symbols} | {"delta"}

    @property
    def form(self):
        return BOUND_FORMS[self.generalization]

    def generalization_bound(self) -> sp.Expr:
        """The bound on R_d(Q) at difficulty d: R̂(d) + G."""
        return self.form.expr.subs({emp_risk: self.risk, kl_div: self.kl}, simultaneous=True)

    def bound(self) -> sp.Expr:
        """B(d, n)."""
        return self.generalization_bound() + self.shift

    def terms(self) -> dict[str, sp.Expr]:
        """The three terms of B(d, n): empirical, generalization, extrapolation."""
        return {
            "empirical": self.risk,
            "generalization": self.generalization_bound() - self.risk,
            "extrapolation": self.shift,
        }

    def substituted(self, expr: sp.Expr) -> sp.Expr:
        """``expr`` with every parameter replaced by its value (d and n stay symbolic)."""
        values = {s: self.params[s.name] for s in expr.free_symbols if s.name in self.params}
        return expr.subs(values)


def family_model(
    family: str,
    *,
    generalization: str = "mcallester",
    params: dict[str, float] | None = None,
    domain: tuple[float, float] = (0.0, 1.0),
) -> DifficultyModel:
    """A model from a family name "KL-SHIFT[-RISK]", e.g. "linear-exponential-constant"."""
    parts = family.split("-")
    if len(parts) == 2:
        parts.append("constant")
    if len(parts) != 3:
        raise ValueError(f"family = {family!r} is not KL-SHIFT[-RISK], e.g. linear-exponential")
    kl_name, shift_name, risk_name = parts
    for what, name, table in (
        ("KL", kl_name, KL_FAMILIES),
        ("shift", shift_name, SHIFT_FAMILIES),
        ("risk", risk_name, RISK_FAMILIES),
    ):
        if name not in table:
            raise ValueError(f"{what} family {name!r} is unknown: allowed {', '.join(table)}")
    values = dict(DEFAULT_PARAMS)
    if params:
        unknown = sorted(set(params) - set(DEFAULT_PARAMS))
        if unknown:
            raise ValueError(
                f"parameters {unknown} are unknown: allowed {', '.join(DEFAULT_PARAMS)}"
            )
        values.update(params)
    return DifficultyModel(
        kl=KL_FAMILIES[kl_name],
        shift=SHIFT_FAMILIES[shift_name],
        risk=RISK_FAMILIES[risk_name],
        generalization=generalization,
        domain=domain,
        params=values,
        name=f"{kl_name}-{shift_name}-{risk_name}",
    )


def all_families() -> list[str]:
    return [f"{k}-{t}-{r}" for k in KL_FAMILIES for t in SHIFT_FAMILIES for r in RISK_FAMILIES]


# --- comparative statics ---------------------------------------------------------------

#: ln(2√n/δ) > 0 (n ≥ 1 > δ/2), named so that sympy can reason about its sign.
maurer_log = sp.Symbol("L", positive=True)


def name_maurer_log(expr: sp.Expr) -> sp.Expr:
    """``expr`` with ln(2√n/δ) written as the positive symbol L."""
    return expr.subs(sp.log(2 * sp.sqrt(n) / delta), maurer_log)


def first_order_condition(model: DifficultyModel) -> sp.Expr:
    """B_d(d, n): zero at an interior optimum."""
    return sp.diff(model.bound(), d)


def cross_partial(model: DifficultyModel) -> sp.Expr:
    """B_dn: its sign decides the direction d* moves as n grows (negative: harder)."""
    return sp.diff(model.bound(), d, n)


def curvature(model: DifficultyModel) -> sp.Expr:
    """B_dd: positive at a strict interior minimum."""
    return sp.diff(model.bound(), d, 2)


def optimum_slope(model: DifficultyModel) -> sp.Expr:
    """dd*/dn = −B_dn / B_dd at an interior minimum (implicit-function theorem)."""
    return -cross_partial(model) / curvature(model)


#: McAllester's generalization term in K (the KL) alone, and its mixed partial in (K, n).
_K = sp.Symbol("K", nonnegative=True)
mcallester_term = BOUND_FORMS["mcallester"].expr.subs(kl_div, _K) - emp_risk
mcallester_mixed_partial = sp.factor(name_maurer_log(sp.diff(mcallester_term, _K, n)))


def mcallester_decreasing_differences() -> bool:
    """sympy's proof that ∂²G/∂K∂n < 0 for McAllester's term, for every K ≥ 0, n, L > 0."""
    return bool(mcallester_mixed_partial.is_negative)


def stationary_points(model: DifficultyModel) -> list[sp.Expr]:
    """Closed-form solutions of B_d = 0 in d, with parameters symbolic; [] if none found.

    Where sympy answers with LambertW, the other real branch (W₋₁) is added, since the
    minimum of B sits on one branch and a local maximum on the other.
    """
    return list(_stationary_points(name_maurer_log(first_order_condition(model))))


@cache  # solve takes seconds, and each family's condition is asked for again and again
def _stationary_points(foc: sp.Expr) -> tuple[sp.Expr, ...]:
    try:
        roots = sp.solve(sp.Eq(foc, 0), d)
    except NotImplementedError:
        return ()
    extended = []
    for root in roots:
        extended.append(root)
        if root.has(sp.LambertW):
            extended.append(root.replace(sp.LambertW, lambda x: sp.LambertW(x, -1)))
    return tuple(extended)


def model_from_options(
    family: str, generalization: str, params: dict, domain: tuple, terms: dict
) -> DifficultyModel:
    """A family's model, with any of its terms (``terms``: {"kl"|"shift"|"risk": text or
    None}) replaced by a sympy expression in d whose other symbols take ``params`` values."""
    if len(domain) != 2:
        raise ValueError(f"--domain {domain} is not two numbers d_min,d_max")
    overrides = {term: text for term, text in terms.items() if text}
    if not overrides:
        return family_model(family, generalization=generalization, params=params, domain=domain)
    known = {k: v for k, v in params.items() if k in DEFAULT_PARAMS}
    model = family_model(family, generalization=generalization, params=known, domain=domain)
    replaced = {"kl": model.kl, "shift": model.shift, "risk": model.risk}
    values = dict(DEFAULT_PARAMS) | params
    for term, text in overrides.items():
        replaced[term] = parse_term(text, f"--{term}-expr", params, values)
    return DifficultyModel(
        **replaced, generalization=generalization, domain=domain, params=values, name="custom"
    )


#: The families the theory figures and the index show: every KL family × every shift
#: family, constant empirical risk.
THEORY_FAMILIES = tuple(f"{k}-{t}" for k in KL_FAMILIES for t in SHIFT_FAMILIES)
