"""KladMarket: the contactless drug market of a Kazakh city as a Mesa model.

One step is one day. ``KladMarket.step`` lists the order of a day top to
bottom; each role's behaviour lives in its own module (``roles.buyers``,
``couriers``, ``shops``, ``labs``, ``police``), the justice system in
``world.justice``. A verb hands on what the next one needs as its return
value; the day's metrics are written into ``today`` (a ``metrics.Day``) as
the verbs run, and Mesa's DataCollector keeps one row a day.
"""

from __future__ import annotations

from typing import Any

import mesa
import numpy as np
import pandas as pd

from sim.io.config import Scenario
from sim.model.deterrence import discounted_years
from sim.model.engine.draws import Streams, categorical
from sim.model.engine.elementary import power, weighted_mean
from sim.model.events import happen
from sim.model.metrics import METRICS, Day
from sim.model.records import OUTCOMES, Recorder
from sim.model.roles.buyers import BuyerRoster, BuyerState
from sim.model.roles.couriers import CourierRoster, CourierState, Round
from sim.model.roles.labs import LabRoster
from sim.model.roles.police import Police
from sim.model.roles.shops import ShopRoster
from sim.model.world.city import City
from sim.model.world.contacts import RollingYear
from sim.model.world.justice import ROLE_NAMES, Justice, Role, served_days
from sim.model.world.sanctions import OFFENCES, courier_offence, draw_sentences, mean_sentence
from sim.model.world.stashes import Stashes, StashState
from sim.params import Params, check_records
from sim.timeline import check_event

__all__ = ["METRICS", "KladMarket"]


