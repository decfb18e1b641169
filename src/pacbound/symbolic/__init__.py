"""Symbolic formulas (sympy): the single source of every formula pacbound computes.

The kl inverses, with their mpmath reference (``KLInvUpper(q, c).evalf(50)``), are imported
from ``core`` on first use, so that importing one formula module stays as light as it is.
"""

from __future__ import annotations

__all__ = ["KLInvLower", "KLInvUpper"]


def __getattr__(name: str):
    if name in __all__:
        from pacbound.symbolic import core

        return getattr(core, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
