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

import sympy as sp

from pacbound.symbolic import bounds as B
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


def refresh_generated(text: str) -> str:
    """``text`` with every generated block rewritten from the code."""

    def replace(match: re.Match) -> str:
        name = match.group("name")
        if name not in BLOCKS:
            raise ValueError(f"generated block {name!r} is unknown: allowed {', '.join(BLOCKS)}")
        return f"{match.group('start')}\n{BLOCKS[name]()}\n{match.group('end')}"

    return _BLOCK.sub(replace, text)
