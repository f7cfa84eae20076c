"""Timed events, records below the city level, the summary window's refusals, and sweeps' exit codes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sim
from sim.experiments.records import migration, refill_days, shop_survival
from sim.experiments.replications import summary_window
from sim.model.roles.couriers import CourierState
from sim.model.roles.shops import Storefront
from sim.model.world.justice import Role
from sim.params import ParameterError
from sim.timeline import check_events

ROOT = Path(__file__).resolve().parent.parent
#: A small city with enough shops to block three and keep others open.
CITY = {"n_buyers": 2000, "n_shops": 6, "n_couriers": 48, "n_labs": 3}


def market(*events, record=(), seed=3, **over):
    return sim.KladMarket({**CITY, **over, "events": list(events)}, rng=seed, record=record)


def klad(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "sim", *args], capture_output=True, text=True, cwd=cwd)


def toml_value(value) -> str:
    """A value as TOML (what the bad-event cases use)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    return f'"{value}"' if isinstance(value, str) else repr(value)


# ------------------------------------------------------------------ events
@pytest.mark.slow
def test_blocked_largest_storefronts_stay_blocked_their_own_delay_and_their_buyers_buy_elsewhere():
    m = market({"day": 40, "action": "block_storefronts", "largest": 3, "mirror_delay": 365}, record=("purchases",))
    m.run_for(39)
    shops = m.shops
    open_ = np.flatnonzero(shops.active & (shops.storefront != Storefront.BLOCKED))
    largest = open_[np.argsort(-shops.orders[open_], kind="stable")[:3]]
    m.run_for(1)
    assert m.happened[0]["shops"] == largest.tolist()
    for _ in range(120):
        alive = largest[shops.active[largest]]
        assert (shops.storefront[alive] == Storefront.BLOCKED).all()  # the parameter's 3-day delay does not apply
        m.step()
    assert (shops.storefront_day[largest] == 40 + 365).all()
    purchases = m.records()["purchases"]
    after = purchases[(purchases["day"] >= 40) & (purchases["outcome"] == "got") & purchases["shop"].isin(largest)]
    # Nobody orders from a blocked shop; only a re-stash owed from the day before the block is still sent (by message).
    assert (after["attempt"] == 2).all() and (after["day"] == 40).all()
    moved = migration(purchases, largest.tolist(), 40, before=30, after=60)
    others = moved[(moved["shop"] >= 0) & ~moved["back"]]
    assert others["share"].sum() > 0.3 and len(others) >= 2  # the displaced buyers bought at other shops
    assert moved.loc[moved["back"], "orders"].sum() == 0


def test_block_all_or_named_shops():
    m = market({"day": 5, "action": "block_storefronts", "all": True})
    m.run_for(5)
    assert m.metrics.active_storefronts == 0 and m.metrics.blocked_storefronts == m.metrics.active_shops
    named = market({"day": 5, "action": "block_storefronts", "shops": [1, 4]})
    named.run_for(5)
    assert np.flatnonzero(named.shops.storefront == Storefront.BLOCKED).tolist() == [1, 4]


def test_closing_shops_arrests_nobody():
    m = market({"day": 10, "action": "close_shops", "largest": 2})
    m.run_for(10)
    hit = m.happened[0]["shops"]
    assert len(hit) == 2 and not m.shops.active[hit].any() and (m.shops.closed_day[hit] == 10).all()
    assert m.daily()["shops_closed"].iloc[-1] >= 2 and m.daily()["arrests_operator"].iloc[-1] == 0
    assert not (m.justice.role == Role.OPERATOR).any()
    assert not (m.couriers.shop[m.couriers.state == CourierState.WORKING] == hit[0]).any()  # its couriers let go


def test_arresting_operators_closes_the_shops_at_home_and_finds_the_storefronts_of_those_abroad():
    m = market({"day": 10, "action": "arrest_operators", "all": True})
    m.run_for(9)
    shops = np.flatnonzero(m.shops.active)
    abroad, home = shops[m.shops.abroad[shops]], shops[~m.shops.abroad[shops]]
    assert len(abroad) and len(home)  # the default city has operators of both kinds
    stock = float(m.shops.stock[home].sum())
    was_open = m.shops.channel[abroad] == Storefront.OPEN
    m.step()
    day = m.daily().iloc[-1]
    assert m.happened[0]["operators_arrested"] == len(home) and day["arrests_operator"] >= len(home)
    assert not m.shops.active[home].any() and m.shops.active[abroad].all()
    assert (m.justice.role == Role.OPERATOR).sum() >= len(home) and day["grams_seized"] >= stock > 0
    assert was_open.any() and (m.shops.channel[abroad][was_open] == Storefront.BLOCKED).all()  # due at once
    named = market({"day": 5, "action": "arrest_operators", "shops": [int(home[0])]})
    named.run_for(5)
    assert named.happened[0]["shops"] == [int(home[0])] and not named.shops.active[home[0]]


