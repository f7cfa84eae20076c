"""One page's markets and the one thread that runs them: play, pause, step, run to a day, at most 2 frames a second.

Why a thread of our own. Mesa's SolaraViz plays a model with two threads that
both change the page's state (one steps the model and sets ``running`` every
step, the other asks for a new picture after every step), and the page is
redrawn in whichever thread asked last. On a busy machine a picture took
longer to draw than a step, the requests piled up, and Solara stopped the page
("Too many renders triggered"); its loops also ran on after the tab was closed.
Here one thread per page (``Session``) owns the page's markets: it steps them,
draws the pictures, and hands the page a finished ``Frame`` at most
``1 / FRAME_SECONDS`` times a second. The page's buttons only leave commands
for it, which it carries out between two days, so a click is never lost, Pause
stops the market within a day, and nothing else ever touches a market.

The markets of a page (``Runs``) are the lecturer's (policy A), in the
side-by-side layout a second one (policy B), and their twin: the same city and
seed without the lecturer's changes, copied from policy A just before its
first change and stepped alongside (as ``klad compare`` pairs runs), which the
charts show in grey.

Drawing is capped: while the market plays, a frame is drawn at most every
``FRAME_SECONDS`` and drawing takes at most ``DRAW_SHARE`` of the time (a
slow machine gets fewer frames, never a slower market); between frames the
market runs as fast as the chosen speed asks. Running to a day draws nothing
until that day. When the page is gone (tab closed, connection lost), the
market stops playing at once, and ``close`` (the page's end) ends the thread.
"""

from __future__ import annotations

import copy
import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd

from sim.app.demo.figures import CHARTS, TITLE_TEXT, Chart, CityMap, Size, export_png
from sim.app.demo.market import DEMO_POLICY_DAY, LIVE_LEVERS, DemoMarket, Mark, shipped_scenarios
from sim.app.demo.story import READOUT_WINDOWS, Readout, readouts
from sim.params import ParameterError

log = logging.getLogger(__name__)

#: Frames are drawn at most this often while the market runs (2 a second).
FRAME_SECONDS = 0.5
#: While playing, drawing takes at most this share of the time: frames are spaced further apart on a slow machine.
DRAW_SHARE = 0.5
#: Play speeds the page offers, in days a second; 0 is as fast as the machine runs the market.
SPEEDS = (2, 5, 10, 30, 0)
DEFAULT_SPEED = 10
#: Days the market may fall behind its speed (a busy machine) before it stops catching up.
CATCH_UP_SECONDS = 1.0
#: The last day a run can be taken to (ten years).
LAST_DAY = 3650


class Settings(NamedTuple):
    """What a new run is built from (the page's "New run")."""

    preset: str | None = None
    seed: int = 1
    policy_start_day: int = DEMO_POLICY_DAY


class View(NamedTuple):
    """How the page is laid out: the window's width and height, one policy or two side by side, text size."""

    width: int = 1366
    height: int = 768
    two: bool = False
    projector: bool = True  # large text for the back of a room; False: more on screen (a desk)


class Policy(NamedTuple):
    """What the page shows of one policy's market besides its pictures."""

    name: str  # "A" or "B"
    levers: dict[str, Any]  # value in force of every live lever and of prison for buyers
    events: tuple[Mark, ...]
    storefronts: tuple[dict[str, Any], ...]
    readouts: dict[int, tuple[Readout, ...]]  # by the days read (``READOUT_WINDOWS``): against the grey run
    changed_on: int | None  # the first day a change of the lecturer's acts (it may be tomorrow), if any


class Staging(NamedTuple):
    """A run made ready for a class: a new run, run to ``change_day``, one change to policy A, to be played on.

    A classroom exercise (``sim.app.demo.exercises``) is one: the page's picker stages it.
    """

    name: str  # what the page calls it ("Exercise 3: certainty")
    settings: Settings
    change_day: int  # the change is made after this day, and acts from the next
    change: Callable[[DemoMarket], Any]
    last_day: int  # playing stops on this day (the lecturer may play on)
    look_for: str = ""  # what to look for after the change, in words


