"""The recipes of docs/architecture.md ("Extending the model"), each tried: a toy event, a toy role, a new process.

The toy role is advertisers: each works for a shop and posts its storefront about town, which raises the
storefront's visibility and so the initiation of new users. It is plugged in the documented way (its roster,
one line in ``KladMarket.__init__`` and one in ``step``: here a subclass of the market stands for those lines).
A ``Role`` member cannot be added at run time (it is an IntEnum), so what an arrestable role gets for free is
tried on the roles there are: every per-role array and metric is sized from ``Role`` and ``Offence``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import sim
from sim.model.engine.compiled import jit
from sim.model.engine.roster import Field, Roster, RosterAgent
from sim.model.metrics import Day
from sim.model.world.justice import ROLE_NAMES, Outcome, Role
from sim.model.world.sanctions import OFFENCES, SANCTIONS, Offence
from sim.params import ParameterError
from sim.timeline import EVENTS, Event, Key, check_event, describe

CITY = {"n_buyers": 2000, "n_shops": 6, "n_couriers": 48, "n_labs": 3}
DAYS = 25


# ------------------------------------------------------------- the toy role
class Advertiser(RosterAgent):
    """Someone paid by a shop to post its storefront about town: a view of one row of ``AdvertiserRoster``."""

    fields = {
        "active": Field(bool, True, "posting"),
        "shop": Field(np.int64, -1, "the shop that pays him"),
        "posts": Field(np.int64, 0, "posts to date"),
    }


@jit
def post(uniforms, active, shop, posts, visibility, reach):
    """The compiled rule: each active advertiser posts on a day with chance 1/2; a post lifts his shop's visibility."""
    for i in range(len(active)):
        if active[i] and uniforms[i] < 0.5:
            visibility[shop[i]] += reach * (1.0 - visibility[shop[i]])
            posts[i] += 1


class AdvertiserRoster(Roster):
    """All advertisers: set up, their day's verb, and how they leave (``active`` turns false)."""

    agent_class = Advertiser

    def __init__(self, model, n: int, reach: float):
        super().__init__(model)
        self.reach = reach
        self.add(n, shop=np.arange(n) % len(model.shops))

    def post(self) -> None:
        """The day's verb: advertisers post (their own random process, ``advertisers``)."""
        uniforms = self.model.stream("advertisers").random(len(self))
        post(uniforms, self.active, self.shop, self.posts, self.model.shops.visibility, self.reach)


class AdMarket(sim.KladMarket):
    """The market with advertisers: the two lines the recipe adds to ``KladMarket``, as a subclass."""

    def __init__(self, *args, n_advertisers: int = 30, reach: float = 0.3, **kwargs):
        super().__init__(*args, **kwargs)
        self.advertisers = AdvertiserRoster(self, n_advertisers, reach)  # the line in __init__

    def step(self) -> None:
        self.advertisers.post()  # the line in step (here: first thing in the day, before its events)
        super().step()


def test_the_toy_role_runs_and_raises_initiation():
    plain = sim.KladMarket(CITY, rng=5)
    plain.run_for(DAYS)
    model = AdMarket(CITY, rng=5)
    model.run_for(DAYS)
    assert model.advertisers.posts.sum() > 0  # the verb and its compiled rule ran
    assert len(model.agents_by_type[Advertiser]) == 30  # its agents are Mesa agents like any others
    assert model.rosters()[-1] is model.advertisers  # and the market finds the roster (views, tidying, justice)
    assert model.daily()["new_buyers"].sum() > plain.daily()["new_buyers"].sum()


def test_a_new_random_process_moves_no_other():
    """Advertisers who draw but reach no one leave every number of the market as it was."""
    plain = sim.KladMarket(CITY, rng=5)
    plain.run_for(DAYS)
    idle = AdMarket(CITY, rng=5, reach=0.0)
    idle.run_for(DAYS)
    assert idle.advertisers.posts.sum() > 0
    assert idle.daily().equals(plain.daily())


# ------------------------------------------------------------ the toy event
@pytest.fixture
def ban_ads():
    """A toy event, one class: ``ban_ads`` stops a share of the advertisers (or all)."""

    class BanAds(Event):
        """Advertising is banned: advertisers stop posting."""

        action = "ban_ads"
        keys = {"share": Key(float, 0.0, 1.0, "share of advertisers who stop")}
        required = ("share",)

        @classmethod
        def describe(cls, event: dict[str, Any]) -> str:
            return f"{event['share']:.0%} of advertisers stop"

        @classmethod
        def apply(cls, model: Any, event: dict[str, Any]) -> dict[str, Any]:
            ads = model.advertisers
            stop = np.flatnonzero(ads.active)[: round(event["share"] * len(ads))]
            ads.active[stop] = False
            return {"advertisers": len(stop)}

    yield BanAds
    del EVENTS["ban_ads"]


def test_a_toy_event_is_one_class(ban_ads):
    assert EVENTS["ban_ads"] is ban_ads
    model = AdMarket(CITY, rng=5)
    event = model.schedule({"day": 10, "action": "ban_ads", "share": 1})
    assert event == {"day": 10, "action": "ban_ads", "share": 1.0}
    model.run_for(10)  # the toy posts before the day's events: on day 10 too
    posts = model.advertisers.posts.sum()
    model.run_for(5)
    assert model.advertisers.posts.sum() == posts  # no posts after the ban
    assert not model.advertisers.active.any()
    assert model.happened == [{"day": 10, "action": "ban_ads", "share": 1.0, "advertisers": 30}]
    assert describe(event) == "day 10: 100% of advertisers stop"
    with pytest.raises(ParameterError, match=r"^scenario.toml events\[0\] share = 2 is invalid") as error:
        check_event({"day": 3, "action": "ban_ads", "share": 2}, "scenario.toml events[0]")
    assert "\n" not in str(error.value)
    with pytest.raises(ParameterError, match="ban_ads needs 'share'"):
        check_event({"day": 3, "action": "ban_ads"}, "events[0]")


def test_events_are_their_classes():
    """Every action of the timeline is a class with its name, keys, words and deed."""
    assert {"block_storefronts", "close_shops", "arrest_operators", "raid_labs", "crackdown", "arrest_wave",
            "set"} <= set(EVENTS)  # fmt: skip
    for action, kind in EVENTS.items():
        assert kind.action == action and kind.__doc__ and kind.apply is not Event.apply
        assert set(kind.one_of) | set(kind.required) <= set(kind.keys)


# ------------------------------------------- what an arrestable role gets
def test_per_role_arrays_and_metrics_follow_role_and_offence():
    """A new ``Role`` member gets its metrics, its cases' counts and its sentences' beliefs without more code."""
    fields = set(Day.__dataclass_fields__)
    for metric in ("arrests", "convictions", "prisoners"):
        assert {f"{metric}_{name}" for name in ROLE_NAMES} <= fields
    assert ROLE_NAMES == tuple(role.name.lower() for role in Role)
    assert len(Outcome().convicted) == len(Role)
    assert OFFENCES == tuple(offence.name.lower() for offence in Offence)
    for table in SANCTIONS.values():
        assert set(table) == set(OFFENCES)  # a new offence needs its row in each regime's table
    model = sim.KladMarket(CITY, rng=1)
    assert len(model.beliefs.law.years) == len(Offence)
    assert len(model.justice.prisoners()) == len(Role)
