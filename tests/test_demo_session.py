"""The demo page's session (its markets and their thread), pictures, words and exercises, without a browser.

A session is driven here as the page drives it, from another thread; every wait is for a frame or an answer of
the session's thread, never a fixed sleep.
"""

from __future__ import annotations

import io
import re
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.text import Text
from PIL import Image

from sim.app.demo.exercises import CHANGE_DAY, EXERCISES, LAST_DAY, markdown, run_exercises, staging, summary
from sim.app.demo.figures import CHARTS, SMALLEST_TEXT, TWIN_COLOUR, Chart, CityMap, export_png, history
from sim.app.demo.market import LIVE_LEVERS, STOREFRONT_STATES, DemoMarket
from sim.app.demo.session import (
    FRAME_SECONDS,
    GAP,
    LEGEND_HEIGHT,
    PAGE_MARGIN,
    TABLE_HEIGHT,
    TOP_HEIGHT,
    Frame,
    Runs,
    Session,
    Settings,
    View,
    page_layout,
    picture_sizes,
)
from sim.app.demo.story import LOOK_FOR, SHOCKS, readouts

ROOT = Path(__file__).resolve().parent.parent


class Frames:
    """The frames a session hands over, kept for the test, with waits for the one wanted."""

    def __init__(self):
        self.frames: list[tuple[float, Frame]] = []
        self.arrived = threading.Condition()

    def __call__(self, frame: Frame) -> None:
        with self.arrived:
            self.frames.append((time.monotonic(), frame))
            self.arrived.notify_all()

    def wait(self, condition, timeout: float = 60.0) -> Frame:
        """The latest frame, once it meets ``condition``."""
        deadline = time.monotonic() + timeout
        with self.arrived:
            while True:
                if self.frames and condition(self.frames[-1][1]):
                    return self.frames[-1][1]
                left = deadline - time.monotonic()
                assert left > 0, f"no such frame in {timeout} s; last: {self.frames[-1][1] if self.frames else None}"
                self.arrived.wait(left)

    @property
    def last(self) -> Frame:
        return self.frames[-1][1]


@pytest.fixture
def live():
    """A session of the baseline, seed 1, its frames, and a switch for whether its page is still there."""
    frames = Frames()
    page_there = threading.Event()
    page_there.set()
    session = Session(frames, alive=page_there.is_set, settings=Settings("baseline", 1))
    frames.wait(lambda f: f.pictures)
    yield session, frames, page_there
    session.close()
    assert session.join(10)


def market_day(session: Session) -> int:
    return session.ask(lambda runs: runs.a.steps)


# ------------------------------------------------------------------ the play loop
def drawing_starts(frames: list[tuple[float, Frame]]) -> list[float]:
    """When the drawing of each frame with new pictures began, of the frames handed over while playing."""
    starts, previous = [], None
    for t, f in frames:
        if f.playing and previous is not None and f.pictures is not previous.pictures:
            starts.append(t - f.draw_seconds)
        previous = f
    return starts


def test_play_draws_at_most_two_frames_a_second_and_pause_stops_within_a_day(live):
    session, frames, _ = live
    session.set_speed(30)
    session.play()
    # Day 60 and three new pictures: on a busy machine drawing is slower, and the market meanwhile goes further.
    frames.wait(lambda f: f.playing and f.day >= 60 and len(drawing_starts(frames.frames)) >= 3)
    session.pause()
    paused = frames.wait(lambda f: not f.playing)
    assert market_day(session) == paused.day == market_day(session)  # nothing ran after the pause
    # Frames drawn while playing, by when their drawing began: at most one every FRAME_SECONDS.
    starts = drawing_starts(frames.frames)
    gaps = np.diff(starts)
    assert len(starts) >= 3 and gaps.min() >= FRAME_SECONDS - 0.05, gaps
    assert paused.days_per_second == 0.0 and paused.pictures
    session.play()  # and again: the market goes on from where it stopped
    frames.wait(lambda f: f.playing and f.day >= paused.day + 10)
    session.pause()
    frames.wait(lambda f: not f.playing)


