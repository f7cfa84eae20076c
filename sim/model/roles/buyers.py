"""Buyers: who orders today, from which storefront, and who starts, quits or relapses.

Buyers order online, prepay, and collect from a hidden stash "within a few
hours" [001 L49-51, L126]. Each buyer remembers a few storefronts; when none
of them is open the buyer has to search, which is harder when many are
blocked. Price and the perceived risk of arrest at a pickup lower the chance
of ordering; prevention lowers initiation; treatment after arrest lowers
relapse.
"""

from __future__ import annotations

from enum import IntEnum
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from sim.model.deterrence import discounted_years, felt_cost, observe_peers
from sim.model.engine.compiled import jit
from sim.model.engine.draws import categorical, cdf, from_cdf
from sim.model.engine.elementary import exp_, log, log_, lognormal, power, power_
from sim.model.engine.roster import Field, Roster, RosterAgent
from sim.model.records import OUTCOMES
from sim.model.world.contacts import NEVER
from sim.model.world.justice import Role
from sim.model.world.sanctions import Offence
from sim.model.world.stashes import Delivery

if TYPE_CHECKING:
    from sim.model.roles.police import Hazards


class BuyerState(IntEnum):
    """Where a user stands."""

    ACTIVE = 0  # uses, and orders on some days
    FORMER = 1  # has quit, may relapse
    PRISON = 2  # imprisoned (tightened penalties), or waiting for trial
    RECOVERED = 3  # left the at-risk population for good


class Buyer(RosterAgent):
    """A user of the market (current or former): a view of one row of ``BuyerRoster``."""

    fields = {
        "state": Field(np.int8, BuyerState.ACTIVE, "a BuyerState"),
        "district": Field(np.int64, 0, "home district"),
        "order_rate": Field(float, 0.0, "orders/day at the reference price and no risk"),
        "price_elasticity": Field(float, 0.0, "-dlnQ/dlnP of ordering"),
        "risk_aversion": Field(float, 1.0, "weight of the expected cost of arrest"),
        "perceived_risk": Field(float, 0.0, "perceived arrest probability per pickup"),
        "treated": Field(bool, False, "was treated after an arrest"),
        "seen_day": Field(np.int64, NEVER, "last day he was an active user (sim.model.world.contacts)"),
        "contact_day": Field(np.int64, NEVER, "last day he was arrested (sim.model.world.contacts)"),
        "known": Field(
            np.int64, -1, "rows of the shops whose storefronts he remembers (-1: empty slot)", width="known_storefronts"
        ),  # fmt: skip
    }


# ----------------------------------------------------------------- the rules
class Appetite(NamedTuple):
    """What makes each row order: its base rate, and how price and perceived risk put it off."""

    order_rate: np.ndarray
    price_elasticity: np.ndarray
    risk_aversion: np.ndarray
    perceived_risk: np.ndarray


@jit
def decide_orders(uniforms, active, appetite, log_price_ratio, risk_cost_ratio):
    """Rows that order today.

    The ``k``-th ``active`` row orders when ``uniforms[k]`` is below its chance
    ``order_rate * (full price / reference price) ** -elasticity``, with the
    full price the order's price raised by the perceived expected cost of
    arrest, ``price * (1 + aversion * risk * risk_cost_ratio)``: a buyer
    weighs an expected sanction as he weighs money (at ``aversion`` 1), with
    his own price elasticity. Risk only lowers the chance, and price raises it
    at most by ``bound = exp(max elasticity * max(0, -log_price_ratio))``, so a
    row whose uniform is above ``order_rate * bound`` is skipped without the
    exponential (elasticities are at least 0, as the registry's ranges
    have them). Likewise the full price is at most the highest sanction's,
    so the chance is at least ``order_rate * floor`` and a row whose uniform
    is below that orders without it. (Both bounds keep a margin far above
    the functions' rounding: the same rows order.)
    """
    order_rate, elasticity = appetite.order_rate, appetite.price_elasticity
    aversion, risk = appetite.risk_aversion, appetite.perceived_risk
    max_elasticity = 0.0
    max_sanction = 0.0
    for i in range(len(active)):
        if active[i]:
            max_elasticity = max(max_elasticity, elasticity[i])
            max_sanction = max(max_sanction, aversion[i] * risk[i] * risk_cost_ratio)
    bound = exp_(max_elasticity * max(0.0, -log_price_ratio)) * (1.0 + 1e-12)
    highest_full = log_price_ratio + (log_(1.0 + max_sanction) if max_sanction > 0.0 else 0.0)
    floor = exp_(-max_elasticity * max(0.0, highest_full)) * (1.0 - 1e-12)
    out = np.empty(len(uniforms), dtype=np.int64)
    n = 0
    k = 0
    for i in range(len(active)):
        if active[i]:
            u = uniforms[k]
            k += 1
            if u >= order_rate[i] * bound:
                continue
            if u < order_rate[i] * floor:
                out[n] = i
                n += 1
                continue
            sanction = aversion[i] * risk[i] * risk_cost_ratio
            log_full = log_price_ratio + (log_(1.0 + sanction) if sanction > 0.0 else 0.0)
            deterrence = elasticity[i] * log_full
            if u < order_rate[i] * exp_(-deterrence):
                out[n] = i
                n += 1
    return out[:n]


