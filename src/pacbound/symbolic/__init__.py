"""Symbolic formulas (sympy): the single source of every bound pacbound computes."""