def test_running_to_a_day_draws_only_that_day(live):
    session, frames, _ = live
    before = len(frames.frames)
    session.run_to(200)
    done = frames.wait(lambda f: f.day == 200 and f.target is None)
    on_the_way = [f for _, f in frames.frames[before:] if f is not done]
    assert all(f.pictures is frames.frames[before - 1][1].pictures for f in on_the_way)  # the old pictures
    assert done.pictures is not frames.frames[before - 1][1].pictures
    session.skip(30)
    frames.wait(lambda f: f.day == 230 and f.target is None)
    session.run_to(100)  # a day already passed
    assert "choose a day after today (230)" in frames.wait(lambda f: f.message).message


def test_a_page_gone_stops_its_market_and_closing_ends_the_thread():
    frames = Frames()
    page_there = threading.Event()
    page_there.set()
    session = Session(frames, alive=page_there.is_set)
    frames.wait(lambda f: f.pictures)
    session.play()
    frames.wait(lambda f: f.playing and f.day >= 5)
    page_there.clear()
    stopped = frames.wait(lambda f: not f.playing)
    assert market_day(session) == stopped.day == market_day(session)
    session.close()
    assert session.join(10) and session.closed


def test_commands_while_playing_are_carried_out_between_two_days(live):
    session, frames, _ = live
    session.play()
    frames.wait(lambda f: f.playing and f.day >= 3)
    session.act("A", lambda m: m.set_lever("severity_multiplier", 2.5))
    session.act("A", SHOCKS["block"].act)
    shown = frames.wait(lambda f: len(f.policies[0].events) == 2)
    assert [e.text for e in shown.policies[0].events] == ["prison terms x2.5", "3 largest storefronts blocked"]
    assert shown.policies[0].levers["severity_multiplier"] == 2.5
    session.pause()
    frames.wait(lambda f: not f.playing)


# ------------------------------------------------------------------ the twin and two policies
def test_the_twin_is_the_same_city_without_the_changes():
    runs = Runs(Settings(seed=3), None, two=False)
    for _ in range(20):
        runs.step()
    assert runs.unchanged() is runs.a  # nothing changed yet: the grey run is the run
    runs.change("A", SHOCKS["penalties"].act)
    for _ in range(30):
        runs.step()
    mine, grey = runs.a.daily(), runs.unchanged().daily()
    pd.testing.assert_frame_equal(mine.iloc[:20], grey.iloc[:20])
    assert not mine.iloc[20:].equals(grey.iloc[20:])
    assert runs.unchanged().p.buyer_imprisonment is False and runs.unchanged().events == []
    plain = DemoMarket(seed=3)
    plain.run_for(50)
    pd.testing.assert_frame_equal(grey, plain.daily())  # as if it had never been copied


def test_two_policies_side_by_side_start_from_the_unchanged_market():
    runs = Runs(Settings(seed=4), None, two=False)
    for _ in range(10):
        runs.step()
    runs.change("A", SHOCKS["crackdown"].act)
    runs.show_two(True)
    assert runs.b is not None and runs.b.events == [] and not runs.b.timeline  # not A's crackdown
    runs.change("B", SHOCKS["block"].act)
    runs.step()
    assert [e.text for e in runs.a.events] == ["police crackdown x3 for 30 days"]
    assert [e.text for e in runs.b.events] == ["3 largest storefronts blocked"]
    assert runs.a.steps == runs.b.steps == runs.twin.steps == 11
    runs.show_two(False)
    assert list(runs.policies()) == ["A"]


def test_two_policies_share_their_charts_axes(live):
    session, frames, _ = live
    session.show(View(1366, 768, two=True))
    frame = frames.wait(lambda f: len(f.policies) == 2 and "B/volume" in f.pictures)
    assert "map" not in frame.pictures
    assert frame.sizes["A/volume"] == frame.sizes["B/volume"]
    session.show(View(1366, 768, two=False))
    frames.wait(lambda f: len(f.policies) == 1 and "map" in f.pictures)


