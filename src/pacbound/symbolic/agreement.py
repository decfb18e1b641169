"""How far a measured ordering of two cells can be trusted: Hoeffding's inequality.

Two target errors are each estimated as Σ_k w_T(k)·(mean error over m_k test problems of
level k). Their difference is a sum of independent terms, the one of test problem i of
level k lying in an interval of width 2·w_T(k)/m_k, so Hoeffding's lemma gives it the
variance proxy v = Σ_k w_T(k)²/m_k, and the measured sign of a true difference Δ is wrong
with probability at most exp(−Δ²/(2v)).
"""

from __future__ import annotations

import sympy as sp
from sympy.codegen.cfunctions import expm1

difference = sp.Symbol("difference", real=True)  # Δ: difference of two measured errors
variance_proxy = sp.Symbol("variance_proxy", positive=True)  # v
level_weight = sp.Symbol("level_weight", nonnegative=True)  # w_T(k)
level_test_size = sp.Symbol("level_test_size", positive=True)  # m_k

#: v's term for one level; v is the sum over levels.
variance_proxy_term = level_weight**2 / level_test_size

#: Confidence 1 − exp(−Δ²/(2v)) that the measured order of two cells is the true one.
sign_confidence = -expm1(-(difference**2) / (2 * variance_proxy))
