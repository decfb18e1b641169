"""The one argmin with ties: every entry within the tolerance of the minimum, NaN never
minimal, the first of the tied minima by index."""

import jax
import numpy as np
import pytest

from pacbound.numeric.argmin import first_minimum, tied_minima


def test_ties_within_the_tolerance_and_nan_never_minimal():
    assert tied_minima(np.array([0.3, 0.1, 0.1 + 1e-12])).tolist() == [False, True, False]
    assert tied_minima(np.array([0.3, 0.1, 0.1 + 1e-12]), 1e-9).tolist() == [False, True, True]
    assert tied_minima(np.array([np.nan, 0.2, 0.25]), 0.05).tolist() == [False, True, True]
    assert not tied_minima(np.array([np.nan, np.nan])).any()
    assert first_minimum(np.array([[0.2, 0.1], [0.2, 0.3]]), axis=0).tolist() == [0, 0]
    with pytest.raises(ValueError, match="tolerance"):
        tied_minima(np.array([0.1]), -1.0)


def test_the_first_minimum_is_the_easiest_of_the_tied_and_skips_nan():
    values = np.array([[np.nan, 0.5], [0.2, 0.5], [0.2, 0.4]])
    assert first_minimum(values, axis=0).tolist() == [1, 2]
    assert first_minimum(values, tolerance=0.1, axis=0).tolist() == [1, 0]


def test_traced_values_choose_as_concrete_ones_do():
    """Under jax.jit (Catoni's best C is chosen inside a jitted bound) the same masks and
    indices as numpy's, a column with no finite entry included: all False, index 0."""
    values = np.array([[np.nan, 0.5, np.nan], [0.2, 0.5, np.inf], [0.2, 0.4, -np.inf]])
    for tolerance in (0.0, 0.1):
        concrete = tied_minima(values, tolerance), first_minimum(values, tolerance)
        traced = jax.jit(lambda v, t=tolerance: (tied_minima(v, t), first_minimum(v, t)))(values)
        assert isinstance(concrete[0], np.ndarray) and isinstance(traced[0], jax.Array)
        for mine, reference in zip(traced, concrete, strict=True):
            assert np.asarray(mine).tolist() == reference.tolist()
    assert first_minimum(values).tolist() == [1, 2, 0]
    assert not tied_minima(values)[:, 2].any()
