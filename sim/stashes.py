"""The stashes hidden in the city and each shop's database of them.

A stash stays in its shop's database until a buyer is sent to it. By then it
may be gone: found by the police (seized) or lost (badly placed or taken by
someone else). The shop learns this only from the buyer's "not found"
complaint [001 L109-127].
"""

from __future__ import annotations

import numpy as np

from . import kernels

PRESENT, SEIZED, LOST = 0, 1, 2


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

    def match_orders(self, order_shop: np.ndarray, n_shops: int, rng: np.random.Generator) -> np.ndarray:
        """Send each order to a distinct random stash from its shop's database.

        Args:
            order_shop: the shop of each order.
            n_shops: number of shops.
            rng: random generator.

        Returns:
            A stash row for each order, or -1: a shop with fewer stashes on file
            than orders serves its first orders only.
        """
        if len(order_shop) == 0:
            return np.full(0, -1, dtype=np.int64)
        return kernels.match_stashes(rng.random(len(order_shop)), order_shop, self.shop, n_shops)

    def remove(self, rows: np.ndarray) -> None:
        """Delete stashes from the database (collected, or reported missing)."""
        if len(rows) == 0:
            return
        keep = np.ones(len(self.shop), dtype=bool)
        keep[rows] = False
        for name in ("shop", "district", "courier", "state"):
            setattr(self, name, getattr(self, name)[keep])
