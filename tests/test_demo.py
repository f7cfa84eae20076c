"""The classroom demo's market: its city, marks, shocks and levers in plain words; and `klad demo`'s errors.

The page's session, pictures and words are tested in tests/test_demo_session.py, the page in a real browser in
tests/test_demo_browser.py.
"""

import re
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import sim
from sim.app.demo.market import (
    ARREST_DAYS_SHOWN,
    BLOCK_LARGEST,
    BUYER_PRISON,
    CRACKDOWN_DAYS,
    DEMO_CITY,
    LIVE_LEVERS,
    MARK_RADIUS,
    DemoMarket,
    Mark,
    demo_params,
    lever_note,
    shipped_scenarios,
)
from sim.io.config import load_scenario
from sim.model.metrics import METRICS, Day
from sim.model.roles.shops import Storefront
from sim.model.world.stashes import StashState
from sim.params import REGISTRY, ParameterError

ROOT = Path(__file__).resolve().parent.parent


# ------------------------------------------------------------------ the market
def test_demo_market_is_the_model_market_in_the_demo_city():
    """Marks, snapshots and events change nothing: same seed, same days as a plain KladMarket."""
    demo = DemoMarket("tightened penalties", seed=3, policy_start_day=20)
    plain = sim.KladMarket(demo_params(ROOT / "scenarios" / "tightened_penalties.toml", 20), rng=3)
    demo.run_for(40)
    plain.run_for(40)
    a = demo.daily().drop(columns="day")
    b = plain.daily().drop(columns="day")
    assert list(a.columns) == list(METRICS)
    np.testing.assert_array_equal(a.to_numpy(), b.to_numpy())
    assert {k: getattr(demo.p, k) for k in DEMO_CITY} == DEMO_CITY
    assert demo.p.severity_multiplier == 1.5 and demo.p.buyer_imprisonment is True  # its policy, from day 20
    assert demo.events == [Mark(20, "policy of 'tightened penalties' starts")]


def test_bad_scenario_or_seed_is_a_parameter_error(tmp_path):
    with pytest.raises(ParameterError, match="unknown scenario 'nonsense'"):
        DemoMarket("nonsense")
    with pytest.raises(ParameterError, match="seed"):
        DemoMarket(seed=-1)
    with pytest.raises(ParameterError, match="policy_start_day"):
        DemoMarket(policy_start_day=-5)
    bad = tmp_path / "bad.toml"
    bad.write_text("[params]\nn_buyers = 'many'\n")
    with pytest.raises(ParameterError, match="n_buyers"):
        shipped_scenarios(bad)


def test_scenarios_offered_by_name_with_an_extra_file_first(tmp_path):
    extra = tmp_path / "mine.toml"
    extra.write_text(f'name = "baseline"\nextends = "{ROOT / "scenarios" / "baseline.toml"}"\n')
    offered = shipped_scenarios(extra)
    assert list(offered.items())[0] == ("baseline", extra)  # yours first; a shipped one of the same name is told apart
    assert offered["baseline (baseline.toml)"] == ROOT / "scenarios" / "baseline.toml"
    assert len(offered) == len(list((ROOT / "scenarios").glob("*.toml"))) + 1
    assert DemoMarket(str(extra), seed=1).scenario_name == "baseline"


def test_every_lever_slider_fits_the_registry_and_every_scenario_value():
    """A slider snaps to round values over the registry's whole range, today's value and every scenario's among them."""
    for name, lever in LIVE_LEVERS.items():
        p = REGISTRY[name]
        assert p.kind == "lever"
        # The slider spans the registry's whole range, so no valid --scenario value can be clamped.
        assert (p.low, p.high) == (lever.low, lever.high), name
        assert list(lever.stops) == sorted(set(lever.stops)) and len(lever.stops) <= 21, name  # a slider's few stops
        values = [p.default]
        for file in (ROOT / "scenarios").glob("*.toml"):
            scenario = load_scenario(file)
            values += [getattr(scenario.params, name), scenario.policy.get(name, p.default)]
        for value in values:
            assert lever.stops[lever.nearest(value)] == pytest.approx(value), (name, value)  # no value snaps away
        for stop in lever.stops:  # round values: whole percentages, multiples of a half, whole days
            shown = lever.show(stop)
            assert re.fullmatch(r"x\d+(\.5)?|\d+%|\d+ days", shown), (name, shown)


def test_map_marks_show_stashes_couriers_at_work_and_last_weeks_arrests():
    m = DemoMarket(seed=2)
    m.run_for(30)
    marks = m.map_marks()
    present = np.bincount(m.stashes.district[m.stashes.state == StashState.PRESENT], minlength=m.city.n_districts)
    piles = {tuple(xy): n for xy, n in zip(marks.stashes.astype(int).tolist(), marks.stash_counts, strict=True)}
    assert piles == {tuple(int(c) for c in m.district_xy(d)): present[d] for d in np.flatnonzero(present)}
    couriers, districts = m._couriers_today
    assert len(marks.couriers) == len(couriers) > 0
    assert set(m.couriers.uid[np.flatnonzero(m.couriers.income > 0)]) >= set(couriers)
    week = [d for day, arrested in m._arrests if m.steps - day < ARREST_DAYS_SHOWN for d in arrested]
    assert len(marks.arrests) == len(week)
    for (x, y), d in zip(marks.couriers, districts, strict=True):  # around their district's centre
        cx, cy = m.district_xy(d)
        assert abs(np.hypot(x - cx, y - cy) - MARK_RADIUS) < 1e-9


