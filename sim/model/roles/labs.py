"""Clandestine labs: precursor shipments, production, bulk sales, entry and exit.

Labs are artisanal; curators abroad ship precursors by dead drop, the chemist
"digs it up, brings it to his laboratory, mixes it, boils it, dries it, and
sells it"; one lab sold 4 kg a week, earning about 1.5 million KZT per
kilogram [001 L175, L179]. Precursor control intercepts shipments; labs are
found by lab/precursor police work and by leads from arrests downstream.

When no lab has stock, shops buy finished product from outside the city, at
a higher price and up to a daily capacity (``import_capacity``,
``import_price``), so that a raid is a price shock rather than a drought;
border checks intercept part of it. Interception of precursors and imports
grows with the officer-days on lab and precursor work: at the reference 10
officer-days the levers' values hold, and ``n`` times as many officers stop
``1 - (1 - p)**n`` of the shipments. A lab that sells nothing for
``exit_patience`` days closes; set-ups follow the size of the bulk shortfall.
"""

from __future__ import annotations

import numpy as np

from sim.model.engine.elementary import power
from sim.model.engine.roster import Field, Roster, RosterAgent

#: Lab and precursor officer-days at which the interception levers hold as given.
REFERENCE_LAB_OFFICERS = 10.0


class Lab(RosterAgent):
    """A clandestine lab and its chemist: a view of one row of ``LabRoster``."""

    fields = {
        "active": Field(bool, True, "in business"),
        "capacity": Field(float, 0.0, "g/day"),
        "precursor": Field(float, 0.0, "grams of product the precursors on hand allow"),
        "stock": Field(float, 0.0, "grams made, not yet sold"),
        "price": Field(float, 0.0, "KZT/g wholesale"),
        "next_shipment": Field(np.int64, 0, "day the next precursor shipment is due"),
        "ready_day": Field(np.int64, 0, "first day of production"),
        "idle_days": Field(np.int64, 0, "days in a row without precursors"),
        "unsold_days": Field(np.int64, 0, "days in a row without a bulk sale, once producing"),
        "leads": Field(float, 0.0, "usable leads police hold on the lab"),
    }