# ------------------------------------------------------------------ exports
def test_the_daily_table_and_a_chart_for_slides(live):
    session, frames, _ = live
    session.run_to(10)
    frames.wait(lambda f: f.day == 10 and f.target is None)
    session.act("A", SHOCKS["block"].act)
    session.run_to(20)
    frames.wait(lambda f: f.day == 20 and f.target is None)
    table = pd.read_csv(io.BytesIO(session.csv()))
    assert list(table.columns[:3]) == ["run", "day", "grams_sold"]
    assert table.groupby("run").size().to_dict() == {"your policy": 20, "without your changes": 20}
    assert table.loc[(table.run == "your policy") & (table.day == 11), "changes"].item() == (
        "3 largest storefronts blocked"
    )
    picture = Image.open(io.BytesIO(session.chart_png("A", "volume")))
    assert picture.size == (1440, 1040)  # twice the pixels of the screen's picture, for slides


# ------------------------------------------------------------------ pictures
def chart_market(after: int = 20) -> tuple[DemoMarket, DemoMarket]:
    """Seed 2's market 40 days in, its 3 largest storefronts blocked, ``after`` days on; and its grey twin."""
    runs = Runs(Settings(seed=2), None, two=False)
    for _ in range(40):
        runs.step()
    runs.change("A", SHOCKS["block"].act)
    for _ in range(after):
        runs.step()
    return runs.a, runs.unchanged()


def test_pictures_are_drawn_at_the_size_shown_with_readable_text_and_zero_based_axes():
    market, twin = chart_market()
    sizes = picture_sizes(View(1366, 768), two_runs=False)
    for spec in CHARTS:
        chart = Chart(spec)
        size = sizes[f"A/{spec.key}"]
        picture = Image.open(io.BytesIO(chart.draw(market, twin, size)))
        assert picture.size == (size.width, size.height)
        for axis in chart.axes.values():
            assert axis.get_ylim()[0] == 0.0  # every axis starts at zero
        texts = [t for t in chart.fig.findobj(Text) if t.get_text() and t.get_visible()]
        assert texts and min(t.get_fontsize() for t in texts) >= SMALLEST_TEXT, spec.key
        greys = [line for line, series, twin_line in chart.lines if twin_line]
        assert len(greys) == sum(not s.faint for s in spec.series) and all(
            line.get_color() == TWIN_COLOUR for line in greys
        )
        marked = [t.get_text() for t in chart.axes[False].texts]
        assert marked == ["1"]  # the block, numbered as in the list of changes
    city = CityMap()
    picture = Image.open(io.BytesIO(city.draw(market, sizes["map"])))
    assert picture.size == (sizes["map"].width, sizes["map"].height)
    assert city.title.get_fontsize() >= SMALLEST_TEXT


