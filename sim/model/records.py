"""Records below the city level, kept only when a run asks for them (``KladMarket(..., record=...)``).

- ``shops``: one row per shop in business per day: its storefront, mirrors,
  orders and stashes served that day, couriers, vacancies, price, pay, cash
  and stock. Collected by Mesa's DataCollector (agent-type reporters over the
  ``Operator`` agents).
- ``purchases``: one row per order: the day, the buyer, the shop (-1 when none
  was found), which storefront it was (0 the first, k the k-th mirror) and the
  outcome (``got``, ``seized`` at the pickup, ``not found``: the stash was gone
  twice, ``no stash`` on file, ``no storefront``). Thousands a day, so kept as
  arrays, a block a day.
- ``events`` (whenever a recorded run had timed events): each event done, on
  its day, with the shops or labs it hit.
- ``couriers``: one row per spell of work: the courier, the shop, the day
  hired and the day it ended, and how (``arrested``, ``quit``, ``shop closed``,
  ``left for good``, or ``working`` at the end of the run).

Agents are named by their ``uid`` (a shop's uid is its row, which never
changes). Off, recording costs nothing; on, a year of the default city keeps
about 0.75 million purchases (21 MB in memory, 2.2 MB as Parquet; shop-days
and spells under 0.5 MB), and a recorded run takes about a sixth longer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np
import pandas as pd

from sim.model.roles.couriers import CourierState
from sim.model.roles.shops import Operator, Storefront
from sim.timeline import RaidLabs, describe

if TYPE_CHECKING:
    from sim.model.market import KladMarket

OUTCOMES = ("got", "seized", "not found", "no stash", "no storefront")
STOREFRONTS = tuple(s.name.lower() for s in Storefront)
SHOP_COLUMNS = ("active", "storefront", "mirrors", "orders_today", "served_today", "couriers", "vacancies", "price",
                "pay", "cash", "stock")  # fmt: skip


class Recorder:
    """Keeps the records a run asked for; ``frames`` turns them into DataFrames."""

    def __init__(self, model: KladMarket, kinds: tuple[str, ...]):
        self.model = model
        self.kinds = kinds
        self.shops = mesa.DataCollector(
            agenttype_reporters={Operator: {"shop": "uid", **{c: c for c in SHOP_COLUMNS}}}
        ) if "shops" in kinds else None  # fmt: skip
        self._purchases: list[tuple[np.ndarray, ...]] = []
        self._spells: list[tuple[np.ndarray, ...]] = []
        self._written = np.full(0, -1, dtype=np.int64)  # by courier uid: the hired day of his last spell written

    def purchases(self, buyers: np.ndarray, shops: np.ndarray, outcomes: np.ndarray, attempt: int) -> None:
        """Today's pickups: buyer rows, shop rows (-1: none found), outcome codes (indices of ``OUTCOMES``).

        ``attempt`` is 1 for an order, 2 for the re-stash a buyer goes to the day after a "not found".
        """
        if "purchases" not in self.kinds:
            return
        m = self.model
        mirror = np.where(shops >= 0, m.shops.mirrors[np.maximum(shops, 0)], -1)
        day = np.full(len(buyers), m.day, dtype=np.int32)
        tries = np.full(len(buyers), attempt, dtype=np.int8)
        self._purchases.append((day, m.buyers.uid[buyers], shops, mirror, outcomes.astype(np.int8), tries))

    def end_of_day(self) -> None:
        """Shops' rows of the day; spells of work that ended today."""
        m = self.model
        if self.shops is not None:
            self.shops.collect(m)
        if "couriers" in self.kinds:
            c = m.couriers
            issued = int(c.uid[-1]) + 1 if len(c) else 0  # uids grow with the rows
            if len(self._written) < issued:
                self._written = np.concatenate([self._written, np.full(issued - len(self._written), -1)])
            ended = np.flatnonzero(
                (c.hired_day >= 0) & (c.state != CourierState.WORKING) & (self._written[c.uid] != c.hired_day)
            )
            self._spells.append(self._spell_rows(ended, m.day))
            self._written[c.uid[ended]] = c.hired_day[ended]

    def _spell_rows(self, rows: np.ndarray, day: int) -> tuple[np.ndarray, ...]:
        c, shops = self.model.couriers, self.model.shops
        end = np.select(
            [c.state[rows] == CourierState.WORKING, c.state[rows] == CourierState.PENDING,
             c.state[rows] == CourierState.GONE, ~shops.active[np.maximum(c.hired_by[rows], 0)]],
            ["working", "arrested", "left for good", "shop closed"], "quit",
        )  # fmt: skip
        return c.uid[rows], c.hired_by[rows], c.hired_day[rows], np.full(len(rows), day), end

    def frames(self) -> dict[str, pd.DataFrame]:
        """The records so far as DataFrames (spells still going are rows that end ``working`` today)."""
        out = {}
        if self.model.happened:
            out["events"] = pd.DataFrame([
                {"day": e["day"], "action": e["action"], "event": describe(e), "shops": e.get("shops", []),
                 "labs": e.get("labs", []), "arrested": arrested_by(e)} for e in self.model.happened
            ])  # fmt: skip
        if self.shops is not None:
            table = self.shops.get_agenttype_vars_dataframe(Operator).reset_index()
            table = table.rename(columns={"Step": "day"}).drop(columns="AgentID").astype({"day": np.int32})
            table["storefront"] = pd.Categorical.from_codes(table["storefront"], STOREFRONTS)
            out["shops"] = table.sort_values(["day", "shop"], kind="stable").reset_index(drop=True)
        if "purchases" in self.kinds:
            parts = list(zip(*self._purchases, strict=True)) or [[]] * 6
            day, buyer, shop, mirror, outcome, attempt = (np.concatenate(p) if len(p) else np.zeros(0) for p in parts)
            out["purchases"] = pd.DataFrame({
                "day": day.astype(np.int32), "buyer": buyer.astype(np.int64), "shop": shop.astype(np.int64),
                "storefront": mirror.astype(np.int64), "attempt": attempt.astype(np.int8),
                "outcome": pd.Categorical.from_codes(outcome.astype(np.int8), OUTCOMES),
            })  # fmt: skip
        if "couriers" in self.kinds:
            c = self.model.couriers
            working = np.flatnonzero((c.hired_day >= 0) & (c.state == CourierState.WORKING))
            parts = list(zip(*self._spells, self._spell_rows(working, self.model.day), strict=True))
            courier, shop, hired, ended, end = (np.concatenate(p) for p in parts)
            out["couriers"] = pd.DataFrame({
                "courier": courier, "shop": shop, "hired": hired, "ended": ended, "days": ended - hired,
                "end": pd.Categorical(end, ["arrested", "quit", "shop closed", "left for good", "working"]),
            })  # fmt: skip
        return out


def arrested_by(event: dict) -> int:
    """The people an event done arrested: operators at home, a wave's couriers and buyers, a raid's chemists."""
    if event["action"] == RaidLabs.action:
        return len(event.get("labs", []))
    return int(event.get("operators_arrested", 0) + event.get("couriers_arrested", 0) + event.get("buyers_arrested", 0))
