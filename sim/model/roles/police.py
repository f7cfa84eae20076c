"""The police: a daily budget of officer-days and how it is spent.

The budget is split among street patrol, cyber monitoring and blocking,
digital investigation of leads, and lab/precursor control. Street patrol goes
to districts either half by demand and half by where stashes were found and buyers arrested ("balanced") or
by where buyers collect, spending most of the time on easy buyer arrests
("statistics": work "for the sake of statistics" [000 L245]).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import NamedTuple

import mesa
import numpy as np

from sim.model.engine.elementary import exp, power
from sim.model.world.stashes import StashState
from sim.params import Params

#: Cyber staff at which the digital detection parameters are stated.
REFERENCE_CYBER_OFFICERS = 15.0


@dataclass
class Effort:
    """Today's officer-days by activity (each ``police_budget`` x its ``share_<activity>``)."""

    patrol: float = 0.0
    cyber: float = 0.0
    investigation: float = 0.0
    labs: float = 0.0


#: The police's activities, in the order of ``Effort``.
ACTIVITIES = tuple(f.name for f in fields(Effort))


class Hazards(NamedTuple):
    """Today's detection probabilities on the street, by district, and the digital one."""

    per_placement: np.ndarray  # a courier seen while hiding one stash
    stash: np.ndarray  # a hidden stash found in a day
    buyer: np.ndarray  # a pickup ending in arrest
    digital: float  # a working courier traced in a day by cyber analytics