def test_raiding_labs_arrests_chemists_and_seizes_stock():
    m = market({"day": 10, "action": "raid_labs", "all": True})
    m.run_for(9)
    stock, labs = float(m.labs.stock[m.labs.active].sum()), int(m.labs.active.sum())
    m.step()
    day = m.daily().iloc[-1]
    assert day["arrests_lab"] == labs and not m.labs.active[:labs].any()
    assert day["grams_seized"] >= stock > 0


def test_crackdown_multiplies_police_for_its_days_and_set_changes_levers_more_than_once():
    m = market(
        {"day": 10, "action": "crackdown", "police_multiplier": 3, "duration": 5},
        {"day": 12, "action": "set", "params": {"detection_multiplier": 2.0}},
        {"day": 20, "action": "set", "params": {"detection_multiplier": 0.5, "coordination": 0.8}},
    )
    m.run_for(25)
    patrol = m.daily().set_index("day")["effort_patrol"]
    assert np.allclose(patrol.loc[10:14], 3 * patrol.loc[9]) and patrol.loc[15] == patrol.loc[9]
    assert m.p.detection_multiplier == 0.5 and m.p.coordination == 0.8


def test_arrest_wave_arrests_its_share_and_opens_cases():
    calm = market()
    calm.run_for(29)
    working = calm.couriers.count(CourierState.WORKING)
    m = market({"day": 30, "action": "arrest_wave", "couriers": 0.5, "buyers": 0.1})
    m.run_for(30)
    day = m.daily().iloc[-1]
    assert 0.3 * working < day["arrests_courier"] < 0.7 * working
    assert day["arrests_buyer"] > 50
    assert m.happened[0]["couriers_arrested"] <= day["arrests_courier"]


def test_events_can_be_scheduled_and_checked():
    m = market()
    with pytest.raises(ParameterError, match="police_multiplier"):
        m.schedule({"action": "crackdown", "duration": 3})
    assert m.schedule({"day": 0, "action": "raid_labs", "largest": 1})["day"] == 1  # a past day: the next one


@pytest.mark.parametrize(
    ("event", "words"),
    [
        ({"day": 3, "action": "explode"}, ["action = 'explode'", "block_storefronts"]),
        ({"action": "crackdown", "police_multiplier": 2, "duration": 3}, ["'day' is missing"]),
        ({"day": 3, "action": "block_storefronts"}, ["exactly one of largest, all, shops"]),
        ({"day": 3, "action": "block_storefronts", "largest": 2, "all": True}, ["exactly one"]),
        ({"day": -1, "action": "raid_labs", "all": True}, ["day = -1", "[0, 100000]"]),
        ({"day": 3, "action": "crackdown", "police_multiplier": "x", "duration": 3}, ["police_multiplier"]),
        ({"day": 3, "action": "set", "params": {"n_buyers": 5}}, ["'n_buyers' is not a policy lever"]),
        ({"day": 3, "action": "arrest_wave"}, ["arrest_wave needs a share"]),
        ({"day": 3, "action": "close_shops", "all": True, "speed": 2}, ["unknown key 'speed'"]),
    ],
)
def test_bad_events_are_one_line_naming_the_event_and_key(tmp_path, event, words):
    with pytest.raises(ParameterError) as info:
        check_events([event], "f.toml")
    assert "f.toml events[0]" in str(info.value) and all(w in str(info.value) for w in words), str(info.value)
    scenario = tmp_path / "s.toml"
    scenario.write_text("[[events]]\n" + "".join(f"{k} = {toml_value(v)}\n" for k, v in event.items()))
    res = klad("run", str(scenario), "--out", str(tmp_path / "out"))
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1 and "Traceback" not in res.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_an_event_the_run_never_reaches_is_refused_in_one_line(tmp_path):
    scenario = tmp_path / "late.toml"
    scenario.write_text('[[events]]\nday = 900\naction = "raid_labs"\nall = true\n')
    res = klad("run", str(scenario), "--days", "730", "--reps", "1", "--out", str(tmp_path / "out"))
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1 and "Traceback" not in res.stderr
    assert "raid_labs event on day 900" in res.stderr and "last day (730)" in res.stderr, res.stderr
    assert not (tmp_path / "out").exists()
    with pytest.raises(ParameterError, match="day 900"):
        sim.run_scenario(str(scenario), reps=1, days=730)
    assert sim.run_scenario(str(scenario), reps=1, days=900, window=30, force=True).window is not None


