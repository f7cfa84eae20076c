"""The page of ``klad demo``: the market a class watches, laid out for a projector.

``solara run sim.app.demo.page`` serves ``Page``; ``klad demo`` does that for you
(``sim.app.demo.market.serve``). ``KLAD_DEMO_SCENARIO`` (set by
``klad demo --scenario FILE``) names a scenario file to offer first.

The page is made of Solara components around one ``Session`` per page
(``sim.app.demo.session``), which runs the page's markets in a thread of its
own and hands the page a finished frame at most twice a second. It replaces
Mesa's SolaraViz controller, whose play loop raced its drawing thread and froze
the page on a busy machine (see the session's docstring); the model is still
a Mesa model, and the page is still Solara. Everything here only shows a frame
and leaves commands for the session: no component touches a market.

What a class needs is on one screen of 1366 x 768 (a common projector): from
the top, the run (an exercise picker, a new run), the controls (play, step,
+30 days, run to a day, speed), the shocks and levers, the readouts (each
metric over the last days, the coloured run against the grey run in one
number) with the changes and what to look for; under them the city map and the
storefront table beside the main charts. Below the screen: the secondary
charts and the story (what a klad, a stash, a storefront and a mirror are).
Text is at least 14 px (16 px in projector mode, the default); pictures are
drawn at the size the window shows them (``session.page_layout``).
"""

from __future__ import annotations

import html
import os
import threading
import time
from collections.abc import Callable
from functools import partial

import ipyvuetify as v
import reacton.ipyvuetify as rv
import solara
import traitlets

from sim.app.demo.exercises import EXERCISES, exercise_name, staging
from sim.app.demo.figures import CHARTS, MARK_STYLES, STATE_COLOURS, ChartSpec, legend_entries
from sim.app.demo.market import (
    BUYER_PRISON,
    BUYER_PRISON_LABEL,
    DEMO_POLICY_DAY,
    LIVE_LEVERS,
    STOREFRONT_STATES,
    shipped_scenarios,
)
from sim.app.demo.session import LAST_DAY, SPEEDS, Frame, Policy, Session, Settings, View, page_layout
from sim.app.demo.story import GLOSSARY, GREY, MAP, NO_CHANGE_YET, READOUT_WINDOWS, SHOCKS
from sim.params import REGISTRY

SCENARIOS = shipped_scenarios(os.environ.get("KLAD_DEMO_SCENARIO") or None)
#: Seconds a page's lost connection may last before its market stops playing (Solara reconnects a page that
#: comes back; its market is freed only after SOLARA_KERNEL_CULL_TIMEOUT).
GONE_SECONDS = 15.0
EXERCISE_NAMES = [exercise_name(number) for number in range(1, len(EXERCISES) + 1)]

