"""Symbolic formulas (sympy): the single source of every formula pacbound computes."""
