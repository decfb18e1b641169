"""Markdown and LaTeX renderings of the derivations, and the generated blocks of theory/.

A document in theory/ keeps its prose by hand and its formulas in generated blocks:

    <!-- generated:NAME -->
    ...
    <!-- end generated:NAME -->

``refresh_generated(text)`` rewrites every block from the code; a test fails when the
committed file differs from its refreshed version, so the formulas there cannot drift.
"""

from __future__ import annotations

import re
from functools import cache

import sympy as sp

from pacbound.symbolic import bounds as B
from pacbound.symbolic import gain as G
from pacbound.symbolic.core import kl_binary_expr, latex


def _equation(lhs: str, rhs: str) -> str:
    return f"$$\n{lhs} = {rhs}\n$$"


def _inequality(lhs: str, rhs: str, relation: str = r"\le") -> str:
    return f"$$\n{lhs} {relation} {rhs}\n$$"


def _budgets() -> str:
    return "\n\n".join(
        [
            _equation(r"B_{\mathrm{Maurer}}", latex(B.maurer_budget)),
            _equation(r"B_{\mathrm{Catoni}}", latex(B.catoni_budget)),
            _equation(r"B_{\mathrm{MC}}", latex(B.mc_budget)),
        ]
    )


def _relaxations() -> str:
    kl = r"\mathrm{kl}(q\|p)"
    return "\n\n".join(
        [
            _equation(kl, latex(kl_binary_expr.rewrite(sp.log))),
            _inequality(kl, latex(B.pinsker_relaxation), r"\ge"),
            _inequality(kl, latex(B.quad_relaxation), r"\ge") + "  (for $p \\ge q$)",
            _inequality(kl, latex(B.catoni_relaxation), r"\ge") + "  (for every $C > 0$)",
        ]
    )


def _solutions() -> str:
    rows = [
        ("Pinsker", B.pinsker_solution),
        ("quad", B.quad_solution),
        (r"$\lambda$", B.lambda_solution),
        ("Catoni", B.catoni_solution),
    ]
    parts = ["Largest $p$ allowed by each relaxation at budget $c$ (sympy `solve`):"]
    parts += [f"- {name}:\n\n{_equation('p', latex(sol))}" for name, sol in rows]
    parts.append(
        "Minimising $\\lambda$ of the $\\lambda$ form, and the identity at $\\lambda^*$:\n\n"
        + _equation(r"\lambda^*", latex(B.lambda_optimal))
        + "\n\n"
        + _equation(
            r"p_\lambda(\lambda^*) - p_{\mathrm{quad}}",
            latex(sp.simplify(B.lambda_solution.subs(B.lam, B.lambda_optimal) - B.quad_solution)),
        )
    )
    return "\n\n".join(parts)


def _forms() -> str:
    parts = []
    for form in B.BOUND_FORMS.values():
        parts.append(
            f"**{form.title}** (`{form.name}`): {form.statement} "
            f"Reference: {form.reference}.\n\n" + _inequality(r"R_d(Q)", latex(form.expr))
        )
    return "\n\n".join(parts)


def _monte_carlo() -> str:
    return _inequality(r"\hat{R}_S(Q)", latex(B.mc_empirical_bound))


def _certificate() -> str:
    return _inequality(r"R_d(Q)", latex(B.certificate))


def _gain() -> str:
    return _inequality(r"R_d(Q) - R_d(B)", latex(G.gain_certificate))


def _two_gap() -> str:
    parts = []
    for name in ("kl", "mcallester"):
        form = B.BOUND_FORMS[name]
        terms = B.two_gap_terms(form)
        rhs = r" + \left[".join([latex(terms["empirical"]), latex(terms["generalization"])])
        rhs += r"\right] + " + latex(terms["extrapolation"])
        parts.append(f"{form.title}:\n\n" + _inequality(r"R_T(Q)", rhs))
    return "\n\n".join(parts)


def _maurer_xi() -> str:
    rows = ["| n | ξ(n) | 2√n | ξ(n) ≤ 2√n |", "|---|---|---|---|"]
    for n_value in range(1, 9):
        xi = B.maurer_xi(n_value)
        bound = 2 * sp.sqrt(n_value)
        holds = "yes" if xi <= bound else "NO"
        rows.append(f"| {n_value} | {float(xi):.6f} | {float(bound):.6f} | {holds} |")
    return "\n".join(rows)


#: Name → renderer of each generated block, in document order.
BLOCKS = {
    "budgets": _budgets,
    "relaxations": _relaxations,
    "solutions": _solutions,
    "forms": _forms,
    "monte-carlo": _monte_carlo,
    "certificate": _certificate,
    "gain": _gain,
    "two-gap": _two_gap,
    "maurer-xi": _maurer_xi,
}


def render_markdown() -> str:
    """Every derivation as one Markdown document (LaTeX in $$ blocks)."""
    return "\n\n".join(f"### {name}\n\n{render()}" for name, render in BLOCKS.items()) + "\n"


