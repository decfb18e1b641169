"""Numeric bounds lowered from the symbolic module, the kl inverses and input checks."""
