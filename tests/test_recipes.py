"""The recipes of docs/architecture.md ("Extending the model"), each tried: a toy event, role, process, lever, metric.

The toy role is advertisers: each works for a shop and posts its storefront about town, which raises the
storefront's visibility and so the initiation of new users. It is plugged in the documented way (its roster,
one line in ``KladMarket.__init__`` and one in ``step``: here a subclass of the market stands for those lines).
A ``Role`` member cannot be added at run time (it is an IntEnum), so what an arrestable role gets for free is
tried on the roles there are: every per-role array and metric is sized from ``Role`` and ``Offence``.

The toy lever (the city paints over advertisers' posts) and the toy metric (advertisers' posts a day) follow
their recipes in memory: the registry gains the lever's entry and ``FIELDS`` the metric's row, the fields of
``Params`` and ``Day`` are generated from them by the code ``python -m sim.params`` and ``python -m
sim.model.metrics`` run, and a fixture puts the new classes where the package builds them; all is restored after
the test. The verb that reads the lever or writes the metric is again a roster of the toy role.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest

import sim
from sim import params
from sim.experiments import replications, sweep
from sim.io import config
from sim.model import ledger, market, metrics
from sim.model.engine.compiled import jit
from sim.model.engine.roster import Field, Roster, RosterAgent
from sim.model.metrics import Day
from sim.model.world.justice import ROLE_NAMES, Outcome, Role
from sim.model.world.sanctions import OFFENCES, SANCTIONS, Offence
from sim.params import ParameterError
from sim.reporting.docs import parameter_table
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

    roster = AdvertiserRoster  # (the lever's and the metric's tests give a roster whose verb reads or writes them)

    def __init__(self, *args, n_advertisers: int = 30, reach: float = 0.3, **kwargs):
        super().__init__(*args, **kwargs)
        self.advertisers = self.roster(self, n_advertisers, reach)  # the line in __init__

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


# ------------------------------------------------------------ the toy lever
#: The lever's entry, as it would be added to sim/registry.toml.
TOY_LEVER = """
[poster_removal]
default = 0.0
unit = "share of posts"
range = [0.0, 1.0]
kind = "lever"
source = "assumption: a toy lever of tests/test_recipes.py"
doc = "Share of advertisers' posts the city paints over at once."
"""


@pytest.fixture
def toy_lever(monkeypatch):
    """The lever recipe: its entry in the registry, then the fields of ``Params`` generated anew from the registry.

    The entry is read as the registry file is (``_load_registry``) and joins ``REGISTRY`` (the one dict every
    module reads); ``Params`` is built over the generated fields and put where scenarios and runs make theirs.
    """
    entry = params._load_registry(TOY_LEVER)["poster_removal"]
    monkeypatch.setitem(params.REGISTRY, "poster_removal", entry)
    source = params.fields_source()  # what ``python -m sim.params`` writes into sim/params_fields.py
    generated: dict[str, Any] = {}
    exec(compile(source, "params_fields.py", "exec"), generated)
    body = {k: v for k, v in vars(params.Params).items() if k in ("__doc__", "__module__", "of", "replace", "as_dict")}
    toy_params = dataclasses.dataclass(frozen=True, slots=True)(type("Params", (generated["ParamFields"],), body))
    for module in (params, config, replications):  # where a Params is made or recognised
        monkeypatch.setattr(module, "Params", toy_params)
    return source


class PaintedOverRoster(AdvertiserRoster):
    """Advertisers whose posts the city may paint over: the verb reads the lever where it acts."""

    def post(self) -> None:
        uniforms = self.model.stream("advertisers").random(len(self))
        reach = self.reach * (1.0 - self.model.p.poster_removal)  # the lever, read in the verb it changes
        post(uniforms, self.active, self.shop, self.posts, self.model.shops.visibility, reach)


class PaintedOverMarket(AdMarket):
    roster = PaintedOverRoster


def test_a_toy_lever_is_one_registry_entry(toy_lever, tmp_path):
    assert "    poster_removal: float = 0.0\n" in toy_lever  # its typed field in the generated source
    assert "poster_removal" in params.levers()
    assert "| `poster_removal` | lever | 0 | share of posts |" in parameter_table()  # klad params
    path = tmp_path / "paint.toml"
    path.write_text("[params]\npolicy_start_day = 10\n\n[policy]\nposter_removal = 1\n")
    scenario = config.load_scenario(path)
    assert scenario.params.poster_removal == 0.0 and scenario.policy == {"poster_removal": 1.0}
    event = check_event({"day": 3, "action": "set", "params": {"poster_removal": 0.5}}, "events[0]")
    assert event["params"] == {"poster_removal": 0.5} and describe(event) == "day 3: poster_removal = 0.5"
    path.write_text("[policy]\nposter_removal = 2\n")
    with pytest.raises(ParameterError, match=r"^\S*paint.toml \[policy\]: parameter 'poster_removal' = 2 is invalid"):
        config.load_scenario(path)


def test_a_toy_lever_acts_where_the_model_reads_it(toy_lever):
    """All posts painted over: the market runs as if the advertisers reached no one."""
    painted = {**CITY, "poster_removal": 1.0}  # a lever is set like any parameter, or in [policy] from a day on
    plain = sim.KladMarket(painted, rng=5)
    plain.run_for(DAYS)
    model = PaintedOverMarket(painted, rng=5)
    model.run_for(DAYS)
    assert model.p.poster_removal == 1.0 and model.advertisers.posts.sum() > 0
    assert model.daily().equals(plain.daily())
    unpainted = PaintedOverMarket(CITY, rng=5)  # the lever at its default: the posts reach buyers
    unpainted.run_for(DAYS)
    assert unpainted.daily()["new_buyers"].sum() > plain.daily()["new_buyers"].sum()


# ----------------------------------------------------------- the toy metric
@pytest.fixture
def toy_metric(monkeypatch):
    """The metric recipe: its row of ``FIELDS`` and its unit, then the fields of ``Day`` generated anew from them.

    ``Day`` is built over the generated fields and ``METRICS`` derived again, as importing the edited
    sim/model/metrics.py would, and both are put where the package reads them.
    """
    monkeypatch.setattr(metrics, "FIELDS", [*metrics.FIELDS, ("ad_posts", int, 0)])
    monkeypatch.setitem(metrics.UNITS, "ad_posts", "posts/day")
    source = metrics.fields_source()  # what ``python -m sim.model.metrics`` writes into sim/model/day_fields.py
    generated: dict[str, Any] = {}
    exec(compile(source, "day_fields.py", "exec"), generated)
    body = {k: v for k, v in vars(metrics.Day).items() if k in ("__doc__", "__module__", "set_by_role")}
    day = dataclasses.dataclass(type("Day", (generated["DayFields"],), body))
    for module in (metrics, ledger, market):
        monkeypatch.setattr(module, "Day", day)
    names = tuple(name for name, _, _ in metrics.FIELDS)
    for module in (metrics, market, replications, sweep):
        monkeypatch.setattr(module, "METRICS", names)
    return source


class CountedRoster(AdvertiserRoster):
    """Advertisers whose verb writes the day's posts into the day's metrics."""

    def post(self) -> None:
        before = int(self.posts.sum())
        super().post()
        self.model.today.ad_posts += int(self.posts.sum()) - before


class CountedMarket(AdMarket):
    """The market with advertisers who count their posts: they post once the day's books are open.

    ``AdMarket`` has them post first thing in the day, before ``ledger.new_day`` opens the day's ``Day``; here the
    verb that runs right after it stands for the toy's line in ``step``.
    """

    roster = CountedRoster

    def step(self) -> None:
        sim.KladMarket.step(self)  # not AdMarket's: no post before the books open

    def switch_on_policy(self) -> None:
        super().switch_on_policy()
        self.advertisers.post()


def test_a_toy_metric_is_one_row_of_fields(toy_metric):
    assert "    #: posts/day\n    ad_posts: int = 0\n" in toy_metric  # its typed field in the generated source
    model = CountedMarket(CITY, rng=5)
    model.run_for(DAYS)
    daily = model.daily()
    assert metrics.METRICS[-1] == "ad_posts" and list(daily.columns)[-1] == "ad_posts"  # the collector's column
    assert daily["ad_posts"].sum() == model.advertisers.posts.sum() > 0
    assert metrics.bounds("ad_posts") == (0.0, float("inf"))  # a count: its intervals are cut at 0
    summary = replications.summarise(daily.assign(rep=0), window=10)  # the reports' tables
    table = replications.ci_table(summary, ("ad_posts",))
    assert table.loc[0, "unit"] == "posts/day" and table.loc[0, "mean"] == daily["ad_posts"].tail(10).mean()
