"""Operators and their shops: storefronts, stock, prices, courier hiring, mirrors.

An operator runs a storefront that attracts buyers and also cyber monitoring,
through ``storefronts_per_shop`` channels (a Telegram bot, a channel, a site:
each store has "secure communication channels", sites and forums [001 L123]).
Each channel is found by cyber monitoring on its own, blocked after the
blocking delay, and reopens as a mirror after ``mirror_delay`` days at a cost
("new sites appear quickly" [001 L147]). The shop's storefront is dark only
while all its channels are blocked; only then do its buyers lose its address,
each keeping it with probability ``mirror_retention`` when it reopens. With one
channel a shop is its storefront.
Most operators are abroad and cannot be arrested [001 L147, L179]. Retail
price follows unit cost (wholesale plus the courier pay that carries the risk
premium) and scarcity.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np

from sim.model.engine.elementary import exp, power, weighted_mean
from sim.model.engine.roster import Field, Roster, RosterAgent
from sim.model.world.justice import Role
from sim.model.world.sanctions import Offence
from sim.model.world.stashes import StashState


class Storefront(IntEnum):
    """The state of a shop's storefront (its channel or site)."""

    OPEN = 0  # takes orders
    DETECTED = 1  # found by cyber police; blocked on ``storefront_day``
    BLOCKED = 2  # blocked; reopens as a mirror on ``storefront_day``


class Operator(RosterAgent):
    """An operator and his shop: a view of one row of ``ShopRoster``."""

    fields = {
        "active": Field(bool, True, "in business"),
        "abroad": Field(bool, False, "the operator is abroad (cannot be arrested)"),
        "cash": Field(float, 0.0, "KZT"),
        "stock": Field(float, 0.0, "grams in bulk, not yet given to couriers"),
        "price": Field(float, 0.0, "KZT/g retail"),
        "pay": Field(float, 0.0, "KZT per stash to couriers"),
        "visibility": Field(float, 0.5, "0-1, advertising reach of the storefront"),
        "storefront": Field(np.int8, Storefront.OPEN, "the shop's Storefront state: its best channel's"),
        "storefront_day": Field(np.int64, 0, "day the shop's next pending block or mirror happens"),
        "channel": Field(np.int8, Storefront.OPEN, "each channel's Storefront state", width="storefronts_per_shop"),
        "channel_day": Field(
            np.int64, 0, "day each channel's pending block or mirror happens", width="storefronts_per_shop"
        ),  # fmt: skip
        "mirrors": Field(np.int64, 0, "mirrors opened after blocks (channels reopened)"),
        "leads": Field(float, 0.0, "usable leads police hold on the operator"),
        "lab": Field(np.int64, -1, "row of the supplying lab"),
        "orders": Field(float, 0.0, "smoothed orders per day"),
        "unmet": Field(float, 0.0, "smoothed share of orders not served"),
        "wholesale_paid": Field(float, 0.0, "KZT/g paid for the last bulk purchase"),
        "profit": Field(float, 0.0, "smoothed daily profit, KZT"),
        "vacancies": Field(np.int64, 0, "courier jobs advertised today"),
        "couriers": Field(np.int64, 0, "couriers working for the shop"),
        "orders_today": Field(np.int64, 0, "orders today"),
        "served_today": Field(np.int64, 0, "stashes its buyers found today"),
        "opened_day": Field(np.int64, 0, "day the shop opened"),
        "closed_day": Field(np.int64, -1, "day it closed, -1 while in business"),
        "open_vacancies": Field(np.int64, 0, "courier vacancies left open after today's hiring"),
        "loss_days": Field(np.int64, 0, "days in a row of negative smoothed profit"),
    }


