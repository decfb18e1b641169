"""ln, ln(1 + x), eˣ and eˣ − 1 for the kl solver, written for XLA to vectorise in float64.

Why not ``jnp.log``: XLA on CPU lowers a float64 log to one scalar libm call per lane, so
inside the kl solver's fused loop every log costs four calls and four lane shuffles per
vector, and the logs were most of the solver's time. Here ln is plain arithmetic that
LLVM vectorises: split x = m·2^k with m ∈ [√½, √2) from its bits, then
ln m = 2·atanh(s) with s = (m − 1)/(m + 1), |s| ≤ 0.1716, by its Taylor series
2s + 2s³/3 + …, whose ten terms reach 4e-18. ``exp_and_expm1`` gives both eˣ and eˣ − 1
for x ≤ 0 from one reduction x = k·ln 2 + r, |r| ≤ ln2/2, and one Taylor polynomial in r,
and ``expm1_small`` is that polynomial alone, for the solver's last step. Measured against
mpmath (tests/numeric/test_elementary.py), every function here is within 2 ulp.

Fusion. XLA fuses an expensive operation (a divide, or its own exp or log) into its
consumers only when it has one user; with several it is written out to memory, and the
solver falls apart into separate kernels (with jnp.exp in place of ``exp_and_expm1`` it
runs 1.6× slower). So each divide below feeds exactly one operation, and everything else
is multiplies, adds, selects and bit operations, which XLA duplicates freely.

Other dtypes use the jnp functions: XLA already vectorises them in float32.
"""

from __future__ import annotations

import decimal
import math

import jax.numpy as jnp
import numpy as np
from jax import lax

# ln 2 split so that k·_LN2_HI is exact for every exponent k (its low 32 bits are zero) and
# _LN2_LO carries the rest to full precision: in eˣ, k·ln 2 is subtracted from x with k up
# to 1022, so ln 2 must be right to well beyond double precision.
_LN2_HI = float(np.int64(np.float64(np.log(2)).view(np.int64) & ~0xFFFFFFFF).view(np.float64))
with decimal.localcontext() as _context:
    _context.prec = 40
    _LN2_LO = float(decimal.Decimal(2).ln() - decimal.Decimal(_LN2_HI))
_SQRT_HALF_BITS = np.int64(np.float64(np.sqrt(0.5)).view(np.int64))
_MANTISSA_BITS = 52
# Taylor coefficients of atanh(s)/s − 1 = Σ_j z^j/(2j + 1), doubled: 2/(2j + 1), j = 1 … 10.
_ATANH_TERMS = [2.0 / (2 * j + 1) for j in range(1, 11)]
# Taylor coefficients of (eʳ − 1 − r)/r², 1/(j + 2)!, j = 0 … 11: thirteen terms of eʳ,
# whose remainder on |r| ≤ ln2/2 is below 1e-17.
_EXP_TERMS = [1.0 / math.factorial(j + 2) for j in range(12)]
_INV_LN2 = 1.0 / math.log(2)
# Below this eˣ is under the smallest normal number; XLA on CPU flushes it to 0.
_EXP_FLUSH = math.log(np.finfo(np.float64).tiny)
_DIRECT_LO = float(np.sqrt(0.5)) - 1.0  # ln(1 + x) needs no reduction for x in this range
_DIRECT_HI = float(np.sqrt(2.0)) - 1.0


def _polynomial(x, coefficients):
    """Σ coefficients[j]·x^j by Estrin's scheme: a shorter chain of dependent operations
    than Horner's rule, which matters because the solver is latency-bound."""
    terms = list(coefficients)
    power = x
    while len(terms) > 1:
        pairs = [terms[i] + terms[i + 1] * power for i in range(0, len(terms) - 1, 2)]
        terms = pairs + terms[len(pairs) * 2 :]  # an odd last term waits for the next level
        power = power * power
    return terms[0]


def _log_one_plus(f, k):
    """k·ln 2 + ln(1 + f) for f ∈ [√½ − 1, √2 − 1] and integer-valued k."""
    two_plus_f = 2.0 + f
    s = f / two_plus_f
    # s² as its own divide with a single user (the max, a no-op on s² ≥ 0): a divide used
    # by the many terms of the series would split the fusion.
    z = jnp.maximum((f * f) / (two_plus_f * two_plus_f), 0.0)
    series = z * _polynomial(z, _ATANH_TERMS)
    # ln(1 + f) = 2s + s·series = f − s·(f − series), since 2s = f − s·f.
    k = k.astype(f.dtype)
    return k * _LN2_HI + ((f - s * (f - series)) + k * _LN2_LO)


