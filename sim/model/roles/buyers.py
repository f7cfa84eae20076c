"""Buyers: who orders today, from which storefront, and who starts, quits or relapses.

Buyers order online, prepay, and collect from a hidden stash "within a few
hours" [001 L49-51, L126]. Each buyer remembers a few storefronts; when none
of them is open the buyer has to search, which is harder when many are
blocked. Price and the perceived risk of arrest at a pickup lower the chance
of ordering; prevention lowers initiation; treatment after arrest lowers
relapse.
"""

from __future__ import annotations

import numpy as np

from sim.model.engine import kernels
from sim.model.engine.draws import categorical, cdf, from_cdf
from sim.model.engine.roster import Column, Roster, RosterAgent

ACTIVE, FORMER, PRISON, RECOVERED = 0, 1, 2, 3


class Buyer(RosterAgent):
    """A user of the market (current or former); state in ``BuyerRoster``."""

    state = Column()
    district = Column()
    order_rate = Column()
    price_elasticity = Column()
    risk_aversion = Column()
    perceived_risk = Column()
    treated = Column()

    @property
    def known_storefronts(self) -> list[int]:
        """Shops whose storefront this buyer remembers."""
        return [int(s) for s in self.roster.known[self.row] if s >= 0]


class BuyerRoster(Roster):
    """All buyers, updated in bulk."""

    def __init__(self, model):
        super().__init__(
            model,
            Buyer,
            {
                "state": (np.int8, ACTIVE),
                "district": (np.int64, 0),
                "order_rate": (float, 0.0),  # orders/day at the reference price and no risk
                "price_elasticity": (float, 0.0),
                "risk_aversion": (float, 1.0),
                "perceived_risk": (float, 0.0),  # arrest probability per pickup
                "treated": (bool, False),
                "known": (np.int64, -1, model.p.known_storefronts),  # remembered storefronts, -1: empty slot
            },
        )

    def start_using(self, n: int, state: int, storefront_weights: np.ndarray) -> np.ndarray:
        """Add ``n`` buyers with drawn traits, each knowing one storefront drawn by visibility."""
        p, rng, city = self.model.p, self.model.rng, self.model.city
        district = from_cdf(rng, city.demand_cdf, n)
        order_rate = p.order_rate * rng.gamma(2.0, 0.5, n)
        price_elasticity = p.price_elasticity * rng.lognormal(-0.125, 0.5, n)
        risk_aversion = p.buyer_risk_aversion * rng.lognormal(-0.125, 0.5, n)
        known = np.full((n, self.known.shape[1]), -1, dtype=np.int64)
        if storefront_weights.sum() > 0:
            known[:, 0] = categorical(rng, storefront_weights, n)
        return self.add(
            n, state=state, district=district, order_rate=order_rate, price_elasticity=price_elasticity,
            risk_aversion=risk_aversion, known=known,
        )  # fmt: skip

    def decide_orders(self, price: float, arrest_cost: float) -> np.ndarray:
        """Rows of the active buyers who order today.

        The daily ordering chance falls with price (constant elasticity around
        the reference price) and with the perceived expected cost of arrest
        relative to the price of the order.
        """
        p = self.model.p
        order_cost = price * p.stash_grams
        # order_rate x (price/reference)^-elasticity x exp(-aversion x risk x cost/order), in one exp.
        active = self.state == ACTIVE
        return kernels.decide_orders(
            self.model.rng.random(np.count_nonzero(active)), active, self.order_rate, self.price_elasticity,
            self.risk_aversion, self.perceived_risk, np.log(price / p.reference_price), arrest_cost / order_cost,
        )  # fmt: skip

    def choose_storefronts(self, rows: np.ndarray, open_now: np.ndarray, visibility: np.ndarray) -> np.ndarray:
        """The shop each ordering buyer uses (-1: none found today).

        A buyer uses the first remembered storefront that is open; otherwise
        searches, finding one with a chance that shrinks with the share of
        storefronts that are blocked, and remembers it.
        """
        weights = visibility * open_now
        n_shops = max(1, int((visibility > 0).sum()))
        find = self.model.p.search_success * open_now.sum() / n_shops
        uniforms = self.model.rng.random((len(rows), 3))
        return kernels.choose_storefronts(uniforms, rows, self.known, open_now, find, cdf(weights))

    def observe_arrests(self, arrest_rate: float) -> None:
        """Update perceived pickup risk from arrests among peers."""
        self.learn_from_peers(self.state == ACTIVE, arrest_rate)

    def arrest(self, rows: np.ndarray, imprisoned: bool) -> np.ndarray:
        """Arrested buyers learn from it; some are treated instead of fined. Returns treated rows."""
        p, rng = self.model.p, self.model.rng
        self.perceived_risk[rows] += p.learning_rate * (1.0 - self.perceived_risk[rows])
        treated = rows[rng.random(len(rows)) < p.treatment]
        self.treated[treated] = True
        quits = treated[rng.random(len(treated)) < p.treatment_effect]
        self.state[quits] = FORMER
        if imprisoned:
            self.state[rows] = PRISON
        return treated

    def quit_relapse_recover(self) -> None:
        """Daily transitions between active and former use, and lasting recovery."""
        p = self.model.p
        using = int(np.count_nonzero((self.state == ACTIVE) | (self.state == FORMER)))
        kernels.use_transitions(
            self.model.rng.random(using), self.state, self.treated, self.known, p.quit_rate, p.relapse_rate,
            p.recovery_rate, ACTIVE, FORMER, RECOVERED,
        )  # fmt: skip

    def forget_storefront(self, shop: int, keep_share: float) -> None:
        """Buyers who knew ``shop`` lose it, except ``keep_share`` who find its mirror."""
        drawn = kernels.count_equal(self.known, shop) if keep_share > 0 else 0
        kernels.forget(self.known, shop, self.model.rng.random(drawn), keep_share)

    def count(self, state: int) -> int:
        """Number of buyers in a state."""
        return int(np.count_nonzero(self.state == state))