CSS = """
.klad-page { font-size: 16px; line-height: 1.3; padding: 4px 12px 20px 12px; color: #212121; }
.klad-page.klad-desk { font-size: 14px; }
.klad-page .v-btn { font-size: 16px !important; text-transform: none !important; letter-spacing: 0 !important; }
.klad-page.klad-desk .v-btn { font-size: 14px !important; }
.klad-page .v-label, .klad-page input, .klad-page .v-select__selection, .klad-page .v-messages,
.klad-page .v-input, .klad-page .v-list-item__title { font-size: 16px !important; }
.klad-page.klad-desk .v-label, .klad-page.klad-desk input, .klad-page.klad-desk .v-select__selection,
.klad-page.klad-desk .v-messages, .klad-page.klad-desk .v-input { font-size: 14px !important; }
.klad-page .v-label { color: #212121 !important; }
.klad-page h1 { font-size: 1.3em; margin: 0; font-weight: 600; white-space: nowrap; }
.klad-page h2 { font-size: 1.05em; margin: 0; font-weight: 600; }
.klad-row { display: flex; flex-wrap: wrap; align-items: center; gap: 6px 10px; }
.klad-top { align-items: flex-start; }
.klad-bar { flex-wrap: nowrap; min-height: 38px; }
.klad-bar .v-btn:not(.v-btn--text) { height: 34px !important; }
.klad-bar .v-btn-toggle .v-btn { height: 34px !important; min-width: 0 !important; padding: 0 10px !important; }
.klad-bar .v-input { margin: 0 !important; padding: 0 !important; flex: 0 0 auto; }
.klad-day { font-size: 1.5em; font-weight: 700; white-space: nowrap; margin-left: 4px; }
.klad-status { color: #424242; }
.klad-play .v-btn__content { min-width: 5.2em; }
.klad-exercise { max-width: 15em; }
.klad-exercise .v-input__slot { min-height: 34px !important; }
.klad-exercise .v-label { top: 7px !important; }
.klad-png-corner { position: absolute; top: 0; right: 0; }
.klad-png-corner .v-btn { background: rgba(255, 255, 255, 0.8); }
.klad-target { max-width: 6.5em; }
.klad-readouts { background: #f3f6fa; border-radius: 6px; padding: 4px 10px; }
.klad-readouts > div { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.klad-readouts .klad-look-for { white-space: normal; display: -webkit-box; -webkit-line-clamp: 2;
                                -webkit-box-orient: vertical; }
.klad-readouts > .klad-readout-line { display: flex; flex-wrap: wrap; align-items: center; gap: 4px 14px;
                                     white-space: normal; overflow: visible; }
.klad-readout { white-space: nowrap; background: white; border: 1px solid #d5dbe3; border-radius: 4px;
                padding: 0 6px; }
.klad-readout b { font-size: 1.15em; }
.klad-readout-line .v-btn-toggle .v-btn { height: 26px !important; min-width: 0 !important; padding: 0 8px !important; }
.klad-number { display: inline-block; background: #444; color: white; border-radius: 4px; padding: 0 5px;
               margin-right: 3px; }
.klad-change-list > span { margin-right: 1em; }
.klad-picture img, .klad-picture .widget-image { max-width: 100%; height: auto; display: block; }
.klad-legend { display: flex; flex-wrap: wrap; gap: 0 12px; margin: 0 0 0 6px; line-height: 1.25; }
.klad-legend-column { flex-direction: column; gap: 6px; margin: 40px 0 0 0; }
.klad-swatch { display: inline-block; width: 1.3em; height: 0.35em; vertical-align: middle; margin-right: 5px; }
.klad-storefronts { overflow-y: auto; border: 1px solid #ddd; border-radius: 4px; flex: 0 1 auto; min-height: 0; }
.klad-left { overflow: hidden; }
.klad-left .klad-storefront-panel { flex: 0 1 auto; min-height: 0; }
.klad-storefront-box { display: flex; flex-direction: column; min-height: 0; max-height: 100%; gap: 2px; }
.klad-storefronts table { border-collapse: collapse; width: 100%; font-size: 15px; }
.klad-desk .klad-storefronts table { font-size: 14px; }
.klad-storefronts th { position: sticky; top: 0; background: #fafafa; text-align: left; padding: 1px 5px;
                       font-weight: 600; line-height: 1.15; vertical-align: bottom; }
.klad-storefronts td { padding: 1px 5px; border-top: 1px solid #eee; white-space: nowrap; }
.klad-chip { display: inline-block; color: white; border-radius: 4px; padding: 0 6px; white-space: nowrap; }
.klad-story dt { font-weight: 600; }
.klad-story dd { margin: 0 0 0.4em 1em; }
.klad-levers { border: 1px solid #ddd; border-radius: 6px; padding: 4px 12px; }
.klad-lever { min-width: 300px; flex: 1 1 300px; }
.klad-lever-name { font-weight: 500; }
.klad-lever .v-input { margin: 0 !important; }
.klad-lever .v-slider__tick { background-color: #757575 !important; }
.klad-lever-end { color: #212121; min-width: 2.6em; text-align: center; white-space: nowrap; }
.klad-footer { color: #555; margin-top: 8px; }
"""