@dataclass(frozen=True)
class Frame:
    """A finished picture of the page's state, handed to the page as a whole."""

    number: int
    day: int
    settings: Settings
    scenario: str
    policy_words: str  # the scenario's own policy in words ("" if it has none)
    view: View
    playing: bool
    speed: int
    target: int | None  # the day a run is going to, if it is
    pictures: dict[str, bytes] = field(default_factory=dict)  # "map", "A/volume", "B/price", ...
    sizes: dict[str, Size] = field(default_factory=dict)
    policies: tuple[Policy, ...] = ()
    draw_seconds: float = 0.0
    frames_per_second: float = 0.0
    days_per_second: float = 0.0
    message: str = ""  # a refused input, in one line
    staged: Staging | None = None  # the exercise (or other staging) this run was made ready for
    stop_at: int | None = None  # the day playing stops on (a staging's last day), if it has not yet


# ------------------------------------------------------------------ layout
#: The page's side margins and a scroll bar, and the gap between pictures and columns (CSS px).
PAGE_MARGIN = 40
GAP = 12
#: What sits above the map and charts (title, controls, shocks, readouts), in CSS px, at projector and desk text
#: sizes (``View.projector``): the map, the storefront table and the main charts share the rest of the window.
TOP_HEIGHT = {True: 250, False: 242}
#: A chart's legend under it (one line), and the storefront panel (its heading, counts, header and 6 shops), in
#: CSS px: with more shops, its table scrolls within this height.
LEGEND_HEIGHT = {True: 26, False: 22}
TABLE_HEIGHT = {True: 218, False: 204}
#: The storefront table's width, whole, at the page's text size; the left column (map and table) is at least this.
TABLE_WIDTH = {True: 500, False: 470}
#: The map's legend beside it needs this width; under the map, three lines. It goes where the map is larger.
MAP_LEGEND_WIDTH = 190
#: Below this usable width, one column: the map, then the charts, one under the other.
NARROW = 1000


class PageLayout(NamedTuple):
    """How the one-policy page is laid out for a window: the pictures' sizes and the left column's."""

    sizes: dict[str, Size]  # every picture: "map", "A/volume", ...
    left: int  # the left column's width (the map and the storefront table); 0: one column
    height: int  # the height of the map and storefronts, and of the main charts: the window's under the controls
    legend_beside: bool  # the map's legend beside it (else under it)


