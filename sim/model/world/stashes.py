"""The stashes hidden in the city and each shop's database of them.

A stash stays in its shop's database until a buyer is sent to it. By then it
may be gone: found by the police (seized) or lost (badly placed or taken by
someone else). The shop learns this only from the buyer's "not found"
complaint [001 L109-127]; it then has a courier lay a new stash for him
(a "re-stash" [001 L127]), which he is sent to the next day.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from sim.model.engine.compiled import jit
from sim.model.engine.draws import categorical


class StashState(IntEnum):
    """What became of a stash on file."""

    PRESENT = 0  # lies where the courier hid it
    SEIZED = 1  # found by the police
    LOST = 2  # badly placed or taken by someone else


@jit
def send_orders(uniforms, order_shop, restash, stash_shop, stash_district, present, n_shops):
    """Each order is sent to a distinct stash of its shop: a re-stash to the newest, any other to a random one.

    Re-stashes (``restash``: the buyer was owed one after a "not found") are
    served first, each from the newest stash of its shop still on file (the
    one a courier laid for him); then the other orders in the given order,
    ``uniforms[j]`` drawing order ``j``'s stash among those left. A shop out
    of stashes on file sends none.

    Returns:
        per order, the stash row sent (-1: none), whether it was missing
        (sent but gone), whether a stash was found, and the district where it
        was (-1: none); and per stash, whether it stays on file (was not sent).
    """
    count = np.zeros(n_shops + 1, dtype=np.int64)
    for s in stash_shop:
        count[s + 1] += 1
    start = np.cumsum(count)  # start[s]: first slot of shop s in ``pool``; its rows in row (laying) order
    fill = start[:-1].copy()
    pool = np.empty(len(stash_shop), dtype=np.int64)
    for row in range(len(stash_shop)):
        s = stash_shop[row]
        pool[fill[s]] = row
        fill[s] += 1
    newest = np.zeros(n_shops, dtype=np.int64)  # taken from the end of each shop's slots
    taken = np.zeros(n_shops, dtype=np.int64)  # taken at random from the front
    n = len(order_shop)
    sent = np.full(n, -1, dtype=np.int64)
    for rnd in range(2):
        for j in range(n):
            if restash[j] != (rnd == 0):
                continue
            s = order_shop[j]
            left = count[s + 1] - taken[s] - newest[s]
            if left <= 0:
                continue
            if rnd == 0:
                newest[s] += 1
                sent[j] = pool[start[s + 1] - newest[s]]
            else:
                # Partial Fisher-Yates: swap a random remaining stash of shop s into the next slot.
                slot = start[s] + taken[s]
                pick = slot + int(uniforms[j] * left)
                pool[slot], pool[pick] = pool[pick], pool[slot]
                taken[s] += 1
                sent[j] = pool[slot]
    missing = np.zeros(n, dtype=np.bool_)
    got = np.zeros(n, dtype=np.bool_)
    district = np.full(n, -1, dtype=np.int64)
    keep = np.ones(len(stash_shop), dtype=np.bool_)
    for j in range(n):
        used = sent[j]
        if used >= 0:
            keep[used] = False
            if present[used]:
                got[j] = True
                district[j] = stash_district[used]
            else:
                missing[j] = True
    return sent, missing, got, district, keep


@dataclass
class Delivery:
    """Where a day's pickups were sent: per pickup, the stash row (-1: none) and the outcome."""

    sent: np.ndarray  # the stash sent (-1: the shop had none on file)
    missing: np.ndarray  # the stash was sent but not there ("not found")
    got: np.ndarray  # the buyer found it
    district: np.ndarray  # where it was (-1: not found)


class Stashes:
    """All stashes on file, as parallel arrays."""

    def __init__(self):
        self.shop = np.zeros(0, dtype=np.int64)
        self.district = np.zeros(0, dtype=np.int64)
        self.courier = np.zeros(0, dtype=np.int64)
        self.state = np.zeros(0, dtype=np.int8)
        self.uid = np.zeros(0, dtype=np.int64)  # each stash's number, in the order laid (keys its random draws)
        self._next_uid = 0

    def __len__(self) -> int:
        return len(self.shop)

    def populate(self, by_shop: np.ndarray, placement: np.ndarray, rng: np.random.Generator) -> None:
        """Day 0: ``by_shop`` stashes of each shop already hidden, in districts drawn by ``placement``."""
        shops = np.repeat(np.arange(len(by_shop)), by_shop)
        districts = categorical(rng, placement, len(shops))
        self.hide(shops, districts, np.full(len(shops), -1), np.zeros(len(shops), dtype=bool))

    def hide(self, shops: np.ndarray, districts: np.ndarray, couriers: np.ndarray, lost: np.ndarray) -> None:
        """Record newly laid stashes; ``lost`` marks the badly placed ones."""
        self.shop = np.concatenate([self.shop, shops])
        self.district = np.concatenate([self.district, districts])
        self.courier = np.concatenate([self.courier, couriers])
        self.state = np.concatenate([self.state, np.where(lost, StashState.LOST, StashState.PRESENT).astype(np.int8)])
        self.uid = np.concatenate([self.uid, np.arange(self._next_uid, self._next_uid + len(shops))])
        self._next_uid += len(shops)

    def renumber_couriers(self, remap: np.ndarray) -> None:
        """The couriers have new roster rows (``Roster.tidy``'s map; -1, no courier, stays -1)."""
        self.courier = remap[self.courier]

    def present_by_district(self, n_districts: int) -> np.ndarray:
        """Stashes still hidden in the city, by district."""
        return np.bincount(self.district[self.state == StashState.PRESENT], minlength=n_districts)

    def present_grams(self, grams_per_stash: float) -> float:
        """Grams still hidden in the city."""
        return float((self.state == StashState.PRESENT).sum()) * grams_per_stash

    def on_file(self, n_shops: int) -> np.ndarray:
        """Stashes each shop believes it has, by shop."""
        return np.bincount(self.shop, minlength=n_shops)

    def deliver(self, order_shop: np.ndarray, restash: np.ndarray, n_shops: int, uniforms: np.ndarray) -> Delivery:
        """Send each pickup to a distinct stash of its shop (``send_orders``, with a uniform each): re-stashes first.

        Every stash sent leaves the database. A shop with fewer stashes on file
        than pickups serves its re-stashes, then its first orders only.
        """
        present = self.state == StashState.PRESENT
        sent, missing, got, district, keep = send_orders(
            uniforms, order_shop, restash, self.shop, self.district, present, n_shops
        )
        self._keep(keep)
        return Delivery(sent, missing, got, district)

    def seize(self, rows: np.ndarray) -> None:
        """The police found these stashes; they stay on file until a buyer is sent to one."""
        self.state[rows] = StashState.SEIZED

    def remove(self, rows: np.ndarray) -> None:
        """Delete stashes from the database (collected, or reported missing)."""
        if len(rows) == 0:
            return
        keep = np.ones(len(self.shop), dtype=bool)
        keep[rows] = False
        self._keep(keep)

    def _keep(self, keep: np.ndarray) -> None:
        for name in ("shop", "district", "courier", "state", "uid"):
            setattr(self, name, getattr(self, name)[keep])
