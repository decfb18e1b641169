"""Synthetic tasks with a difficulty knob: sampling, datasets and held-out test sets.

The public names are imported on first use (``from pacbound.tasks import IGSMChain``), so
that importing one task module does not import every other (the solvable model and the
skill ladder pull in sympy and JAX).
"""

from __future__ import annotations

__all__ = [
    "Dataset",
    "Example",
    "IGSMChain",
    "IGSMLite",
    "SkillLadder",
    "SolvableLinear",
    "Task",
    "held_out_sets",
    "mixture_dataset",
]


def __getattr__(name: str):
    if name in ("IGSMChain", "IGSMLite"):
        from pacbound.tasks import igsm as module
    elif name == "SolvableLinear":
        from pacbound.tasks import solvable as module
    elif name == "SkillLadder":
        from pacbound.tasks import skills as module
    elif name in __all__:
        from pacbound.tasks import base as module
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(module, name)


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