def page_layout(view: View, two_runs: bool) -> PageLayout:
    """The size of every picture on the page for a window, in CSS pixels, and the columns they sit in.

    One policy: the controls and the readouts on top; under them, on one screen, a left column with the map
    (its legend beside it) and the storefront table whole, and the main charts two by two beside it; the
    secondary charts (``ChartSpec.main`` false) below, at the main charts' size. Two policies: a column each,
    one chart a row in each, side by side. The page lays its pictures out with these very widths, so that a
    picture is drawn at the size it is shown.
    """
    zoom = 1.0 if view.projector else 0.8
    usable = max(360, view.width - PAGE_MARGIN)
    sizes: dict[str, Size] = {}
    if two_runs:
        width = (usable - GAP) // 2
        height = int(min(max(0.5 * width, 240), 420))
        for name in ("A", "B"):
            sizes.update({f"{name}/{c.key}": Size(width, height, zoom=zoom) for c in CHARTS})
        return PageLayout(sizes, 0, 0, False)
    title = int(Size(100, 100, zoom=zoom).px(2.0 * TITLE_TEXT)) + 4  # the map's title above it
    if usable < NARROW:  # a narrow window: the map, then the charts, one under the other
        side = min(usable, 560)
        sizes["map"] = Size(side, side + title, zoom=zoom)
        sizes.update({f"A/{c.key}": Size(usable, int(min(0.62 * usable, 420)), zoom=zoom) for c in CHARTS})
        return PageLayout(sizes, 0, 0, False)
    left = max(TABLE_WIDTH[view.projector], int(0.3 * usable))
    area = usable - left - GAP
    width = (area - GAP) // 2
    below = max(view.height - TOP_HEIGHT[view.projector], 440)  # the screen under the controls
    legend = LEGEND_HEIGHT[view.projector]
    # Two rows of charts with their legends fill it, but a chart is never flatter than readable nor taller than wide.
    height = int(min(max((below - 2 * legend - GAP) // 2, 200), 0.8 * width))
    table = TABLE_HEIGHT[view.projector]
    room = below - table - GAP - title  # the map's height without its title
    beside = min(room, left - GAP - MAP_LEGEND_WIDTH)
    under = min(left, room - 3 * legend)
    legend_beside = beside >= under
    side = beside if legend_beside else under
    sizes["map"] = Size(side, side + title, zoom=zoom)
    sizes.update({f"A/{c.key}": Size(width, height, zoom=zoom) for c in CHARTS})
    return PageLayout(sizes, left, below, legend_beside)


def picture_sizes(view: View, two_runs: bool) -> dict[str, Size]:
    """The size of every picture on the page for a window, in CSS pixels (see ``page_layout``)."""
    return page_layout(view, two_runs).sizes


# ------------------------------------------------------------------ the runs
class Runs:
    """The markets of one page: policy A, in the side-by-side layout policy B, and their unchanged twin."""

    def __init__(self, settings: Settings, scenarios: dict[str, Path | None] | None, two: bool):
        self.settings = settings
        self.a = DemoMarket(*settings, scenarios=scenarios)
        self.b: DemoMarket | None = copy.deepcopy(self.a) if two else None
        self.twin: DemoMarket | None = None  # copied from A just before the first change to A or B
        self.first_change: dict[str, int] = {}  # policy -> the first day a change of the lecturer's acts on it

    def policies(self) -> dict[str, DemoMarket]:
        """The lecturer's markets by name (A, and B if shown)."""
        return {"A": self.a} | ({"B": self.b} if self.b is not None else {})

    def unchanged(self) -> DemoMarket:
        """The run without the lecturer's changes: the twin, or policy A itself while nothing has changed."""
        return self.twin if self.twin is not None else self.a

    def step(self) -> None:
        """One day of every market, in step."""
        for market in (self.a, self.b, self.twin):
            if market is not None:
                market.step()

    def change(self, name: str, action: Callable[[DemoMarket], Any]) -> None:
        """Change policy ``name``'s market, keeping a twin of the market as it would be without any change."""
        if self.twin is None:
            self.twin = copy.deepcopy(self.a)
        market = self.policies()[name]
        action(market)
        self.first_change.setdefault(name, market.steps + 1)

    def show_two(self, two: bool) -> None:
        """Show a second policy (starting from the unchanged market of today), or stop showing it."""
        if two and self.b is None:
            self.b = copy.deepcopy(self.unchanged())
        elif not two:
            self.b = None
            self.first_change.pop("B", None)

    def daily(self) -> pd.DataFrame:
        """Every market's daily metrics, one row per run and day, with the changes noted on the day they act."""
        names = {"your policy": self.a} if self.b is None else {"policy A": self.a, "policy B": self.b}
        names["without your changes"] = self.unchanged()
        tables = []
        for name, market in names.items():
            table = market.daily()
            notes: dict[int, list[str]] = {}
            for mark in market.events:
                notes.setdefault(mark.day, []).append(mark.text)
            table.insert(0, "run", name)
            table["changes"] = ["; ".join(notes.get(day, [])) for day in table["day"]]
            tables.append(table)
        return pd.concat(tables, ignore_index=True)


# ------------------------------------------------------------------ the session
class Session:
    """One page's runs and the thread that owns them; every public method may be called from any thread.

    Args:
        publish: called (in the session's thread) with each new ``Frame``.
        alive: whether a page still shows the session; when it is not, playing stops.
        scenarios: names -> scenario files the page offers.
        settings: the first run.
        view: the page's first layout.
    """

    def __init__(
        self,
        publish: Callable[[Frame], None],
        *,
        alive: Callable[[], bool] = lambda: True,
        scenarios: dict[str, Path | None] | None = None,
        settings: Settings | None = None,
        view: View | None = None,
    ):
        self._publish = publish
        self._alive = alive
        self._scenarios = scenarios
        self._inbox: queue.SimpleQueue[Callable[[], Any] | None] = queue.SimpleQueue()
        self._closed = threading.Event()
        # Below: the thread's own state, touched by no other thread.
        self._settings = settings or Settings()
        self._view = view or View()
        self._runs: Runs | None = None
        self._playing = False
        self._speed = DEFAULT_SPEED
        self._target: int | None = None
        self._staged: Staging | None = None
        self._stop_at: int | None = None  # playing stops on this day (a staging's last day)
        self._clock = 0.0  # when playing started (or its speed changed), and the days played since
        self._played = 0
        self._dirty = True  # the pictures are older than the markets
        self._next_frame = 0.0
        self._frame: Frame | None = None
        self._frame_times: list[float] = []
        self._day_times: list[tuple[float, int]] = []
        self._message = ""
        self._map = CityMap()
        self._charts: dict[str, Chart] = {}
        self._thread = threading.Thread(target=self._work, name="klad-demo-session", daemon=True)
        self._thread.start()

    # ---------------------------------------------------------- commands
    def play(self) -> None:
        """Run the market at the chosen speed, drawing a frame at most every ``FRAME_SECONDS``."""
        self._send(self._start_playing)

    def pause(self) -> None:
        """Stop playing (or running to a day) after the day under way; the last day is drawn."""
        self._send(self._stop)

    def step(self, days: int = 1) -> None:
        """Run ``days`` days now and draw the last one (only while paused)."""
        self._send(lambda: self._run_to(self._day() + days) if not self._busy() else None)

    def skip(self, days: int = 30) -> None:
        """Run ``days`` more days without drawing them (from where a run to a day is going, if one is)."""
        self._send(lambda: self._run_to((self._target or self._day()) + days))

    def run_to(self, day: int) -> None:
        """Run to ``day`` without drawing the days on the way (a day already passed is refused)."""
        self._send(lambda: self._run_to(day))

    def set_speed(self, days_per_second: int) -> None:
        """Play at ``days_per_second`` (0: as fast as the machine can)."""
        self._send(lambda: self._set_speed(days_per_second))

    def act(self, policy: str, action: Callable[[DemoMarket], Any]) -> None:
        """Change policy ``policy`` (``"A"`` or ``"B"``) of the market from the next day on: a lever or a shock."""
        self._send(lambda: self._change(policy, action))

    def new_run(self, settings: Settings) -> None:
        """Start again: a new market of the chosen scenario, seed and policy day (paused on day 0)."""
        self._send(lambda: self._new_run(settings))

    def stage(self, staging: Staging) -> None:
        """Make a run ready for a class (an exercise), paused on its change day, and stop playing on its last day.

        A new run of the staging's settings, run to its change day, and its change made on policy A from the next
        day (the grey run keeps the market without it): the lecturer presses Play.
        """
        self._send(lambda: self._stage(staging))

    def show(self, view: View) -> None:
        """Lay the page out anew (window size, one or two policies, text size): pictures are drawn to fit."""
        self._send(lambda: self._set_view(view))

    def ask(self, question: Callable[[Runs], Any], timeout: float = 60.0) -> Any:
        """The answer of ``question(runs)``, asked between two days in the session's thread (an export)."""
        if self._closed.is_set():
            raise RuntimeError("the page's session has ended")
        answer: Future = Future()

        def reply() -> None:
            try:
                answer.set_result(question(self._live))
            except Exception as exc:  # handed to the asker, whose call raises it
                answer.set_exception(exc)

        self._send(reply)
        return answer.result(timeout)

    def csv(self) -> bytes:
        """The run's daily table (every market and day, every metric, the changes) as CSV."""
        return self.ask(lambda runs: runs.daily().to_csv(index=False).encode())

    def chart_png(self, policy: str, key: str) -> bytes:
        """One chart of one policy as a PNG for slides, with its legend."""
        spec = next(c for c in CHARTS if c.key == key)
        return self.ask(lambda runs: export_png(spec, runs.policies()[policy], runs.unchanged()))

    def close(self) -> None:
        """End the session: its thread stops after the day under way and lets go of the markets."""
        if not self._closed.is_set():
            self._closed.set()
            self._inbox.put(None)

    @property
    def closed(self) -> bool:
        """Whether the session has ended (or been asked to)."""
        return self._closed.is_set()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the session's thread to end; returns whether it has."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _send(self, command: Callable[[], Any]) -> None:
        if not self._closed.is_set():
            self._inbox.put(command)

    # ------------------------------------------------------------ the thread
    def _work(self) -> None:
        try:
            self._new_run(self._settings)
            while not self._closed.is_set():
                self._obey(self._idle_seconds())
                if self._closed.is_set():
                    break
                if self._busy() and not self._alive():
                    log.warning("klad demo: a page is gone; its market stops")
                    self._stop()
                self._run_due_days()
                if self._frame_due():
                    self._draw()
        except Exception:
            log.exception("klad demo: the market of a page stopped")
            self._message = "The market stopped after an error (see the server's log); press New run."
            self._playing, self._target = False, None
            self._hand_over(pictures=False)
        finally:
            self._runs = None  # the markets go with the page
            self._charts.clear()

    def _obey(self, wait: float | None) -> None:
        """Carry out the commands left, waiting up to ``wait`` seconds for the first (None: until one comes)."""
        try:
            command = self._inbox.get(timeout=wait) if wait is None or wait > 0 else self._inbox.get_nowait()
        except queue.Empty:
            return
        while command is not None:
            try:
                command()
            except ParameterError as exc:
                self._message = str(exc)
                self._dirty = True
            try:
                command = self._inbox.get_nowait()
            except queue.Empty:
                return

    def _idle_seconds(self) -> float | None:
        """How long the thread may wait for a command before something is due: a day, a frame, or nothing."""
        now = time.monotonic()
        if self._busy():
            if self._target is not None or self._speed == 0:
                return 0.0
            next_day = self._clock + (self._played + 1) / self._speed
            return max(0.0, min(next_day, self._next_frame if self._dirty else next_day) - now)
        return 0.0 if self._dirty else None

    @property
    def _live(self) -> Runs:
        """The runs, which the thread always has between its first command (a new run) and its end."""
        if self._runs is None:
            raise RuntimeError("the page's session has no runs")
        return self._runs

    def _busy(self) -> bool:
        return self._playing or self._target is not None

    def _day(self) -> int:
        return self._runs.a.steps if self._runs is not None else 0

    def _run_due_days(self) -> None:
        """Run the days due (by the play clock, or up to the target day), for a frame's time at most.

        A command waiting ends the run at once: it is carried out before the next day.
        """
        if not self._busy():
            return
        until = time.monotonic() + FRAME_SECONDS
        while self._inbox.empty():
            now = time.monotonic()
            if now >= until:
                break
            if self._target is not None:
                if self._day() >= self._target:
                    self._target = None
                    break
            elif self._stop_at is not None and self._day() >= self._stop_at:
                self._playing, self._stop_at = False, None  # a staging's last day: the class looks
                self._dirty = True
                break
            elif self._speed:
                lag = (now - self._clock) * self._speed - self._played
                if lag > self._speed * CATCH_UP_SECONDS:  # a stall (a busy machine): do not race to catch up
                    self._clock = now - (self._played + self._speed * CATCH_UP_SECONDS) / self._speed
                if lag < 1:
                    break
            elif now >= self._next_frame and self._dirty:
                break
            self._live.step()
            self._played += 1
            self._dirty = True
            self._day_times.append((now, self._day()))
        if self._target is not None and self._dirty and time.monotonic() >= self._next_frame:
            self._hand_over(pictures=False)  # running to a day: only the day counter moves
            self._next_frame = time.monotonic() + FRAME_SECONDS

    def _frame_due(self) -> bool:
        if not self._dirty or self._target is not None:
            return False
        return not self._playing or time.monotonic() >= self._next_frame

    # ------------------------------------------------------------ carrying out
    def _start_playing(self) -> None:
        if self._day() >= LAST_DAY:
            raise ParameterError(f"the demo runs to day {LAST_DAY} at most: press New run")
        self._playing, self._target = True, None
        self._clock, self._played = time.monotonic(), 0
        self._message = ""
        self._dirty = True

    def _stop(self) -> None:
        self._playing, self._target = False, None
        self._dirty = True  # the last day is drawn at once

    def _run_to(self, day: int) -> None:
        if not self._day() < day <= LAST_DAY:
            raise ParameterError(f"run to day {day}: choose a day after today ({self._day()}) and up to {LAST_DAY}")
        self._playing, self._target = False, int(day)
        self._message = ""
        self._next_frame = time.monotonic() + FRAME_SECONDS

    def _set_speed(self, days_per_second: int) -> None:
        if days_per_second not in SPEEDS:
            raise ParameterError(f"speed {days_per_second}: allowed are {', '.join(map(str, SPEEDS))} days a second")
        self._speed = days_per_second
        self._clock, self._played = time.monotonic(), 0
        self._dirty = True

    def _change(self, policy: str, action: Callable[[DemoMarket], Any]) -> None:
        self._live.change(policy, action)
        self._message = ""
        self._dirty = True
        self._hand_over(pictures=False)  # the sliders and the list of changes show it at once

    def _new_run(self, settings: Settings) -> None:
        runs = Runs(settings, self._scenarios, self._view.two)
        self._settings, self._runs = settings, runs
        self._playing, self._target = False, None
        self._staged, self._stop_at = None, None
        self._charts.clear()
        self._message = ""
        self._dirty = True

    def _stage(self, staging: Staging) -> None:
        if not 0 <= staging.change_day < staging.last_day <= LAST_DAY:
            raise ParameterError(f"{staging.name}: its change day and last day must lie in 0-{LAST_DAY}, in order")
        settings = staging.settings._replace(preset=self._offered(staging.settings.preset))
        self._new_run(settings)
        for _ in range(staging.change_day):  # a few days of a small market: well under a second
            self._live.step()
        self._live.change("A", staging.change)
        self._staged, self._stop_at = staging, staging.last_day

    def _offered(self, preset: str | None) -> str | None:
        """The name the page offers a scenario file under (``preset`` itself if it is a name or not offered)."""
        scenarios = self._scenarios if self._scenarios is not None else shipped_scenarios()
        if preset is None or preset in scenarios or not Path(preset).is_file():
            return preset
        path = Path(preset).resolve()
        return next((name for name, file in scenarios.items() if file is not None and file.resolve() == path), preset)

    def _set_view(self, view: View) -> None:
        self._view = view
        self._live.show_two(view.two)
        self._dirty = True

    # ------------------------------------------------------------ drawing
    def _draw(self) -> None:
        """Draw every picture of the page and hand the frame over."""
        start = time.monotonic()
        self._hand_over(pictures=True)
        end = time.monotonic()
        self._frame_times = [t for t in self._frame_times if t > end - 5.0] + [end]
        self._next_frame = start + max(FRAME_SECONDS, (end - start) / DRAW_SHARE)
        self._dirty = False

    def _pictures(self, runs: Runs, sizes: dict[str, Size]) -> dict[str, bytes]:
        twin = runs.unchanged()
        pictures = {}
        if "map" in sizes:
            pictures["map"] = self._map.draw(runs.a, sizes["map"])
        policies = runs.policies()
        for spec in CHARTS:
            charts = {name: self._charts.setdefault(f"{name}/{spec.key}", Chart(spec)) for name in policies}
            shared = None
            if len(policies) > 1:  # side by side, the same axes: the eye compares heights
                tops = [charts[name].tops(market, twin) for name, market in policies.items()]
                shared = {axis: max(t[axis] for t in tops) for axis in tops[0]}
            for name, market in policies.items():
                pictures[f"{name}/{spec.key}"] = charts[name].draw(market, twin, sizes[f"{name}/{spec.key}"], shared)
        return pictures

    def _hand_over(self, pictures: bool) -> None:
        """Make a frame of the page's state (with new pictures, or the last ones) and publish it."""
        runs = self._runs
        previous = self._frame
        now = time.monotonic()
        if runs is None:
            frame = Frame(0, 0, self._settings, "", "", self._view, False, self._speed, None, message=self._message)
        else:
            sizes = picture_sizes(self._view, runs.b is not None)
            # The last frame, whose pictures this one keeps (None: they are drawn anew). A new layout (a second policy
            # shown) cannot wait for the next frame: its pictures are drawn now.
            kept = None if pictures or previous is None or not set(sizes) <= set(previous.pictures) else previous
            start = time.monotonic()
            drawn = self._pictures(runs, sizes) if kept is None else kept.pictures
            self._day_times = [(t, d) for t, d in self._day_times if t > now - 3.0]
            days_per_second = 0.0
            if len(self._day_times) > 1 and self._busy():
                (t0, d0), (t1, d1) = self._day_times[0], self._day_times[-1]
                days_per_second = (d1 - d0) / max(t1 - t0, 1e-6)
            frame = Frame(
                number=(previous.number + 1) if previous else 1,
                day=runs.a.steps,
                settings=self._settings,
                scenario=runs.a.scenario_name,
                policy_words=runs.a.policy_words(),
                view=self._view,
                playing=self._playing,
                speed=self._speed,
                target=self._target,
                pictures=drawn,
                sizes=sizes if kept is None else kept.sizes,
                policies=tuple(self._policy(runs, name, market) for name, market in runs.policies().items()),
                draw_seconds=time.monotonic() - start if kept is None else kept.draw_seconds,
                frames_per_second=max(0, len(self._frame_times) - 1) / 5.0,
                days_per_second=days_per_second,
                message=self._message,
                staged=self._staged,
                stop_at=self._stop_at,
            )
        self._frame = frame
        try:
            self._publish(frame)
        except Exception:  # the page failed to show it: the market and its thread go on, the next frame may show
            log.exception("klad demo: a page could not show a frame")

    def _policy(self, runs: Runs, name: str, market: DemoMarket) -> Policy:
        twin = runs.unchanged()
        levers = {lever: getattr(market.p, lever) for lever in (*LIVE_LEVERS, "buyer_imprisonment")}
        since = runs.first_change.get(name)
        shown = {days: readouts(market, twin, since, days) for days in READOUT_WINDOWS}
        return Policy(name, levers, tuple(market.events), tuple(market.storefronts()), shown, since)
