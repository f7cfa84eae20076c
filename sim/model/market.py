"""KladMarket: the contactless drug market of a Kazakh city as a Mesa model.

One step is one day. ``KladMarket.step`` lists the order of a day top to
bottom, one domain verb a line; each role's behaviour lives in its own module
(``roles.buyers``, ``couriers``, ``shops``, ``labs``, ``police``), the justice
system in ``world.justice``, what agents believe of the law in ``deterrence``
and the books in ``ledger``. A verb hands on what the next one needs as its
return value; the day's metrics are written into ``today`` (a ``metrics.Day``)
as the verbs run, and Mesa's DataCollector keeps one row a day.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import mesa
import numpy as np
import pandas as pd

from sim.io.config import Scenario
from sim.model.deterrence import Beliefs
from sim.model.engine.draws import Streams
from sim.model.engine.roster import Roster
from sim.model.events import happen
from sim.model.ledger import Ledger
from sim.model.metrics import METRICS, Day
from sim.model.records import Recorder
from sim.model.roles.buyers import BuyerRoster, Sales
from sim.model.roles.couriers import CourierRoster, Round
from sim.model.roles.labs import LabRoster
from sim.model.roles.police import Police
from sim.model.roles.shops import ShopRoster
from sim.model.world.city import City
from sim.model.world.justice import Justice
from sim.model.world.stashes import Stashes
from sim.params import Params, check_records
from sim.timeline import check_event

__all__ = ["METRICS", "KladMarket", "Street"]


class Street(NamedTuple):
    """What a day on the street came to: the couriers' round and the buyers' pickups (for views, such as a map)."""

    round: Round
    sales: Sales


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
        self.policy: dict[str, Any] = dict(scenario.policy)
        self.p: Params = scenario.params  # the values in force today; replaced, never changed in place
        self.policy_active = False
        self.day = 0
        p = self.p
        self.scale = p.n_buyers / 10_000  # demand-side rates are stated per 10,000 buyers

        self.city = City(p.grid_width, p.grid_height, p.demand_concentration, self.stream("city"), self.random)
        self.justice = Justice(self)
        self.stashes = Stashes()
        self.ledger = Ledger(self)
        self.labs = LabRoster(self)
        self.shops = ShopRoster(self)
        self.couriers = CourierRoster(self)
        self.buyers = BuyerRoster(self)
        self.police = Police(self)
        self.beliefs = Beliefs(self)  # what couriers and buyers believe of the law and of conviction
        self.street: Street | None = None  # the last day's street, for views
        record = check_records(list(record), "KladMarket")
        self.recorder = Recorder(self, tuple(record)) if record else None
        self._populate()
        self.ledger.record_stocks(self.metrics)
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

    def rosters(self) -> list[Roster]:
        """The rosters of the roles kept as arrays (labs, shops, couriers, buyers), those made so far, in that order."""
        return [value for value in self.__dict__.values() if isinstance(value, Roster)]

    # ------------------------------------------------------------------ set-up
    def _populate(self) -> None:
        """Day 0: a market in rough equilibrium, with stock in the pipeline."""
        p = self.p
        daily_orders = p.n_buyers * p.order_rate
        self.labs.set_up(p.n_labs, ready_day=0, supplied=True, stock=daily_orders * p.stash_grams * 7.0 / p.n_labs)
        self.shops.open_first(p.n_shops, daily_orders / p.n_shops)
        self.couriers.recruit_candidates(round(p.candidate_pool * self.scale) + p.n_couriers)
        self.couriers.hire_first(p.n_couriers, p.n_shops)
        self.buyers.populate(self.shops.visibility.copy())
        self.stashes.populate(np.ceil(self.shops.orders * p.ground_days).astype(np.int64), self.city.placement,
                              self.stream("stashes"))  # fmt: skip
        self.ledger.open_books()
        self.police.settle_patrol()
        self.couriers.fill_prisons()

    # -------------------------------------------------------------------- day
    def step(self) -> None:
        """One day of the market, in order."""
        self.day = self.steps
        self.stream.new_day(self.day)
        self.ledger.new_day(self.day)
        self.switch_on_policy()
        self.happen_today()
        self.beliefs.learn_the_law()
        self.police.allocate_budget()
        self.labs.cook()
        self.shops.buy_bulk()
        self.shops.storefront_round()
        self.shops.advertise()
        hazards = self.police.street_hazards()
        self.couriers.find_work()
        laid = self.couriers.work(hazards)
        found = self.police.patrol_stashes(hazards)
        sales = self.buyers.buy(hazards, found, wages=laid.laid_by_shop * self.shops.pay)
        self.shops.set_prices()
        self.police.investigate()
        verdicts = self.justice.administer()
        self.learn(laid, sales, verdicts.decided)
        self.couriers.quit_jobs(self.shops.pay)
        self.couriers.renew_pool()
        self.buyers.renew()
        self.shops.enter_and_exit()
        self.labs.enter_and_exit()
        if self.recorder:
            self.recorder.end_of_day()
        self.tidy_rosters()
        self.ledger.close_day()
        self.street = Street(laid, sales)

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

    # ------------------------------------------------------------ the books
    @property
    def today(self) -> Day:
        """The metrics of the day being run (``ledger.today``)."""
        return self.ledger.today

    @today.setter
    def today(self, day: Day) -> None:
        self.ledger.today = day

    @property
    def metrics(self) -> Day:
        """The metrics of the last finished day (at construction, day 0's stocks)."""
        return self.ledger.metrics

    @property
    def cumulative(self) -> dict[str, float]:
        """Grams produced, sold, seized and lost since day 0 (``ledger.cumulative``)."""
        return self.ledger.cumulative

    # --------------------------------------------------------------- the verbs
    def switch_on_policy(self) -> None:
        """On the policy start day the scenario's levers take their new values."""
        if not self.policy_active and self.day >= self.p.policy_start_day:
            self.p = self.p.replace(**self.policy)
            self.policy_active = True

    def happen_today(self) -> None:
        """Crackdowns that are over end; today's timed events happen (``sim.model.events``)."""
        self.police.end_crackdowns(self.day)
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

    def learn(self, laid: Round, sales: Sales, decided: int) -> None:
        """Agents update perceived certainty from what they observed today.

        Couriers see the share of working couriers arrested today, buyers the
        share of pickups that ended in arrest, both among a few peers; everyone
        sees the share of today's decided cases that ended in conviction.
        """
        self.couriers.observe_arrests(len(laid.arrested) / max(1, laid.working))
        self.buyers.observe_arrests(sales.arrest_rate)
        self.beliefs.learn_conviction(self.today.convictions, decided)

    def tidy_rosters(self) -> None:
        """Agents who left the market today leave Mesa's AgentSets; rows long gone leave the arrays.

        When the couriers' or buyers' rows are compacted, whatever refers to
        their rows (the stash database, the case ledger, the re-stashes owed)
        is renumbered with them (their rosters' ``tidy``).
        """
        for roster in sorted(self.rosters(), key=lambda roster: not roster.compacts):
            roster.tidy()  # those that compact first (couriers, buyers); shops' and labs' rows stay