class ShopRoster(Roster):
    """All shops, updated in bulk."""

    agent_class = Operator
    loss_days: np.ndarray  # a column (``Operator.fields``), declared here because ``book_day`` sets it whole

    def __init__(self, model):
        super().__init__(model)
        self.waiting: list[list[int]] = []  # per shop, the day each open vacancy was first posted, oldest first
        self.initial_visibility = 0.0  # the day-0 shops' visibility, summed: the reference of advertising

    def open_first(self, n: int, expected_orders: float) -> None:
        """Day 0: ``n`` shops in business, stocked; their visibility is the reference of advertising."""
        self.open_shops(n, expected_orders, stocked=True)
        self.initial_visibility = float(self.visibility.sum())

    def open_shops(self, n: int, expected_orders: float, stocked: bool = False) -> np.ndarray:
        """Start ``n`` new shops with an operator (abroad or not) and starting cash.

        Only the day-0 shops start ``stocked`` with bulk; later entrants buy theirs from labs.
        """
        p, rng = self.model.p, self.model.stream("shops")
        labs = self.model.labs
        active_labs = np.flatnonzero(labs.active)
        self.waiting += [[] for _ in range(n)]
        return self.add(
            n,
            abroad=rng.random(n) < p.abroad_share,
            cash=p.shop_start_cash,
            stock=expected_orders * p.stash_grams * p.stock_days / 2 if stocked else 0.0,
            price=p.reference_price,
            pay=p.courier_pay,
            visibility=rng.uniform(0.3, 1.0, n),
            lab=rng.choice(active_labs, size=n) if len(active_labs) else -1,
            orders=expected_orders,
            wholesale_paid=p.wholesale_price,
            opened_day=self.model.day,
        )

    def reference_unit_cost(self) -> float:
        """Unit cost (KZT/g) at baseline wholesale price and courier pay."""
        p = self.model.p
        return p.wholesale_price + p.courier_pay / p.stash_grams

    def open_now(self) -> np.ndarray:
        """Shops whose storefront can take orders today."""
        return self.active & (self.storefront != Storefront.BLOCKED)

    def market_price(self) -> float:
        """Retail price per gram buyers face: the order-weighted mean over open shops."""
        open_now = self.open_now()
        if not open_now.any():
            return float(self.price[self.active].mean()) if self.active.any() else self.model.p.reference_price
        return float(weighted_mean(self.orders[open_now] + 1e-9, self.price[open_now]))

    def advertise(self) -> None:
        """Visibility grows towards 1 while a storefront is open (ads, graffiti)."""
        grow = self.open_now()
        self.visibility[grow] += self.model.p.visibility_growth * (1.0 - self.visibility[grow])

    def storefront_round(self) -> None:
        """Cyber police detect and block storefronts; blocked shops reopen as mirrors, and their buyers may follow.

        Detect, then block, then reopen: a delay of d days means d days, 0 means the same day.
        """
        m = self.model
        police = m.police
        m.today.storefronts_detected = self.detect_storefronts(police.storefront_hazard(), police.block_delay())
        police.spend_on_blocks(self.block_storefronts(police.blocks_allowed()))
        reopened, back_from_dark = self.reopen_mirrors()
        for shop in back_from_dark:
            m.buyers.forget_storefront(int(shop), m.p.mirror_retention)
        m.today.mirrors_opened = reopened

    def detect_storefronts(self, hazard_per_visibility: float, block_delay: int) -> int:
        """Cyber monitoring finds open channels, each on its own; each is blocked after ``block_delay`` days.

        Returns the channels found today.
        """
        today, width = self.model.day, self.channel.shape[1]
        shops = np.flatnonzero(self.active & (self.channel == Storefront.OPEN).any(axis=1))
        chance = self.model.stream.keyed("storefronts", self.uid[shops], width).reshape(len(shops), width)
        hit = chance < (1.0 - exp(-hazard_per_visibility * self.visibility[shops]))[:, None]
        found = hit & (self.channel[shops] == Storefront.OPEN)
        rows, cols = np.nonzero(found)
        self.channel[shops[rows], cols] = Storefront.DETECTED
        self.channel_day[shops[rows], cols] = today + block_delay
        self._storefronts(shops)
        return len(rows)

    def block_storefronts(self, most: int | None = None) -> int:
        """Detected channels whose blocking delay has passed are blocked; returns how many.

        At most ``most`` of them (the longest due first; None: all); the others
        wait, still selling.
        """
        today = self.model.day
        due = self.active[:, None] & (self.channel == Storefront.DETECTED) & (self.channel_day <= today)
        rows, cols = np.nonzero(due)
        if most is not None and len(rows) > most:
            first = np.lexsort((cols, rows, self.channel_day[rows, cols]))[:most]  # longest due, then by row
            rows, cols = rows[first], cols[first]
        self.block(rows, self.model.p.mirror_delay, cols)
        return len(rows)

    def block(self, rows: np.ndarray, mirror_delay: int, cols: np.ndarray | slice = slice(None)) -> None:
        """Channels are blocked today, each to reopen as a mirror after ``mirror_delay`` days.

        The channels ``cols`` of the shops ``rows``, one each; by default every
        channel of each shop (an event's block).
        """
        self.channel[rows, cols] = Storefront.BLOCKED
        self.channel_day[rows, cols] = self.model.day + mirror_delay
        self._storefronts(np.unique(rows))

    def detect_all(self, rows: np.ndarray) -> None:
        """Every open channel of these shops is found today, to be blocked from the next day."""
        found = self.channel[rows] == Storefront.OPEN
        self.channel[rows] = np.where(found, Storefront.DETECTED, self.channel[rows])
        self.channel_day[rows] = np.where(found, self.model.day, self.channel_day[rows])
        self._storefronts(rows)

    def reopen_mirrors(self) -> tuple[int, np.ndarray]:
        """Blocked channels reopen as mirrors after the delay, each paying for it.

        Returns the channels reopened and the shops that were dark (every
        channel blocked) until today: their buyers must find them again.
        """
        p, today = self.model.p, self.model.day
        due = self.active[:, None] & (self.channel == Storefront.BLOCKED) & (self.channel_day <= today)
        rows, cols = np.nonzero(due)
        shops = np.unique(rows)
        dark = shops[self.storefront[shops] == Storefront.BLOCKED]
        self.channel[rows, cols] = Storefront.OPEN
        np.add.at(self.mirrors, rows, 1)
        np.subtract.at(self.cash, rows, p.mirror_cost)
        self.visibility[dark] *= p.mirror_visibility  # a shop back from dark starts its advertising again
        self._storefronts(shops)
        return len(rows), dark

    def _storefronts(self, rows: np.ndarray) -> None:
        """The shops' storefront state from their channels, and its day.

        The best channel's state (open, else detected and still selling, else
        blocked: dark), and the earliest pending day among the channels in it.
        """
        channel, day = self.channel[rows], self.channel_day[rows]
        best = channel.min(axis=1)  # Storefront.OPEN < DETECTED < BLOCKED
        self.storefront[rows] = best
        self.storefront_day[rows] = np.where(channel == best[:, None], day, np.iinfo(np.int64).max).min(axis=1)

    def storefront_counts(self) -> tuple[int, ...]:
        """The shops in business by their storefront's state (``Storefront``'s order)."""
        states = self.storefront[self.active]
        return tuple(int(np.count_nonzero(states == s)) for s in Storefront)

    def storefront_of(self, shop: int) -> tuple[Storefront, int, int]:
        """A shop's storefront: its state, the day of its next pending block or mirror, and its mirrors so far."""
        return Storefront(int(self.storefront[shop])), int(self.storefront_day[shop]), int(self.mirrors[shop])

    def plan_stashes(self, on_file: np.ndarray, owed: np.ndarray) -> np.ndarray:
        """Stashes each shop wants laid today, within bulk stock.

        It tops up its ground stock and has one new stash laid for each buyer
        owed a re-stash after yesterday's "not found" [001 L120, L127].
        """
        p = self.model.p
        target = np.ceil(self.orders * p.ground_days)
        affordable = np.floor(self.stock / p.stash_grams)
        need = np.minimum(np.maximum(target - on_file, 0) + owed, affordable)
        return np.where(self.active, need, 0).astype(np.int64)

    def post_vacancies(self, working_by_shop: np.ndarray) -> np.ndarray:
        """Courier jobs each shop advertises: couriers needed for expected orders minus those it has."""
        p = self.model.p
        per_courier = 0.5 * (p.batch_min + p.batch_max) * p.work_share
        needed = np.ceil(self.orders * 1.1 / per_courier)
        self.vacancies = np.where(self.active, np.maximum(0, needed - working_by_shop), 0).astype(np.int64)
        return self.vacancies

    def fill_vacancies(self, hires: np.ndarray) -> int:
        """Today's hires fill each shop's oldest open vacancies; returns the days those had been open, summed.

        A vacancy opens the first day a shop posts it and stays open while the
        shop keeps posting it; when a shop needs fewer couriers, its newest
        vacancies are withdrawn.
        """
        today, waited = self.model.day, 0
        # Vacancies posted and filled the same day wait 0 days: only shops with a vacancy left open, today or
        # from before, need their list of open vacancies.
        for shop in np.flatnonzero((self.vacancies > hires) | (self.open_vacancies > 0)):
            open_since = self.waiting[shop]
            posted = int(self.vacancies[shop])
            open_since[:] = open_since[:posted] + [today] * (posted - len(open_since))
            filled = int(hires[shop])
            waited += sum(today - day for day in open_since[:filled])
            del open_since[:filled]
            self.open_vacancies[shop] = len(open_since)
        return waited

    def adjust_pay(self, unfilled: np.ndarray) -> None:
        """Raise pay while vacancies stay open (the risk premium); drift back to the going rate otherwise."""
        p = self.model.p
        raise_ = unfilled > 0
        self.pay[raise_] *= 1.0 + p.pay_raise_rate
        self.pay[~raise_] += 0.01 * (p.courier_pay - self.pay[~raise_])
        np.minimum(self.pay, p.max_pay_share * self.price * p.stash_grams, out=self.pay)

    def staff(self, couriers: np.ndarray) -> None:
        """Today's couriers at work for each shop, hires included."""
        self.couriers[:] = couriers

    def hand_out(self, grams: np.ndarray) -> None:
        """Stock handed to the shops' couriers for today's stashes, by shop."""
        self.stock -= grams

    def add_leads(self, counts: np.ndarray) -> None:
        """New leads the police hold on each shop's operator (from arrested couriers), by row."""
        self.leads += counts

    def age_leads(self, kept: float) -> None:
        """Leads grow stale: a share ``kept`` of each stays usable."""
        self.leads *= kept

    def restock(self) -> np.ndarray:
        """Shops low on bulk order a batch from a lab; returns grams requested by shop."""
        p = self.model.p
        daily = self.orders * p.stash_grams
        low = self.active & (self.stock < daily * p.stock_days / 2)
        return np.where(low, daily * p.stock_days, 0.0)

    def receive_bulk(self, grams: np.ndarray, price_per_gram: np.ndarray) -> None:
        """Add bought bulk to stock and pay for it."""
        bought = grams > 0
        self.stock += grams
        self.cash -= grams * price_per_gram
        self.wholesale_paid[bought] = price_per_gram[bought]

    def set_prices(self) -> None:
        """Move the retail price towards cost pass-through times a scarcity markup."""
        p = self.model.p
        unit_cost = self.wholesale_paid + self.pay / p.stash_grams
        cost_ratio = unit_cost / self.reference_unit_cost()
        target = p.reference_price * power(cost_ratio, p.cost_passthrough) * (1.0 + p.scarcity_markup * self.unmet)
        self.price += p.price_adjust_rate * (target - self.price)

    def book_day(self, orders: np.ndarray, served: np.ndarray, revenue: np.ndarray, wages: np.ndarray) -> None:
        """Record the day's orders, income and costs."""
        p = self.model.p
        a = 0.1  # smoothing weight of today
        unmet_today = np.where(orders > 0, 1.0 - served / np.maximum(orders, 1), 0.0)
        self.orders += a * (orders - self.orders) * self.active
        self.unmet += a * (unmet_today - self.unmet) * self.active
        self.orders_today[:] = orders
        self.served_today[:] = served
        profit = revenue - wages - p.shop_fixed_cost
        self.cash += np.where(self.active, profit, 0.0)
        # The owner takes out part of the cash above the reserve: profit is not hoarded, so losses can bite.
        self.cash -= p.owner_withdrawal * np.maximum(0.0, self.cash - p.shop_start_cash) * self.active
        self.profit += a * (profit - self.profit) * self.active
        self.loss_days = np.where(self.active & (self.profit < 0), self.loss_days + 1, 0)

    def buy_bulk(self) -> None:
        """Shops low on bulk buy from labs, or from outside the city when labs fall short."""
        m = self.model
        requests = self.restock()
        if requests.sum() <= 0:
            return
        sale = m.labs.sell_bulk(requests, self.lab)
        self.lab[:] = sale.supplier
        self.receive_bulk(sale.delivered, sale.paid)
        for grams in sale.imported:
            m.today.grams_imported += grams
            m.ledger.produced(grams)  # product shipped in counts as made, for the balance
        for grams in sale.imported[sale.stopped]:
            m.ledger.seized(grams)

    def arrest_operators(self, found: np.ndarray) -> np.ndarray:
        """The police move on the operators of the shops ``found``, as on a lead.

        Those at home are arrested and their shops closed, stock and stashes seized, each arrest a lead to the
        shop's lab with the lead probability; an operator abroad cannot be arrested, and his open storefronts are
        found and due at once: the next storefront round blocks them (within the cyber unit's capacity), the same
        day for an event, which comes before it, and the next day after the daily investigation.

        Returns:
            The rows of the shops whose operators were arrested.
        """
        m = self.model
        self.leads[found] = 0.0
        self.detect_all(found[self.abroad[found]])
        caught = found[~self.abroad[found]]
        m.justice.open_cases(Role.OPERATOR, np.full(len(caught), -1), Offence.OPERATOR, m.day, m.p.forensic_delay)
        for shop in caught:
            self.close_down(int(shop), seize=True)
            lab = self.lab[shop]
            if lab >= 0 and m.stream("investigation").random() < m.police.lead_probability():
                m.labs.add_leads(np.bincount([lab], minlength=len(m.labs)))
        m.today.arrests_operator += len(caught)
        return caught

    def close_down(self, shop: int, seize: bool) -> None:
        """A shop leaves: its stock and stashes are seized (an arrest) or abandoned; its couriers and buyers lose it."""
        m = self.model
        stashes = m.stashes
        mine = np.flatnonzero((stashes.shop == shop) & (stashes.state == StashState.PRESENT))
        grams = self.stock[shop] + len(mine) * m.p.stash_grams
        if seize:
            m.ledger.seized(grams)
            m.today.stashes_seized += len(mine)
        else:
            m.ledger.lost(grams)
        stashes.remove(np.flatnonzero(stashes.shop == shop))
        self.stock[shop] = 0.0
        self.close(np.array([shop]))
        m.today.shops_closed += 1
        m.couriers.release_shop(shop)
        m.buyers.forget_storefront(shop, 0.0)

    def enter_and_exit(self) -> None:
        """Failing shops close; a margin, or orders left unmet, attract a new one.

        A shop fails when it is out of money or has lost money for
        ``exit_patience`` days (``failing``). A new shop enters with a chance
        that grows with the incumbents' monthly return on starting cash plus the
        share of orders unmet, above ``entry_hurdle``.
        """
        m = self.model
        p, today = m.p, m.today
        for shop in np.flatnonzero(self.failing()):
            self.close_down(int(shop), seize=False)
        active = self.active
        monthly_return = float(self.profit[active].mean()) * 30 / p.shop_start_cash if active.any() else 1.0
        unmet = today.unmet_orders / max(1, today.orders)
        hurdle = p.entry_hurdle if active.any() else 0.0  # a city with buyers and no shop: no incumbents to beat
        if m.stream("shop_entry").random() < p.shop_entry_rate * max(0.0, monthly_return + unmet - hurdle):
            mean_orders = float(self.orders[active].mean()) if active.any() else p.n_buyers * p.order_rate
            self.open_shops(1, 0.5 * mean_orders)  # found by buyers through search and ads
            today.shops_opened += 1

    def failing(self) -> np.ndarray:
        """Shops in business that are out of money or have lost money for ``exit_patience`` days in a row."""
        return self.active & ((self.cash < 0) | (self.loss_days >= self.model.p.exit_patience))

    def close(self, rows: np.ndarray) -> None:
        """Shops leave the market (operator arrested or out of money)."""
        self.active[rows] = False
        self.vacancies[rows] = 0
        self.closed_day[rows] = self.model.day
        self.open_vacancies[rows] = 0
        for row in rows:
            self.waiting[row].clear()

    def count_active(self) -> int:
        """Number of shops in business."""
        return int(self.active.sum())
