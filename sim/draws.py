"""Random draws the model makes many times a day, without per-call overhead.

``categorical(rng, weights, n)`` gives exactly the values of
``rng.choice(len(weights), size=n, p=weights / weights.sum())`` from the same
generator state (the same cumulative sum and the same uniforms), but skips
``choice``'s checks of ``p``, which cost more than the draw itself for the few
dozen buyers who start using on a day.
"""

from __future__ import annotations

import numpy as np
from scipy.special import gammaln, xlog1py, xlogy


def categorical(rng: np.random.Generator, weights: np.ndarray, n: int) -> np.ndarray:
    """``n`` indices drawn with probability proportional to the non-negative ``weights``."""
    cdf = np.cumsum(weights / weights.sum())
    cdf /= cdf[-1]
    return cdf.searchsorted(rng.random(n), side="right")


def binomial_shares(rng: np.random.Generator, k: int, p: float, n: int) -> np.ndarray:
    """``n`` draws of Binomial(``k``, ``p``) / ``k``, by inverting the distribution function.

    The arrest rates agents learn from are small, so most draws are 0: one
    uniform each, and a search of the distribution function only for the rest.
    """
    p = min(1.0, max(0.0, p))
    j = np.arange(k + 1)
    log_pmf = gammaln(k + 1) - gammaln(j + 1) - gammaln(k - j + 1) + xlogy(j, p) + xlog1py(k - j, -p)
    cdf = np.cumsum(np.exp(log_pmf))
    cdf[-1] = 1.0
    u = rng.random(n)
    seen = np.zeros(n)
    some = np.flatnonzero(u >= cdf[0])
    seen[some] = cdf.searchsorted(u[some], side="right")
    return seen / k
