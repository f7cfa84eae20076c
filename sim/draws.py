"""Random draws the model makes many times a day, without per-call overhead.

``categorical(rng, weights, n)`` gives exactly the values of
``rng.choice(len(weights), size=n, p=weights / weights.sum())`` from the same
generator state (the same cumulative sum and the same uniforms), but skips
``choice``'s checks of ``p``, which cost more than the draw itself for the few
dozen buyers who start using on a day.
"""

from __future__ import annotations

import numpy as np


def cdf(weights: np.ndarray) -> np.ndarray:
    """Cumulative probabilities of the non-negative ``weights`` (as ``rng.choice`` builds them); empty if all are 0."""
    total = weights.sum()
    if total <= 0:
        return np.zeros(0)
    cumulative = np.cumsum(weights / total)
    cumulative /= cumulative[-1]
    return cumulative


def categorical(rng: np.random.Generator, weights: np.ndarray, n: int) -> np.ndarray:
    """``n`` indices drawn with probability proportional to the non-negative ``weights``."""
    return cdf(weights).searchsorted(rng.random(n), side="right")


def bernoulli_subset(rng: np.random.Generator, rows: np.ndarray, p: float) -> np.ndarray:
    """The ``rows`` that each pass a chance ``p`` independently, in their order.

    The same distribution as ``rows[rng.random(len(rows)) < p]``, but it draws
    the number of successes and then which rows they are, so a small ``p``
    over a large pool (ad reach, leaving the candidate pool) costs little.
    """
    m = rng.binomial(len(rows), min(1.0, max(0.0, p)))
    return rows[np.sort(rng.choice(len(rows), size=m, replace=False))]