def test_arrest_districts_are_where_the_couriers_were_caught():
    """Only one district is patrolled: every courier caught on the street was caught there."""
    m = DemoMarket(seed=4)
    m.run_for(3)  # shops have sold stashes and want new ones laid
    busiest = int(np.argmax(m.city.placement))
    per_placement = np.zeros(m.city.n_districts)
    per_placement[busiest] = 0.5
    hazards = m.police.street_hazards()._replace(per_placement=per_placement, digital=0.0)
    m.today = Day()
    laid = m.couriers.work(hazards)  # the round whose arrests the demo's map shows (``street``)
    caught = laid.arrested_district
    assert len(caught) == m.today.arrests_courier > 0
    assert set(caught) == {busiest}


def test_blocking_the_largest_storefronts_and_their_mirrors():
    m = DemoMarket(seed=5)
    m.run_for(20)
    open_ = np.flatnonzero(m.shops.active & (m.shops.storefront != Storefront.BLOCKED))
    largest = set(open_[np.argsort(-m.shops.orders[open_])[:BLOCK_LARGEST]])
    before = m.shops.mirrors.copy()
    event = m.block_largest_storefronts()  # the same event a scenario file can hold, on the next day
    assert event == {"day": 21, "action": "block_storefronts", "largest": BLOCK_LARGEST}
    m.step()
    assert all(m.shops.storefront[s] == Storefront.BLOCKED for s in largest)  # blocked on the next day
    assert sum(r["state"] == "blocked" for r in m.storefronts()) >= BLOCK_LARGEST
    assert m.metrics.blocked_storefronts >= BLOCK_LARGEST
    m.run_for(m.p.mirror_delay)
    for s in largest:
        assert m.shops.storefront[s] == Storefront.OPEN and m.shops.mirrors[s] == before[s] + 1  # back, as a mirror
    assert Mark(m.steps - m.p.mirror_delay, f"{BLOCK_LARGEST} largest storefronts blocked") in m.events


def test_raising_penalties_overrides_the_pending_policy():
    m = DemoMarket("tightened penalties", seed=1, policy_start_day=10)
    m.run_for(5)
    assert m.raise_penalties() == 2.0
    assert m.p.buyer_imprisonment is True and "severity_multiplier" not in m.policy
    m.run_for(10)
    assert m.policy_active and m.p.severity_multiplier == 2.0  # the scenario's 1.5 did not come back
    for _ in range(3):
        m.raise_penalties()
    assert m.p.severity_multiplier == REGISTRY["severity_multiplier"].high


def test_crackdown_triples_police_for_its_days_then_ends():
    m = DemoMarket(seed=6)
    m.run_for(5)
    m.start_crackdown()
    m.run_for(CRACKDOWN_DAYS)
    patrol = m.daily().drop(columns="day")["effort_patrol"].to_numpy()
    assert np.allclose(patrol[5:], 3 * patrol[4])
    m.step()
    assert m.p.police_budget == REGISTRY["police_budget"].default and m.police.crackdowns == []
    assert m.metrics.effort_patrol == patrol[4]
    assert m.events == [
        Mark(6, f"police crackdown x3 for {CRACKDOWN_DAYS} days"),
        Mark(6 + CRACKDOWN_DAYS, "crackdown ends", change=False),
    ]


def test_levers_are_checked_by_the_registry():
    m = DemoMarket(seed=1)
    assert m.set_lever("coordination", 0.9) == 0.9 and m.p.coordination == 0.9
    with pytest.raises(ParameterError, match="coordination"):
        m.set_lever("coordination", 1.5)
    with pytest.raises(ParameterError, match="not a policy lever"):
        m.set_lever("n_buyers", 10)
    m.set_lever("coordination", 0.5)
    assert [e.text for e in m.events] == ["agencies share 50% of leads"]  # one note per lever and day, in words


def test_every_note_is_in_plain_words():
    """The page never shows a parameter's name: every lever, shock and policy is noted in words."""
    for name, lever in LIVE_LEVERS.items():
        for value in (lever.low, lever.high):
            assert "_" not in lever_note(name, value) and "_" not in lever.label, name
    assert lever_note(BUYER_PRISON, True) == "prison for buyers"
    m = DemoMarket("tightened penalties", seed=1, policy_start_day=3)
    m.raise_penalties()
    m.block_largest_storefronts()
    m.start_crackdown()
    m.run_for(5)
    assert all("_" not in e.text for e in m.events), m.events
    assert "_" not in m.policy_words() and m.policy_words()


# ------------------------------------------------------------------ the command
def klad(*args, timeout=60):
    return subprocess.run(
        [sys.executable, "-m", "sim", *args], capture_output=True, text=True, cwd=ROOT, timeout=timeout
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--scenario", "no/such.toml"], ["file not found", "such.toml"]),
        (["--port", "70000"], ["--port must be at most 65535"]),
        (["--port", "http"], ["--port must be a whole number"]),
    ],
)
def test_demo_bad_input_one_line_exit_2(args, words):
    res = klad("demo", "--no-browser", *args)
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and re.match(r"klad( demo)?: error: ", lines[0]), res.stderr
    for word in words:
        assert word in lines[0]
    assert res.stdout == ""


def test_demo_port_in_use_one_line_exit_2():
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        res = klad("demo", "--no-browser", "--port", str(port))
    assert res.returncode == 2
    assert res.stderr.strip().splitlines() == [res.stderr.strip()]
    assert f"--port {port}: cannot serve there" in res.stderr


def test_a_demo_market_reads_its_scenario_file_once(monkeypatch):
    """The file gives the city, the name and the description in one reading (a Scenario), not one each."""
    import sim.io.config as config

    read = []
    chain = config._read_chain
    monkeypatch.setattr(config, "_read_chain", lambda path: read.append(path) or chain(path))
    market = DemoMarket(str(ROOT / "scenarios" / "site_blocking.toml"), scenarios={})
    assert len(read) == 1 and market.scenario_description == load_scenario(read[0]).description != ""
