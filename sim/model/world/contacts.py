"""Distinct persons over a rolling year: who was in the market, and who of them met enforcement.

Latency as the claim means it [000 L117] is about persons, not sales: the
share of the people in the market (buyers and couriers) who had no enforcement
contact, an arrest, in the last year. A person arrested twice in the year is
one contact, and a buyer who orders daily is one person.

``RollingYear`` counts, for one kind of mark (in the market, or arrested),
the persons whose last mark lies within the last ``window`` days, exactly: each
roster row keeps the day of its last mark (a roster column), and the counter
keeps how many persons have their last mark on each day of the window, in a
ring of ``window`` slots. Marking a row moves it from the slot of its previous
mark (if that is still in the window) to today's; a slot is emptied when its
day leaves the window. A person who leaves the market keeps his place until
his mark is a window old, so rows dropped when a roster compacts are still
counted.
"""

from __future__ import annotations

import numpy as np

from sim.model.engine.compiled import jit

#: Days of the rolling window: a year.
CONTACT_WINDOW = 365
#: The last-mark value of a row never marked.
NEVER = -(1 << 40)


class RollingYear:
    """Persons whose last mark falls within the last ``window`` days."""

    def __init__(self, window: int = CONTACT_WINDOW) -> None:
        self.window = window
        self.ring = np.zeros(window, dtype=np.int64)
        self.day = -1

    def new_day(self, day: int) -> None:
        """Start ``day``: the persons last marked ``window`` days ago leave the count."""
        self.day = day
        self.ring[day % self.window] = 0

    def mark(self, last: np.ndarray, rows: np.ndarray) -> None:
        """Mark ``rows`` today; ``last`` is their roster's last-mark column, updated in place."""
        mark_rows(self.ring, last, np.asarray(rows, dtype=np.int64), self.day)

    def count(self) -> int:
        """Persons whose last mark is in the window (today included)."""
        return int(self.ring.sum())


@jit
def mark_rows(ring: np.ndarray, last: np.ndarray, rows: np.ndarray, day: int) -> None:
    """Move each of ``rows`` from the slot of its last mark (if still in the window) to today's, once a day.

    A row marked already today is counted once; ``last`` (the roster's last-mark column) is set to ``day``.
    """
    window = len(ring)
    for row in rows:
        old = last[row]
        if old == day:
            continue
        if old > day - window:
            ring[old % window] -= 1
        ring[day % window] += 1
        last[row] = day