def render_latex() -> str:
    """The displayed equations only, as plain LaTeX (one equation per line)."""
    lines = []
    for name, render in BLOCKS.items():
        lines.append(f"% {name}")
        lines += re.findall(r"\$\$\n(.*?)\n\$\$", render(), flags=re.S)
    return "\n".join(lines) + "\n"


_BLOCK = re.compile(
    r"(?P<start><!-- generated:(?P<name>[\w-]+) -->)"
    r"(?P<body>.*?)"
    r"(?P<end><!-- end generated:(?P=name) -->)",
    flags=re.S,
)


def generated_names(text: str) -> list[str]:
    """The names of ``text``'s generated blocks, in order (empty: a page without markers)."""
    return [match.group("name") for match in _BLOCK.finditer(text)]


def refresh_generated(text: str, only=None) -> str:
    """``text`` with every generated block (or those named in ``only``) rewritten from the
    code."""

    def replace(match: re.Match) -> str:
        name = match.group("name")
        if name not in BLOCKS:
            raise ValueError(f"generated block {name!r} is unknown: allowed {', '.join(BLOCKS)}")
        if only is not None and name not in only:
            return match.group(0)
        return f"{match.group('start')}\n{BLOCKS[name]()}\n{match.group('end')}"

    return _BLOCK.sub(replace, text)


# --- optimal difficulty ------------------------------------------------------------------


def render_family(model, latex_only: bool = False) -> str:
    """The optimal-difficulty derivation of one difficulty model, Markdown or plain LaTeX."""
    from pacbound.symbolic import difficulty as D

    name = D.name_maurer_log  # ln(2√n/δ) shown as L
    parts = [
        f"Family {model.name}, generalization term: {model.form.title}. "
        "L = ln(2√n/δ); parameters symbolic.",
        _equation("K(d)", latex(model.kl)),
        _equation(r"T(d)", latex(model.shift)),
        _equation(r"\hat{R}(d)", latex(model.risk)),
        _equation("B(d, n)", latex(name(model.bound()))),
        "First-order condition (zero at an interior optimum):",
        _equation(r"B_d", latex(sp.simplify(name(D.first_order_condition(model))))),
        "Cross partial (negative: the optimum moves harder as n grows):",
        _equation(r"B_{dn}", latex(sp.simplify(name(D.cross_partial(model))))),
    ]
    roots = D.stationary_points(model)
    if roots:
        parts.append("Stationary points in closed form (each real branch):")
        parts += [_equation("d", latex(root)) for root in roots]
    else:
        parts.append("No closed form for the stationary points: sympy finds none.")
    text = "\n\n".join(parts)
    if latex_only:
        return "\n".join(re.findall(r"\$\$\n(.*?)\n\$\$", text, flags=re.S)) + "\n"
    return text + "\n"


def _families() -> str:
    from pacbound.symbolic import difficulty as D

    rows = ["| term | family | expression |", "|---|---|---|"]
    for term, table in (
        ("K(d)", D.KL_FAMILIES),
        ("T(d)", D.SHIFT_FAMILIES),
        ("R̂(d)", D.RISK_FAMILIES),
    ):
        rows += [f"| {term} | {name} | ${latex(expr)}$ |" for name, expr in table.items()]
    defaults = ", ".join(f"{k} = {v:g}" for k, v in D.DEFAULT_PARAMS.items())
    return "\n".join(rows) + f"\n\nDefault parameters: {defaults}; domain d ∈ [0, 1]."


def _mcallester_mixed_partial() -> str:
    from pacbound.symbolic import difficulty as D

    proved = (
        "sympy: negative for all K ≥ 0, n > 0, L > 0"
        if (D.mcallester_decreasing_differences())
        else "sympy could NOT prove the sign"
    )
    return (
        _equation(r"G(K, n)", latex(D.mcallester_term))
        + "\n\n"
        + _equation(
            r"\frac{\partial^2 G}{\partial K \partial n}", latex(D.mcallester_mixed_partial)
        )
        + f"\n\n({proved}.)"
    )


def _closed_forms() -> str:
    from pacbound.symbolic import difficulty as D

    rows = ["| K(d) | T(d) | closed form of B_d = 0 (McAllester, constant R̂) |", "|---|---|---|"]
    for kl_name in D.KL_FAMILIES:
        for shift_name in D.SHIFT_FAMILIES:
            model = D.family_model(f"{kl_name}-{shift_name}")
            roots = D.stationary_points(model)
            found = "; ".join(f"${latex(r)}$" for r in roots) if roots else "none found"
            rows.append(f"| {kl_name} | {shift_name} | {found} |")
    return "\n".join(rows)


def _example_family() -> str:
    from pacbound.symbolic import difficulty as D

    return render_family(D.family_model("linear-exponential")).rstrip("\n")


BLOCKS.update(
    {
        "families": _families,
        "mcallester-mixed-partial": _mcallester_mixed_partial,
        "closed-forms": _closed_forms,
        "example-family": _example_family,
    }
)

# Each block is a pure function of the code; sympy takes seconds for some (closed forms,
# simplification), and the Markdown, the LaTeX and the theory pages all render every one.
BLOCKS = {name: cache(render) for name, render in BLOCKS.items()}
