"""The classroom demo: its market, its shocks and levers, `klad demo`'s errors, and the page in a real browser."""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

import sim
from sim.app.demo.market import (
    BLOCK_LARGEST,
    CRACKDOWN_DAYS,
    DEMO_CITY,
    LIVE_LEVERS,
    PENALTY_FACTOR,
    DemoMarket,
    demo_params,
    shipped_scenarios,
)
from sim.io.config import load_scenario
from sim.model.metrics import METRICS, Day
from sim.model.roles.shops import Storefront
from sim.model.world.stashes import StashState
from sim.params import REGISTRY, ParameterError

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOT = ROOT / "results" / "demo" / "screenshot.png"


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
    assert demo.events == [(20, "tightened penalties policy")]


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
    """A slider cannot offer a value the registry refuses, nor snap a scenario's value to another."""
    for name, (_, low, high, step) in LIVE_LEVERS.items():
        p = REGISTRY[name]
        assert p.kind == "lever"
        # The slider spans the registry's whole range, so no valid --scenario value can be clamped.
        assert (p.low, p.high) == (low, high), name
        values = [p.default]
        for file in (ROOT / "scenarios").glob("*.toml"):
            params = load_scenario(file)
            values += [params[name], params["policy"].get(name, p.default)]
        for value in values:
            assert low <= value <= high, (name, value)
            assert abs(round((value - low) / step) * step + low - value) < 1e-9, (name, value, step)


def test_marks_show_stashes_couriers_at_work_and_last_weeks_arrests():
    m = DemoMarket(seed=2)
    m.run_for(30)
    marks = {kind: [mk for mk in m.marks if mk.kind == kind] for kind in ("stashes", "courier", "arrest")}
    present = np.bincount(m.stashes.district[m.stashes.state == StashState.PRESENT], minlength=m.city.n_districts)
    assert {mk.district: mk.count for mk in marks["stashes"]} == {d: present[d] for d in np.flatnonzero(present)}
    couriers, districts = m._couriers_today
    assert len(marks["courier"]) == len(couriers) > 0
    assert set(couriers) <= set(np.flatnonzero(m.couriers.income > 0))
    week = [d for day, arrested in m._arrests if m.steps - day < 7 for d in arrested]
    assert sorted(mk.district for mk in marks["arrest"]) == sorted(week)
    assert len(m.agents_by_type[type(marks["stashes"][0])]) == len(m.marks)  # yesterday's marks are gone
    for mk in m.marks:
        x, y = m.district_xy(mk.district)
        assert mk.cell is m.grid[(x, y)] and abs(mk.x - x) < 0.5 and abs(mk.y - y) < 0.5


def test_arrest_districts_are_where_the_couriers_were_caught():
    """Only one district is patrolled: every courier caught on the street was caught there."""
    m = DemoMarket(seed=4)
    m.run_for(3)  # shops have sold stashes and want new ones laid
    busiest = int(np.argmax(m.city.placement))
    hazards = m.police.street_hazards()
    hazards["per_placement"] = np.zeros(m.city.n_districts)
    hazards["per_placement"][busiest] = 0.5
    hazards["digital"] = 0.0
    m.today = Day()
    m.work_couriers(hazards)
    caught = m.arrest_districts["courier"]
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
    assert (m.steps - m.p.mirror_delay, f"{BLOCK_LARGEST} storefronts blocked") in m.events


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
    assert m.p.police_budget == REGISTRY["police_budget"].default and m.crackdowns == []
    assert m.metrics.effort_patrol == patrol[4]
    assert m.events == [(6, "crackdown x3"), (6 + CRACKDOWN_DAYS, "crackdown ends")]


def test_levers_are_checked_by_the_registry():
    m = DemoMarket(seed=1)
    assert m.set_lever("coordination", 0.9) == 0.9 and m.p.coordination == 0.9
    with pytest.raises(ParameterError, match="coordination"):
        m.set_lever("coordination", 1.5)
    with pytest.raises(ParameterError, match="not a policy lever"):
        m.set_lever("n_buyers", 10)
    m.set_lever("coordination", 0.5)
    assert [t for _, t in m.events] == ["coordination = 0.5"]  # one note per lever and day


@pytest.mark.slow
def test_reset_builds_the_chosen_preset_through_mesas_controls():
    """Mesa's reset builds a new market from the page's model parameters (all of them DemoMarket's)."""
    solara = pytest.importorskip("solara")
    import ipyvuetify as v

    from sim.app.demo.page import Page

    @solara.component
    def App():
        with solara.AppLayout():
            Page()

    _, rc = solara.render(App(), handle_error=False)
    for _ in range(2):
        rc.find(v.Btn, children=["Step"]).widget.click()
    rc.find(v.Html, children=["Day 2. Scenario: baseline."]).assert_single()
    rc.find(v.Select, label="Scenario").widget.v_model = "tightened penalties"
    rc.find(v.Btn, children=["Reset"]).widget.click()
    rc.find(v.Html, children=["Day 0. Scenario: tightened penalties."]).assert_single()
    rc.find(v.Btn, children=[f"Raise penalties (prison x{PENALTY_FACTOR:g}, buyers jailed)"]).widget.click()
    rc.find(v.Html, children=["Day 1: penalties x2"]).assert_single()


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


