"""The pipeline: store → analysis → report → files. Each command of ``pacbound.cli`` is one
call here; the stages below it know nothing of each other's files.

The experiments' steps live in ``steps`` (sweep, figures, certify, …), the theory's in
``theory``, and one module per other command (``recommend``, ``predictions``,
``replication``, ``objectives``, ``difficulty``). The package imports none of them until a
name is asked for, so that a command needs only its own stages: ``pacbound bound`` or
``recommend`` on a pilot file loads neither the store nor matplotlib.
"""

from __future__ import annotations

import importlib

#: The names the package offers, each with the module that defines it.
_HOMES = {
    **dict.fromkeys(
        (
            "base_errors",
            "base_strengths",
            "certificates",
            "certify",
            "claims",
            "committed_strengths",
            "compare",
            "comparison",
            "compilation_cache",
            "experiments",
            "export",
            "family_reports",
            "figures",
            "finished_experiments",
            "is_exact",
            "probe",
            "reproduce_exact",
            "stored",
            "stored_experiments",
            "stored_runs",
            "sweep",
            "write_certificates",
            "write_claims",
        ),
        "steps",
    ),
    "objectives_claims": "objectives",
    "token_weights": "objectives",
    "difficulty_comparisons": "difficulty",
    "write_difficulty": "difficulty",
}


def __getattr__(name: str):
    if name not in _HOMES:
        raise AttributeError(f"module 'pacbound.pipeline' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"pacbound.pipeline.{_HOMES[name]}"), name)
    globals()[name] = value  # asked once: a plain attribute from then on
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOMES))