class Police(mesa.Agent):
    """The city's drug-control police (one agent for all its agencies)."""

    def __init__(self, model: mesa.Model):
        super().__init__(model)
        n = model.city.n_districts
        self.found_by_district = np.full(n, 1.0 / n)  # smoothed finds (stashes found, buyers arrested)
        self.pickups_by_district = model.city.demand.copy()  # smoothed buyer pickups
        self.effort = Effort()
        self.crackdowns: list[tuple[int, float]] = []  # (first day after it, budget multiplier), oldest first
        self.blocking_work = 0.0  # cyber officer-days spent yesterday on blocking (officer_days_per_block each)
        self.block_credit = 0.0  # blocks the cyber unit can still make, carried while under one a day

    @property
    def p(self) -> Params:
        """Parameters in force today."""
        return self.model.p

    # ------------------------------------------------------------ crackdowns
    def in_crackdown(self) -> bool:
        """Whether a crackdown is on today."""
        return bool(self.crackdowns)

    def crack_down(self, until: int, multiplier: float) -> None:
        """A crackdown: the budget times ``multiplier`` until day ``until`` (not included); crackdowns multiply."""
        self.crackdowns.append((until, multiplier))

    def extend_crackdown(self, until: int) -> None:
        """The latest crackdown lasts until day ``until`` (not included), at its multiplier."""
        self.crackdowns[-1] = (until, self.crackdowns[-1][1])

    def end_crackdowns(self, today: int) -> None:
        """Crackdowns that are over by ``today`` end."""
        self.crackdowns = [c for c in self.crackdowns if c[0] > today]

    def budget_multiplier(self) -> float:
        """How many times its budget the police has today (crackdowns multiply)."""
        multiplier = 1.0
        for _, factor in self.crackdowns:
            multiplier *= factor
        return multiplier

    # ------------------------------------------------------------ the day
    def allocate_budget(self) -> None:
        """Split today's officer-days and send patrols to districts."""
        p = self.p
        budget = p.police_budget * self.budget_multiplier()
        self.effort = Effort(*(budget * getattr(p, f"share_{activity}") for activity in ACTIVITIES))
        if p.targeting_mode == "statistics":
            weights = self.pickups_by_district
        else:
            weights = 0.5 * self.model.city.demand + 0.5 * self.found_by_district / self.found_by_district.sum()
        self.model.city.deploy_patrol(self.effort.patrol * weights / weights.sum())

    def settle_patrol(self, rounds: int = 30) -> None:
        """Day 0: the police remember finds where a settled city has them, not evenly.

        Finds (stashes found, buyers arrested) fall where stashes lie, in
        proportion to the hazards there, and patrol follows finds: ``rounds``
        turns of that loop reach its fixed point.
        """
        p, city = self.p, self.model.city
        for _ in range(rounds):
            self.allocate_budget()
            hazards = self.street_hazards()
            finds = city.placement * (p.ground_days * hazards.stash + hazards.buyer)
            if finds.sum() <= 0:
                return
            self.found_by_district[:] = finds / finds.sum()
        self.allocate_budget()

    def expected_courier_arrests(self) -> float:
        """Courier arrests a day at today's hazards if every order were a stash laid in a batch of mean size.

        A batch of ``b`` placements in districts drawn by placement weight is
        seen with chance ``1 - (1 - h)^b`` (``h`` the placement-weighted
        hazard), or traced digitally.
        """
        p, city = self.p, self.model.city
        hazards = self.street_hazards()
        batch = 0.5 * (p.batch_min + p.batch_max)
        seen = float((city.placement * hazards.per_placement).sum())
        caught = 1.0 - power(1.0 - seen, batch) * (1.0 - hazards.digital)
        return self.model.buyers.expected_orders() / batch * caught

    @property
    def buyer_stop_share(self) -> float:
        """Share of patrol time spent stopping buyers."""
        p = self.p
        return p.statistics_stop_share if p.targeting_mode == "statistics" else p.buyer_stop_share

    def street_hazards(self) -> Hazards:
        """Today's detection hazards on the street, by district, and the digital one (probabilities)."""
        p, city = self.p, self.model.city
        search = city.patrol * (1.0 - self.buyer_stop_share) * p.detection_multiplier
        stops = city.patrol * self.buyer_stop_share
        hidden = 1.0 - 0.5 * city.suitability  # good hiding places halve the chance of being seen
        digital = p.digital_courier_detection * p.digital_analytics * self.effort.cyber / REFERENCE_CYBER_OFFICERS
        return Hazards(
            per_placement=1.0 - exp(-p.courier_detection * search * hidden),
            stash=1.0 - exp(-p.stash_detection * search * hidden),
            buyer=1.0 - exp(-p.buyer_detection * stops),
            digital=min(1.0, digital),
        )

    def storefront_hazard(self) -> float:
        """Daily detection hazard of a fully visible storefront; analytics double it at most.

        The cyber officer-days that went into blocking yesterday do not monitor today.
        """
        p = self.p
        monitoring = max(0.0, self.effort.cyber - self.blocking_work)
        return p.storefront_detection * monitoring * (1.0 + p.digital_analytics)

    def blocks_allowed(self) -> int | None:
        """Blocks the cyber unit can make today at ``officer_days_per_block`` each (None: no bound, at 0).

        Its capacity is today's cyber officer-days over the work of a block; a
        unit that can make less than one a day carries the remainder until it
        can, and none saves more than a day's capacity.
        """
        p = self.p
        if p.officer_days_per_block <= 0:
            return None
        capacity = self.effort.cyber / p.officer_days_per_block
        self.block_credit = min(self.block_credit + capacity, max(capacity, 1.0))
        return int(self.block_credit)

    def spend_on_blocks(self, blocks: int) -> None:
        """Book today's blocks: their officer-days are not spent monitoring tomorrow."""
        p = self.p
        self.blocking_work = blocks * p.officer_days_per_block
        if p.officer_days_per_block > 0:
            self.block_credit -= blocks

    def block_delay(self) -> int:
        """Days from detection to blocking; coordination between agencies halves it at most."""
        p = self.p
        return int(round(p.block_delay * (1.0 - 0.5 * p.coordination)))

    def lead_probability(self) -> float:
        """Chance an arrest yields a usable lead upstream (compartmentalisation x coordination x analytics)."""
        p = self.p
        boost = 1.0 + (p.lead_boost - 1.0) * 0.5 * (p.coordination + p.digital_analytics)
        return min(1.0, p.lead_probability * boost)

    def record_finds(self, districts: np.ndarray, pickups: np.ndarray) -> None:
        """Remember where stashes were found and buyers arrested, and where buyers collected."""
        n = len(self.found_by_district)
        self.found_by_district += 0.1 * (np.bincount(districts, minlength=n) - self.found_by_district)
        if pickups.sum() > 0:
            self.pickups_by_district += 0.1 * (pickups / pickups.sum() - self.pickups_by_district)
        self.found_by_district += 1e-6

    def identify(self, leads: np.ndarray, base_hazard: float = 0.0, *, stream: str = "investigation") -> np.ndarray:
        """Which targets are identified today; each one's hazard grows with its leads and the investigators' effort.

        ``leads`` holds the leads on each target still in business (one draw each, from ``stream``).
        """
        rate = self.p.investigation_rate * self.effort.investigation * leads + base_hazard
        return self.model.stream(stream).random(len(leads)) < 1.0 - exp(-rate)

    def patrol_stashes(self, hazards: Hazards) -> np.ndarray:
        """Patrols find hidden stashes; the shop does not know until a buyer complains.

        Returns:
            The districts where stashes were found.
        """
        stashes = self.model.stashes
        present = np.flatnonzero(stashes.state == StashState.PRESENT)
        chance = self.model.stream.keyed("patrol", stashes.uid[present])
        found = present[chance < hazards.stash[stashes.district[present]]]
        stashes.seize(found)
        self.model.ledger.seized_stashes(len(found))
        return stashes.district[found]

    def investigate(self) -> None:
        """Leads go stale; leads and lab policing identify operators and labs, and arrests follow.

        Operators are identified by the leads on their shops
        (``ShopRoster.arrest_operators``), labs by the leads on them and by lab
        and precursor policing (``LabRoster.raid``).
        """
        p, shops, labs = self.p, self.model.shops, self.model.labs
        stale = float(power(0.5, 1.0 / p.lead_half_life))
        shops.age_leads(stale)
        labs.age_leads(stale)
        in_business = np.flatnonzero(shops.active)
        shops.arrest_operators(in_business[self.identify(shops.leads[in_business], stream="shop_raids")])
        in_business = np.flatnonzero(labs.active)
        hazard = p.lab_detection * self.effort.labs
        labs.raid(in_business[self.identify(labs.leads[in_business], hazard, stream="lab_raids")])
