"""Symbols and special functions shared by every formula in pacbound.

Each symbol carries the sympy assumptions its quantity satisfies; the ranges sympy cannot
express (a risk is at most 1, δ < 1) are enforced by the numeric layer's input checks.

Two functions have no elementary closed form and are kept as unevaluated sympy functions:

- ``XLogY(x, y)`` = x·ln y with the convention 0·ln y = 0, which is what makes the binary kl
  finite at q ∈ {0, 1};
- ``KLInvUpper(q, c)`` / ``KLInvLower(q, c)``: the largest / smallest p with kl(q‖p) ≤ c.

Both evaluate numerically with ``evalf`` (the kl inverses through an mpmath root finder at
any requested precision, the reference the JAX solver is tested against) and are lowered to
JAX by ``pacbound.numeric.lower``.
"""

from __future__ import annotations

import mpmath
import sympy as sp

# --- symbols ---------------------------------------------------------------------------

emp_risk = sp.Symbol("emp_risk", nonnegative=True)  # R̂_S(Q) ∈ [0, 1]
kl_div = sp.Symbol("kl_div", nonnegative=True)  # KL(Q‖P) ≥ 0
n = sp.Symbol("n", positive=True)  # sample size ≥ 1
delta = sp.Symbol("delta", positive=True)  # confidence level ∈ (0, 1)
shift_tv = sp.Symbol("shift_tv", nonnegative=True)  # TV(D_T, D_d) ∈ [0, 1]
q = sp.Symbol("q", positive=True)  # a Bernoulli mean ∈ (0, 1) in derivations
p = sp.Symbol("p", positive=True)  # the unknown true risk in derivations
c = sp.Symbol("c", nonnegative=True)  # a kl budget
catoni_c = sp.Symbol("catoni_c", positive=True)  # Catoni's free parameter C > 0
grid_size = sp.Symbol("grid_size", positive=True, integer=True)  # |grid| for a union bound
lam = sp.Symbol("lam", positive=True)  # Thiemann et al.'s λ ∈ (0, 2)
mc_samples = sp.Symbol("mc_samples", positive=True)  # Monte-Carlo draws θ ~ Q
mc_risk = sp.Symbol("mc_risk", nonnegative=True)  # Monte-Carlo estimate of R̂_S(Q)
mc_delta = sp.Symbol("mc_delta", positive=True)  # confidence spent on the Monte-Carlo step
choices = sp.Symbol("choices", positive=True, integer=True)  # posteriors a union bound covers
mc_share = sp.Symbol("mc_share", positive=True)  # share of δ spent on the Monte-Carlo step
damage = sp.Symbol("damage", nonnegative=True)  # Ê max(ℓ(θ) − ℓ(θ′), 0) ∈ [0, 1]
improvement = sp.Symbol("improvement", nonnegative=True)  # Ê max(ℓ(θ′) − ℓ(θ), 0) ∈ [0, 1]
base_emp_risk = sp.Symbol("base_emp_risk", nonnegative=True)  # R̂_S of the base ∈ [0, 1]

LATEX_NAMES = {
    emp_risk: r"\hat{R}_S(Q)",
    kl_div: r"\mathrm{KL}(Q\|P)",
    n: "n",
    delta: r"\delta",
    shift_tv: r"\mathrm{TV}(D_T, D_d)",
    q: "q",
    p: "p",
    c: "c",
    catoni_c: "C",
    grid_size: "m",
    lam: r"\lambda",
    mc_samples: "M",
    mc_risk: r"\hat{R}_{S,M}(Q)",
    mc_delta: r"\delta'",
    choices: "m",
    mc_share: "s",
    damage: r"\widehat{g^{+}}",
    improvement: r"\widehat{g^{-}}",
    base_emp_risk: r"\hat{R}_S(B)",
}


def latex(expr) -> str:
    """LaTeX of an expression with pacbound's symbol names."""
    return sp.latex(expr, symbol_names=LATEX_NAMES)


# --- x ln y ----------------------------------------------------------------------------


class XLogY(sp.Function):
    """x·ln(y) with 0·ln(y) = 0 for every y, as in the definition of the binary kl."""

    nargs = 2

    @classmethod
    def eval(cls, x, y):
        if x.is_zero:
            return sp.S.Zero

    def fdiff(self, argindex=1):
        x, y = self.args
        if argindex == 1:
            return sp.log(y)
        if argindex == 2:
            return x / y
        raise sp.ArgumentIndexError(self, argindex)

    def _eval_rewrite_as_log(self, x, y, **kwargs):
        return x * sp.log(y)

    def _eval_evalf(self, prec):
        x, y = self.args
        return (x * sp.log(y))._eval_evalf(prec)

    def _latex(self, printer):
        x, y = (printer._print(a) for a in self.args)
        return rf"{x} \ln\left({y}\right)"


def kl_binary(q_, p_):
    """kl(q‖p) = q ln(q/p) + (1 − q) ln((1 − q)/(1 − p)) for Bernoulli parameters."""
    return XLogY(q_, q_ / p_) + XLogY(1 - q_, (1 - q_) / (1 - p_))


kl_binary_expr = kl_binary(q, p)


# --- kl inverses -----------------------------------------------------------------------


