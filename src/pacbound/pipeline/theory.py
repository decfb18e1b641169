"""The theory's commands (``bound``, ``optimum``, ``derive``): formulas in, rows, a derivation
or a refreshed page out; no store and no experiment."""

from __future__ import annotations

import math
from pathlib import Path


def bound_rows(kind: str, **arguments) -> list[dict]:
    """The two-gap bound of one kind (or of every kind, ``"all"``) and its terms, a row each;
    ``arguments``: ``evaluate_bound``'s, by name."""
    from pacbound.numeric.bounds import KINDS, evaluate_bound
    from pacbound.report.console import BOUND_COLUMNS

    rows = []
    for name in KINDS if kind == "all" else (kind,):
        terms = evaluate_bound(name, **arguments)
        row = {"kind": name, **{column: float(getattr(terms, column)) for column in BOUND_COLUMNS}}
        parameter = float(terms.parameter)
        row["parameter"] = None if parameter != parameter else parameter  # NaN → none
        row["vacuous"] = bool(terms.vacuous)
        rows.append(row)
    return rows


def difficulty_model(family: str, bound: str, params: dict, domain: tuple, terms: dict):
    """The difficulty model of a family under a generalization bound, its terms optionally
    replaced by expressions in d (``terms``: {"kl"|"shift"|"risk": text or None})."""
    from pacbound.symbolic.difficulty import model_from_options

    return model_from_options(family, bound, params, domain, terms)


def optimum_rows(model, budgets, buckets=None) -> list[dict]:
    """d*(n) of a difficulty model at each budget (sample sizes: integers ≥ 1), with the
    bound and its terms there. ValueError, naming the term and where, if one is not finite
    there: no NaN is returned."""
    import numpy as np

    from pacbound.numeric.difficulty import bound_function, optimal_difficulty, term_functions
    from pacbound.numeric.validate import check_count

    check_count("n", budgets)
    d_star = optimal_difficulty(model, budgets, buckets=buckets)
    terms, bound = term_functions(model), bound_function(model)
    rows = []
    for n_value, d_value in zip(budgets, d_star, strict=True):
        with np.errstate(all="ignore"):  # NumPy's warnings of a NaN or inf: refused below
            row = {"n": n_value, "d_star": float(d_value), "bound": float(bound(d_value, n_value))}
            row |= {name: float(f(d_value, n_value)) for name, f in terms.items()}
        for name in (*terms, "bound", "d_star"):  # the term first, where one is to blame
            value = row[name]
            if not math.isfinite(value):
                what = {"bound": "the bound", "d_star": "d*"}.get(name, f"the {name} term")
                raise ValueError(
                    f"{what} is {value} at d = {float(d_value):g}, n = {n_value:g}: "
                    "the model must be finite on its whole domain"
                )
        rows.append(row)
    return rows


#: The status line of a derivation of every block: sympy's closed forms take a while.
DERIVING = "deriving the formulas with sympy (about 30 s)…"


def derivation(model=None, latex: bool = False) -> str:
    """The derivation of one difficulty model (``latex``: its equations only), or without a
    model of every block of the theory pages (``latex``: plain LaTeX, else Markdown)."""
    from pacbound.report.derivations import render_family, render_latex, render_markdown

    if model is not None:
        return render_family(model, latex_only=latex)
    return render_latex() if latex else render_markdown()


def derive(path: Path, write: bool, say=None) -> tuple[str, int]:
    """Refresh (``write``) or check the generated blocks of a theory page: (message, exit
    status). ``say`` hears when the derivation starts (the page read)."""
    from pacbound.report.derivations import generated_names, refresh_generated

    try:
        text = path.read_text()
    except OSError as error:
        raise ValueError(f"cannot read {path}: {error.strerror}") from None
    if not generated_names(text):  # nothing to check or refresh: the wrong file
        raise ValueError(f"{path} has no generated blocks (<!-- generated:NAME --> markers)")
    if say:
        say(DERIVING)
    fresh = refresh_generated(text)
    if write:
        path.write_text(fresh)
        return f"refreshed {path}", 0
    if fresh != text:
        return (
            f"{path}: generated blocks differ from the code; run pacbound derive --write {path}",
            1,
        )
    return f"{path}: up to date", 0