@jit
def choose_storefronts(uniforms, rows, known, appeal, find, cdf):
    """The shop each ordering row uses, -1 if none.

    One of the open storefronts the row remembers, drawn with chance
    proportional to its ``appeal`` (0 for a storefront that is not open) with
    ``uniforms[j, 3]``; if it remembers none open, with probability ``find``
    one found by search (drawn from ``cdf``, the cumulative search weights),
    which replaces a random remembered slot. ``uniforms`` has 4 per row.
    """
    slots = known.shape[1]
    choice = np.full(len(rows), -1, dtype=np.int64)
    for j in range(len(rows)):
        row = rows[j]
        total = 0.0
        for s in range(slots):
            shop = known[row, s]
            if shop >= 0:
                total += appeal[shop]
        if total > 0.0:
            pick = uniforms[j, 3] * total
            for s in range(slots):
                shop = known[row, s]
                if shop >= 0 and appeal[shop] > 0.0:
                    choice[j] = shop
                    pick -= appeal[shop]
                    if pick < 0.0:
                        break
        if choice[j] < 0 and len(cdf) > 0 and uniforms[j, 0] < find:
            shop = min(np.searchsorted(cdf, uniforms[j, 1], side="right"), len(cdf) - 1)
            choice[j] = shop
            known[row, int(uniforms[j, 2] * slots)] = shop
    return choice


class UseRates(NamedTuple):
    """Daily hazards of quitting (active users), relapsing and recovering for good (former users)."""

    quit_rate: float  # at the reference price and no perceived risk
    relapse_rate: float
    recovery_rate: float
    price_factor: float  # (price / reference price) ** use_price_elasticity
    risk_weight: float  # use_risk_response x expected arrest cost per order / order price
    elasticity: float  # use_price_elasticity: how the full price moves quitting


@jit
def use_transitions(uniforms, state, treated, known, risk, rates):
    """A day's moves between use states; the ``k``-th active or former row uses ``uniforms[k]``.

    An active row quits (to former) when its uniform is below its quitting
    hazard, ``quit_rate`` raised by price (``price_factor``) and by the
    perceived expected cost of arrest, which adds ``risk_weight * risk`` order
    prices to the price it pays: ``(1 + risk_weight * risk) ** elasticity``,
    the same elasticity as for money (``price_factor``); a former row relapses
    when it is below the relapse rate (halved after treatment), else recovers
    for good when it is below relapse + ``recovery_rate``, and forgets the
    storefronts it knew.

    Quitting is rare, so an active row whose uniform is above the highest
    hazard of the day (``bound``: at the highest perceived risk among active
    rows, with a margin far above the power's rounding) is passed over
    without the power: the same decisions, at a fraction of the cost.
    """
    quit_rate, relapse_rate, recovery_rate = rates.quit_rate, rates.relapse_rate, rates.recovery_rate
    highest = 1.0
    if rates.risk_weight > 0.0 and rates.elasticity > 0.0:  # else the risk cannot raise the hazard
        top = 0.0
        for i in range(len(state)):
            if state[i] == BuyerState.ACTIVE and risk[i] > top:
                top = risk[i]
        highest = power_(1.0 + rates.risk_weight * top, rates.elasticity)
    bound = quit_rate * rates.price_factor * highest * (1.0 + 1e-12)
    k = 0
    for i in range(len(state)):
        if state[i] == BuyerState.ACTIVE:
            if uniforms[k] >= bound:
                k += 1
                continue
            hazard = quit_rate * rates.price_factor
            sanction = rates.risk_weight * risk[i]
            if sanction > 0.0:
                hazard *= power_(1.0 + sanction, rates.elasticity)
            if uniforms[k] < hazard:
                state[i] = BuyerState.FORMER
            k += 1
        elif state[i] == BuyerState.FORMER:
            u = uniforms[k]
            k += 1
            relapse = relapse_rate * (0.5 if treated[i] else 1.0)
            if u < relapse:
                state[i] = BuyerState.ACTIVE
            elif u < relapse + recovery_rate:
                state[i] = BuyerState.RECOVERED
                known[i, :] = -1


