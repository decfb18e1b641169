"""Which code produced a result: the package version and a hash of the source that made it.

A store records, per experiment, the code that computed its cells (``code_id``: version, the
hash of every module that produces results, and the platform whose compiled programs ran
them, as another platform's numbers differ in the last digits); a sweep that would resume
it under other code is refused unless told to go on, which records both. The cached base
model is keyed by the hash of the modules that pretrain it, so a change there retrains it.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

import jax

from pacbound import __version__

_ROOT = Path(__file__).parent

#: The modules whose code decides a stored number (the reports are recomputed from the
#: store, so the modules that only read it are not here).
RESULT_MODULES = (
    "config.py",
    "model.py",
    "numeric",
    "run/base_loss.py",
    "run/certify.py",
    "run/measure.py",
    "run/sweep.py",
    "symbolic",
    "tasks",
    "train.py",
)
#: The modules that decide a pretrained base.
BASE_MODULES = ("model.py", "tasks", "train.py")


@cache
def source_hash(parts: tuple[str, ...] = RESULT_MODULES) -> str:
    """SHA-256 (first 16 hex digits) over the path and bytes of every .py file of ``parts``."""
    digest = hashlib.sha256()
    for part in sorted(parts):
        path = _ROOT / part
        for file in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            digest.update(file.relative_to(_ROOT).as_posix().encode() + b"\0")
            digest.update(file.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def code_id() -> str:
    """``<version>+<source hash> on <platform>``: what the store records beside each
    experiment (platform: JAX's backend, "cpu", "gpu" or "tpu")."""
    return f"{__version__}+{source_hash()} on {jax.default_backend()}"