# ------------------------------------------------------------ the window's size
class WindowSize(v.VuetifyTemplate):
    """Reports the browser window's inner size (after a resize has settled), so that pictures are drawn to fit."""

    width = traitlets.Int(0).tag(sync=True)
    height = traitlets.Int(0).tag(sync=True)
    template = traitlets.Unicode(
        """
<template><span style="display: none"></span></template>
<script>
module.exports = {
  mounted() {
    this.measure = () => { this.width = window.innerWidth; this.height = window.innerHeight; };
    this.later = () => { clearTimeout(this.timer); this.timer = setTimeout(this.measure, 300); };
    this.measure();
    window.addEventListener('resize', this.later);
  },
  destroyed() { window.removeEventListener('resize', this.later); clearTimeout(this.timer); },
};
</script>
"""
    ).tag(sync=True)


# ------------------------------------------------------------------ the session
def open_session(show: Callable[[Frame], None]) -> Session:
    """A session for this page, whose frames reach the page one at a time and stop when the page is gone.

    A frame is handed over under the page's kernel lock, the lock Solara holds while it handles the page's
    messages, so that the page never draws a frame and a click at the same time.
    """
    from solara.server import kernel_context

    context = kernel_context.get_current_context() if kernel_context.has_current_context() else None
    lock = context.lock if context is not None else threading.RLock()

    def publish(frame: Frame) -> None:
        with lock:
            if context is None or not context.closed_event.is_set():
                show(frame)

    lost_since: list[float] = []  # when the page's connection was first seen lost, while it is

    def alive() -> bool:
        if context is None:
            return True
        if context.closed_event.is_set():
            return False
        if kernel_context.PageStatus.CONNECTED in context.page_status.values():
            lost_since.clear()
            return True
        if not lost_since:  # a lost connection (a busy machine, a dropped wifi) may come back: wait a while
            lost_since.append(time.monotonic())
        return time.monotonic() - lost_since[0] < GONE_SECONDS

    session = Session(publish, alive=alive, scenarios=SCENARIOS, settings=Settings(next(iter(SCENARIOS))))
    if context is not None:
        context.on_close(session.close)
    return session


@solara.component
def Page():
    """The demo page: one session (its markets and their thread) per browser tab."""
    frame: Frame | None  # None until the session's first frame
    set_frame: Callable[[Frame | None], None]
    frame, set_frame = solara.use_state(None)
    session = solara.use_memo(lambda: open_session(set_frame), [])
    view, set_view = solara.use_state(View())
    solara.use_effect(lambda: session.close, [])  # the page's end ends its session
    solara.use_effect(lambda: session.show(view), [view])
    solara.Style(CSS)

    def resize(width: int | None = None, height: int | None = None) -> None:
        set_view(lambda old: old._replace(width=width or old.width, height=height or old.height))

    WindowSize.element(on_width=lambda w: resize(width=w), on_height=lambda h: resize(height=h))
    classes = ["klad-page"] + ([] if view.projector else ["klad-desk"])
    with solara.Column(classes=classes, gap="6px"):
        if frame is None or not frame.pictures:
            Header(session, None, view, set_view)
            solara.Text("Preparing the market (the first time takes a few seconds)...", classes=["klad-status"])
            if frame is not None and frame.message:
                solara.Error(frame.message)
            return
        Header(session, frame, view, set_view)
        Controls(session, frame)
        if frame.message:
            solara.Warning(frame.message, classes=["klad-message"])
        if len(frame.policies) == 1:
            OnePolicy(session, frame)
        else:
            TwoPolicies(session, frame)
        Story(session, frame)
        solara.Text(
            f"Drawing: {frame.frames_per_second:.1f} frames a second, the last in {frame.draw_seconds:.2f} s; "
            + (f"the market: {frame.days_per_second:.0f} days a second." if frame.playing else "paused."),
            classes=["klad-footer", "klad-frame-stats"],
        )