# ------------------------------------------------------------------ records
def test_records_reproduce_the_city_totals():
    m = market(
        {"day": 20, "action": "arrest_wave", "couriers": 0.3},
        {"day": 25, "action": "close_shops", "largest": 1},
        record=("shops", "purchases", "couriers"), seed=8,
    )  # fmt: skip
    m.run_for(60)
    daily, records = m.daily().set_index("day"), m.records()
    purchases, shops, spells = records["purchases"], records["shops"], records["couriers"]
    got = purchases[purchases["outcome"] == "got"].groupby("day").size().reindex(daily.index, fill_value=0)
    np.testing.assert_array_equal(got.to_numpy() * m.p.stash_grams, daily["grams_sold"].to_numpy())

    def per_day(rows):
        return rows.groupby("day").size().reindex(daily.index, fill_value=0).to_numpy()

    orders, restashes = purchases[purchases["attempt"] == 1], purchases[purchases["attempt"] == 2]
    np.testing.assert_array_equal(per_day(orders), daily["orders"])
    assert daily["restashes"].sum() > 10
    failed = per_day(restashes[restashes["outcome"].isin(["not found", "no stash"])])
    np.testing.assert_array_equal(failed, daily["restash_failures"])
    assert (per_day(restashes) >= daily["restashes"]).all()  # (and those dropped)
    never = per_day(orders[orders["outcome"].isin(["no storefront", "no stash"])])
    np.testing.assert_array_equal(never + failed, daily["unmet_orders"])
    seized = purchases[purchases["outcome"] == "seized"].groupby("day").size().reindex(daily.index, fill_value=0)
    np.testing.assert_array_equal(seized, daily["arrests_buyer"])
    placed = per_day(orders[orders["shop"] >= 0])
    np.testing.assert_array_equal(shops.groupby("day")["orders_today"].sum().reindex(daily.index), placed)
    assert (shops.groupby("day")["active"].sum().reindex(daily.index) >= daily["active_shops"]).all()
    arrested = spells[spells["end"] == "arrested"].groupby("ended").size().reindex(daily.index, fill_value=0)
    np.testing.assert_array_equal(arrested, daily["arrests_courier"])
    assert (spells["end"] == "shop closed").sum() > 0 and (spells["end"] == "working").sum() == daily[
        "active_couriers"].iloc[-1]  # fmt: skip
    assert (spells["days"] >= 0).all() and records["events"]["action"].tolist() == ["arrest_wave", "close_shops"]
    wave = records["events"].iloc[0]  # the people an event arrested, as the day's arrests count them
    assert 0 < wave["arrested"] <= daily.loc[wave["day"], ["arrests_courier", "arrests_buyer"]].sum()
    assert records["events"].iloc[1]["arrested"] == 0  # a closure arrests nobody


def test_run_metrics_from_records():
    m = market({"day": 15, "action": "arrest_wave", "couriers": 0.6}, record=("shops",), candidate_pool=150,
               ad_reach=0.02)  # fmt: skip
    m.run_for(80)
    assert refill_days(m.daily(), first_day=15) > 0.5  # a small pool: vacancies wait for takers
    survival = shop_survival(m.records()["shops"])
    assert ((survival["surviving"] <= 1) & (survival["surviving"] >= 0)).all()


def test_recording_changes_nothing_in_the_run():
    plain, recorded = market(seed=4), market(seed=4, record=("shops", "purchases", "couriers"))
    plain.run_for(40)
    recorded.run_for(40)
    pd.testing.assert_frame_equal(plain.daily(), recorded.daily())


# ------------------------------------------------------------------ no silent traps
def test_summary_window_refuses_what_would_summarise_the_wrong_days():
    assert summary_window(730, None, None, 365).days == 90
    with pytest.raises(ParameterError, match="starts on day 276, before the burn-in ends on day 365"):
        summary_window(365, None, None, 365, where="sweep.toml")
    with pytest.raises(ParameterError, match="averages too little"):
        summary_window(730, 7, 0, 365)
    with pytest.raises(ParameterError, match="longer than the run"):
        summary_window(20, 30, 0, 0, force=True)
    assert summary_window(365, None, None, 365, force=True).days == 90  # forced: the user's choice


def test_klad_run_refuses_a_window_inside_the_burn_in_and_writes_nothing(tmp_path):
    res = klad("run", str(ROOT / "scenarios" / "baseline.toml"), "--days", "400", "--out", str(tmp_path / "o"))
    assert res.returncode == 2 and "before the burn-in ends on day 365" in res.stderr and "--force" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and not (tmp_path / "o").exists()


SWEEP = """
model = "flaky_model:model"
design = "latin"
outputs = ["y"]
samples = {samples}
seed = 1
chunk_size = 2
[uncertainties]
x = [0.0, 1.0]
[fixed]
fail_above = {fail_above}
"""


@pytest.mark.slow
@pytest.mark.parametrize(("fail_above", "code", "words"), [(2.0, 0, None), (0.5, 3, "of 6 runs failed"),
                                                           (-1.0, 1, "every run failed")])  # fmt: skip