def _reduce(x):
    """(m − 1, k) with x = m·2^k and m ∈ [√½, √2), for positive normal x."""
    bits = lax.bitcast_convert_type(x, jnp.int64)
    k = (bits - _SQRT_HALF_BITS) >> _MANTISSA_BITS
    m = lax.bitcast_convert_type(bits - (k << _MANTISSA_BITS), x.dtype)
    return m - 1.0, k


def _edges(x, value):
    """ln at 0, below the normal range, +inf, negative and NaN arguments."""
    value = jnp.where(x >= jnp.finfo(x.dtype).tiny, value, jnp.where(x >= 0, -jnp.inf, jnp.nan))
    value = jnp.where(x == jnp.inf, jnp.inf, value)
    return jnp.where(jnp.isnan(x), x, value)


def log(x):
    """ln x, elementwise; subnormal x counts as 0, as XLA flushes it on CPU anyway."""
    if x.dtype != jnp.float64:
        return jnp.log(x)
    f, k = _reduce(x)
    return _edges(x, _log_one_plus(f, k))


def log_given_complement(x, complement):
    """ln x for x ∈ [0, 1] from x and 1 − x, each exact where it is small.

    Where complement ≤ 1 − √½, ln x = ln(1 − complement) takes the series on −complement
    itself, so x may have rounded to 1; elsewhere x is reduced as in ``log``. One series
    either way.
    """
    if x.dtype != jnp.float64:
        return jnp.where(complement < -_DIRECT_LO, jnp.log1p(-complement), jnp.log(x))
    direct = complement <= -_DIRECT_LO
    f_reduced, k_reduced = _reduce(x)
    f = jnp.where(direct, -complement, f_reduced)
    k = jnp.where(direct, 0, k_reduced)
    value = _log_one_plus(f, k)
    return jnp.where(direct, value, _edges(x, value))


def log1p(x):
    """ln(1 + x), elementwise, accurate for small x."""
    if x.dtype != jnp.float64:
        return jnp.log1p(x)
    # Near 0 the series takes x itself, so 1 + x is never rounded; elsewhere 1 + x is
    # rounded, but there |ln(1 + x)| > 0.34 and that rounding costs under an ulp.
    one_plus_x = 1.0 + x
    direct = (x >= _DIRECT_LO) & (x <= _DIRECT_HI)
    f_reduced, k_reduced = _reduce(one_plus_x)
    f = jnp.where(direct, x, f_reduced)
    k = jnp.where(direct, 0, k_reduced)
    value = _log_one_plus(f, k)
    return jnp.where(direct, value, _edges(one_plus_x, value))


def expm1_small(x):
    """eˣ − 1 for |x| ≤ ln2/2 (to 1e-17 there; the error grows as |x|¹⁴ beyond), any dtype."""
    return x + (x * x) * _polynomial(x, _EXP_TERMS)


def exp_and_expm1(x):
    """(eˣ, eˣ − 1) for x ≤ 0 (+0 and −inf included), elementwise.

    eˣ − 1 keeps its relative precision near x = 0. Where eˣ is below the smallest normal
    number it is 0, and subnormal x counts as 0, as XLA would flush both on CPU.
    """
    if x.dtype != jnp.float64:
        return jnp.exp(x), jnp.expm1(x)
    flushed = x < _EXP_FLUSH
    safe_x = jnp.where(flushed, 0.0, x)
    k = jnp.floor(safe_x * _INV_LN2 + 0.5)
    expm1_r = expm1_small((safe_x - k * _LN2_HI) - k * _LN2_LO)
    # 2^k from its bits; k ≥ −1022 here, so the power is a normal number.
    power = lax.bitcast_convert_type((k.astype(jnp.int64) + 1023) << _MANTISSA_BITS, jnp.float64)
    exp = jnp.where(flushed, 0.0, power + power * expm1_r)
    expm1 = jnp.where(flushed, -1.0, jnp.where(k == 0, expm1_r, exp - 1.0))
    exp = jnp.where(jnp.isnan(x), x, exp)
    return exp, jnp.where(jnp.isnan(x), x, expm1)
