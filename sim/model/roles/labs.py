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

from typing import NamedTuple

import numpy as np

from sim.model.engine.elementary import power
from sim.model.engine.roster import Field, Roster, RosterAgent
from sim.model.world.justice import Role
from sim.model.world.sanctions import Offence

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


class BulkSale(NamedTuple):
    """What shops' bulk requests came to: per shop, grams delivered, price paid and supplier; and the imports."""

    delivered: np.ndarray
    paid: np.ndarray  # mean KZT/g of what the shop got
    supplier: np.ndarray  # each shop's (possibly new) lab
    imported: np.ndarray  # grams of each shipment bought from outside the city, in the order shipped
    stopped: np.ndarray  # whether the border stopped it (seized)


class LabRoster(Roster):
    """All labs, updated in bulk."""

    agent_class = Lab
    # Columns (``Lab.fields``), declared here because ``produce`` and ``sell_bulk`` set them whole.
    idle_days: np.ndarray
    unsold_days: np.ndarray

    def __init__(self, model):
        super().__init__(model)
        self.bulk_unmet = 0.0  # smoothed market share of bulk requests not served

    def set_up(self, n: int, ready_day: int, supplied: bool = False, stock: float = 0.0) -> np.ndarray:
        """Start ``n`` labs that produce from ``ready_day``, each with ``stock`` grams made.

        Only the day-0 labs start ``supplied`` with a shipment of precursors
        and a week's stock; entrants wait for theirs, which precursor control
        may intercept.
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
            stock=stock,
        )

    def add_leads(self, counts: np.ndarray) -> None:
        """New leads the police hold on each lab (from arrested couriers and operators), by row."""
        self.leads += counts

    def age_leads(self, kept: float) -> None:
        """Leads grow stale: a share ``kept`` of each stays usable."""
        self.leads *= kept

    def cook(self) -> None:
        """Precursors arrive (or are intercepted) and labs cook."""
        m = self.model
        m.today.shipments_intercepted = self.receive_precursors()
        made = self.produce()
        m.today.grams_produced = made
        m.ledger.produced(made)

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
        return 1.0 - float(power(1.0 - at_reference, self.model.police.effort.labs / REFERENCE_LAB_OFFICERS))

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

    def sell_bulk(self, requests: np.ndarray, supplier: np.ndarray) -> BulkSale:
        """Serve shops' bulk requests from their supplier, or another lab with stock; imports fill the rest."""
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
        imported, stopped = self._import(requests, delivered, paid)
        return BulkSale(delivered, paid, supplier, imported, stopped)

    def _import(self, requests: np.ndarray, delivered: np.ndarray, paid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Shops the labs left short buy from outside the city, up to today's import capacity, at the import price.

        A shipment stopped at the border is seized. ``delivered`` and ``paid``
        (the mean price of what a shop got) are updated in place.

        Returns:
            The grams of each shipment, in the order shipped, and whether the border stopped it.
        """
        p, model = self.model.p, self.model
        capacity = p.import_capacity * model.scale
        short = np.flatnonzero(requests - delivered > 1e-9)
        if capacity <= 0 or len(short) == 0:
            return np.zeros(0), np.zeros(0, dtype=bool)
        stopped = model.stream("imports").random(len(short)) < self.interception(p.import_interdiction)
        shipped = np.zeros(len(short))
        for k, (shop, caught) in enumerate(zip(short, stopped, strict=True)):
            grams = shipped[k] = min(requests[shop] - delivered[shop], capacity)
            capacity -= grams
            if caught:
                continue
            paid[shop] = (paid[shop] * delivered[shop] + p.import_price * grams) / max(delivered[shop] + grams, 1e-12)
            delivered[shop] += grams
        return shipped, stopped

    def _record_scarcity(self, requests: np.ndarray, delivered: np.ndarray) -> None:
        """Smooth the market-wide share of bulk demand left unmet; prices follow it."""
        p = self.model.p
        unmet = 1.0 - delivered.sum() / requests.sum() if requests.sum() > 0 else 0.0
        self.bulk_unmet += 0.1 * (unmet - self.bulk_unmet)
        self.price[:] = p.wholesale_price * (1.0 + p.scarcity_markup * self.bulk_unmet)

    def raid(self, rows: np.ndarray) -> None:
        """Police raid labs: chemists arrested, stock and precursors seized, the labs closed."""
        m = self.model
        m.ledger.seized(float(self.stock[rows].sum()))
        self.stock[rows] = 0.0
        self.precursor[rows] = 0.0
        self.close(rows)
        m.justice.open_cases(Role.LAB, np.full(len(rows), -1), Offence.LAB, m.day, m.p.forensic_delay)
        m.today.arrests_lab += len(rows)

    def enter_and_exit(self) -> None:
        """Idle or unsold labs close, their stock lost; a shortfall of bulk starts new labs.

        A lab closes when it has had no precursors for 90 days or sold nothing
        for ``exit_patience`` days; set-ups follow the size of the bulk
        shortfall and produce after ``lab_entry_delay`` days.
        """
        m = self.model
        p = m.p
        idle = np.flatnonzero(self.active & ((self.idle_days > 90) | (self.unsold_days >= p.exit_patience)))
        m.ledger.lost(float(self.stock[idle].sum()))  # an abandoned lab's leftover stock
        self.stock[idle] = 0.0
        self.close(idle)
        if m.stream("lab_entry").random() < min(1.0, p.lab_entry_rate * self.bulk_unmet / 0.1):
            self.set_up(1, ready_day=m.day + p.lab_entry_delay)

    def close(self, rows: np.ndarray) -> None:
        """Labs leave the market (found by police, or idle too long)."""
        self.active[rows] = False

    def count_active(self) -> int:
        """Number of labs in business."""
        return int(self.active.sum())
