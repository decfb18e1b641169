"""pacbound: PAC-Bayes bounds, optimal fine-tuning data difficulty, and their checks.

The package reads as the pipeline, each stage importing only from those before it (a test
checks it): ``provenance``; ``symbolic`` (every formula, once) → ``numeric`` (lowered
formulas, the one argmin) → ``tasks``, ``model``, ``train`` → ``config`` → ``store`` →
``run`` (cells into the store) → ``analysis`` (plain data) → ``report`` (Markdown and
figures) → ``pipeline`` (store → analysis → report → files) → ``cli``. Two choices differ
from a flatter map: the certificate's settings (``CertifyConfig``) live in ``config`` with
every other table of an experiment, so the config does not depend on the stage that runs
it; and the command line is a package (``cli.parser``, ``cli.commands``), its argument
declarations apart from its one pipeline call per command.

Bounds are reported in float64, so importing pacbound turns on ``jax_enable_x64``; code that
trains in float32 passes its dtypes explicitly.
"""

import jax

jax.config.update("jax_enable_x64", True)

__version__ = "0.1.0"