# ------------------------------------------------------------------ the page
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]  # fmt: skip


@pytest.fixture
def demo_server(tmp_path):
    """`klad demo` on a free loopback port, in its own process group, stopped at the end."""
    port = free_port()
    klad_script = Path(sys.executable).with_name("klad")
    command = [str(klad_script)] if klad_script.exists() else [sys.executable, "-m", "sim"]
    log = tmp_path / "server.log"
    env = {**os.environ, "DISPLAY": ""}
    with open(log, "w") as out:
        server = subprocess.Popen(
            [*command, "demo", "--port", str(port), "--no-browser"], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True, env=env,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, f"klad demo stopped:\n{log.read_text()}"
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, f"klad demo did not answer:\n{log.read_text()}"
            time.sleep(0.5)
        assert f"serving {url}" in log.read_text()  # it says where, and it is this machine only
        yield url, log
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def chart_picture(page, name: str) -> bytes:
    return page.locator(f".klad-chart-{name} img").screenshot()


@pytest.mark.slow
@pytest.mark.e2e
@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it with apt-get)")
def test_demo_page_in_a_real_browser(demo_server, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (the dev extra) is not installed")
    url, log = demo_server
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"), executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS,
            viewport={"width": 1600, "height": 1900},
        )  # fmt: skip
        try:
            page = browser.new_page()
            bad = []
            page.on("response", lambda r: bad.append((r.status, r.url)) if r.status >= 400 else None)
            page.goto(url)
            # The map and the four charts are drawn.
            page.wait_for_function(
                "Array.from(document.images).filter(i => i.complete && i.naturalWidth > 300).length >= 5",
                timeout=90_000,
            )
            for name in ("volume-sold", "retail-price", "active-in-the-market", "arrests-by-role"):
                assert page.locator(f".klad-chart-{name} img").count() == 1
            page.get_by_text("Storefronts, day 0").wait_for()
            assert page.locator(".klad-storefront-panel tr").count() == 1 + DEMO_CITY["n_shops"]
            for control in ("Reset", "Step", "▶"):
                assert page.get_by_role("button", name=control, exact=True).count() == 1
            assert page.get_by_text("Scenario", exact=True).count() >= 1  # the preset picker
            page.get_by_role("button", name="Step", exact=True).click()
            page.get_by_text("Storefronts, day 1").wait_for()

            # Moving a lever slider changes the running market's lever.
            severity = page.get_by_role("slider", name=re.compile("^Sentence severity"))
            severity.focus()
            for _ in range(5):
                severity.press("ArrowRight")
            page.get_by_text("Sentence severity (x prison terms): 1.5").wait_for()
            page.get_by_text("severity_multiplier = 1.5").wait_for()

            # Stepping the market redraws the charts.
            before = chart_picture(page, "volume-sold")
            for day in range(2, 6):
                page.get_by_role("button", name="Step", exact=True).click()
                page.get_by_text(f"Storefronts, day {day}").wait_for()
            page.wait_for_timeout(1000)
            assert chart_picture(page, "volume-sold") != before

            # A shock: the largest storefronts are blocked from the next day, and the charts mark it.
            page.get_by_role("button", name=re.compile("^Block the")).click()
            page.get_by_text(f"{BLOCK_LARGEST} storefronts blocked").first.wait_for()
            page.get_by_role("button", name="Step", exact=True).click()
            page.get_by_text("Storefronts, day 6").wait_for()
            blocked = page.locator(".klad-storefront-panel td", has_text="blocked: mirror on day")
            blocked.nth(BLOCK_LARGEST - 1).wait_for()
            page.get_by_role("button", name=re.compile("^Police crackdown")).click()
            page.get_by_text("crackdown x3").first.wait_for()
            for day in range(7, 13):
                page.get_by_role("button", name="Step", exact=True).click()
                page.get_by_text(f"Storefronts, day {day}").wait_for()
            page.wait_for_timeout(1500)
            mirrors = re.search(r"(\d+) mirrors opened so far", page.locator(".klad-storefront-panel").inner_text())
            assert mirrors and int(mirrors.group(1)) >= BLOCK_LARGEST  # the blocked storefronts came back
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOT))
            assert SCREENSHOT.stat().st_size > 50_000
            assert bad == [], bad  # every script, font and picture came from the demo server
        finally:
            browser.close()
    assert "Traceback" not in log.read_text(), log.read_text()