class KladMarket(mesa.Model):
    """The klad market of one city.

    Args:
        params: parameter overrides (see ``sim.params.REGISTRY``), optionally
            with a ``policy`` dict of levers that switch on at ``policy_start_day``;
            or a ``Params``, or a ``Scenario`` (``sim.io.config``: its values, policy and events).
        rng: an integer seed, a ``numpy.random.SeedSequence`` or a ``Generator``;
            all randomness of the run comes from its ``SeedSequence``, one generator per process and day
            (``sim.model.engine.draws.Streams``: ``stream(name)``).
        record: records below the city level to keep (``sim.model.records.RECORDS``); ``records()`` returns them.
    """

    def __init__(
        self,
        params: Scenario | Params | dict[str, Any] | None = None,
        *,
        rng: int | np.random.SeedSequence | np.random.Generator | None = None,
        record: tuple[str, ...] = (),
    ):
        self.stream = Streams(rng)  # today's generator of each process: self.stream("orders"), ...
        super().__init__(rng=self.stream("mesa"))  # Mesa's own generator (the grid's), not the model's
        scenario = Scenario.of(params, where="KladMarket")  # a Scenario or Params as it is; a dict checked once
        self.timeline = [dict(event) for event in scenario.events]  # events to come, by day
        self.happened: list[dict[str, Any]] = []  # events done: the event, and the shops or labs it hit
        self.crackdowns: list[tuple[int, float]] = []  # (first day after it, police budget multiplier)
        self.policy: dict[str, Any] = dict(scenario.policy)
        self.p: Params = scenario.params  # the values in force today; replaced, never changed in place
        self.policy_active = False
        self.day = 0
        p = self.p
        self.scale = p.n_buyers / 10_000  # demand-side rates are stated per 10,000 buyers

        self.city = City(p.grid_width, p.grid_height, p.demand_concentration, self.stream("city"), self.random)
        self.justice = Justice()
        self.stashes = Stashes()
        # Buyers whose stash was not found today, and their shops: a courier lays each a new stash for tomorrow.
        self.owed_buyer = np.zeros(0, dtype=np.int64)
        self.owed_shop = np.zeros(0, dtype=np.int64)
        self.labs = LabRoster(self)
        self.shops = ShopRoster(self)
        self.couriers = CourierRoster(self)
        self.buyers = BuyerRoster(self)
        self.police = Police(self)
        self.perceived_conviction = p.prior_conviction
        self.learned_law = self.law_in_force()  # the law as learned so far, when learning takes time
        self.in_market = RollingYear()  # persons (buyers, couriers) in the market in the last year
        self.contacted = RollingYear()  # of them, those arrested (sim.model.world.contacts)
        self.cumulative = dict.fromkeys(("produced", "sold", "seized", "lost"), 0.0)
        self.wanted = 0  # suspects who absconded before their forensic result
        self.arrest_districts: dict[str, np.ndarray] = {}  # today's street arrests by role: districts, for maps
        record = check_records(list(record), "KladMarket")
        self.recorder = Recorder(self, tuple(record)) if record else None
        self._populate()
        self.initial_visibility = float(self.shops.visibility.sum())  # the reference of advertising
        self.today = Day()  # the day being run; ``metrics`` is the last finished one
        self.metrics = self.today
        self._record_stocks(self.metrics)
        # One row a day in Mesa's ``daily`` table (add_table_row: the metrics are plain numbers, nothing to copy).
        self.datacollector = mesa.DataCollector(tables={"daily": list(METRICS)})

    # ------------------------------------------------------------------ agents
    # The agent objects of the rosters are views made when first asked for (see ``engine.roster``);
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
        for roster in self.rosters():
            roster.agents  # noqa: B018 - makes the views of new rows

    def rosters(self) -> list:
        """The rosters of the roles kept as arrays (labs, shops, couriers, buyers), those made so far."""
        return [self.__dict__[name] for name in ("labs", "shops", "couriers", "buyers") if name in self.__dict__]

    # ------------------------------------------------------------------ set-up
    def _populate(self) -> None:
        """Day 0: a market in rough equilibrium, with stock in the pipeline."""
        p = self.p
        daily_orders = p.n_buyers * p.order_rate
        self.labs.set_up(p.n_labs, ready_day=0, supplied=True)
        self.labs.stock[:] = daily_orders * p.stash_grams * 7.0 / p.n_labs
        self.shops.open_shops(p.n_shops, daily_orders / p.n_shops, stocked=True)
        self.couriers.recruit_candidates(round(p.candidate_pool * self.scale) + p.n_couriers)
        self.couriers.hire_first(p.n_couriers, p.n_shops)
        storefronts = self.shops.visibility.copy()
        self.buyers.start_using(p.n_buyers, BuyerState.ACTIVE, storefronts)
        # Former users at the quit/relapse/recovery equilibrium, at most as many as active users.
        exits = p.relapse_rate + p.recovery_rate
        former = int(min(p.n_buyers, p.n_buyers * p.quit_rate / exits)) if exits > 0 else p.n_buyers
        self.buyers.start_using(former, BuyerState.FORMER, storefronts)
        # Each shop's stashes already hidden in the city.
        on_ground = np.ceil(self.shops.orders * p.ground_days).astype(np.int64)
        shops = np.repeat(np.arange(p.n_shops), on_ground)
        districts = categorical(self.stream("stashes"), self.city.placement, len(shops))
        self.stashes.hide(shops, districts, np.full(len(shops), -1), np.zeros(len(shops), dtype=bool))
        self.cumulative["produced"] = self._grams_in_stock()
        self.police.settle_patrol()
        self.fill_prisons()

    def fill_prisons(self) -> None:
        """Day 0: couriers convicted before the run are still serving, at this city's stock-flow level.

        The flow is this city's expected courier arrests a day at day 0
        (``Police.expected_courier_arrests``) times the chance a case ends in a
        conviction, scaled by ``prison_fill``; the stock is that flow over the
        time served. Releases (some back to the candidate pool, as repeat
        offenders) thus flow from the first day. Each was charged as a courier
        caught at a random placement of a batch (a large quantity or a first
        offence, as ``courier_offence`` decides); the time left is uniform over
        the part of the term served before parole, and the stock holds each
        charge in proportion to its term.
        """
        p, rng = self.p, self.stream("prisons")
        convicted = p.conviction_probability * power(1.0 - p.abscond_rate, p.forensic_delay)
        flow = p.prison_fill * self.police.expected_courier_arrests() * convicted
        batch = rng.integers(p.batch_min, p.batch_max + 1, 4096)
        charges = courier_offence(False, rng.integers(1, batch + 1) * p.stash_grams, p.large_quantity)
        offences, share = np.unique(charges, return_counts=True)
        terms = np.array([mean_sentence(p.sanction_regime, o, p.severity_multiplier) for o in offences])
        stock = flow * share / share.sum() * terms * p.time_served_share * 365.0
        for offence, n in zip(offences, np.round(stock).astype(int), strict=True):
            if n == 0:
                continue
            rows = self.couriers.recruit_candidates(n)
            self.couriers.state[rows] = CourierState.PRISON
            served = served_days(draw_sentences(rng, p.sanction_regime, str(offence), p.severity_multiplier, n),
                                 p.time_served_share)  # fmt: skip
            release = 1 + (rng.random(n) * served).astype(np.int64)
            self.justice.imprison_at_start(Role.COURIER, rows, release, np.full(n, OFFENCES.index(str(offence))))

    # -------------------------------------------------------------------- day
    def step(self) -> None:
        """One day of the market, in order."""
        self.day = self.steps
        self.stream.new_day(self.day)
        self.today = Day()
        self.in_market.new_day(self.day)
        self.contacted.new_day(self.day)
        self.switch_on_policy()
        self.happen_today()
        self.learn_the_law()
        self.police.allocate_budget()
        self.run_labs()
        self.restock_shops()
        self.police_storefronts()
        self.shops.advertise()
        hazards = self.police.street_hazards()
        self.hire_couriers()
        laid = self.work_couriers(hazards)
        found = self.patrol_stashes(hazards)
        buyer_arrest_rate = self.sell_to_buyers(hazards, found, wages=laid.laid_by_shop * self.shops.pay)
        self.shops.set_prices()
        self.investigate()
        resolved = self.administer_justice()
        self.learn(laid, buyer_arrest_rate, resolved)
        self.couriers.quit_jobs(self.shops.pay)
        self.couriers.renew_pool()
        self.renew_buyers()
        self.enter_and_exit()
        if self.recorder:
            self.recorder.end_of_day()
        self.tidy_rosters()
        self.close_day()

    def records(self) -> dict[str, pd.DataFrame]:
        """The records below the city level asked for at construction (``sim.model.records``)."""
        return self.recorder.frames() if self.recorder else {}

    def daily(self) -> pd.DataFrame:
        """One row per day run so far: ``day`` (1 is the first step) and every metric (Mesa's ``daily`` table)."""
        table = self.datacollector.get_table_dataframe("daily")
        table.insert(0, "day", np.arange(1, len(table) + 1))
        return table

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

    def happen_today(self) -> None:
        """Today's timed events happen (``sim.model.events``); crackdowns that are over end."""
        self.crackdowns = [c for c in self.crackdowns if c[0] > self.day]
        while self.timeline and self.timeline[0]["day"] <= self.day:
            event = self.timeline.pop(0)
            self.happened.append({**event, "day": self.day, **happen(self, event)})

    def schedule(self, event: dict[str, Any]) -> dict[str, Any]:
        """Add an event (``sim.timeline``) to the days to come; returns it, checked. A past day means the next one.

        Raises:
            ParameterError: if the event is not a valid one.
        """
        event = check_event({**event, "day": max(event.get("day", 0), self.steps + 1)}, "event")
        self.timeline.append(event)
        self.timeline.sort(key=lambda e: e["day"])  # stable: events of one day keep their order
        return event

    def law_in_force(self) -> dict[str, float]:
        """Mean prison years of each offence under today's law, and ``buyer_prison_chance``: 1 if buyers are jailed."""
        p = self.p
        law = {offence: mean_sentence(p.sanction_regime, offence, p.severity_multiplier) for offence in OFFENCES}
        return {**law, "buyer_prison_chance": 1.0 if p.buyer_imprisonment else 0.0}

    @property
    def perceived_law(self) -> dict[str, float]:
        """Sentences (and the chance of prison for buyers) as couriers and buyers know them.

        With ``law_learning_days`` 0 the law in force, else what they learned of it so far (``learn_the_law``).
        """
        return self.law_in_force() if self.p.law_learning_days == 0 else self.learned_law

    def learn_the_law(self) -> None:
        """Couriers and buyers alike close a share 1 / ``law_learning_days`` of the gap to the law in force each day."""
        rate = 1.0 / max(1, self.p.law_learning_days)
        for key, value in self.law_in_force().items():
            self.learned_law[key] += rate * (value - self.learned_law[key])

    def police_multiplier(self) -> float:
        """How many times its budget the police has today (crackdowns multiply)."""
        multiplier = 1.0
        for _, factor in self.crackdowns:
            multiplier *= factor
        return multiplier

    def run_labs(self) -> None:
        """Precursors arrive (or are intercepted) and labs cook."""
        self.today.shipments_intercepted = self.labs.receive_precursors()
        made = self.labs.produce()
        self.today.grams_produced = made
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
        self.today.storefronts_detected = self.shops.detect_storefronts(
            self.police.storefront_hazard(), self.police.block_delay()
        )
        blocked = self.shops.block_storefronts(self.police.blocks_allowed())
        self.police.spend_on_blocks(blocked)
        reopened, back_from_dark = self.shops.reopen_mirrors()
        for shop in back_from_dark:
            self.buyers.forget_storefront(int(shop), self.p.mirror_retention)
        self.today.mirrors_opened = reopened

    def hire_couriers(self) -> None:
        """Shops advertise vacancies; willing candidates take them; unfilled jobs raise pay."""
        working = self.couriers.working_by_shop(len(self.shops))
        vacancies = self.shops.post_vacancies(working)
        hires = self.couriers.hire(vacancies, self.shops.pay)
        self.today.vacancy_days = self.shops.fill_vacancies(hires)
        self.today.vacancies_filled = int(hires.sum())
        self.shops.couriers[:] = working + hires
        unfilled = vacancies - hires
        self.shops.adjust_pay(unfilled)
        self.today.courier_vacancies = int(unfilled.sum())

    def work_couriers(self, hazards: dict) -> Round:
        """Couriers lay stashes; the caught ones lose the rest of their batch and may yield leads.

        Returns:
            What the couriers' working day produced.
        """
        p = self.p
        n_shops = len(self.shops)
        need = self.shops.plan_stashes(self.stashes.on_file(n_shops), np.bincount(self.owed_shop, minlength=n_shops))
        laid = self.couriers.lay_stashes(need, self.city.placement, hazards)
        grams = p.stash_grams
        self.shops.stock -= (laid.laid_by_shop + laid.seized_by_shop) * grams
        lost = self.stream("bad_placement").random(len(laid.laid_shop)) < p.bad_placement
        self.stashes.hide(laid.laid_shop, laid.laid_district, laid.laid_courier, lost)
        self._count_lost(int(lost.sum()) * grams)
        self.count_seized(int(laid.seized_by_shop.sum()) * grams)
        self.today.stashes_seized += int(laid.seized_by_shop.sum())
        arrested = laid.arrested
        if len(arrested):
            self.arrest_couriers(arrested, laid.arrested_stashes * grams)
            # The phone of an arrested courier shows analysts where his stashes still lie.
            caught = np.zeros(len(self.couriers) + 1, dtype=bool)  # the extra last slot: stashes of no courier (-1)
            caught[arrested] = True
            still_there = caught[self.stashes.courier] & (self.stashes.state == StashState.PRESENT)
            shown = still_there & (self.stream.keyed("analytics", self.stashes.uid) < p.digital_analytics)
            self._seize_stashes(np.flatnonzero(shown))
            self._add_leads(laid.arrested_shop)
        self.today.couriers_laying = laid.working
        self.today.batch_stashes = int(laid.laid_by_shop.sum() + laid.seized_by_shop.sum())
        self.arrest_districts["courier"] = laid.arrested_district
        return laid

    def arrest_couriers(self, rows: np.ndarray, grams_carried: np.ndarray) -> None:
        """Couriers are arrested and charged by what they carried (a repeat offence, a large quantity, or a first)."""
        if len(rows) == 0:
            return
        p = self.p
        self.today.rearrests_courier += int(np.count_nonzero(self.couriers.repeat[rows]))
        self.couriers.arrest(rows)
        self.in_market.mark(self.couriers.seen_day, rows)
        self.contacted.mark(self.couriers.contact_day, rows)
        offence = courier_offence(self.couriers.repeat[rows], grams_carried, p.large_quantity)
        self.justice.open_cases(Role.COURIER, rows, offence, self.day, p.forensic_delay)
        self.today.arrests_courier += len(rows)

    def patrol_stashes(self, hazards: dict) -> np.ndarray:
        """Patrols find hidden stashes; the shop does not know until a buyer complains.

        Returns:
            The districts where stashes were found.
        """
        present = np.flatnonzero(self.stashes.state == StashState.PRESENT)
        chance = self.stream.keyed("patrol", self.stashes.uid[present])
        found = present[chance < hazards["stash"][self.stashes.district[present]]]
        self._seize_stashes(found)
        return self.stashes.district[found]

    def sell_to_buyers(self, hazards: dict, found_districts: np.ndarray, wages: np.ndarray) -> float:
        """Buyers order, prepay, and go to a stash; some find nothing, some are arrested.

        A buyer who finds nothing complains; the operator has a courier lay him
        a new stash [001 L120, L127], which he picks up the next day (the
        newest stash of his shop on file). A second failure is final.

        Args:
            hazards: today's street hazards (``Police.street_hazards``).
            found_districts: where patrols found stashes today (the police remember both kinds of finds).
            wages: what each shop paid its couriers today, KZT.

        Returns:
            The share of pickups that ended in an arrest (what buyers learn from).
        """
        p, shops = self.p, self.shops
        open_now = shops.open_now()
        price = self.market_price()
        ordering = self.buyers.decide_orders(price, self.buyer_arrest_cost())
        chosen = self.buyers.choose_storefronts(ordering, open_now, shops.visibility * shops.active)
        has_shop = chosen >= 0
        buyers, shop = ordering[has_shop], chosen[has_shop]
        # Yesterday's "not found" first: each such buyer goes to the new stash laid for him, if his shop still runs.
        self.drop_restashes()
        owed, owed_shop = self.owed_buyer, self.owed_shop
        n_owed = len(owed)
        pickups = np.concatenate([owed, buyers])
        shop = np.concatenate([owed_shop, shop])
        restash = np.arange(len(shop)) < n_owed
        # Each pickup's own numbers (a buyer's re-stash and his new order are two), whatever other buyers do.
        pickup_uid = self.buyers.uid[pickups] * 2 + (~restash)
        sent = self.stashes.deliver(shop, restash, len(shops), self.stream.keyed("pickup", pickup_uid))
        got, district = sent.got, sent.district
        new_missing = sent.missing & ~restash
        self.owed_buyer, self.owed_shop = pickups[new_missing], shop[new_missing]

        chance = self.stream.keyed("buyer_arrest", pickup_uid)
        arrested = got & (chance < hazards["buyer"][np.maximum(district, 0)])
        n_got, n_arrested = int(np.count_nonzero(got)), int(np.count_nonzero(arrested))
        n_sold = n_got - n_arrested
        grams = p.stash_grams
        self.count_seized(n_arrested * grams)
        self.cumulative["sold"] += n_sold * grams
        visits = np.bincount(district[got], minlength=self.city.n_districts)
        self.police.record_finds(np.concatenate([found_districts, district[arrested]]), visits)
        self.arrest_buyers(pickups[arrested])
        self.arrest_districts["buyer"] = district[arrested]
        if self.recorder:
            self._record_purchases(ordering, chosen, sent, arrested, (owed, owed_shop))

        n_shops = len(shops)
        new = ~restash
        orders = np.bincount(shop[new], minlength=n_shops)
        served = np.bincount(shop[got & new], minlength=n_shops)  # today's orders served today
        prepaid = np.bincount(shop[new & (sent.sent >= 0)], minlength=n_shops)  # buyers pay when sent a stash
        revenue = prepaid * shops.price * grams
        shops.book_day(orders.astype(float), served.astype(float), revenue, wages)
        day = self.today
        failed_restash = int(np.count_nonzero(restash & ~got))  # a second failure is final
        day.orders = len(ordering)
        day.unmet_orders += len(ordering) - len(buyers) + int(np.count_nonzero(new & (sent.sent < 0))) + failed_restash
        day.transactions = n_sold
        day.grams_sold = n_sold * grams
        day.revenue = float(revenue.sum())
        day.price_per_gram = price
        day.not_found_rate = int(np.count_nonzero(sent.missing)) / max(1, int(np.count_nonzero(sent.sent >= 0)))
        day.restashes = n_owed
        day.restash_failures += failed_restash
        return n_arrested / max(1, n_got)

    def _record_purchases(self, ordering, chosen, sent, arrested, owed) -> None:
        """Today's orders (attempt 1) and re-stash pickups (attempt 2) in the purchase records.

        ``owed`` holds the buyer and shop rows of the re-stash pickups, sent before the orders.
        """
        n_owed = len(owed[0])
        code = {o: OUTCOMES.index(o) for o in OUTCOMES}
        outcome = np.select(
            [sent.sent < 0, arrested, sent.got], [code["no stash"], code["seized"], code["got"]], code["not found"]
        )
        first = np.full(len(ordering), code["no storefront"])
        first[chosen >= 0] = outcome[n_owed:]
        self.recorder.purchases(ordering, chosen, first, attempt=1)
        self.recorder.purchases(owed[0], owed[1], outcome[:n_owed], attempt=2)

    def drop_restashes(self) -> None:
        """Re-stashes owed by a shop that closed, or to a buyer now in prison or recovered, are never picked up.

        They count as failed re-stashes and unmet orders of the day (and, in the purchase records, as attempts
        that found "no stash").
        """
        still = self.shops.active[self.owed_shop] & (self.buyers.state[self.owed_buyer] <= BuyerState.FORMER)
        if still.all():
            return
        gone = np.count_nonzero(~still)
        self.today.restash_failures += gone
        self.today.unmet_orders += gone
        if self.recorder:
            self.recorder.purchases(self.owed_buyer[~still], self.owed_shop[~still],
                                    np.full(gone, OUTCOMES.index("no stash")), attempt=2)  # fmt: skip
        self.owed_buyer, self.owed_shop = self.owed_buyer[still], self.owed_shop[still]

    def arrest_buyers(self, rows: np.ndarray) -> None:
        """Arrested buyers are fined, or imprisoned under tightened penalties; some are treated."""
        imprison = self.p.buyer_imprisonment
        treated = self.buyers.arrest(rows, imprison)
        self.in_market.mark(self.buyers.seen_day, rows)  # a buyer jailed on his first day was in the market too
        self.contacted.mark(self.buyers.contact_day, rows)
        if imprison:
            self.justice.open_cases(Role.BUYER, rows, "buyer_prison", self.day, self.p.forensic_delay)
        self.today.arrests_buyer += len(rows)
        self.today.buyers_treated += len(treated)

    def investigate(self) -> None:
        """Leads and lab policing identify operators and labs; arrests follow."""
        p, shops, labs, police = self.p, self.shops, self.labs, self.police
        stale = float(power(0.5, 1.0 / p.lead_half_life))
        shops.leads *= stale
        labs.leads *= stale
        in_business = np.flatnonzero(shops.active)
        found = in_business[police.identify(shops.leads[in_business], stream="shop_raids")]
        self.arrest_operators(found)

        in_business = np.flatnonzero(labs.active)
        hazard = p.lab_detection * police.effort["labs"]
        self.raid_labs(in_business[police.identify(labs.leads[in_business], hazard, stream="lab_raids")])

    def arrest_operators(self, found: np.ndarray) -> np.ndarray:
        """The police move on the operators of the shops ``found``, as on a lead.

        Those at home are arrested and their shops closed, stock and stashes seized, each arrest a lead to the
        shop's lab with the lead probability; an operator abroad cannot be arrested, and his open storefronts are
        found and due at once: the next storefront round blocks them (within the cyber unit's capacity), the same
        day for an event, which comes before it, and the next day after the daily investigation.

        Returns:
            The rows of the shops whose operators were arrested.
        """
        shops, labs, police = self.shops, self.labs, self.police
        shops.leads[found] = 0.0
        shops.detect_all(found[shops.abroad[found]])
        caught = found[~shops.abroad[found]]
        self.justice.open_cases(Role.OPERATOR, np.full(len(caught), -1), "operator", self.day, self.p.forensic_delay)
        for shop in caught:
            self._close_shop(int(shop), seize=True)
            lab = shops.lab[shop]
            if lab >= 0 and self.stream("investigation").random() < police.lead_probability():
                labs.leads[lab] += 1
        self.today.arrests_operator += len(caught)
        return caught

    def raid_labs(self, rows: np.ndarray) -> None:
        """Police raid labs: chemists arrested, stock and precursors seized, the labs closed."""
        labs = self.labs
        self.count_seized(float(labs.stock[rows].sum()))
        labs.stock[rows] = 0.0
        labs.precursor[rows] = 0.0
        labs.close(rows)
        self.justice.open_cases(Role.LAB, np.full(len(rows), -1), "lab", self.day, self.p.forensic_delay)
        self.today.arrests_lab += len(rows)

    def administer_justice(self) -> int:
        """Forensic results, convictions, absconding and releases.

        Returns:
            The number of cases decided today (convicted, acquitted or absconded): what agents learn the
            chance of conviction from.
        """
        out = self.justice.advance(self.day, self.p, self.stream("justice"))
        self.couriers.return_from_justice(
            out.acquitted_rows[Role.COURIER], out.released_rows[Role.COURIER], out.absconded_rows[Role.COURIER]
        )
        self.couriers.imprison(out.convicted_rows[Role.COURIER])
        self.buyers.state[out.released_rows[Role.BUYER]] = BuyerState.FORMER
        self.buyers.state[out.acquitted_rows[Role.BUYER]] = BuyerState.FORMER
        self.buyers.state[out.absconded_rows[Role.BUYER]] = BuyerState.FORMER  # fled: no longer buying, may relapse
        self.today.convictions = int(out.convicted.sum())
        for role, name in enumerate(ROLE_NAMES):
            setattr(self.today, f"convictions_{name}", int(out.convicted[role]))
        self.wanted += out.absconded
        return int(out.convicted.sum()) + out.not_convicted

    def learn(self, laid: Round, buyer_arrest_rate: float, resolved: int) -> None:
        """Agents update perceived certainty from what they observed today.

        Couriers see the share of working couriers arrested today, buyers the
        share of pickups that ended in arrest, both among a few peers; everyone
        sees the share of today's decided cases that ended in conviction.
        """
        self.couriers.observe_arrests(len(laid.arrested) / max(1, laid.working))
        self.buyers.observe_arrests(buyer_arrest_rate)
        if resolved:
            share = self.today.convictions / resolved
            self.perceived_conviction += self.p.learning_rate * (share - self.perceived_conviction)

    def renew_buyers(self) -> None:
        """Quitting, relapse and recovery; new users start with availability and advertising."""
        p = self.p
        self.buyers.quit_relapse_recover(self.market_price(), self.buyer_arrest_cost())
        orders = max(1, self.today.orders)
        availability = 1.0 - self.today.unmet_orders / orders
        open_visibility = self.shops.visibility * self.shops.open_now()
        advertising = power(open_visibility.sum() / max(1e-9, self.initial_visibility), p.ad_elasticity)
        rate = p.initiation_rate * self.scale * availability * advertising * (1.0 - p.prevention)
        # No storefront, no start.
        new = int(self.stream("initiation").poisson(max(0.0, rate))) if open_visibility.sum() > 0 else 0
        if new:
            self.buyers.start_using(new, BuyerState.ACTIVE, open_visibility)
        self.today.new_buyers = new

    def enter_and_exit(self) -> None:
        """Failing shops close, a margin attracts new ones; idle or unsold labs close, a shortfall starts new labs.

        A shop fails when it is out of money or has lost money for
        ``exit_patience`` days; a lab when it has had no precursors for 90 days
        or sold nothing for ``exit_patience`` days. Lab set-ups follow the size
        of the bulk shortfall.
        """
        p, shops, labs = self.p, self.shops, self.labs
        for shop in np.flatnonzero(shops.failing()):
            self._close_shop(int(shop), seize=False)
        active = shops.active
        monthly_return = float(shops.profit[active].mean()) * 30 / p.shop_start_cash if active.any() else 1.0
        unmet = self.today.unmet_orders / max(1, self.today.orders)
        hurdle = p.entry_hurdle if active.any() else 0.0  # a city with buyers and no shop: no incumbents to beat
        if self.stream("shop_entry").random() < p.shop_entry_rate * max(0.0, monthly_return + unmet - hurdle):
            mean_orders = float(shops.orders[active].mean()) if active.any() else p.n_buyers * p.order_rate
            shops.open_shops(1, 0.5 * mean_orders)  # found by buyers through search and ads
            self.today.shops_opened += 1
        idle = np.flatnonzero(labs.active & ((labs.idle_days > 90) | (labs.unsold_days >= p.exit_patience)))
        self._count_lost(float(labs.stock[idle].sum()))  # an abandoned lab's leftover stock
        labs.stock[idle] = 0.0
        labs.close(idle)
        if self.stream("lab_entry").random() < min(1.0, p.lab_entry_rate * labs.bulk_unmet / 0.1):
            labs.set_up(1, ready_day=self.day + p.lab_entry_delay)

    def tidy_rosters(self) -> None:
        """Agents who left the market today leave Mesa's AgentSets; rows long gone leave the arrays.

        When the couriers' or buyers' rows are compacted, the stash database
        and the case ledger are renumbered with them.
        """
        remap = self.couriers.tidy()
        if remap is not None:
            self.justice.renumber(Role.COURIER, remap)
            self.stashes.renumber_couriers(remap)
        self.drop_restashes()  # (none is owed to a departed buyer's row after this)
        remap = self.buyers.tidy()
        if remap is not None:
            self.justice.renumber(Role.BUYER, remap)
            self.owed_buyer = remap[self.owed_buyer]
        for roster in (self.shops, self.labs):
            roster.tidy()  # their rows stay (``Roster.compacts``)

    def close_day(self) -> None:
        """Latency, the end-of-day stocks, and the day's row in the data collector."""
        day = self.today
        # Latency (docs/ODD.md, section 2.10): the share of the day's retail transactions without enforcement contact,
        # against those the police touched: buyers arrested at the pickup and stashes seized before it.
        touched = day.transactions + day.arrests_buyer + day.stashes_seized
        day.latency = day.transactions / touched if touched > 0 else 1.0
        # And as persons: the buyers and couriers in the market in the last year whom no arrest touched.
        self.in_market.mark(self.buyers.seen_day, np.flatnonzero(self.buyers.state == BuyerState.ACTIVE))
        self.in_market.mark(self.couriers.seen_day, np.flatnonzero(self.couriers.state == CourierState.WORKING))
        day.persons_in_market, day.persons_contacted = self.in_market.count(), self.contacted.count()
        day.persons_latency = 1.0 - day.persons_contacted / day.persons_in_market if day.persons_in_market else 1.0
        self.metrics = day
        self._record_stocks(day)
        self.datacollector.add_table_row("daily", vars(day))

    # ----------------------------------------------------------- bookkeeping
    def market_price(self) -> float:
        """Retail price per gram buyers face: the order-weighted mean over open shops."""
        open_now = self.shops.open_now()
        if not open_now.any():
            return (
                float(self.shops.price[self.shops.active].mean()) if self.shops.active.any() else self.p.reference_price
            )
        w = self.shops.orders[open_now] + 1e-9
        return float(weighted_mean(w, self.shops.price[open_now]))

    def buyer_arrest_cost(self) -> float:
        """Money value of an arrest to a buyer, as buyers know the law: a fine, plus discounted prison years.

        A prison year costs the buyer ``prison_year_cost`` years of his own income (``buyer_income``), not a
        courier candidate's wage, and the years are discounted at the buyer's own rate (``buyer_discount_factor``).
        """
        p, known = self.p, self.perceived_law
        if known["buyer_prison_chance"] == 0:
            return p.fine_kzt
        lost = float(discounted_years(known["buyer_prison"], p.buyer_discount_factor))
        return p.fine_kzt + known["buyer_prison_chance"] * lost * p.prison_year_cost * p.buyer_income * 365.0

    def _add_leads(self, arrested_shop: np.ndarray) -> None:
        """Each arrested courier may give a lead to his shop, and through it to the lab."""
        chance = self.police.lead_probability()
        rng = self.stream("leads")
        leads = arrested_shop[rng.random(len(arrested_shop)) < chance]
        self.shops.leads += np.bincount(leads, minlength=len(self.shops))
        up = leads[rng.random(len(leads)) < self.p.lab_link]
        labs = self.shops.lab[up]
        self.labs.leads += np.bincount(labs[labs >= 0], minlength=len(self.labs))

    def _seize_stashes(self, rows: np.ndarray) -> None:
        self.stashes.state[rows] = StashState.SEIZED
        self.count_seized(len(rows) * self.p.stash_grams)
        self.today.stashes_seized += len(rows)

    def count_seized(self, grams: float) -> None:
        """Grams seized today (any source: stashes, couriers, pickups, stock, shipments)."""
        self.today.grams_seized += grams
        self.cumulative["seized"] += grams

    def _count_lost(self, grams: float) -> None:
        self.today.grams_lost += grams
        self.cumulative["lost"] += grams

    def _close_shop(self, shop: int, seize: bool) -> None:
        """A shop leaves: its stock and hidden stashes are seized (arrest) or abandoned."""
        shops, stashes = self.shops, self.stashes
        mine = np.flatnonzero((stashes.shop == shop) & (stashes.state == StashState.PRESENT))
        grams = shops.stock[shop] + len(mine) * self.p.stash_grams
        (self.count_seized if seize else self._count_lost)(grams)
        if seize:
            self.today.stashes_seized += len(mine)
        stashes.remove(np.flatnonzero(stashes.shop == shop))
        shops.stock[shop] = 0.0
        shops.close(np.array([shop]))
        self.today.shops_closed += 1
        self.couriers.release_shop(shop)
        self.buyers.forget_storefront(shop, 0.0)

    def _grams_in_stock(self) -> float:
        return (
            float(self.labs.stock.sum())
            + float(self.shops.stock.sum())
            + self.stashes.present_grams(self.p.stash_grams)
        )

    def _record_stocks(self, m: Day) -> None:
        """The end-of-day stocks: what is in business, in prison, waiting, and the police's effort."""
        shops = self.shops
        m.grams_in_stock = self._grams_in_stock()
        m.active_storefronts = int(np.count_nonzero(shops.open_now()))
        m.active_shops = shops.count_active()
        m.blocked_storefronts = m.active_shops - m.active_storefronts
        m.active_labs = self.labs.count_active()
        m.active_buyers = self.buyers.count(BuyerState.ACTIVE)
        couriers = np.bincount(self.couriers.state, minlength=len(CourierState))
        m.active_couriers = int(couriers[CourierState.WORKING])
        m.courier_candidates = int(couriers[CourierState.CANDIDATE])
        m.repeat_couriers = int(np.count_nonzero(self.couriers.repeat[self.couriers.state == CourierState.WORKING]))
        m.courier_pay = float(shops.pay[shops.active].mean()) if shops.active.any() else 0.0
        prisoners = self.justice.prisoners()
        m.prisoners = int(prisoners.sum())
        for role, name in enumerate(ROLE_NAMES):
            setattr(m, f"prisoners_{name}", int(prisoners[role]))
        m.pending_cases = self.justice.pending()
        m.wanted = self.wanted
        for activity, value in self.police.effort.items():
            setattr(m, f"effort_{activity}", value)
