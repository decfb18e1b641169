"""The suite's own set-up (conftest.py): what it relies on from pytest-xdist, and the kl⁻¹
reference the tests check the package against."""

import os

import mpmath
import pytest


@pytest.mark.xdist_group("groups-check")
def test_grouped_tests_reach_the_scheduler_as_a_group(request):
    """conftest.py puts the readers of each session store in one xdist group, so that each
    store is built once per run. pytest-xdist carries a test's group to its scheduler as a
    suffix of the test's id; where the suffix is lost (pytest 9.2 with pytest-xdist 3.8), the
    groups are silently ignored and every worker builds every store. (This checks that
    mechanism: a pytest-xdist that carries groups another way needs this test changed.)"""
    if os.environ.get("PYTEST_XDIST_WORKER") is None or not request.config.getvalue("loadgroup"):
        pytest.skip("groups are scheduled only under pytest-xdist's loadgroup (the default)")
    assert request.node.nodeid.endswith("@groups-check"), (
        f"pytest-xdist ignored the group of {request.node.nodeid}: see the pytest pin in "
        "pyproject.toml"
    )


def test_the_kl_inverse_reference_meets_its_closed_forms_and_its_budget(kl_inverse):
    """kl(0 ‖ q) = −ln(1 − q) and kl(1 ‖ q) = −ln q give kl⁻¹₊(0, B) = 1 − e^{−B} and
    kl⁻¹₋(1, B) = e^{−B}; no budget keeps q = p, an infinite one reaches the end of [0, 1];
    inside, kl(p ‖ q) = B at the inverse, with kl written out here."""
    for budget in (0.01, 0.5, 3.0):
        with mpmath.workdps(30):
            assert abs(kl_inverse(0, budget) - (1 - mpmath.exp(-budget))) < 1e-18
            assert abs(kl_inverse(1, budget, upper=False) - mpmath.exp(-budget)) < 1e-18
    assert abs(kl_inverse(0.3, 0) - 0.3) < 1e-18 and abs(kl_inverse(0.3, 0, False) - 0.3) < 1e-18
    assert 1 - kl_inverse(0.2, mpmath.inf) < 1e-18 and kl_inverse(0.2, mpmath.inf, False) < 1e-18
    for p, budget in ((0.1, 0.05), (0.6, 0.2), (0.02, 0.01)):
        for upper in (True, False):
            q = kl_inverse(p, budget, upper)
            assert (q > p) is upper
            with mpmath.workdps(30):
                kl = p * mpmath.log(p / q) + (1 - p) * mpmath.log((1 - p) / (1 - q))
            assert abs(kl - budget) < 1e-15
