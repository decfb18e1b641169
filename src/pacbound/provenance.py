"""Which code produced a result: the package version and a hash of the source that made it.

A store records, per experiment, the code that computed its cells (``code_id``: version, the
hash of every module that produces results, and the platform whose compiled programs ran
them, as another platform's numbers differ in the last digits); a sweep that would resume
it under other code is refused unless told to go on, which records both. The cached base
model is keyed by the hash of the modules that pretrain it, so a change there retrains it.

Every identity hash of the package (an experiment's config, a cached base, the source) is
``short_hash``: the first 16 hex digits of a SHA-256. Stores and committed reports are keyed
by these values, so the text each one hashes must not change (tests/test_hashes.py).
"""

from __future__ import annotations

import hashlib
import json
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
    "recipe.py",
    "run/base_loss.py",
    "run/certify.py",
    "run/measure.py",
    "run/sweep.py",
    "symbolic",
    "tasks",
    "train.py",
)
#: The modules that decide a pretrained base.
BASE_MODULES = ("model.py", "recipe.py", "tasks", "train.py")


def short_hash(data: bytes | str) -> str:
    """The first 16 hex digits of the SHA-256 of ``data`` (text as UTF-8)."""
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()[:16]


def json_hash(value) -> str:
    """``short_hash`` of ``value`` as JSON with sorted keys (values JSON cannot hold as their
    ``str``): equal values hash equally, whatever order their dicts were built in."""
    return short_hash(json.dumps(value, sort_keys=True, default=str))


@cache
def source_hash(parts: tuple[str, ...] = RESULT_MODULES) -> str:
    """``short_hash`` of the path and bytes of every .py file of ``parts``."""
    chunks = []
    for part in sorted(parts):
        path = _ROOT / part
        for file in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            chunks += [file.relative_to(_ROOT).as_posix().encode(), file.read_bytes()]
    return short_hash(b"".join(chunk + b"\0" for chunk in chunks))


def code_id() -> str:
    """``<version>+<source hash> on <platform>``: what the store records beside each
    experiment (platform: JAX's backend, "cpu", "gpu" or "tpu")."""
    return f"{__version__}+{source_hash()} on {jax.default_backend()}"