# ------------------------------------------------------------------ the controls
@solara.component
def Header(session: Session, frame: Frame | None, view: View, set_view):
    """Title; the run: an exercise made ready, or a new run, its scenario and seed; the layout and text size."""
    choosing, set_choosing = solara.use_state(False)
    picked = solara.use_reactive(None)  # the picker shows its label again once an exercise is made ready

    def pick(name: str | None) -> None:
        if name in EXERCISE_NAMES:
            session.stage(staging(EXERCISE_NAMES.index(name) + 1))
        picked.set(None)

    with solara.Div(classes=["klad-row", "klad-bar", "klad-header"]):
        solara.HTML(tag="h1", unsafe_innerHTML="The klad market")
        rv.Select(label="Exercise...", items=EXERCISE_NAMES, v_model=picked.value, on_v_model=pick, dense=True,
                  outlined=True, hide_details=True, class_="klad-exercise")  # fmt: skip
        solara.Button("New run...", on_click=lambda: set_choosing(not choosing), outlined=True, classes=["klad-new"])
        if frame is not None:
            words = f"; its policy from day {frame.settings.policy_start_day}" if frame.policy_words else ""
            staged = f" \u2014 {frame.staged.name}" if frame.staged is not None else ""
            solara.Text(f"{frame.scenario}{words}, seed {frame.settings.seed}{staged}", classes=["klad-status"],
                        style={"flex": "1 1 auto", "overflow": "hidden", "text-overflow": "ellipsis",
                               "white-space": "nowrap"})  # fmt: skip
        solara.ToggleButtonsSingle(
            "one policy" if not view.two else "two side by side", values=["one policy", "two side by side"],
            on_value=lambda value: set_view(lambda old: old._replace(two=value == "two side by side")),
            classes=["klad-layout"],
        )  # fmt: skip
        solara.ToggleButtonsSingle(
            "projector" if view.projector else "desk", values=["projector", "desk"],
            on_value=lambda value: set_view(lambda old: old._replace(projector=value == "projector")),
            classes=["klad-size"],
        )  # fmt: skip
    if choosing and frame is not None:
        NewRun(session, frame.settings, close=lambda: set_choosing(False))


@solara.component
def NewRun(session: Session, settings: Settings, close: Callable[[], None]):
    """Scenario, seed and the day its policy starts: a new market from day 0."""
    # Reactive values, read when Start is pressed: a click right after a change still sees the change.
    preset = solara.use_reactive(settings.preset if settings.preset in SCENARIOS else next(iter(SCENARIOS)))
    seed = solara.use_reactive(settings.seed)
    day = solara.use_reactive(settings.policy_start_day)

    def start() -> None:
        policy_day = day.value if day.value is not None else DEMO_POLICY_DAY
        session.new_run(Settings(preset.value, int(seed.value or 0), int(policy_day)))
        close()

    with solara.Div(classes=["klad-row", "klad-new-run"]):
        solara.Select("Scenario", value=preset, values=list(SCENARIOS))
        solara.InputInt("Seed (the city's luck)", value=seed)
        low = int(REGISTRY["policy_start_day"].bounds[0])
        solara.InputInt(f"Day the scenario's policy starts (from {low})", value=day)
        solara.Button("Start the new run", on_click=start, color="primary", classes=["klad-start"])
        solara.Button("Cancel", on_click=close, text=True)


@solara.component
def Controls(session: Session, frame: Frame):
    """Play or pause, a day at a time, 30 days or up to a day without drawing them, and the speed."""
    busy = frame.playing or frame.target is not None
    # The day suggested to run to (an exercise's last day while it is ahead), read when Go is pressed (see NewRun).
    suggested = frame.stop_at if frame.stop_at is not None and frame.stop_at > frame.day else frame.day + 60
    target = solara.use_reactive(suggested)
    with solara.Div(classes=["klad-row", "klad-bar", "klad-controls"]):
        solara.Button(
            "\u275a\u275a Pause" if busy else "\u25b6 Play", on_click=session.pause if busy else session.play,
            color="primary", classes=["klad-play"],
        )  # fmt: skip
        solara.Button("Step a day", on_click=lambda: session.step(1), disabled=busy, classes=["klad-step"])
        solara.Button("+30 days", on_click=lambda: session.skip(30), classes=["klad-skip"])
        with solara.Div(classes=["klad-row"], style={"gap": "4px", "flex-wrap": "nowrap"}):
            solara.InputInt("Run to day", value=target, classes=["klad-target"])
            solara.Button("Go", on_click=lambda: session.run_to(int(target.value or 0)), classes=["klad-go"])
        solara.Text("Speed, days a second:", classes=["klad-status"], style={"white-space": "nowrap"})
        speeds = {str(s) if s else "max": s for s in SPEEDS}
        shown = next(name for name, s in speeds.items() if s == frame.speed)
        solara.ToggleButtonsSingle(shown, values=list(speeds), on_value=lambda name: session.set_speed(speeds[name]),
                                   classes=["klad-speed"])  # fmt: skip
        solara.Text(f"Day {frame.day}", classes=["klad-day"])
        if frame.target is not None:
            solara.Text(f"running to day {frame.target}, not drawing on the way", classes=["klad-status"])
        elif frame.stop_at is not None and not frame.playing:
            solara.Text(f"Play stops on day {frame.stop_at}", classes=["klad-status", "klad-stop-at"])
        elif frame.day >= LAST_DAY:
            solara.Text("the last day: press New run", classes=["klad-status"])


