"""The certificate summary: the first budget at which a certificate would stop being vacuous."""

import numpy as np
import pytest

from pacbound.analysis.certificates import first_budget_below
from pacbound.numeric.bounds import certificate_bound


def test_the_extrapolated_budget_is_the_first_one_below_the_threshold():
    def certificate(risk, kl, n):
        return float(certificate_bound(risk, 192, kl, n, 0.05, 16, 0.5))

    risks, kls = np.array([0.05, 0.0, 0.5]), np.array([40.0, 5000.0, 0.0])
    first = first_budget_below(risks, kls, 192, 0.05, 16, 0.5, 0.3, 8)
    for risk, kl, n in zip(risks[:2], kls[:2], first[:2], strict=True):
        assert certificate(risk, kl, n) < 0.3 <= certificate(risk, kl, n - 1)
    # A risk whose Monte-Carlo correction alone exceeds the threshold never gets there.
    assert np.isinf(first[2])
    # Already below at the start: the start itself.
    assert first_budget_below([0.0], [0.0], 192, 0.05, 16, 0.5, 0.9, 64)[0] == 64


def test_more_entries_than_one_padded_length_and_any_shape():
    """40 entries (past the first padded length, 32) in a 2-d array: each first budget is
    checked against the certificate evaluated alone."""
    rng = np.random.default_rng(3)
    risks, kls = rng.uniform(0.0, 0.3, (5, 8)), rng.exponential(300.0, (5, 8))
    first = first_budget_below(risks, kls, 192, 0.05, 16, 0.5, 0.4, 8)
    assert first.shape == (5, 8) and np.isfinite(first).all() and (first > 8).all()
    for risk, kl, n in zip(risks.ravel(), kls.ravel(), first.ravel(), strict=True):
        above = float(certificate_bound(risk, 192, kl, n - 1, 0.05, 16, 0.5))
        assert float(certificate_bound(risk, 192, kl, n, 0.05, 16, 0.5)) < 0.4 <= above
    # No entry: nothing to find, and the other arguments are still checked.
    assert first_budget_below([], [], 192, 0.05, 16, 0.5, 0.4, 8).shape == (0,)
    with pytest.raises(ValueError, match=r"^delta = 2 is out of range"):
        first_budget_below([], [], 192, 2.0, 16, 0.5, 0.4, 8)
