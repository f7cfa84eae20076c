"""Random draws the model makes many times a day, without per-call overhead.

``categorical(rng, weights, n)`` gives exactly the values of
``rng.choice(len(weights), size=n, p=weights / weights.sum())`` from the same
generator state (the same cumulative sum and the same uniforms), but skips
``choice``'s checks of ``p``, which cost more than the draw itself for the few
dozen buyers who start using on a day.
"""

from __future__ import annotations

import numpy as np


def generator(seed: int | np.random.SeedSequence | np.random.Generator | None) -> np.random.Generator:
    """A run's random generator: PCG64DXSM seeded by ``seed`` (an int is a ``SeedSequence``'s entropy).

    PCG64DXSM is NumPy's recommended successor of its default PCG64, with the
    same statistical quality; on this project's machines it draws uniforms
    about 1.5x faster. A ``Generator`` is used as given; ``None`` seeds from
    the operating system's entropy.
    """
    if isinstance(seed, np.random.Generator):
        return seed
    sequence = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    return np.random.Generator(np.random.PCG64DXSM(sequence))


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
    return from_cdf(rng, cdf(weights), n)


def from_cdf(rng: np.random.Generator, cumulative: np.ndarray, n: int) -> np.ndarray:
    """``n`` indices drawn from cumulative probabilities ``cumulative`` (as made by ``cdf``)."""
    return cumulative.searchsorted(rng.random(n), side="right")