@solara.component
def PolicyControls(session: Session, frame: Frame, policy: Policy, titled: bool):
    """A policy's shocks and levers, and the readouts against the grey run, the changes and what to look for."""
    # The last shock pressed belongs to the run it was pressed in: a new run (or exercise) tells a new story,
    # decided in the same render that shows the new run.
    run = (frame.staged.name if frame.staged is not None else None, frame.settings)
    pressed, set_pressed = solara.use_state(("", run))
    last_shock = pressed[0] if pressed[1] == run else ""
    levers_open, set_levers_open = solara.use_state(False)

    def shock(key: str) -> Callable[[], None]:
        def press() -> None:
            session.act(policy.name, SHOCKS[key].act)
            set_pressed((key, run))

        return press

    with solara.Column(gap="6px", classes=["klad-policy", f"klad-policy-{policy.name}"]):
        with solara.Div(classes=["klad-row", "klad-bar"] if not titled else ["klad-row"]):
            solara.Text(f"Policy {policy.name}, change it now:" if titled else "Change the policy now:",
                        style={"font-weight": "600", "white-space": "nowrap"})  # fmt: skip
            for key, item in SHOCKS.items():
                solara.Button(
                    item.label, on_click=shock(key), color="error", outlined=True, classes=[f"klad-shock-{key}"]
                )
            solara.Button(
                "Hide the levers" if levers_open else "More levers...", text=True, classes=["klad-levers-toggle"],
                on_click=lambda: set_levers_open(not levers_open),
            )  # fmt: skip
        if levers_open:
            Levers(session, policy)
        if last_shock:
            look_for = f"<b>Look for:</b> {html.escape(SHOCKS[last_shock].look_for)}"
        elif frame.staged is not None and policy.name == "A":
            look_for = (
                f"<b>{html.escape(frame.staged.name)}</b>, changed on day {frame.staged.change_day}. "
                f"<b>Look for:</b> {html.escape(frame.staged.look_for)}"
            )
        else:
            look_for = ""
        Readouts(policy, look_for)


@solara.component
def Levers(session: Session, policy: Policy):
    """Sliders for the levers that act from the next day on, each in plain words; each snaps to round values."""

    def move(name: str, index: int) -> None:
        # A slider also reports the position it was given; only a move by the lecturer to another stop is a change.
        lever = LIVE_LEVERS[name]
        if int(index) != lever.nearest(policy.levers[name]):
            value = lever.stops[int(index)]
            session.act(policy.name, lambda market: market.set_lever(name, value))

    with solara.Div(classes=["klad-row", "klad-levers"]):
        for name, lever in LIVE_LEVERS.items():
            value = policy.levers[name]
            with solara.Column(gap="0px", classes=["klad-lever", f"klad-lever-{name.split('_')[0]}"]):
                today = lever.show(REGISTRY[name].default)
                solara.HTML(tag="div", unsafe_innerHTML=f"<span class='klad-lever-name'>{html.escape(lever.label)}"
                            f"</span>: <b class='klad-lever-value'>{html.escape(lever.show(value))}</b> "
                            f"<span class='klad-status'>(today {html.escape(today)})</span>")  # fmt: skip
                with solara.Div(classes=["klad-row"], style={"flex-wrap": "nowrap", "gap": "4px"}):
                    solara.Text(lever.show(lever.low), classes=["klad-lever-end", "klad-lever-min"])
                    rv.Slider(
                        v_model=lever.nearest(value), min=0, max=len(lever.stops) - 1, step=1, ticks="always",
                        tick_size=4, hide_details=True, thumb_label=False, class_="klad-slider",
                        attributes={"aria-label": lever.label},
                        on_v_model=partial(move, name),
                    )  # fmt: skip
                    solara.Text(lever.show(lever.high), classes=["klad-lever-end", "klad-lever-max"])
        solara.Checkbox(label=BUYER_PRISON_LABEL, value=policy.levers[BUYER_PRISON],
                        on_value=lambda new: session.act(policy.name, lambda m: m.set_lever(BUYER_PRISON, new))
                        if new != policy.levers[BUYER_PRISON] else None)  # fmt: skip


