"""Shared test settings: one hypothesis profile sized for the 2-core CI machine."""

import os

from hypothesis import HealthCheck, settings

# deadline=None: the first call of a jitted function compiles, which takes far longer than
# any later call. max_examples is bounded so the whole suite stays within its time budget.
settings.register_profile(
    "ci",
    deadline=None,
    max_examples=60,
    derandomize=True,  # the same examples on every run: CI never flakes on a lucky draw
    suppress_health_check=[HealthCheck.too_slow],
)
# A deeper run for local checks: HYPOTHESIS_PROFILE=thorough python -m pytest
settings.register_profile("thorough", deadline=None, max_examples=2000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
