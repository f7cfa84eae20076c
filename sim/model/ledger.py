"""The market's books: the day's metrics, the grams since day 0, and the persons in the market and contacted.

Verbs write the day's flows into ``today`` (a ``metrics.Day``) as they run;
grams seized and lost go through ``seized`` and ``lost``, which also keep the
totals since day 0 (``cumulative``: produced = sold + seized + lost + in
stock, docs/ODD.md). At the end of the day ``close_day`` adds latency and the
stocks (shops, couriers, prisoners ...) and hands the finished day to Mesa's
DataCollector.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.model.metrics import Day
from sim.model.roles.buyers import BuyerState
from sim.model.roles.couriers import CourierState
from sim.model.roles.police import ACTIVITIES
from sim.model.world.contacts import RollingYear

if TYPE_CHECKING:
    import mesa

    from sim.model.engine.roster import Roster


class Ledger:
    """The books of one run: ``today`` (the day being run), ``metrics`` (the last finished day) and the totals."""

    def __init__(self, model: mesa.Model):
        self.model = model
        self.today = Day()
        self.metrics = self.today
        self.cumulative = dict.fromkeys(("produced", "sold", "seized", "lost"), 0.0)
        self.in_market = RollingYear()  # persons (buyers, couriers) in the market in the last year
        self.contacted = RollingYear()  # of them, those arrested (sim.model.world.contacts)

    def open_books(self) -> None:
        """Day 0: what is already in stock counts as produced, so that grams balance from the start."""
        self.cumulative["produced"] = self.grams_in_stock()

    def new_day(self, day: int) -> Day:
        """Start ``day``'s books: its metrics at 0, and the rolling year moved on."""
        self.today = Day()
        self.in_market.new_day(day)
        self.contacted.new_day(day)
        return self.today

    def seized(self, grams: float) -> None:
        """Grams seized today (any source: stashes, couriers, pickups, stock, shipments)."""
        self.today.grams_seized += grams
        self.cumulative["seized"] += grams

    def produced(self, grams: float) -> None:
        """Grams made today (cooked in labs, or shipped in from abroad), to the balance of grams."""
        self.cumulative["produced"] += grams

    def sold(self, grams: float) -> None:
        """Grams that buyers picked up today."""
        self.cumulative["sold"] += grams

    def lost(self, grams: float) -> None:
        """Grams lost today (badly placed stashes, abandoned stock)."""
        self.today.grams_lost += grams
        self.cumulative["lost"] += grams

    def seized_stashes(self, n: int) -> None:
        """``n`` stashes seized today: by patrol, on arrested couriers or shown by their phones."""
        self.seized(n * self.model.p.stash_grams)
        self.today.stashes_seized += n

    def arrested(self, roster: Roster, rows: np.ndarray) -> None:
        """Persons of a buyer or courier roster arrested today: in the market today, and contacted."""
        self.in_market.mark(roster.seen_day, rows)  # a person arrested on his first day was in the market too
        self.contacted.mark(roster.contact_day, rows)

    def grams_in_stock(self) -> float:
        """Grams in labs, in shops' bulk and in stashes on the ground."""
        m = self.model
        return float(m.labs.stock.sum()) + float(m.shops.stock.sum()) + m.stashes.present_grams(m.p.stash_grams)

    def close_day(self) -> None:
        """Latency, the end-of-day stocks, and the day's row in the data collector."""
        m, day = self.model, self.today
        # Latency (docs/ODD.md, section 2.10): the share of the day's retail transactions without enforcement contact,
        # against those the police touched: buyers arrested at the pickup and stashes seized before it.
        touched = day.transactions + day.arrests_buyer + day.stashes_seized
        day.latency = day.transactions / touched if touched > 0 else 1.0
        # And as persons: the buyers and couriers in the market in the last year whom no arrest touched.
        self.in_market.mark(m.buyers.seen_day, np.flatnonzero(m.buyers.state == BuyerState.ACTIVE))
        self.in_market.mark(m.couriers.seen_day, np.flatnonzero(m.couriers.state == CourierState.WORKING))
        day.persons_in_market, day.persons_contacted = self.in_market.count(), self.contacted.count()
        day.persons_latency = 1.0 - day.persons_contacted / day.persons_in_market if day.persons_in_market else 1.0
        self.metrics = day
        self.record_stocks(day)
        m.datacollector.add_table_row("daily", vars(day))  # plain numbers: nothing to copy

    def record_stocks(self, day: Day) -> None:
        """The end-of-day stocks: what is in business, in prison, waiting, and the police's effort."""
        m = self.model
        shops, couriers = m.shops, m.couriers
        day.grams_in_stock = self.grams_in_stock()
        day.active_storefronts = int(np.count_nonzero(shops.open_now()))
        day.active_shops = shops.count_active()
        day.blocked_storefronts = day.active_shops - day.active_storefronts
        day.active_labs = m.labs.count_active()
        day.active_buyers = m.buyers.count(BuyerState.ACTIVE)
        states = np.bincount(couriers.state, minlength=len(CourierState))
        day.active_couriers = int(states[CourierState.WORKING])
        day.courier_candidates = int(states[CourierState.CANDIDATE])
        day.repeat_couriers = int(np.count_nonzero(couriers.repeat[couriers.state == CourierState.WORKING]))
        day.courier_pay = float(shops.pay[shops.active].mean()) if shops.active.any() else 0.0
        prisoners = m.justice.prisoners()
        day.prisoners = int(prisoners.sum())
        day.set_by_role("prisoners", prisoners)
        day.pending_cases = m.justice.pending()
        day.wanted = m.justice.wanted
        for activity in ACTIVITIES:
            setattr(day, f"effort_{activity}", getattr(m.police.effort, activity))