def _mp_kl_inv_pair(a, ac, c_, dps: int):
    """u = −ln(1 − p) for the largest p ≥ a with kl(a‖p) = c, in mpmath.

    ``ac`` = 1 − a is passed separately so that a value next to 1 keeps its complement.
    Newton's method on g(u) = kl/c − 1 (relative, so the tolerance does not depend on the
    scale of c) started from a closed-form upper bound on the root: g is convex and
    increasing in u on p ≥ a, so the iterates decrease monotonically to the root and never
    leave the domain. The working precision grows with the digits that cancel in kl near
    p = a (about −log10 c) and with those lost in a or 1 − a.
    """
    lost = max(0, int(-mpmath.log10(c_)) if c_ > 0 else 0)
    lost += max(0, int(-mpmath.log10(min(a, ac)))) if min(a, ac) > 0 else 0
    with mpmath.workdps(dps + lost + 10):
        a, ac, c_ = mpmath.mpf(a), mpmath.mpf(ac), mpmath.mpf(c_)
        if a == 0:
            return c_  # kl(0‖p) = −ln(1 − p) = u exactly

        def g(u):
            p_ = -mpmath.expm1(-u)
            return (a * mpmath.log(a / p_) + ac * (mpmath.log(ac) + u)) / c_ - 1

        def dg(u):
            p_ = -mpmath.expm1(-u)
            return (p_ - a) / (p_ * c_)

        # Upper bounds on the root: kl(a‖p) ≥ (p − a)²/(2p(1 − a)), and
        # kl(a‖p) ≥ (1 − a)u − H(a).
        t = c_ * ac
        p_quad = a + t + mpmath.sqrt(t * t + 2 * a * t)
        u_lin = (c_ - a * mpmath.log(a) - ac * mpmath.log(ac)) / ac
        u_start = min(-mpmath.log1p(-p_quad), u_lin) if p_quad < 1 else u_lin
        # findroot's step test is absolute: solve for s = u/u_start, which is of order one.
        tol = mpmath.mpf(10) ** (-2 * (dps + 5))
        s = mpmath.findroot(
            lambda s: g(s * u_start),
            mpmath.mpf(1),
            solver="newton",
            df=lambda s: u_start * dg(s * u_start),
            tol=tol,
            maxsteps=200,
        )
        return s * u_start


def mp_kl_inv_upper(q_, c_, dps: int = 50):
    """Reference value of the largest p ∈ [q, 1] with kl(q‖p) ≤ c, as an mpmath number."""
    with mpmath.workdps(dps + 20):  # before converting: q and c may carry more than 53 bits
        q_, c_ = mpmath.mpf(q_), mpmath.mpf(c_)
        if c_ == 0:
            return q_
        if q_ == 1 or mpmath.isinf(c_):
            return mpmath.mpf(1)
        u = _mp_kl_inv_pair(q_, mpmath.fsub(1, q_, exact=True), c_, dps)
        return -mpmath.expm1(-u)


def mp_kl_inv_lower(q_, c_, dps: int = 50):
    """Reference value of the smallest p ∈ [0, q] with kl(q‖p) ≤ c, as an mpmath number."""
    with mpmath.workdps(dps + 20):
        q_, c_ = mpmath.mpf(q_), mpmath.mpf(c_)
        if c_ == 0:
            return q_
        if q_ == 0 or mpmath.isinf(c_):
            return mpmath.mpf(0)
        u = _mp_kl_inv_pair(mpmath.fsub(1, q_, exact=True), q_, c_, dps)
        return mpmath.exp(-u)


def _kl_inverse_partial(inverse, argindex: int):
    """Implicit-function theorem on kl(q‖p) = c: ∂p/∂c = p(1 − p)/(p − q),
    ∂p/∂q = [ln(p/q) + ln((1 − q)/(1 − p))]·p(1 − p)/(p − q)."""
    q_, _ = inverse.args
    p_ = inverse
    dp_dc = p_ * (1 - p_) / (p_ - q_)
    if argindex == 2:
        return dp_dc
    if argindex == 1:
        return (sp.log(p_ / q_) + sp.log((1 - q_) / (1 - p_))) * dp_dc
    raise sp.ArgumentIndexError(inverse, argindex)


class _KLInverse(sp.Function):
    nargs = 2
    _mp_solver = None
    _latex_name = ""

    def _eval_evalf(self, prec):
        q_, c_ = (a._eval_evalf(prec) for a in self.args)
        if q_ is None or c_ is None or not (q_.is_Number and c_.is_Number):
            return None  # symbolic arguments: stays unevaluated
        with mpmath.workprec(prec):  # mpf() rounds to the working precision
            q_, c_ = (mpmath.mpf(sp.Float(x, precision=prec)._mpf_) for x in (q_, c_))
            value = type(self)._mp_solver(q_, c_, mpmath.libmp.prec_to_dps(prec))
        return sp.Float(value, precision=prec)

    def _latex(self, printer):
        q_, c_ = (printer._print(a) for a in self.args)
        return rf"{self._latex_name}\left({q_}, {c_}\right)"


class KLInvUpper(_KLInverse):
    """The largest p ∈ [q, 1] with kl(q‖p) ≤ c."""

    def fdiff(self, argindex=1):
        return _kl_inverse_partial(self, argindex)

    _mp_solver = staticmethod(mp_kl_inv_upper)
    _latex_name = r"\mathrm{kl}^{-1}_{+}"


class KLInvLower(_KLInverse):
    """The smallest p ∈ [0, q] with kl(q‖p) ≤ c."""

    def fdiff(self, argindex=1):
        return _kl_inverse_partial(self, argindex)

    _mp_solver = staticmethod(mp_kl_inv_lower)
    _latex_name = r"\mathrm{kl}^{-1}_{-}"