class LabRoster(Roster):
    """All labs, updated in bulk."""

    agent_class = Lab

    def __init__(self, model):
        super().__init__(model)
        self.bulk_unmet = 0.0  # smoothed market share of bulk requests not served

    def set_up(self, n: int, ready_day: int, supplied: bool = False) -> np.ndarray:
        """Start ``n`` labs that produce from ``ready_day``.

        Only the day-0 labs start ``supplied`` with a shipment of precursors;
        entrants wait for theirs, which precursor control may intercept.
        """
        p, rng = self.model.p, self.model.stream("labs")
        capacity = p.lab_capacity * rng.uniform(0.5, 1.5, n)
        return self.add(
            n,
            capacity=capacity,
            precursor=capacity * p.precursor_interval if supplied else 0.0,
            price=p.wholesale_price,
            # Entrants' first shipment is due the day they are ready; day-0 labs are spread over the interval.
            next_shipment=rng.integers(0, p.precursor_interval, n) if supplied else ready_day,
            ready_day=ready_day,
        )

    def receive_precursors(self) -> int:
        """Shipments due today arrive unless intercepted; returns shipments intercepted."""
        p, rng, today = self.model.p, self.model.stream("precursors"), self.model.day
        # A lab orders precursors only when it is short of one shipment's worth (no stockpiling).
        short = self.precursor < self.capacity * p.precursor_interval
        due = np.flatnonzero(self.active & short & (self.next_shipment <= today))
        stopped = rng.random(len(due)) < self.interception(p.precursor_interdiction)
        arrived = due[~stopped]
        self.precursor[arrived] += self.capacity[arrived] * p.precursor_interval
        self.next_shipment[due] = today + p.precursor_interval
        return int(stopped.sum())

    def interception(self, at_reference: float) -> float:
        """Chance a shipment is stopped, given the chance at the reference lab-police effort."""
        return 1.0 - float(power(1.0 - at_reference, self.model.police.effort["labs"] / REFERENCE_LAB_OFFICERS))

    def produce(self) -> float:
        """Cook what capacity and precursors allow; returns grams produced."""
        today = self.model.day
        running = self.active & (self.ready_day <= today)
        room = np.maximum(0.0, self.capacity * self.model.p.lab_stock_days - self.stock)
        made = np.where(running, np.minimum(np.minimum(self.capacity, self.precursor), room), 0.0)
        self.precursor -= made
        self.stock += made
        starved = running & (self.precursor <= 0)
        self.idle_days = np.where(starved, self.idle_days + 1, 0)
        return float(made.sum())

    def sell_bulk(self, requests: np.ndarray, supplier: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Serve shops' bulk requests from their supplier, or another lab with stock.

        Returns grams delivered and price paid per shop, and each shop's
        (possibly new) supplier.
        """
        rng = self.model.stream("bulk")
        delivered = np.zeros(len(requests))
        paid = np.zeros(len(requests))
        supplier = supplier.copy()
        sold = np.zeros(len(self))
        for shop in np.flatnonzero(requests > 0):
            lab = supplier[shop]
            if lab < 0 or not self.active[lab] or self.stock[lab] <= 0:
                stocked = np.flatnonzero(self.active & (self.stock > 0))
                if len(stocked) == 0:
                    continue
                lab = supplier[shop] = rng.choice(stocked)
            delivered[shop] = min(requests[shop], self.stock[lab])
            paid[shop] = self.price[lab]
            self.stock[lab] -= delivered[shop]
            sold[lab] += delivered[shop]
        producing = self.active & (self.ready_day <= self.model.day)
        self.unsold_days = np.where(producing & (sold == 0), self.unsold_days + 1, 0)
        self._record_scarcity(requests, delivered)
        self._import(requests, delivered, paid)
        return delivered, paid, supplier

    def _import(self, requests: np.ndarray, delivered: np.ndarray, paid: np.ndarray) -> None:
        """Shops the labs left short buy from outside the city, up to today's import capacity, at the import price.

        A shipment stopped at the border is seized. ``delivered`` and ``paid``
        (the mean price of what a shop got) are updated in place.
        """
        p, model = self.model.p, self.model
        capacity = p.import_capacity * model.scale
        short = np.flatnonzero(requests - delivered > 1e-9)
        if capacity <= 0 or len(short) == 0:
            return
        stopped = model.stream("imports").random(len(short)) < self.interception(p.import_interdiction)
        for shop, caught in zip(short, stopped, strict=True):
            grams = min(requests[shop] - delivered[shop], capacity)
            capacity -= grams
            model.today.grams_imported += grams
            model.cumulative["produced"] += grams  # product shipped in counts as made, for the balance
            if caught:
                model.count_seized(grams)
                continue
            paid[shop] = (paid[shop] * delivered[shop] + p.import_price * grams) / max(delivered[shop] + grams, 1e-12)
            delivered[shop] += grams

    def _record_scarcity(self, requests: np.ndarray, delivered: np.ndarray) -> None:
        """Smooth the market-wide share of bulk demand left unmet; prices follow it."""
        p = self.model.p
        unmet = 1.0 - delivered.sum() / requests.sum() if requests.sum() > 0 else 0.0
        self.bulk_unmet += 0.1 * (unmet - self.bulk_unmet)
        self.price[:] = p.wholesale_price * (1.0 + p.scarcity_markup * self.bulk_unmet)

    def close(self, rows: np.ndarray) -> None:
        """Labs leave the market (found by police, or idle too long)."""
        self.active[rows] = False

    def count_active(self) -> int:
        """Number of labs in business."""
        return int(self.active.sum())