def test_sweep_exit_codes_say_whether_runs_failed(tmp_path, fail_above, code, words):
    path = tmp_path / "exp.toml"
    path.write_text(SWEEP.format(samples=6, fail_above=fail_above))
    env_path = str(ROOT / "tests" / "data")
    res = subprocess.run([sys.executable, "-m", "sim", "sweep", str(path), "--out", str(tmp_path / "o"), "--quiet",
                          "--workers", "1"], capture_output=True, text=True, cwd=ROOT,
                         env={**__import__("os").environ, "PYTHONPATH": env_path})  # fmt: skip
    assert res.returncode == code, res.stderr
    if words:
        assert words in res.stderr and "x is too large" in res.stderr and "--retry-failed" in res.stderr
        assert "Failed runs" in (tmp_path / "o" / "report.md").read_text()


def test_event_numbers_can_be_swept(tmp_path):
    from sim.experiments.sweep import SweepPlan, load_experiment, run_sweep

    path = tmp_path / "exp.toml"
    path.write_text(
        'design = "grid"\nreplications = 1\ndays = 40\nwindow = 10\nburn_in = 0\nforce = true\n'
        'outputs = ["active_storefronts"]\n'
        '[levers]\n"events.0.day" = [5, 35]\n[fixed]\nn_buyers = 1000\nn_shops = 4\nn_couriers = 24\nn_labs = 1\n'
        '[[events]]\nday = 5\naction = "block_storefronts"\nall = true\nmirror_delay = 200\n'
    )
    exp = load_experiment(path)
    runs = run_sweep(exp, SweepPlan(tmp_path / "o")).runs
    assert runs["events.0.day"].tolist() == [5, 35]
    assert runs["active_storefronts"].iloc[0] < 1 < runs["active_storefronts"].iloc[1]  # blocked all window, or late
    bad = path.read_text().replace('"events.0.day"', '"events.3.day"')
    path.write_text(bad)
    with pytest.raises(ParameterError, match="names no event"):
        load_experiment(path)


@pytest.mark.slow
def test_resume_can_retry_the_failed_runs(tmp_path):
    broken = tmp_path / "broken"
    broken.write_text("x")
    path = tmp_path / "exp.toml"
    path.write_text(SWEEP.format(samples=4, fail_above=2.0) + f'broken = "{broken}"\n')
    env = {**__import__("os").environ, "PYTHONPATH": str(ROOT / "tests" / "data")}

    def sweep(*extra):
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "sim",
                "sweep",
                str(path),
                "--out",
                str(tmp_path / "o"),
                "--quiet",
                "--workers",
                "1",
                *extra,
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=env,
        )

    assert sweep().returncode == 1
    broken.unlink()  # the cause is mended
    assert sweep("--resume").returncode == 1  # resuming alone keeps the failed runs
    res = sweep("--resume", "--retry-failed")
    assert res.returncode == 0, res.stderr
    runs = pd.read_parquet(tmp_path / "o" / "runs.parquet")
    assert (runs["status"] == "ok").all() and len(runs) == 4
    assert sweep("--retry-failed").returncode == 2  # it goes with --resume


def test_refill_days_count_vacancies_never_filled():
    """A vacancy left open, filled or not, counts its nights at risk: jobs never filled make refilling slower."""
    daily = pd.DataFrame({"day": [1, 2, 3, 4], "vacancies_filled": [1, 0, 0, 1], "vacancy_days": [0, 0, 0, 3],
                          "courier_vacancies": [3, 3, 3, 2]})  # fmt: skip
    # two filled (after 0 and 3 nights), two more open throughout: 11 vacancy-nights over 2 fills
    assert refill_days(daily) == pytest.approx(11 / 2)
    assert refill_days(daily) > daily["vacancy_days"].sum() / daily["vacancies_filled"].sum()  # the filled alone: 1.5
    assert refill_days(daily.assign(vacancies_filled=0)) == float("inf")
    assert np.isnan(refill_days(daily.assign(vacancies_filled=0, courier_vacancies=0)))


def test_every_record_column_is_documented():
    """Each column of each record file is named (in backticks) in its row of the records table of docs/scenarios.md."""
    page = (Path(__file__).resolve().parents[1] / "docs" / "scenarios.md").read_text()
    m = market({"day": 5, "action": "close_shops", "largest": 1}, record=("shops", "purchases", "couriers"))
    m.run_for(10)
    frames = m.records()
    assert set(frames) == {"shops", "purchases", "couriers", "events"}
    for name, frame in frames.items():
        (row,) = [line for line in page.splitlines() if line.startswith(f"| `{name}.parquet` |")]
        missing = [column for column in frame.columns if f"`{column}`" not in row]
        assert not missing, (name, missing)
