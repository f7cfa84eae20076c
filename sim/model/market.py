"""KladMarket: the contactless drug market of a Kazakh city as a Mesa model.

One step is one day. ``KladMarket.step`` lists the order of a day top to
bottom; each role's behaviour lives in its own module (``buyers``,
``couriers``, ``shops``, ``labs``, ``police``) and the justice system in
``justice``.
"""

from __future__ import annotations

from typing import Any

import mesa
import numpy as np

from sim.model.engine.draws import categorical, generator
from sim.model.roles import buyers as B
from sim.model.roles import couriers as C
from sim.model.roles.buyers import BuyerRoster
from sim.model.roles.couriers import CourierRoster
from sim.model.roles.labs import LabRoster
from sim.model.roles.police import Police
from sim.model.roles.shops import DETECTED, OPEN, ShopRoster
from sim.model.world.city import City
from sim.model.world.justice import BUYER, COURIER, LAB, OPERATOR, ROLE_NAMES, Justice
from sim.model.world.sanctions import courier_offence, discounted_years, mean_sentence
from sim.model.world.stashes import PRESENT, SEIZED, Stashes
from sim.params import Params, resolve

#: Daily metrics, in the order of the DataCollector's columns.
METRICS = (
    "grams_sold", "transactions", "price_per_gram", "active_storefronts", "blocked_storefronts",
    "mirrors_opened", "active_shops", "active_couriers", "active_labs", "active_buyers", "new_buyers",
    "arrests_buyer", "arrests_courier", "arrests_operator", "arrests_lab", "convictions",
    "convictions_buyer", "convictions_courier", "convictions_operator", "convictions_lab", "prisoners",
    "prisoners_buyer", "prisoners_courier", "prisoners_operator", "prisoners_lab",
    "grams_seized", "not_found_rate", "latency", "courier_vacancies", "courier_pay", "courier_candidates",
    "couriers_laying", "batch_stashes", "repeat_couriers",
    "orders", "unmet_orders", "storefronts_detected", "shipments_intercepted", "wanted", "pending_cases",
    "grams_produced", "grams_lost", "grams_in_stock", "revenue",
    "effort_patrol", "effort_cyber", "effort_investigation", "effort_labs", "buyers_treated",
)  # fmt: skip


class MetricsCollector(mesa.DataCollector):
    """Mesa's DataCollector for the day's metrics, which are plain numbers.

    Mesa deep-copies each reported value in case it is a mutable object that
    changes later; a metric is an int or a float, so it is stored as it is.
    Everything else (the reporters, ``model_vars``, the DataFrames) is Mesa's.
    """

    def collect(self, model: KladMarket) -> None:
        """Record the day's value of each metric."""
        self._collection_steps.append(model.time)
        metrics = model.metrics
        for name, values in self.model_vars.items():
            values.append(metrics[name])


