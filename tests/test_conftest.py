"""The suite's own set-up (conftest.py): what it relies on from pytest-xdist."""

import os

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