@solara.component
def Readouts(policy: Policy, look_for: str):
    """Each readout metric over the last days, the run against the grey run in one number; the changes."""
    window, set_window = solara.use_state(READOUT_WINDOWS[0])
    shown = policy.readouts.get(window, ())
    with solara.Div(classes=["klad-readouts", f"klad-readouts-{policy.name}"]):
        if shown:
            first, last = shown[0].first, shown[0].last
            days = f"last {shown[0].days} days" if shown[0].days > 1 else "the last day"
            with solara.Div(classes=["klad-readout-line"]):
                solara.HTML(tag="span", unsafe_innerHTML=f"<b>Against the grey run</b>, {days} (days {first}-{last}):")
                for r in shown:  # one number each; the sentence and both means on hovering
                    solara.HTML(tag="span", unsafe_innerHTML=f"{html.escape(r.label)} <b>{html.escape(r.number())}</b>",
                                classes=["klad-readout"], attributes={"title": f"{r.words()} ({r.detail()})"},
                                )  # fmt: skip
                names = {f"{days} days": days for days in READOUT_WINDOWS}
                solara.ToggleButtonsSingle(f"{window} days", values=list(names), classes=["klad-window"],
                                           on_value=lambda name: set_window(names[name]))  # fmt: skip
        elif policy.changed_on is not None:
            solara.Text(f"Your change acts from day {policy.changed_on}: step or play, and see it here against the "
                        "grey run (the same city without your changes).", classes=["klad-readout-wait"])  # fmt: skip
        else:
            solara.Text(NO_CHANGE_YET)
        if policy.events:
            items = "".join(
                f"<span><span class='klad-number'>{n}</span>day {mark.day}: {html.escape(mark.text)}</span>"
                for n, mark in reversed(list(enumerate(policy.events, start=1)))
            )
            every = "; ".join(f"{n}: day {m.day}, {m.text}" for n, m in enumerate(policy.events, start=1))
            solara.HTML(tag="div", unsafe_innerHTML=f"<b>Changes</b> (latest first): {items}",
                        classes=["klad-change-list"], attributes={"title": every})  # fmt: skip
        if look_for:
            solara.HTML(tag="div", unsafe_innerHTML=look_for, classes=["klad-look-for"])


# ------------------------------------------------------------------ the pictures
def Picture(frame: Frame, key: str, classes: list[str]):
    """A picture of the frame at the width it was drawn for (narrower windows shrink it)."""
    if key not in frame.pictures:
        return
    size = frame.sizes[key]
    with solara.Div(classes=["klad-picture", *classes], style={"width": f"{size.width}px", "max-width": "100%"}):
        solara.Image(frame.pictures[key], format="png", width=f"{size.width}px")


def Legend(entries: list[tuple[str, str]], column: bool = False, classes: tuple[str, ...] = ()):
    """A legend in the page's text size: a swatch and a label per entry, in a row (or a column)."""
    items = "".join(
        f"<span><span class='klad-swatch' style='background:{colour}'></span>{html.escape(label)}</span>"
        for label, colour in entries
    )
    solara.HTML(tag="div", unsafe_innerHTML=items,
                classes=["klad-legend", *(["klad-legend-column"] if column else []), *classes])  # fmt: skip


