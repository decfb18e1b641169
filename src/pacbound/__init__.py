"""pacbound: PAC-Bayes bounds, optimal fine-tuning data difficulty, and their checks.

The package reads as the pipeline, each stage importing only from those before it (a test,
tests/test_layers.py, checks every import, those inside functions too): ``provenance`` (which
code computed a result, and the one hash helper), ``inputs`` (a user's files read, each
mistake one line), ``recipe`` (how a model is trained, as plain data) and ``bound_options``
(each bound form's inputs, ranges and options, as plain data); ``symbolic`` (every
formula, once) → ``numeric`` (lowered formulas, the one argmin) → ``tasks``, ``model`` →
``train`` → ``config``, ``limits`` → ``store`` → ``run`` (cells into the store) → ``analysis``
(plain data) → ``report`` (Markdown and figures) → ``pipeline`` (store → analysis → report →
files) → ``cli``. Three stages skip some of those below them: ``config`` never imports the trainer
(the optimizer's and the pretraining's settings are ``recipe``'s, which both read);
``analysis`` never imports ``run`` or ``train`` (it takes stored cells or the pilot runs of
any training stack; a cell's seed and a mixture's error are ``tasks.base``'s); and the
command line imports only the pipeline, the report's renderers, the config, the bound
options and the store's default path.
Two choices differ from a flatter map: the certificate's settings (``CertifyConfig``) live in
``config`` with every other table of an experiment, so the config does not depend on the
stage that runs it; and the command line is a package (``cli.parser``, ``cli.commands``), its
argument declarations apart from its one pipeline call per command.

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
