"""pacbound: PAC-Bayes bounds, optimal fine-tuning data difficulty, and their checks.

Bounds are reported in float64, so importing pacbound turns on ``jax_enable_x64``; code that
trains in float32 passes its dtypes explicitly.
"""

import jax

jax.config.update("jax_enable_x64", True)

__version__ = "0.1.0"