@solara.component
def ChartCard(session: Session, frame: Frame, policy: str, spec: ChartSpec):
    """A chart with its legend (the grey run's is the page's), and a button to download it as a PNG for slides."""
    get_png = solara.use_memo(lambda: lambda: session.chart_png(policy, spec.key), [session, policy, spec.key])
    width = frame.sizes[f"{policy}/{spec.key}"].width
    classes = ["klad-chart", f"klad-chart-{spec.key}", f"klad-chart-{policy}-{spec.key}"]
    style = {"width": f"{width}px", "max-width": "100%", "position": "relative"}
    with solara.Column(gap="0px", classes=classes, style=style):
        Picture(frame, f"{policy}/{spec.key}", [])
        Legend(legend_entries(spec, grey=False))
        with solara.Div(classes=["klad-png-corner"]):  # in the picture's top right corner: the legend keeps its line
            with solara.FileDownload(get_png, filename=f"klad-{spec.key}-day{frame.day}.png", mime_type="image/png"):
                solara.Button("PNG", icon_name="mdi-download", text=True, small=True, classes=["klad-png"])


@solara.component
def Storefronts(policy: Policy):
    """Every shop in business and its storefront: open, found and still open (blocked soon), or blocked.

    The three states add up to the shops in business; each row says what comes next and when.
    """
    rows = policy.storefronts
    count = {state: sum(r["state"] == state for r in rows) for state in STOREFRONT_STATES}
    mirrors = sum(r["mirrors"] for r in rows)
    chips = " + ".join(
        f"<span class='klad-chip klad-state-{state}' style='background:{STATE_COLOURS[state]}'>"
        f"{count[state]} {html.escape(words)}</span>"
        for state, words in STOREFRONT_STATES.items()
    )
    head = (
        f"<h2>Storefronts <span class='klad-status' style='font-weight:400'>({mirrors} mirrors opened so far)"
        f"</span></h2><div class='klad-storefront-count'>{chips} = {len(rows)} shops in business</div>"
    )
    cells = "".join(
        f"<tr><td>{r['shop']}{' abroad' if r['abroad'] else ''}</td>"
        f"<td style='color:white;background:{STATE_COLOURS[r['state']]}'>{html.escape(r['status'])}</td>"
        f"<td align=right>{r['mirrors']}</td><td align=right>{r['orders']:.0f}</td>"
        f"<td align=right>{r['couriers']}</td><td align=right>{r['price']:,.0f}</td></tr>"
        for r in rows
    )
    table = (
        f"<div class='klad-storefronts'><table><tr><th>shop</th><th>storefront</th><th>mirrors</th>"
        f"<th>orders<br>a day</th><th>couriers</th><th>KZT<br>a gram</th></tr>{cells}</table></div>"
    )
    with solara.Column(gap="2px", classes=["klad-storefront-panel", f"klad-storefront-panel-{policy.name}"]):
        solara.HTML(tag="div", unsafe_innerHTML=head + table, classes=["klad-storefront-box"])


@solara.component
def OnePolicy(session: Session, frame: Frame):
    """The lecturer's market on one screen: its controls and readouts; the map and storefronts beside the charts."""
    policy = frame.policies[0]
    layout = page_layout(frame.view, two_runs=False)
    PolicyControls(session, frame, policy, titled=False)
    map_legend = [(label, colour) for colour, _, _, _, label in MARK_STYLES.values()]
    main = [spec for spec in CHARTS if spec.main]
    if not layout.left:  # a narrow window: one column
        Picture(frame, "map", ["klad-map"])
        Legend(map_legend)
        Storefronts(policy)
        for spec in CHARTS:
            ChartCard(session, frame, "A", spec)
        return
    charts_width = 2 * frame.sizes["A/volume"].width + 12
    with solara.Div(classes=["klad-row", "klad-top", "klad-main"], style={"gap": "12px", "flex-wrap": "nowrap"}):
        # The left column is the screen's height under the controls: with many shops, the table scrolls in it.
        left = {"width": f"{layout.left}px", "height": f"{layout.height}px", "flex": "0 0 auto"}
        with solara.Column(gap="6px", classes=["klad-left"], style=left):
            with solara.Div(classes=["klad-row", "klad-top"], style={"flex-wrap": "nowrap", "gap": "10px"}):
                Picture(frame, "map", ["klad-map"])
                if layout.legend_beside:
                    Legend(map_legend, column=True, classes=("klad-map-legend",))
            if not layout.legend_beside:
                Legend(map_legend, classes=("klad-map-legend",))
            Storefronts(policy)
        with solara.Div(classes=["klad-row", "klad-top", "klad-charts"],
                        style={"gap": "4px 12px", "width": f"{charts_width}px", "flex": "0 0 auto"}):  # fmt: skip
            for spec in main:
                ChartCard(session, frame, "A", spec)
    solara.Text(GREY, classes=["klad-status", "klad-grey-note"])
    with solara.Div(classes=["klad-row", "klad-top", "klad-more-charts"], style={"gap": "12px"}):
        for spec in CHARTS:
            if not spec.main:
                ChartCard(session, frame, "A", spec)


