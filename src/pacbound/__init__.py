"""pacbound: PAC-Bayes bounds, optimal fine-tuning data difficulty, and their checks.

The package reads as the pipeline, each stage importing only from those before it (a test
checks it): ``provenance`` and ``inputs`` (a user's files read, each mistake one line);
``symbolic`` (every formula, once) → ``numeric`` (lowered formulas, the one argmin) →
``tasks``, ``model``, ``train`` → ``config`` → ``store`` → ``run`` (cells into the store) →
``analysis`` (plain data) → ``report`` (Markdown and figures) → ``pipeline`` (store →
analysis → report → files) → ``cli``. Two choices differ
from a flatter map: the certificate's settings (``CertifyConfig``) live in ``config`` with
every other table of an experiment, so the config does not depend on the stage that runs
it; and the command line is a package (``cli.parser``, ``cli.commands``), its argument
declarations apart from its one pipeline call per command.

Bounds are reported in float64, so importing pacbound turns on ``jax_enable_x64``; code that
trains in float32 passes its dtypes explicitly. It does so without importing JAX (a second
or more), so that the command line answers ``--help`` at once: JAX reads ``JAX_ENABLE_X64``
when it is first imported, and is told directly where it already was.
"""

import os
import sys

if "jax" in sys.modules:
    sys.modules["jax"].config.update("jax_enable_x64", True)
else:
    os.environ["JAX_ENABLE_X64"] = "1"

__version__ = "0.1.0"
