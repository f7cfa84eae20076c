"""The stashes hidden in the city and each shop's database of them.

A stash stays in its shop's database until a buyer is sent to it. By then it
may be gone: found by the police (seized) or lost (badly placed or taken by
someone else). The shop learns this only from the buyer's "not found"
complaint [001 L109-127].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.model.engine import kernels

PRESENT, SEIZED, LOST = 0, 1, 2


@dataclass
class Delivery:
    """Where a day's orders were sent: per order, stash rows (-1: none) and outcome."""

    first: np.ndarray  # the stash first sent
    second: np.ndarray  # the second stash, for an order whose first was gone
    missing: np.ndarray  # the first stash was sent but not there ("not found")
    got: np.ndarray  # the buyer found a stash (first or second)
    district: np.ndarray  # where the stash found was (-1: none found)


class Stashes:
    """All stashes on file, as parallel arrays."""

    def __init__(self):
        self.shop = np.zeros(0, dtype=np.int64)
        self.district = np.zeros(0, dtype=np.int64)
        self.courier = np.zeros(0, dtype=np.int64)
        self.state = np.zeros(0, dtype=np.int8)

    def __len__(self) -> int:
        return len(self.shop)

    def hide(self, shops: np.ndarray, districts: np.ndarray, couriers: np.ndarray, lost: np.ndarray) -> None:
        """Record newly laid stashes; ``lost`` marks the badly placed ones."""
        self.shop = np.concatenate([self.shop, shops])
        self.district = np.concatenate([self.district, districts])
        self.courier = np.concatenate([self.courier, couriers])
        self.state = np.concatenate([self.state, np.where(lost, LOST, PRESENT).astype(np.int8)])

    def present_grams(self, grams_per_stash: float) -> float:
        """Grams still hidden in the city."""
        return float((self.state == PRESENT).sum()) * grams_per_stash

    def on_file(self, n_shops: int) -> np.ndarray:
        """Stashes each shop believes it has, by shop."""
        return np.bincount(self.shop, minlength=n_shops)

    def deliver(self, order_shop: np.ndarray, n_shops: int, rng: np.random.Generator) -> Delivery:
        """Send each order to a distinct random stash of its shop, and once more if that one is gone.

        Every stash sent leaves the database. A shop with fewer stashes on file
        than orders serves its first orders only; an order whose first stash was
        seized or lost gets a second one from what is left (the shop re-stashes
        once after a "not found" complaint).
        """
        first, second, missing, got, district, keep = kernels.deliver(
            rng.random((len(order_shop), 2)), order_shop, self.shop, self.district, self.state == PRESENT, n_shops
        )
        self._keep(keep)
        return Delivery(first, second, missing, got, district)

    def remove(self, rows: np.ndarray) -> None:
        """Delete stashes from the database (collected, or reported missing)."""
        if len(rows) == 0:
            return
        keep = np.ones(len(self.shop), dtype=bool)
        keep[rows] = False
        self._keep(keep)

    def _keep(self, keep: np.ndarray) -> None:
        for name in ("shop", "district", "courier", "state"):
            setattr(self, name, getattr(self, name)[keep])
