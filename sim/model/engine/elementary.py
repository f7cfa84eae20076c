"""Elementary functions that give the same bits on every x86-64 CPU.

A run must be the same to the last digit on any machine. Plain arithmetic
(``+ - * /``, ``sqrt``) is IEEE 754 and rounds the same everywhere, and so are
NumPy's sums and cumulative sums: their order is fixed by NumPy's source (a
pairwise sum with eight accumulators), not by the CPU. What is not the same
everywhere, measured on one machine by switching its CPU's features off:

- a dot product (``w @ x``, ``np.dot``): OpenBLAS picks its kernel by CPU, and
  each kernel adds in another order;
- NumPy's ``exp``, ``log`` and ``**`` on arrays: with AVX-512 NumPy runs its
  own vector code, without it the C library's, and they differ in the last bit;
- the C library's ``exp``, ``log`` and ``pow`` (Python's ``math`` and ``**`` on
  floats, Numba's ``math.exp``, NumPy's ``lognormal``): glibc picks a variant
  by whether the CPU has fused multiply-add.

So every exponential, logarithm and power on the model's path is computed
here, by the algorithms of fdlibm (Sun's freely distributable libm, as in
FreeBSD's ``e_exp.c`` and ``e_log.c``) written as plain arithmetic and
compiled by Numba without fast-math (no reordering, no fused multiply-add),
so the same operations run in the same order on every CPU. ``exp`` and ``log``
are within one unit in the last place of the exact value; ``power(x, y)`` is
``exp(y * log(x))``, within about ``|y log x|`` units in the last place
(about 1e-14 relative for the model's prices and rates). What matters here
is not the last bit's accuracy but that it is the same everywhere.

Weighted means are summed by one loop in index order (``weighted_mean``),
never by BLAS. ``tests/test_elementary.py`` checks the functions' accuracy
and special values; ``tests/test_golden.py`` runs the golden cases under
several CPU settings and asks for the same tables.

The scalar functions are for compiled rules (inlined into their callers);
the ufuncs (``exp``, ``log``, ``power``) take floats or arrays from Python.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from sim.model.engine.compiled import inline, jit

# fdlibm's constants: ln 2 split in two (the high part has trailing zero bits, so k * LN2_HI is exact for
# |k| < 2**11), 1 / ln 2, and the coefficients of the minimax polynomials.
LN2_HI = 6.93147180369123816490e-01
LN2_LO = 1.90821492927058770002e-10
INV_LN2 = 1.44269504088896338700e00
EXP_P1 = 1.66666666666666019037e-01
EXP_P2 = -2.77777777770155933842e-03
EXP_P3 = 6.61375632143793436117e-05
EXP_P4 = -1.65339022054652515390e-06
EXP_P5 = 4.13813679705723846039e-08
EXP_OVERFLOW = 7.09782712893383973096e02  # above: exp(x) is infinite
EXP_UNDERFLOW = -7.45133219101941108420e02  # below: exp(x) is 0
LOG_LG1 = 6.666666666666735130e-01
LOG_LG2 = 3.999999999940941908e-01
LOG_LG3 = 2.857142874366239149e-01
LOG_LG4 = 2.222219843214978396e-01
LOG_LG5 = 1.818357216161805012e-01
LOG_LG6 = 1.531383769920937332e-01
LOG_LG7 = 1.479819860511658591e-01
SQRT_HALF = 0.70710678118654752440


@inline
def exp_(x):
    """``e ** x`` (fdlibm's ``__ieee754_exp``): ``x = k ln2 + r`` with ``|r| <= ln2 / 2``, a rational in ``r``."""
    if x != x:
        return x
    if x > EXP_OVERFLOW:
        return math.inf
    if x < EXP_UNDERFLOW:
        return 0.0
    if abs(x) < 3.725290298461914e-09:  # 2**-28: 1 + x is exact to the last bit
        return 1.0 + x
    k = int(math.floor(INV_LN2 * x + 0.5))
    hi = x - k * LN2_HI
    lo = k * LN2_LO
    r = hi - lo
    t = r * r
    c = r - t * (EXP_P1 + t * (EXP_P2 + t * (EXP_P3 + t * (EXP_P4 + t * EXP_P5))))
    y = 1.0 - ((lo - (r * c) / (2.0 - c)) - hi)
    return math.ldexp(y, k)  # exact, or rounded once where the result is subnormal


@inline
def log_(x):
    """Natural logarithm (fdlibm's ``__ieee754_log``): ``x = 2**k m`` with ``m`` near 1, a series in ``m - 1``."""
    if x != x or x == math.inf:
        return x
    if x < 0.0:
        return math.nan
    if x == 0.0:
        return -math.inf
    m, k = math.frexp(x)  # exact: x = m * 2**k, 0.5 <= m < 1
    if m < SQRT_HALF:
        m *= 2.0
        k -= 1
    f = m - 1.0  # exact (Sterbenz)
    s = f / (2.0 + f)
    z = s * s
    w = z * z
    t1 = w * (LOG_LG2 + w * (LOG_LG4 + w * LOG_LG6))
    t2 = z * (LOG_LG1 + w * (LOG_LG3 + w * (LOG_LG5 + w * LOG_LG7)))
    r = t2 + t1
    half_f2 = 0.5 * f * f
    return k * LN2_HI - ((half_f2 - (s * (half_f2 + r) + k * LN2_LO)) - f)


@inline
def power_(x, y):
    """``x ** y`` for ``x >= 0`` (``exp(y log x)``), with C's values at 0 and 1; NaN for a negative ``x``."""
    if y == 0.0 or x == 1.0:
        return 1.0
    if x != x or y != y or x < 0.0:
        return math.nan
    if x == 0.0:
        return 0.0 if y > 0.0 else math.inf
    return exp_(y * log_(x))


@numba.vectorize(["float64(float64)"], cache=True)
def exp(x):
    """``e ** x``, the same bits on every CPU (a NumPy ufunc: a float or an array)."""
    return exp_(x)


@numba.vectorize(["float64(float64)"], cache=True)
def log(x):
    """Natural logarithm, the same bits on every CPU (a NumPy ufunc)."""
    return log_(x)


@numba.vectorize(["float64(float64, float64)"], cache=True)
def power(x, y):
    """``x ** y`` for ``x >= 0``, the same bits on every CPU (a NumPy ufunc; broadcasts like ``**``)."""
    return power_(x, y)


@jit
def weighted_mean(weights, values):
    """``sum(weights * values) / sum(weights)``, each sum one loop in index order (no BLAS)."""
    total = 0.0
    weight = 0.0
    for i in range(len(weights)):
        total += weights[i] * values[i]
        weight += weights[i]
    return total / weight


def lognormal(rng: np.random.Generator, mean: float, sigma: float, n: int) -> np.ndarray:
    """``rng.lognormal(mean, sigma, n)`` with this module's ``exp``: the same normals, raised the same everywhere.

    NumPy's ``lognormal`` is ``exp`` of ``rng.normal(mean, sigma)`` by the C
    library; the normals themselves are CPU-independent (the ziggurat's rare
    tail uses ``log1p``, whose glibc code has no CPU variants).
    """
    return exp(rng.normal(mean, sigma, n))
