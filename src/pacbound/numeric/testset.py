"""Test-set bounds and intervals for a risk measured on independent labelled draws.

With k errors in M independent Bernoulli trials of mean p, Langford's (2005) test-set bound
is the largest p whose binomial tail P(at most k errors) (``pacbound.symbolic.bounds.
binomial_tail``) is still ≥ δ. It is evaluated through the identity tail = I_{1−p}(M − k,
k + 1) with SciPy's inverse of the regularised incomplete beta function, and tested against
the symbolic tail summed in mpmath. The two-sided interval is Clopper–Pearson's (each side
such a tail inversion at α/2).
"""

from __future__ import annotations

import numpy as np
from scipy.special import betaincinv

from pacbound.numeric.validate import check_range


def _check(errors, trials, confidence_name, confidence):
    check_range("trials", trials, 1.0)
    check_range("errors", errors, 0.0)
    errors, trials = np.asarray(errors, float), np.asarray(trials, float)
    if np.any(errors > trials) or np.any(errors != np.round(errors)):
        raise ValueError(f"errors = {errors} is out of range: allowed integers in [0, trials]")
    check_range(confidence_name, confidence, 0.0, 1.0, low_open=True, high_open=True)
    return errors, trials


def _upper(errors, trials, delta):
    # The p with I_{1−p}(M − k, k + 1) = δ; p = 1 when every trial is an error.
    inner = betaincinv(np.maximum(trials - errors, 1.0), errors + 1.0, delta)
    return np.where(errors >= trials, 1.0, 1.0 - inner)


def binomial_test_bound(errors, trials, delta):
    """Largest p with P(Binomial(trials, p) ≤ errors) ≥ δ: a one-sided upper bound on the
    risk that holds with probability ≥ 1 − δ over the test draws. Broadcasts."""
    errors, trials = _check(errors, trials, "delta", delta)
    return _upper(errors, trials, delta)


def clopper_pearson(errors, trials, alpha=0.05):
    """(low, high): the exact two-sided 1 − α interval of a Bernoulli mean. Broadcasts."""
    errors, trials = _check(errors, trials, "alpha", alpha)
    high = _upper(errors, trials, alpha / 2)
    # The lower end mirrors the upper one: the upper bound on 1 − p from the successes.
    low = 1.0 - _upper(trials - errors, trials, alpha / 2)
    return low, high
