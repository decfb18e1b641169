"""The inputs of a bound as data: each one's keyword, allowed range, default and help text,
and each bound form's own parameters. ``numeric.bounds`` binds, checks and evaluates with
this table and ``cli.parser`` makes the ``bound`` command's options from it, so an input is
declared once. Standard library only: the parser imports it and still answers --help at once.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

DEFAULT_MC_DELTA_SHARE = 0.5


@dataclass(frozen=True)
class Param:
    """One input of a bound: the keyword of ``evaluate_bound`` (and the option's dest), where
    its values may lie, and its command-line option."""

    name: str
    help: str
    low: float = -math.inf
    high: float = math.inf
    low_open: bool = False
    high_open: bool = False
    default: object = None  # None: not given (a form's parameter is then chosen by the form)
    required: bool = False
    positional: bool = False
    count: bool = False  # a whole number ≥ low: a sample size, a number of draws
    each: str = ""  # set: a non-empty list of values, each of them this (e.g. "C > 0")
    label: str = ""  # its name in errors and in the flag, where not ``name``
    metavar: str = ""

    def __post_init__(self):
        if not self.label:
            object.__setattr__(self, "label", self.name)

    @property
    def flag(self) -> str:
        return "--" + self.label.replace("_", "-")


@dataclass(frozen=True)
class FormOptions:
    """A bound form's side of the command line: its name in --kind's help, its own
    parameters, and what the ``parameter`` column shows for it (empty: nothing)."""

    label: str
    params: tuple[Param, ...] = ()
    parameter: str = ""


_UNIT = {"low": 0.0, "high": 1.0}
_OPEN_UNIT = {**_UNIT, "low_open": True, "high_open": True}

#: The inputs of every bound form, in the order of the functions' positional arguments.
INPUTS: tuple[Param, ...] = (
    Param("emp_risk", "R̂_S(Q) in [0, 1]", **_UNIT, required=True, positional=True),
    Param(
        "kl_div",
        "KL(Q‖P) in [0, inf), in nats",
        low=0.0,
        required=True,
        positional=True,
        label="kl",
        metavar="KL",
    ),
    Param(
        "n",
        "sample size, an integer in [1, inf)",
        low=1,
        count=True,
        required=True,
        positional=True,
    ),
    Param("delta", "confidence level in (0, 1)", **_OPEN_UNIT, required=True, positional=True),
    Param("shift_tv", "TV(D_T, D_d) in [0, 1]", **_UNIT, default=0.0, positional=True),
    Param(
        "mc_samples",
        "--emp-risk is a Monte-Carlo estimate over this many draws θ ~ Q",
        low=1,
        count=True,
    ),
    Param(
        "mc_delta_share",
        "share of delta spent on the Monte-Carlo step, in (0, 1)",
        **_OPEN_UNIT,
        default=DEFAULT_MC_DELTA_SHARE,
    ),
)

#: Each bound form's options, by kind, in the order of ``symbolic.bounds.BOUND_FORMS``.
FORM_OPTIONS: dict[str, FormOptions] = {
    "mcallester": FormOptions("McAllester–Maurer"),
    "kl": FormOptions("kl"),
    "quad": FormOptions("quad"),
    "lambda": FormOptions(
        "Thiemann's λ",
        (Param("lam", "λ in (0, 2)", 0.0, 2.0, low_open=True, high_open=True, label="lambda"),),
        "λ for the λ form",
    ),
    "catoni": FormOptions(
        "Catoni",
        (Param("catoni_grid", "comma-separated values C > 0", 0.0, low_open=True, each="C > 0"),),
        "the chosen C for Catoni",
    ),
}


def parameters(forms: Iterable[FormOptions]) -> tuple[Param, ...]:
    """``INPUTS``, then the forms' own parameters, once each by name: one set of inputs
    serves every kind (``--kind all`` passes them all), each form reading its own."""
    found = {param.name: param for param in INPUTS}
    for form in forms:
        for param in form.params:
            found.setdefault(param.name, param)
    return tuple(found.values())