class KladMarket(mesa.Model):
    """The klad market of one city.

    Args:
        params: parameter overrides (see ``sim.params.REGISTRY``), optionally
            with a ``policy`` dict of levers that switch on at ``policy_start_day``;
            or a ``Params``.
        rng: an integer seed, a ``numpy.random.SeedSequence`` or a ``Generator``;
            all randomness of the run comes from it (see ``sim.draws.generator``).
    """

    def __init__(
        self,
        params: dict[str, Any] | Params | None = None,
        *,
        rng: int | np.random.SeedSequence | np.random.Generator | None = None,
    ):
        super().__init__(rng=generator(rng))
        if isinstance(params, Params):
            params = params.as_dict()
        resolved = resolve({k: v for k, v in (params or {}).items() if k != "scenario_name"})
        self.policy: dict[str, Any] = resolved.pop("policy")
        self.p: Params = Params(**resolved)  # the values in force today; replaced, never changed in place
        self.policy_active = False
        self.day = 0
        p = self.p
        self.scale = p.n_buyers / 10_000  # demand-side rates are stated per 10,000 buyers

        self.city = City(p.grid_width, p.grid_height, p.demand_concentration, self.rng, self.random)
        self.justice = Justice()
        self.stashes = Stashes()
        self.labs = LabRoster(self)
        self.shops = ShopRoster(self)
        self.couriers = CourierRoster(self)
        self.buyers = BuyerRoster(self)
        self.police = Police(self)
        self.perceived_conviction = p.prior_conviction
        self.cumulative = dict.fromkeys(("produced", "sold", "seized", "lost"), 0.0)
        self.wanted = 0  # suspects who absconded before their forensic result
        self.arrest_districts: dict[str, np.ndarray] = {}  # today's street arrests by role: districts, for maps
        self._populate()
        self._visibility0 = float(self.shops.visibility.sum())
        self.metrics: dict[str, float] = dict.fromkeys(METRICS, 0.0)
        self._record_stock_metrics()
        self.datacollector = MetricsCollector(
            model_reporters={name: (lambda m, k=name: m.metrics[k]) for name in METRICS}
        )

    # ------------------------------------------------------------------ agents
    # The agent objects of the rosters are made when first asked for (see ``sim.roster``);
    # Mesa's views of the model's agents ask for them first.
    @property
    def agents(self) -> mesa.agent.AgentSet:
        """All agents of the model (Mesa's AgentSet)."""
        self._make_agent_objects()
        return super().agents

    @property
    def agents_by_type(self) -> dict[type, mesa.agent.AgentSet]:
        """The model's agents by class (Mesa's AgentSets)."""
        self._make_agent_objects()
        return super().agents_by_type

    @property
    def agent_types(self) -> list[type]:
        """The agent classes of the model."""
        self._make_agent_objects()
        return super().agent_types

    def _make_agent_objects(self) -> None:
        for name in ("labs", "shops", "couriers", "buyers"):
            roster = self.__dict__.get(name)  # absent while the model is being built
            if roster is not None:
                roster.agents  # noqa: B018 - makes the objects of new rows

    # ------------------------------------------------------------------ set-up
    def _populate(self) -> None:
        """Day 0: a market in rough equilibrium, with stock in the pipeline."""
        p = self.p
        daily_orders = p.n_buyers * p.order_rate
        self.labs.set_up(p.n_labs, ready_day=0, supplied=True)
        self.labs.stock[:] = daily_orders * p.stash_grams * 7.0 / p.n_labs
        self.shops.open_shops(p.n_shops, daily_orders / p.n_shops, stocked=True)
        pool = self.couriers.recruit_candidates(round(p.candidate_pool * self.scale) + p.n_couriers)
        # The day-0 couriers are the candidates most willing at the going pay.
        pay = np.full(len(pool), p.courier_pay)
        margin = self.couriers.expected_daily_pay(pay) - self.couriers.job_cost(pool)
        hired = pool[np.argsort(-margin, kind="stable")[: p.n_couriers]]
        self.couriers.state[hired] = C.WORKING
        self.couriers.shop[hired] = np.arange(p.n_couriers) % p.n_shops
        storefronts = self.shops.visibility.copy()
        self.buyers.start_using(p.n_buyers, B.ACTIVE, storefronts)
        # Former users at the quit/relapse/recovery equilibrium, at most as many as active users.
        exits = p.relapse_rate + p.recovery_rate
        former = int(min(p.n_buyers, p.n_buyers * p.quit_rate / exits)) if exits > 0 else p.n_buyers
        self.buyers.start_using(former, B.FORMER, storefronts)
        # Each shop's stashes already hidden in the city.
        on_ground = np.ceil(self.shops.orders * p.ground_days).astype(np.int64)
        shops = np.repeat(np.arange(p.n_shops), on_ground)
        districts = categorical(self.rng, self._placement_weights(), len(shops))
        self.stashes.hide(shops, districts, np.full(len(shops), -1), np.zeros(len(shops), dtype=bool))
        self.cumulative["produced"] = self._grams_in_stock()

    def _placement_weights(self) -> np.ndarray:
        """Where couriers hide stashes: near buyers, in good hiding places (fixed for the run)."""
        return self.city.placement

    # -------------------------------------------------------------------- day
    def step(self) -> None:
        """One day of the market, in order."""
        self.day = self.steps
        self.today = dict.fromkeys(METRICS, 0.0)
        self.switch_on_policy()
        self.police.allocate_budget()
        self.run_labs()
        self.restock_shops()
        self.police_storefronts()
        self.shops.advertise()
        hazards = self.police.street_hazards()
        self.hire_couriers()
        self.work_couriers(hazards)
        self.patrol_stashes(hazards)
        self.sell_to_buyers(hazards)
        self.shops.set_prices()
        self.investigate()
        self.administer_justice()
        self.learn()
        self.couriers.quit_jobs(self.shops.pay)
        self.couriers.renew_pool()
        self.renew_buyers()
        self.enter_and_exit()
        # Latency: the share of the day's retail flow that reached buyers without enforcement contact.
        reached = self.today["grams_sold"] + self.today["grams_seized"]
        self.today["latency"] = self.today["grams_sold"] / reached if reached > 0 else 1.0
        self.metrics = self.today
        self._record_stock_metrics()
        self.datacollector.collect(self)

    def run_for(self, days: int) -> None:
        """Advance the model ``days`` days."""
        for _ in range(days):
            self.step()

    # --------------------------------------------------------------- the verbs
    def switch_on_policy(self) -> None:
        """On the policy start day the scenario's levers take their new values."""
        if not self.policy_active and self.day >= self.p.policy_start_day:
            self.p = self.p.replace(**self.policy)
            self.policy_active = True

    def run_labs(self) -> None:
        """Precursors arrive (or are intercepted) and labs cook."""
        self.today["shipments_intercepted"] = self.labs.receive_precursors()
        made = self.labs.produce()
        self.today["grams_produced"] = made
        self.cumulative["produced"] += made

    def restock_shops(self) -> None:
        """Shops low on bulk buy from labs."""
        requests = self.shops.restock()
        if requests.sum() > 0:
            grams, price, supplier = self.labs.sell_bulk(requests, self.shops.lab)
            self.shops.lab[:] = supplier
            self.shops.receive_bulk(grams, price)

    def police_storefronts(self) -> None:
        """Cyber police detect and block storefronts; blocked shops reopen as mirrors."""
        # Detect, then block, then reopen: a delay of d days means d days, 0 means the same day.
        self.today["storefronts_detected"] = self.shops.detect_storefronts(
            self.police.storefront_hazard(), self.police.block_delay()
        )
        self.shops.block_storefronts()
        mirrors = self.shops.reopen_mirrors()
        for shop in mirrors:
            self.buyers.forget_storefront(int(shop), self.p.mirror_retention)
        self.today["mirrors_opened"] = len(mirrors)

    def hire_couriers(self) -> None:
        """Shops advertise vacancies; willing candidates take them; unfilled jobs raise pay."""
        working = np.bincount(self.couriers.shop[self.couriers.state == C.WORKING], minlength=len(self.shops))
        vacancies = self.shops.post_vacancies(working)
        hires = self.couriers.hire(vacancies, self.shops.pay)
        unfilled = vacancies - hires
        self.shops.adjust_pay(unfilled)
        self.today["courier_vacancies"] = int(unfilled.sum())

    def work_couriers(self, hazards: dict) -> None:
        """Couriers lay stashes; the caught ones lose the rest of their batch and may yield leads."""
        p = self.p
        need = self.shops.plan_stashes(self.stashes.on_file(len(self.shops)))
        day = self.couriers.lay_stashes(need, self._placement_weights(), hazards)
        grams = p.stash_grams
        self.shops.stock -= (day["laid_by_shop"] + day["seized_by_shop"]) * grams
        lost = self.rng.random(len(day["laid_shop"])) < p.bad_placement
        self.stashes.hide(day["laid_shop"], day["laid_district"], day["laid_courier"], lost)
        self._count_lost(int(lost.sum()) * grams)
        self._count_seized(day["seized_stashes"] * grams)
        arrested = day["arrested"]
        if len(arrested):
            self.couriers.arrest(arrested)
            carried = day["arrested_stashes"] * grams
            offence = courier_offence(self.couriers.repeat[arrested], carried, p.large_quantity)
            self.justice.open_cases(COURIER, arrested, offence, self.day, p.forensic_delay)
            # The phone of an arrested courier shows analysts where his stashes still lie.
            caught = np.zeros(len(self.couriers) + 1, dtype=bool)  # the extra last slot: stashes of no courier (-1)
            caught[arrested] = True
            today = caught[self.stashes.courier] & (self.stashes.state == PRESENT)
            shown = today & (self.rng.random(len(self.stashes)) < p.digital_analytics)
            self._seize_stashes(np.flatnonzero(shown))
            self._add_leads(day["arrested_shop"])
        self.today["arrests_courier"] = len(arrested)
        self.today["couriers_laying"] = day["working"]
        self.today["batch_stashes"] = int(day["laid_by_shop"].sum() + day["seized_by_shop"].sum())
        self.arrest_districts["courier"] = day["arrested_district"]
        self._courier_arrest_rate = len(arrested) / max(1, day["working"])
        self._laid_today = day["laid_by_shop"]

    def patrol_stashes(self, hazards: dict) -> None:
        """Patrols find hidden stashes; the shop does not know until a buyer complains."""
        present = np.flatnonzero(self.stashes.state == PRESENT)
        found = present[self.rng.random(len(present)) < hazards["stash"][self.stashes.district[present]]]
        self._seize_stashes(found)
        self._found_districts = self.stashes.district[found]

    def sell_to_buyers(self, hazards: dict) -> None:
        """Buyers order, prepay, and go to a stash; some find nothing, some are arrested."""
        p, shops = self.p, self.shops
        open_now = shops.open_now()
        price = self.market_price()
        ordering = self.buyers.decide_orders(price, self.buyer_arrest_cost())
        chosen = self.buyers.choose_storefronts(ordering, open_now, shops.visibility * shops.active)
        has_shop = chosen >= 0
        buyers, shop = ordering[has_shop], chosen[has_shop]
        sent = self.stashes.deliver(shop, len(shops), self.rng)  # the shop re-stashes once after "not found"
        got, district = sent.got, sent.district
        not_found = int(np.count_nonzero(sent.missing))

        arrested = got & (self.rng.random(len(got)) < hazards["buyer"][np.maximum(district, 0)])
        n_got, n_arrested = int(np.count_nonzero(got)), int(np.count_nonzero(arrested))
        n_sold = n_got - n_arrested
        grams = p.stash_grams
        self._count_seized(n_arrested * grams)
        self.cumulative["sold"] += n_sold * grams
        pickups = np.bincount(district[got], minlength=self.city.n_districts)
        self.police.record_finds(np.concatenate([self._found_districts, district[arrested]]), pickups)
        self.arrest_buyers(buyers[arrested])
        self.arrest_districts["buyer"] = district[arrested]

        n_shops = len(shops)
        orders = np.bincount(shop, minlength=n_shops)
        served = np.bincount(shop[got], minlength=n_shops)
        revenue = served * shops.price * grams
        shops.book_day(orders.astype(float), served.astype(float), revenue, self._wages_today)
        self.today.update(
            orders=len(ordering),
            unmet_orders=len(ordering) - n_got,
            transactions=n_sold,
            grams_sold=n_sold * grams,
            revenue=float(revenue.sum()),
            price_per_gram=price,
            not_found_rate=not_found / max(1, len(shop)),
            arrests_buyer=n_arrested,
        )
        self._buyer_arrest_rate = n_arrested / max(1, n_got)

    def arrest_buyers(self, rows: np.ndarray) -> None:
        """Arrested buyers are fined, or imprisoned under tightened penalties; some are treated."""
        imprison = self.p.buyer_imprisonment
        treated = self.buyers.arrest(rows, imprison)
        if imprison:
            self.justice.open_cases(BUYER, rows, "buyer_prison", self.day, self.p.forensic_delay)
        self.today["buyers_treated"] = len(treated)

    def investigate(self) -> None:
        """Leads and lab policing identify operators and labs; arrests follow."""
        p, shops, labs, police = self.p, self.shops, self.labs, self.police
        stale = 0.5 ** (1.0 / p.lead_half_life)
        shops.leads *= stale
        labs.leads *= stale
        in_business = np.flatnonzero(shops.active)
        found = in_business[police.identify(shops.leads[in_business])]
        shops.leads[found] = 0.0
        abroad = found[shops.abroad[found]]
        # An operator abroad cannot be arrested; his open storefront is blocked from the next day.
        open_abroad = abroad[shops.storefront[abroad] == OPEN]
        shops.storefront[open_abroad] = DETECTED
        shops.storefront_day[open_abroad] = self.day
        caught = found[~shops.abroad[found]]
        self.justice.open_cases(OPERATOR, np.full(len(caught), -1), "operator", self.day, p.forensic_delay)
        for shop in caught:
            self._close_shop(int(shop), seize=True)
            lab = shops.lab[shop]
            if lab >= 0 and self.rng.random() < police.lead_probability():
                labs.leads[lab] += 1
        self.today["arrests_operator"] = len(caught)

        in_business = np.flatnonzero(labs.active)
        hit = in_business[police.identify(labs.leads[in_business], p.lab_detection * police.effort["labs"])]
        self._count_seized(float(labs.stock[hit].sum()))
        labs.stock[hit] = 0.0
        labs.precursor[hit] = 0.0
        labs.close(hit)
        self.justice.open_cases(LAB, np.full(len(hit), -1), "lab", self.day, p.forensic_delay)
        self.today["arrests_lab"] = len(hit)

    def administer_justice(self) -> None:
        """Forensic results, convictions, absconding and releases."""
        out = self.justice.advance(self.day, self.p, self.rng)
        self.couriers.return_from_justice(
            out.acquitted_rows[COURIER], out.released_rows[COURIER], out.absconded_rows[COURIER]
        )
        self.couriers.imprison(out.convicted_rows[COURIER])
        self.buyers.state[out.released_rows[BUYER]] = B.FORMER
        self.buyers.state[out.acquitted_rows[BUYER]] = B.FORMER
        self.buyers.state[out.absconded_rows[BUYER]] = B.FORMER  # fled custody: no longer buying, may relapse
        self.today["convictions"] = int(out.convicted.sum())
        for role, name in enumerate(ROLE_NAMES):
            self.today[f"convictions_{name}"] = int(out.convicted[role])
        self._resolved_cases = int(out.convicted.sum()) + out.not_convicted
        self.wanted += out.absconded

    def learn(self) -> None:
        """Agents update perceived certainty from what they observed today."""
        self.couriers.observe_arrests(self._courier_arrest_rate)
        self.buyers.observe_arrests(self._buyer_arrest_rate)
        if self._resolved_cases:
            share = self.today["convictions"] / self._resolved_cases
            self.perceived_conviction += self.p.learning_rate * (share - self.perceived_conviction)

    def renew_buyers(self) -> None:
        """Quitting, relapse and recovery; new users start with availability and advertising."""
        p = self.p
        self.buyers.quit_relapse_recover()
        orders = max(1, self.today["orders"])
        availability = 1.0 - self.today["unmet_orders"] / orders
        open_visibility = self.shops.visibility * self.shops.open_now()
        advertising = min(2.0, open_visibility.sum() / max(1e-9, self._visibility0))
        rate = p.initiation_rate * self.scale * availability * advertising * (1.0 - p.prevention)
        new = int(self.rng.poisson(max(0.0, rate)))
        if new and open_visibility.sum() > 0:
            self.buyers.start_using(new, B.ACTIVE, open_visibility)
        self.today["new_buyers"] = new

    def enter_and_exit(self) -> None:
        """Shops without money close; profits attract new shops; unmet bulk demand starts labs."""
        p, shops, labs = self.p, self.shops, self.labs
        for shop in np.flatnonzero(shops.active & (shops.cash < 0)):
            self._close_shop(int(shop), seize=False)
        active = shops.active
        monthly_return = float(shops.profit[active].mean()) * 30 / p.shop_start_cash if active.any() else 1.0
        unmet = self.today["unmet_orders"] / max(1, self.today["orders"])
        if self.rng.random() < p.shop_entry_rate * max(0.0, monthly_return + unmet):
            mean_orders = float(shops.orders[active].mean()) if active.any() else p.n_buyers * p.order_rate
            shops.open_shops(1, 0.5 * mean_orders)  # found by buyers through search and ads
        idle = np.flatnonzero(labs.active & (labs.idle_days > 90))
        self._count_lost(float(labs.stock[idle].sum()))  # an abandoned lab's leftover stock
        labs.stock[idle] = 0.0
        labs.close(idle)
        if labs.bulk_unmet > 0.05 and self.rng.random() < p.lab_entry_rate:
            labs.set_up(1, ready_day=self.day + p.lab_entry_delay)

    # ----------------------------------------------------------- bookkeeping
    @property
    def _wages_today(self) -> np.ndarray:
        return self._laid_today * self.shops.pay

    def market_price(self) -> float:
        """Retail price per gram buyers face: the order-weighted mean over open shops."""
        open_now = self.shops.open_now()
        if not open_now.any():
            return (
                float(self.shops.price[self.shops.active].mean()) if self.shops.active.any() else self.p.reference_price
            )
        w = self.shops.orders[open_now] + 1e-9
        return float(w @ self.shops.price[open_now] / w.sum())

    def buyer_arrest_cost(self) -> float:
        """Money value of an arrest to a buyer: a fine, or discounted prison years."""
        p = self.p
        if not p.buyer_imprisonment:
            return p.fine_kzt
        years = mean_sentence(p.sanction_regime, "buyer_prison", p.severity_multiplier)
        lost = float(discounted_years(years, p.discount_factor_mean))
        return p.fine_kzt + lost * p.prison_year_cost * p.reservation_wage * 365.0

    def _add_leads(self, arrested_shop: np.ndarray) -> None:
        """Each arrested courier may give a lead to his shop, and through it to the lab."""
        chance = self.police.lead_probability()
        leads = arrested_shop[self.rng.random(len(arrested_shop)) < chance]
        self.shops.leads += np.bincount(leads, minlength=len(self.shops))
        up = leads[self.rng.random(len(leads)) < self.p.lab_link]
        labs = self.shops.lab[up]
        self.labs.leads += np.bincount(labs[labs >= 0], minlength=len(self.labs))

    def _seize_stashes(self, rows: np.ndarray) -> None:
        self.stashes.state[rows] = SEIZED
        self._count_seized(len(rows) * self.p.stash_grams)

    def _count_seized(self, grams: float) -> None:
        self.today["grams_seized"] += grams
        self.cumulative["seized"] += grams

    def _count_lost(self, grams: float) -> None:
        self.today["grams_lost"] += grams
        self.cumulative["lost"] += grams

    def _close_shop(self, shop: int, seize: bool) -> None:
        """A shop leaves: its stock and hidden stashes are seized (arrest) or abandoned."""
        shops, stashes = self.shops, self.stashes
        mine = np.flatnonzero((stashes.shop == shop) & (stashes.state == PRESENT))
        grams = shops.stock[shop] + len(mine) * self.p.stash_grams
        (self._count_seized if seize else self._count_lost)(grams)
        stashes.remove(np.flatnonzero(stashes.shop == shop))
        shops.stock[shop] = 0.0
        shops.close(np.array([shop]))
        self.couriers.release_shop(shop)
        self.buyers.forget_storefront(shop, 0.0)

    def _grams_in_stock(self) -> float:
        return (
            float(self.labs.stock.sum())
            + float(self.shops.stock.sum())
            + self.stashes.present_grams(self.p.stash_grams)
        )

    def _record_stock_metrics(self) -> None:
        m, shops = self.metrics, self.shops
        m["grams_in_stock"] = self._grams_in_stock()
        m["active_storefronts"] = int(np.count_nonzero(shops.open_now()))
        m["active_shops"] = shops.count_active()
        m["blocked_storefronts"] = m["active_shops"] - m["active_storefronts"]
        m["active_labs"] = self.labs.count_active()
        m["active_buyers"] = self.buyers.count(B.ACTIVE)
        couriers = np.bincount(self.couriers.state, minlength=C.GONE + 1)
        m["active_couriers"] = int(couriers[C.WORKING])
        m["courier_candidates"] = int(couriers[C.CANDIDATE])
        m["repeat_couriers"] = int(np.count_nonzero(self.couriers.repeat[self.couriers.state == C.WORKING]))
        m["courier_pay"] = float(shops.pay[shops.active].mean()) if shops.active.any() else 0.0
        prisoners = self.justice.prisoners()
        m["prisoners"] = int(prisoners.sum())
        for role, name in enumerate(ROLE_NAMES):
            m[f"prisoners_{name}"] = int(prisoners[role])
        m["pending_cases"] = self.justice.pending()
        m["wanted"] = self.wanted
        for activity, value in self.police.effort.items():
            m[f"effort_{activity}"] = value