@jit
def count_equal(values, x):
    """How many entries of the 2-D array ``values`` equal ``x``."""
    n = 0
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            if values[i, j] == x:
                n += 1
    return n


@jit
def forget(known, shop, uniforms, keep_share):
    """Empty (-1) the slots of ``known`` that hold ``shop``, except a ``keep_share`` of them.

    The ``k``-th such slot, in row-major order, is kept when ``uniforms[k] <
    keep_share``; with ``keep_share`` 0 every one is emptied and ``uniforms``
    is not read.
    """
    k = 0
    for i in range(known.shape[0]):
        for j in range(known.shape[1]):
            if known[i, j] == shop:
                if keep_share > 0.0:
                    u = uniforms[k]
                    k += 1
                    if u < keep_share:
                        continue
                known[i, j] = -1


# ------------------------------------------------------------------ the role
class Sales(NamedTuple):
    """What the day's pickups came to: what buyers learn from, and where buyers were arrested."""

    arrest_rate: float  # share of pickups that ended in an arrest
    arrest_districts: np.ndarray  # where each arrested buyer was caught


class BuyerRoster(Roster):
    """All buyers, updated in bulk, and the re-stashes owed to them.

    A buyer whose stash was not found complains; his shop has a courier lay
    him a new stash (``owed_buyer``, ``owed_shop``), which he picks up the
    next day.
    """

    compacts = True
    role = Role.BUYER

    agent_class = Buyer
    gone_state = BuyerState.RECOVERED

    def __init__(self, model):
        super().__init__(model)
        # Buyers whose stash was not found today, and their shops: a courier lays each a new stash for tomorrow.
        self.owed_buyer = np.zeros(0, dtype=np.int64)
        self.owed_shop = np.zeros(0, dtype=np.int64)

    def populate(self, storefronts: np.ndarray) -> None:
        """Day 0: ``n_buyers`` active users, and former users at the quit/relapse/recovery equilibrium.

        The former users are at most as many as the active ones; each knows storefronts drawn by ``storefronts``
        (their visibility).
        """
        p = self.model.p
        self.start_using(p.n_buyers, BuyerState.ACTIVE, storefronts)
        exits = p.relapse_rate + p.recovery_rate
        former = int(min(p.n_buyers, p.n_buyers * p.quit_rate / exits)) if exits > 0 else p.n_buyers
        self.start_using(former, BuyerState.FORMER, storefronts)

    def start_using(self, n: int, state: BuyerState, storefront_weights: np.ndarray) -> np.ndarray:
        """Add ``n`` buyers with drawn traits, each knowing ``first_storefronts`` storefronts drawn by visibility.

        A storefront drawn twice is remembered once (the slot stays empty).
        """
        p, rng, city = self.model.p, self.model.stream("new_buyers"), self.model.city
        district = from_cdf(rng, city.demand_cdf, n)
        order_rate = p.order_rate * rng.gamma(2.0, 0.5, n)
        price_elasticity = p.price_elasticity * lognormal(rng, -0.125, 0.5, n)
        risk_aversion = p.buyer_risk_aversion * lognormal(rng, -0.125, 0.5, n)
        known = np.full((n, self.known.shape[1]), -1, dtype=np.int64)
        if storefront_weights.sum() > 0:
            first = categorical(rng, storefront_weights, n * p.first_storefronts).reshape(n, p.first_storefronts)
            for slot in range(1, p.first_storefronts):
                first[(first[:, slot : slot + 1] == first[:, :slot]).any(axis=1), slot] = -1
            known[:, : p.first_storefronts] = first
        return self.add(
            n, state=state, district=district, order_rate=order_rate, price_elasticity=price_elasticity,
            risk_aversion=risk_aversion, known=known,
        )  # fmt: skip

    def expected_orders(self) -> float:
        """Orders a day of the active buyers at the reference price and no perceived risk."""
        return float(self.order_rate[self.state == BuyerState.ACTIVE].sum())

    def arrest_cost(self) -> float:
        """Money value of an arrest to a buyer, as buyers know the law: a fine, plus discounted prison years.

        A prison year costs the buyer ``prison_year_cost`` years of his own income (``buyer_income``), not a
        courier candidate's wage, and the years are discounted at the buyer's own rate (``buyer_discount_factor``).
        """
        p, known = self.model.p, self.model.beliefs.law
        if known.buyer_prison_chance == 0:
            return p.fine_kzt
        lost = float(discounted_years(float(known.years[Offence.BUYER_PRISON]), p.buyer_discount_factor))
        return p.fine_kzt + known.buyer_prison_chance * lost * p.prison_year_cost * p.buyer_income * 365.0

    def decide_orders(self, price: float, arrest_cost: float) -> np.ndarray:
        """Rows of the active buyers who order today (``decide_orders``)."""
        p = self.model.p
        order_cost = price * p.stash_grams
        active = self.state == BuyerState.ACTIVE
        appetite = Appetite(self.order_rate, self.price_elasticity, self.risk_aversion, self.perceived_risk)
        uniforms = self.model.stream.keyed("orders", self.uid, where=active)
        log_price_ratio = float(log(price / p.reference_price))
        felt = felt_cost(arrest_cost / order_cost, p.arrest_cost_saturation)
        return decide_orders(uniforms, active, appetite, log_price_ratio, felt)

    def choose_storefronts(self, rows: np.ndarray, open_now: np.ndarray, visibility: np.ndarray) -> np.ndarray:
        """The shop each ordering buyer uses (-1: none found today).

        A buyer picks among the open storefronts he remembers, the busier
        ones more often (word of mouth, ratings: ``size_preference``);
        remembering none open, he searches, finding one with a chance that
        shrinks with the share of storefronts that are blocked, and remembers it.
        """
        p, shops = self.model.p, self.model.shops
        weights = visibility * open_now
        n_shops = max(1, int((visibility > 0).sum()))
        find = p.search_success * open_now.sum() / n_shops
        appeal = np.where(open_now, power(shops.orders + 1.0, p.size_preference), 0.0)
        uniforms = self.model.stream.keyed("storefront_choice", self.uid[rows], 4)
        return choose_storefronts(uniforms, rows, self.known, appeal, find, cdf(weights))

    def observe_arrests(self, arrest_rate: float) -> None:
        """Update perceived pickup risk from arrests among peers."""
        observe_peers(self, self.state == BuyerState.ACTIVE, arrest_rate, "buyer_peers")

    def arrest(self, rows: np.ndarray) -> None:
        """Arrested buyers are fined, or imprisoned under tightened penalties; some are treated."""
        m = self.model
        imprison = m.p.buyer_imprisonment
        treated = self._detain(rows, imprison)
        m.ledger.arrested(self, rows)
        if imprison:
            m.justice.open_cases(Role.BUYER, rows, Offence.BUYER_PRISON, m.day, m.p.forensic_delay)
        m.today.arrests_buyer += len(rows)
        m.today.buyers_treated += len(treated)

    def arrest_share(self, share: float) -> int:
        """A wave of arrests: each active buyer is arrested with chance ``share`` (stream ``arrest_wave``); how many."""
        active = np.flatnonzero(self.state == BuyerState.ACTIVE)
        arrested = active[self.model.stream.keyed("arrest_wave", self.uid[active]) < share]
        self.arrest(arrested)
        return len(arrested)

    def _detain(self, rows: np.ndarray, imprisoned: bool) -> np.ndarray:
        """Arrested buyers learn from it; some are treated instead of fined. Returns treated rows."""
        p = self.model.p
        self.perceived_risk[rows] += p.learning_rate * (1.0 - self.perceived_risk[rows])
        chance = self.model.stream.keyed("treatment", self.uid[rows], 2)  # each buyer's own: treated, then quits
        treated = rows[chance[:, 0] < p.treatment]
        self.treated[treated] = True
        quits = rows[(chance[:, 0] < p.treatment) & (chance[:, 1] < p.treatment_effect)]
        self.state[quits] = BuyerState.FORMER
        if imprisoned:
            self.state[rows] = BuyerState.PRISON
        return treated

    def quit_relapse_recover(self, price: float, arrest_cost: float) -> None:
        """Daily transitions between active and former use, and lasting recovery (``use_transitions``).

        Args:
            price: today's retail price per gram; quitting rises with it.
            arrest_cost: the money value of an arrest to a buyer; quitting rises with its perceived expectation.
        """
        p = self.model.p
        # With agencies sharing records, prevention also reaches former users at risk.
        relapse = p.relapse_rate * (1.0 - p.prevention * p.coordination * p.prevention_reach)
        rates = UseRates(
            p.quit_rate, relapse, p.recovery_rate, float(power(price / p.reference_price, p.use_price_elasticity)),
            p.use_risk_response * felt_cost(arrest_cost / (price * p.stash_grams), p.arrest_cost_saturation),
            p.use_price_elasticity,
        )  # fmt: skip
        in_use = (self.state == BuyerState.ACTIVE) | (self.state == BuyerState.FORMER)
        uniforms = self.model.stream.keyed("use", self.uid, where=in_use)
        use_transitions(uniforms, self.state, self.treated, self.known, self.perceived_risk, rates)

    def buy(self, hazards: Hazards, found_districts: np.ndarray, wages: np.ndarray) -> Sales:
        """Buyers order, prepay, and go to a stash; some find nothing, some are arrested.

        A buyer who finds nothing complains; the operator has a courier lay him
        a new stash [001 L120, L127], which he picks up the next day (the
        newest stash of his shop on file). A second failure is final.

        Args:
            hazards: today's street hazards (``Police.street_hazards``).
            found_districts: where patrols found stashes today (the police remember both kinds of finds).
            wages: what each shop paid its couriers today, KZT.
        """
        m = self.model
        p, shops = m.p, m.shops
        open_now = shops.open_now()
        price = shops.market_price()
        ordering = self.decide_orders(price, self.arrest_cost())
        chosen = self.choose_storefronts(ordering, open_now, shops.visibility * shops.active)
        has_shop = chosen >= 0
        buyers, shop = ordering[has_shop], chosen[has_shop]
        # Yesterday's "not found" first: each such buyer goes to the new stash laid for him, if his shop still runs.
        self.drop_restashes()
        owed, owed_shop = self.owed_buyer, self.owed_shop
        pickups = np.concatenate([owed, buyers])
        shop = np.concatenate([owed_shop, shop])
        restash = np.arange(len(shop)) < len(owed)
        # Each pickup's own numbers (a buyer's re-stash and his new order are two), whatever other buyers do.
        pickup_uid = self.uid[pickups] * 2 + (~restash)
        sent = m.stashes.deliver(shop, restash, len(shops), m.stream.keyed("pickup", pickup_uid))
        got, district = sent.got, sent.district
        new_missing = sent.missing & ~restash
        self.owed_buyer, self.owed_shop = pickups[new_missing], shop[new_missing]

        chance = m.stream.keyed("buyer_arrest", pickup_uid)
        arrested = got & (chance < hazards.buyer[np.maximum(district, 0)])
        n_got, n_arrested = int(np.count_nonzero(got)), int(np.count_nonzero(arrested))
        n_sold = n_got - n_arrested
        m.ledger.seized(n_arrested * p.stash_grams)
        m.ledger.sold(n_sold * p.stash_grams)
        visits = np.bincount(district[got], minlength=m.city.n_districts)
        m.police.record_finds(np.concatenate([found_districts, district[arrested]]), visits)
        self.arrest(pickups[arrested])
        if m.recorder:
            self._record_purchases(ordering, chosen, sent, arrested, (owed, owed_shop))
        self._book_sales(shop, restash, sent, wages)
        day = m.today
        day.orders = len(ordering)
        day.unmet_orders += len(ordering) - len(buyers)
        day.transactions = n_sold
        day.grams_sold = n_sold * p.stash_grams
        day.price_per_gram = price
        day.restashes = len(owed)
        return Sales(n_arrested / max(1, n_got), district[arrested])

    def _book_sales(self, shop: np.ndarray, restash: np.ndarray, sent: Delivery, wages: np.ndarray) -> None:
        """The shops book today's orders, sales and wages; the day's unmet orders, re-stashes and revenue.

        ``shop`` is each pickup's shop (the re-stashes, ``restash``, first), ``sent`` where each was sent.
        """
        shops, day, grams = self.model.shops, self.model.today, self.model.p.stash_grams
        n_shops, got, new = len(shops), sent.got, ~restash
        orders = np.bincount(shop[new], minlength=n_shops)
        served = np.bincount(shop[got & new], minlength=n_shops)  # today's orders served today
        prepaid = np.bincount(shop[new & (sent.sent >= 0)], minlength=n_shops)  # buyers pay when sent a stash
        revenue = prepaid * shops.price * grams
        shops.book_day(orders.astype(float), served.astype(float), revenue, wages)
        failed_restash = int(np.count_nonzero(restash & ~got))  # a second failure is final
        day.unmet_orders += int(np.count_nonzero(new & (sent.sent < 0))) + failed_restash
        day.revenue = float(revenue.sum())
        day.not_found_rate = int(np.count_nonzero(sent.missing)) / max(1, int(np.count_nonzero(sent.sent >= 0)))
        day.restash_failures += failed_restash

    def _record_purchases(self, ordering, chosen, sent, arrested, owed) -> None:
        """Today's orders (attempt 1) and re-stash pickups (attempt 2) in the purchase records.

        ``owed`` holds the buyer and shop rows of the re-stash pickups, sent before the orders.
        """
        recorder = self.model.recorder
        n_owed = len(owed[0])
        code = {o: OUTCOMES.index(o) for o in OUTCOMES}
        outcome = np.select(
            [sent.sent < 0, arrested, sent.got], [code["no stash"], code["seized"], code["got"]], code["not found"]
        )
        first = np.full(len(ordering), code["no storefront"])
        first[chosen >= 0] = outcome[n_owed:]
        recorder.purchases(ordering, chosen, first, attempt=1)
        recorder.purchases(owed[0], owed[1], outcome[:n_owed], attempt=2)

    def drop_restashes(self) -> None:
        """Re-stashes owed by a shop that closed, or to a buyer now in prison or recovered, are never picked up.

        They count as failed re-stashes and unmet orders of the day (and, in the purchase records, as attempts
        that found "no stash").
        """
        m = self.model
        still = m.shops.active[self.owed_shop] & (self.state[self.owed_buyer] <= BuyerState.FORMER)
        if still.all():
            return
        gone = np.count_nonzero(~still)
        m.today.restash_failures += gone
        m.today.unmet_orders += gone
        if m.recorder:
            m.recorder.purchases(self.owed_buyer[~still], self.owed_shop[~still],
                                 np.full(gone, OUTCOMES.index("no stash")), attempt=2)  # fmt: skip
        self.owed_buyer, self.owed_shop = self.owed_buyer[still], self.owed_shop[still]

    def renew(self) -> None:
        """Quitting, relapse and recovery; new users start with availability and advertising."""
        m = self.model
        p, shops, today = m.p, m.shops, m.today
        self.quit_relapse_recover(shops.market_price(), self.arrest_cost())
        availability = 1.0 - today.unmet_orders / max(1, today.orders)
        open_visibility = shops.visibility * shops.open_now()
        advertising = power(open_visibility.sum() / max(1e-9, shops.initial_visibility), p.ad_elasticity)
        rate = p.initiation_rate * m.scale * availability * advertising * (1.0 - p.prevention)
        # No storefront, no start.
        new = int(m.stream("initiation").poisson(max(0.0, rate))) if open_visibility.sum() > 0 else 0
        if new:
            self.start_using(new, BuyerState.ACTIVE, open_visibility)
        today.new_buyers = new

    def return_from_justice(self, acquitted: np.ndarray, released: np.ndarray, absconded: np.ndarray) -> None:
        """Buyers set free are former users (who may relapse); those who fled no longer buy either."""
        self.state[released] = BuyerState.FORMER
        self.state[acquitted] = BuyerState.FORMER
        self.state[absconded] = BuyerState.FORMER

    def imprison(self, rows: np.ndarray) -> None:
        """Convicted buyers stay in prison (they were held since their arrest)."""

    def tidy(self) -> np.ndarray | None:
        """As ``Roster.tidy``; re-stashes no longer owed are dropped first, and the case ledger follows the rows."""
        self.drop_restashes()  # (none is owed to a departed buyer's row after this)
        remap = super().tidy()
        if remap is not None:
            self.model.justice.renumber(Role.BUYER, remap)
            self.owed_buyer = remap[self.owed_buyer]
        return remap

    def forget_storefront(self, shop: int, keep_share: float) -> None:
        """Buyers who knew ``shop`` lose it, except ``keep_share`` who find its mirror."""
        drawn = count_equal(self.known, shop) if keep_share > 0 else 0
        forget(self.known, shop, self.model.stream("forgetting").random(drawn), keep_share)

    def count(self, state: BuyerState) -> int:
        """Number of buyers in a state."""
        return int(np.count_nonzero(self.state == state))