@solara.component
def TwoPolicies(session: Session, frame: Frame):
    """Two policies of the same city and seed, each chart of one beside the same chart of the other."""
    with solara.Div(classes=["klad-row", "klad-top"], style={"gap": "12px", "flex-wrap": "nowrap"}):
        for policy in frame.policies:
            with solara.Div(style={"width": f"{frame.sizes[f'{policy.name}/volume'].width}px"}):
                PolicyControls(session, frame, policy, titled=True)
    solara.Text(GREY, classes=["klad-status", "klad-grey-note"])
    for spec in CHARTS:
        with solara.Div(classes=["klad-row", "klad-top"], style={"gap": "12px", "flex-wrap": "nowrap"}):
            for policy in frame.policies:
                ChartCard(session, frame, policy.name, spec)
    with solara.Div(classes=["klad-row", "klad-top"], style={"gap": "12px", "flex-wrap": "nowrap"}):
        for policy in frame.policies:
            with solara.Div(style={"width": f"{frame.sizes[f'{policy.name}/volume'].width}px"}):
                Storefronts(policy)


# ------------------------------------------------------------------ the story
@solara.component
def Story(session: Session, frame: Frame):
    """What the page shows and what the market's parts are; what each shock does; the run's table to download."""
    get_csv = solara.use_memo(lambda: session.csv, [session])
    glossary = "".join(f"<dt>{html.escape(term)}</dt><dd>{html.escape(text)}</dd>" for term, text in GLOSSARY)
    shocks = "".join(
        f"<dt>{html.escape(s.label)}</dt><dd>{html.escape(s.does)} Look for: {html.escape(s.look_for)}</dd>"
        for s in SHOCKS.values()
    )
    states = (
        "Every shop in business has a storefront in one of three states: open (the police have not found it), "
        "found and still open (it still sells until it is blocked, after the blocking delay), or blocked (it comes "
        "back as a mirror a few days later). The three add up to the shops in business."
    )
    with solara.Div(classes=["klad-row", "klad-top", "klad-story"], style={"gap": "24px", "flex-wrap": "wrap"}):
        with solara.Column(gap="2px", style={"flex": "1 1 420px"}):
            solara.HTML(tag="h2", unsafe_innerHTML="What you see")
            solara.Text(MAP)
            solara.Text(GREY)
            solara.Text(states)
            solara.HTML(tag="h2", unsafe_innerHTML="The words")
            solara.HTML(tag="dl", unsafe_innerHTML=glossary)
        with solara.Column(gap="2px", style={"flex": "1 1 420px"}):
            solara.HTML(tag="h2", unsafe_innerHTML="The shocks, and what to look for")
            solara.HTML(tag="dl", unsafe_innerHTML=shocks)
            solara.HTML(tag="h2", unsafe_innerHTML="Take it home")
            solara.FileDownload(get_csv, filename=f"klad-demo-seed{frame.settings.seed}-day{frame.day}.csv",
                                label="The run's daily table (CSV)", mime_type="text/csv")  # fmt: skip
            solara.Text("Each chart's PNG button gives that chart for slides.", classes=["klad-status"])