def test_pictures_grow_with_the_window():
    small, wide = picture_sizes(View(1366, 768), False), picture_sizes(View(1920, 1080), False)
    assert wide["map"].width > small["map"].width and wide["A/volume"].height > small["A/volume"].height
    for width, height in ((1366, 768), (1920, 1080)):
        layout = page_layout(View(width, height), False)
        used = layout.left + 2 * layout.sizes["A/volume"].width + 2 * GAP
        assert used >= width - PAGE_MARGIN - 2  # little white beside them
    two = picture_sizes(View(1920, 1080, two=True), True)
    assert two["A/price"].width == two["B/price"].width > 900
    assert export_png(CHARTS[0], *chart_market())[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("projector", [True, False])
def test_one_screen_of_1366_by_768_holds_the_map_the_storefronts_and_the_main_charts(projector):
    """Under the controls, the map and the storefront table beside two rows of main charts: no scrolling."""
    view = View(1366, 768, projector=projector)
    layout = page_layout(view, False)
    chart = layout.sizes["A/volume"]
    legend = LEGEND_HEIGHT[projector]
    assert TOP_HEIGHT[projector] + layout.height <= 768
    assert 2 * (chart.height + legend) + GAP <= layout.height and chart.height >= 200
    assert layout.sizes["map"].height + TABLE_HEIGHT[projector] + GAP <= layout.height
    assert layout.legend_beside and layout.sizes["map"].width >= 220
    main = [spec.key for spec in CHARTS if spec.main]
    assert main == ["volume", "price", "people", "shops"]  # two by two; the arrests below the screen
    assert all(layout.sizes[f"A/{key}"] == chart for key in main)


def test_a_readout_is_one_number_the_run_against_the_grey_run_over_the_same_days():
    market, twin = chart_market()  # the block acts from day 41; 60 days run
    since = market.events[0].day
    week = {r.label: r for r in readouts(market, twin, since)}
    mine, grey = market.daily()["grams_sold"], twin.daily()["grams_sold"]
    sold = week["drugs sold"]
    assert (sold.first, sold.last, sold.days) == (54, 60, 7)
    assert sold.change == pytest.approx(mine.iloc[53:60].mean() / grey.iloc[53:60].mean() - 1)
    assert (sold.mean, sold.grey) == (pytest.approx(mine.iloc[53:60].mean()), pytest.approx(grey.iloc[53:60].mean()))
    assert re.fullmatch(r"drugs sold, last 7 days: ([+\u2212]\d+%|0%) against the grey run", sold.words())
    assert list(week) == ["drugs sold", "couriers at work", "retail price", "courier pay"]
    month = {r.label: r for r in readouts(market, twin, since, days=30)}
    assert (month["drugs sold"].first, month["drugs sold"].last) == (since, 60)  # never from before the change
    # No number without a grey run apart from the run, a change, or a day it acted on.
    assert readouts(market, None, since) == readouts(market, market, since) == ()
    assert readouts(market, twin, None) == readouts(market, twin, market.steps + 1) == ()
    none = sold._replace(grey=0.0, change=None)  # where the grey run had none: said, not a percentage
    assert none.number() == "n/a" and none.words().startswith("drugs sold, last 7 days: none in the grey run")


def test_storefront_states_add_up_to_the_shops_in_business():
    """Open, found and still open, blocked: every shop in business is in one, each day, in the table and chart."""
    changed, grey = chart_market(after=40)
    for market in (changed, grey):
        days, daily = market.storefront_days(), market.daily()
        assert days.shape == (80, len(STOREFRONT_STATES))
        np.testing.assert_array_equal(days.sum(axis=1), daily["active_shops"])
        np.testing.assert_array_equal(days[:, 0] + days[:, 1], daily["active_storefronts"])  # both still sell
        np.testing.assert_array_equal(days[:, 2], daily["blocked_storefronts"])
        assert (days[:, 1] > 0).any() and (days[:, 2] > 0).any()
    rows = changed.storefronts()
    counts = [sum(r["state"] == state for r in rows) for state in STOREFRONT_STATES]
    assert counts == list(changed.storefront_days()[-1]) and sum(counts) == changed.metrics.active_shops
    starts = {"open": "open", "found": "found, blocked on day", "blocked": "blocked, mirror on day"}
    assert all(row["status"].startswith(starts[row["state"]]) for row in rows)
    # The chart stacks the three: its top edge is the shops in business (a 7-day mean), in colour and in grey.
    spec = next(c for c in CHARTS if c.key == "shops")
    chart = Chart(spec)
    chart.draw(changed, grey, picture_sizes(View(), False)["A/shops"])
    in_business = spec.series[0]._replace(metric="active_shops", stack=False)
    top = chart.bands[-1].get_paths()[0].vertices[:, 1].max()
    assert len(chart.bands) == 3 and top == pytest.approx(history(changed, in_business).max())
    grey_top = [line for line, _, twin in chart.lines if twin][-1].get_ydata()
    np.testing.assert_allclose(grey_top, history(grey, in_business))


def test_sliders_snap_to_round_values_within_the_registrys_range():
    for name, lever in LIVE_LEVERS.items():
        assert lever.stops[lever.nearest(lever.low - 1)] == lever.low and lever.stops[lever.nearest(1e9)] == lever.high
        for low, high in zip(lever.stops, lever.stops[1:], strict=False):
            assert lever.stops[lever.nearest(low + 0.4 * (high - low))] == low, name  # to the nearer stop
            assert lever.stops[lever.nearest(low + 0.6 * (high - low))] == high, name
    prison = LIVE_LEVERS["severity_multiplier"]
    assert [prison.show(v) for v in prison.stops[:4]] == ["x0", "x0.5", "x1", "x1.5"] and prison.show(5.0) == "x5"
    assert LIVE_LEVERS["block_delay"].show(14) == "14 days" and LIVE_LEVERS["coordination"].show(0.9) == "90%"


# ------------------------------------------------------------------ the exercise picker
def test_an_exercise_is_made_ready_as_the_readme_runs_it(live):
    """Exercise 3: a new run of seed 1, run to day 60, its levers set on the coloured run only; play stops on 150."""
    session, frames, _ = live
    session.run_to(20)  # somewhere else first: the exercise starts again
    frames.wait(lambda f: f.day == 20 and f.target is None)
    ready = staging(3)
    assert ready.name == "Exercise 3: certainty" and (ready.change_day, ready.last_day) == (CHANGE_DAY, LAST_DAY)
    assert ready.settings.seed == 1 and ready.look_for == LOOK_FOR["certainty"]
    session.stage(ready)
    frame = frames.wait(lambda f: f.staged is not None and f.pictures)
    policy = frame.policies[0]
    assert (frame.day, frame.stop_at, frame.settings.seed, frame.scenario) == (CHANGE_DAY, LAST_DAY, 1, "baseline")
    assert frame.settings.preset == "baseline"  # by the name the page offers it under
    assert (policy.levers["detection_multiplier"], policy.levers["conviction_probability"]) == (3.0, 0.9)
    assert [(e.day, e.text) for e in policy.events] == [(61, "street detection x3"), (61, "conviction chance 90%")]
    assert policy.changed_on == 61 and policy.readouts[7] == ()  # the change acts from tomorrow
    assert session.ask(lambda runs: runs.unchanged().p.detection_multiplier) == 1.0  # the grey run is unchanged
    session.set_speed(0)
    session.play()
    end = frames.wait(lambda f: f.day == LAST_DAY and not f.playing and f.stop_at is None)
    assert session.ask(lambda runs: runs.a.steps) == LAST_DAY
    # The very run the README's numbers come from (seed 1 of run_exercises).
    settled = Runs(Settings(seed=1), None, two=False)
    for _ in range(CHANGE_DAY):
        settled.step()
    settled.change("A", EXERCISES[2].change)
    for _ in range(LAST_DAY - CHANGE_DAY):
        settled.step()
    mine, grey = session.ask(lambda runs: (runs.a.daily(), runs.unchanged().daily()))
    pd.testing.assert_frame_equal(mine, settled.a.daily())
    pd.testing.assert_frame_equal(grey, settled.unchanged().daily())
    shown = {r.label: r for r in end.policies[0].readouts[30]}
    expected = readouts(settled.a, settled.unchanged(), 61, 30)[0]
    assert shown["drugs sold"] == expected and (expected.first, expected.last) == (121, 150)
    session.play()  # and on, past the exercise's last day
    frames.wait(lambda f: f.day > LAST_DAY + 5)
    session.pause()
    frames.wait(lambda f: not f.playing)
    session.stage(staging(4))  # a shock's exercise: its words are the shock's
    block = frames.wait(lambda f: f.staged is not None and f.staged.name == "Exercise 4: block" and f.day == 60)
    assert block.staged.look_for == SHOCKS["block"].look_for and block.settings.seed == 1
    assert [e.text for e in block.policies[0].events] == ["3 largest storefronts blocked"]


# ------------------------------------------------------------------ the page without a browser
def rendered_page():
    """The demo page rendered by Solara without a browser: (solara, its render context)."""
    solara = pytest.importorskip("solara")
    from sim.app.demo.page import Page

    @solara.component
    def App():
        with solara.AppLayout():
            Page()

    _, rc = solara.render(App(), handle_error=False)
    return solara, rc


@pytest.mark.slow
def test_the_page_plays_pauses_and_starts_a_new_run():
    _, rc = rendered_page()
    import ipyvuetify as v

    def button(label: str):
        wait_for(lambda: rc.find(v.Btn, children=[label]).widgets, f"the button {label!r}")
        return rc.find(v.Btn, children=[label]).widget

    def status() -> str:
        return " ".join(str(w.children) for w in rc.find(v.Html, class_="klad-status").widgets)

    try:
        wait_for(lambda: rc.find(v.Html, children=["Day 0"]).widgets, "day 0")
        button("Step a day").click()
        wait_for(lambda: rc.find(v.Html, children=["Day 1"]).widgets, "day 1")
        button("\u25b6 Play").click()
        button("\u275a\u275a Pause").click()
        button("\u25b6 Play")
        button("New run...").click()
        # A click is drawn by whichever thread draws next (the session's may be drawing): wait for what it shows.
        wait_for(lambda: rc.find(v.Select, label="Scenario").widgets, "the scenario picker")[
            0
        ].v_model = "tightened penalties"
        button("Start the new run").click()
        wait_for(
            lambda: "tightened penalties" in status() and rc.find(v.Html, children=["Day 0"]).widgets, "the new run"
        )
    finally:
        rc.close()


@pytest.mark.slow
def test_the_pages_sliders_snap_and_its_picker_makes_an_exercise_ready():
    """Picking "Exercise 1: severity" makes day 60 with prison x5; the prison slider offers only its round stops."""
    solara, rc = rendered_page()
    import ipyvuetify as v

    def html(css_class: str) -> str:
        return " ".join(
            str(w.unsafe_innerHTML) for w in rc.find(solara.widgets.HTML).widgets
            if css_class in w.attributes.get("class", "").split()
        )  # fmt: skip

    def text(css_class: str) -> str:
        return " ".join(str(w.children) for w in rc.find(v.Html, class_=css_class).widgets)

    prison = LIVE_LEVERS["severity_multiplier"]
    try:
        wait_for(lambda: rc.find(v.Html, children=["Day 0"]).widgets, "day 0")
        picker = wait_for(lambda: rc.find(v.Select, label="Exercise...").widgets, "the exercise picker")[0]
        assert picker.items == [f"Exercise {n}: {e.key}" for n, e in enumerate(EXERCISES, start=1)]
        picker.v_model = "Exercise 1: severity"
        wait_for(lambda: rc.find(v.Html, children=["Day 60"]).widgets, "day 60 of the exercise")
        wait_for(
            lambda: (
                "Play stops on day 150" in text("klad-status klad-stop-at")
                and "prison terms x5" in html("klad-change-list")
            ),
            "x5",
        )
        assert "Exercise 1: severity" in html("klad-look-for")
        assert picker.v_model is None  # the picker is ready to make an exercise ready again
        wait_for(lambda: rc.find(v.Btn, children=["More levers..."]).widgets, "the levers' button")[0].click()
        aria = {"aria-label": prison.label}
        slider = wait_for(lambda: rc.find(v.Slider, attributes=aria).widgets, "the prison slider")[0]
        assert (slider.min, slider.max, slider.step) == (0, len(prison.stops) - 1, 1)  # one position a stop
        assert slider.v_model == prison.stops.index(5.0)
        # Its lowest and highest value beside it.
        ends = [
            rc.find(v.Html, class_=f"klad-lever-end klad-lever-{end}").widgets[0].children for end in ("min", "max")
        ]
        assert ends == [["x0"], ["x5"]]
        slider.v_model = prison.stops.index(1.5)
        # Moved twice on the same day: the list of changes keeps the last move, a round value.
        wait_for(lambda: "prison terms x1.5" in html("klad-change-list"), "prison terms x1.5")
        assert "prison terms x5" not in html("klad-change-list")
    finally:
        rc.close()


def wait_for(condition, what: str, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while not (found := condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
    return found


# ------------------------------------------------------------------ the exercises
@pytest.mark.slow
def test_the_teaching_pages_exercises_hold_on_seeds_1_to_10():
    """Every direction docs/teaching.md claims for an exercise holds on seeds 1-10, and its table is what they give."""
    table = summary(run_exercises())
    failing = table[~table.holds]
    assert failing.empty, failing.to_string()
    page = (ROOT / "docs" / "teaching.md").read_text()
    assert markdown(table) in page, (
        "rerun python -m sim.app.demo.exercises and paste its table into docs/teaching.md:\n" + markdown(table)
    )
    for exercise in EXERCISES:
        for claim in exercise.claims:
            where = "within 5%" if claim.direction == "flat" else claim.direction
            assert f"| {exercise.key} | {claim.words} | {where} |" in page, (exercise.key, claim.words)
