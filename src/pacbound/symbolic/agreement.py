"""How far a measured ordering of two cells can be trusted: a sub-Gaussian tail.

A measured difference of two cells' target errors whose noise is sub-Gaussian with variance
proxy v (for test sampling alone, Hoeffding's lemma gives v = Σ_k w_T(k)²/m_k with m_k test
problems of level k and target weight w_T(k)) has the wrong sign for a true difference Δ
with probability at most exp(−Δ²/(2v)). pacbound.analysis.predict takes v from the runs
themselves: the pooled variance of a difference of two cell means over seeds, which holds the test
sampling and the training noise both.
"""

from __future__ import annotations

import sympy as sp
from sympy.codegen.cfunctions import expm1

difference = sp.Symbol("difference", real=True)  # Δ: difference of two measured errors
variance_proxy = sp.Symbol("variance_proxy", positive=True)  # v
#: Confidence 1 − exp(−Δ²/(2v)) that the measured order of two cells is the true one.
sign_confidence = -expm1(-(difference**2) / (2 * variance_proxy))

# --- ties: differences the runs cannot resolve ---------------------------------------------

pooled_variance = sp.Symbol("pooled_variance", nonnegative=True)  # s²: within-cell, over seeds
seeds = sp.Symbol("seeds", positive=True)  # S: seeds per cell
test_size = sp.Symbol("test_size", positive=True)  # m: held-out problems per level

#: The tie tolerance: the standard deviation √(2·s²/S) of a difference of two cell means.
tie_tolerance = sp.sqrt(2 * pooled_variance / seeds)

difference_variance = sp.Symbol("difference_variance", nonnegative=True)  # s_Δ², paired
#: The same with paired seeds (every cell draws from the same random numbers, seed by seed):
#: the standard deviation √(s_Δ²/S) of a mean paired difference, s_Δ² the variance over seeds
#: of a difference of two cells.
paired_tie_tolerance = sp.sqrt(difference_variance / seeds)

#: Two standard deviations of a difference of two per-level seed means under the worst-case
#: binomial variance ¼ per problem: the noise allowance of the assumption checks.
level_tolerance = 2 * sp.sqrt(2 * sp.Rational(1, 4) / (test_size * seeds))
