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

From the top: the controls (play, step, +30 days, run to a day, speed), the
shocks and levers, what they did (live readouts against the week before the
change, and against the grey run without the changes), the city map and the
storefronts, the charts, and the story (what a klad, a stash, a storefront and
a mirror are). Text is at least 14 px (18 px in projector mode, the default);
pictures are drawn at the size the window shows them.
"""

from __future__ import annotations

import html
import os
import threading
from collections.abc import Callable

import ipyvuetify as v
import solara
import traitlets

from sim.app.demo.figures import CHARTS, MARK_STYLES, ChartSpec, legend_entries
from sim.app.demo.market import (
    BUYER_PRISON,
    BUYER_PRISON_LABEL,
    DEMO_POLICY_DAY,
    LIVE_LEVERS,
    shipped_scenarios,
)
from sim.app.demo.session import LAST_DAY, SPEEDS, Frame, Policy, Session, Settings, View
from sim.app.demo.story import GLOSSARY, GREY, MAP, NO_CHANGE_YET, SHOCKS
from sim.params import REGISTRY

SCENARIOS = shipped_scenarios(os.environ.get("KLAD_DEMO_SCENARIO") or None)

CSS = """
.klad-page { font-size: 18px; line-height: 1.35; padding: 6px 20px 20px 20px; color: #212121; }
.klad-page.klad-desk { font-size: 15px; }
.klad-page .v-btn { font-size: 17px !important; text-transform: none !important; letter-spacing: 0 !important; }
.klad-page.klad-desk .v-btn { font-size: 14px !important; }
.klad-page .v-label, .klad-page input, .klad-page .v-select__selection, .klad-page .v-messages,
.klad-page .v-input, .klad-page .v-list-item__title { font-size: 16px !important; }
.klad-page.klad-desk .v-label, .klad-page.klad-desk input, .klad-page.klad-desk .v-select__selection,
.klad-page.klad-desk .v-messages, .klad-page.klad-desk .v-input { font-size: 14px !important; }
.klad-page h1 { font-size: 1.35em; margin: 0; font-weight: 600; }
.klad-page h2 { font-size: 1.1em; margin: 0.4em 0 0.2em 0; font-weight: 600; }
.klad-row { display: flex; flex-wrap: wrap; align-items: center; gap: 10px 12px; }
.klad-top { align-items: flex-start; }
.klad-day { font-size: 1.6em; font-weight: 700; min-width: 6.5em; }
.klad-status { color: #555; }
.klad-play .v-btn__content { min-width: 5.5em; }
.klad-readouts { background: #f3f6fa; border-radius: 6px; padding: 6px 10px; }
.klad-change-list span { margin-right: 1.2em; white-space: nowrap; }
.klad-number { display: inline-block; background: #444; color: white; border-radius: 4px; padding: 0 6px;
               margin-right: 4px; }
.klad-picture img, .klad-picture .widget-image { max-width: 100%; height: auto; display: block; }
.klad-legend { display: flex; flex-wrap: wrap; gap: 2px 14px; margin: 2px 0 8px 6px; }
.klad-swatch { display: inline-block; width: 1.4em; height: 0.3em; vertical-align: middle; margin-right: 5px; }
.klad-storefronts { max-height: 310px; overflow-y: auto; border: 1px solid #ddd; border-radius: 4px; }
.klad-storefronts table { border-collapse: collapse; width: 100%; }
.klad-storefronts th { position: sticky; top: 0; background: #fafafa; text-align: left; padding: 2px 6px; }
.klad-storefronts td { padding: 2px 6px; border-top: 1px solid #eee; }
.klad-story dt { font-weight: 600; }
.klad-story dd { margin: 0 0 0.4em 1em; }
.klad-levers { border: 1px solid #ddd; border-radius: 6px; padding: 4px 12px; }
.klad-lever { min-width: 300px; flex: 1 1 300px; }
.klad-lever .v-input__slot { flex-wrap: wrap; }
.klad-lever .v-input__slot > .v-label { flex: 0 0 100%; max-width: 100%; white-space: normal; height: auto; }
.klad-footer { color: #555; margin-top: 8px; }
"""

COLOURS = {"open": "#2e7d32", "found": "#ef6c00", "blocked": "#c62828"}


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

    def alive() -> bool:
        if context is None:
            return True
        connected = kernel_context.PageStatus.CONNECTED in context.page_status.values()
        return connected and not context.closed_event.is_set()

    session = Session(publish, alive=alive, scenarios=SCENARIOS, settings=Settings(next(iter(SCENARIOS))))
    if context is not None:
        context.on_close(session.close)
    return session


@solara.component
def Page():
    """The demo page: one session (its markets and their thread) per browser tab."""
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
    with solara.Column(classes=classes, gap="10px"):
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
    """Title, the run's scenario and seed, a new run, and the layout (one or two policies, text size)."""
    choosing, set_choosing = solara.use_state(False)
    with solara.Div(classes=["klad-row", "klad-header"]):
        solara.HTML(tag="h1", unsafe_innerHTML="The klad market: a classroom demo")
        if frame is not None:
            words = f" (its policy from day {frame.settings.policy_start_day}: {frame.policy_words})"
            solara.Text(f"Scenario: {frame.scenario}{words if frame.policy_words else ''}; seed {frame.settings.seed}.",
                        classes=["klad-status"])  # fmt: skip
        solara.Button("New run...", on_click=lambda: set_choosing(not choosing), outlined=True, classes=["klad-new"])
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
    preset = solara.use_reactive(settings.preset or next(iter(SCENARIOS)))
    seed = solara.use_reactive(settings.seed)
    day = solara.use_reactive(settings.policy_start_day)

    def start() -> None:
        policy_day = day.value if day.value is not None else DEMO_POLICY_DAY
        session.new_run(Settings(preset.value, int(seed.value or 0), int(policy_day)))
        close()

    with solara.Div(classes=["klad-row", "klad-new-run"]):
        solara.Select("Scenario", value=preset, values=list(SCENARIOS))
        solara.InputInt("Seed (the city's luck)", value=seed)
        low = int(REGISTRY["policy_start_day"].low)
        solara.InputInt(f"Day the scenario's policy starts (from {low})", value=day)
        solara.Button("Start the new run", on_click=start, color="primary", classes=["klad-start"])
        solara.Button("Cancel", on_click=close, text=True)


@solara.component
def Controls(session: Session, frame: Frame):
    """Play or pause, a day at a time, 30 days or up to a day without drawing them, and the speed."""
    busy = frame.playing or frame.target is not None
    target = solara.use_reactive(frame.day + 60)  # read when Go is pressed (see NewRun)
    with solara.Div(classes=["klad-row", "klad-controls"]):
        solara.Button(
            "\u275a\u275a Pause" if busy else "\u25b6 Play", on_click=session.pause if busy else session.play,
            color="primary", classes=["klad-play"],
        )  # fmt: skip
        solara.Button("Step a day", on_click=lambda: session.step(1), disabled=busy, classes=["klad-step"])
        solara.Button("+30 days", on_click=lambda: session.skip(30), classes=["klad-skip"])
        with solara.Div(classes=["klad-row"], style={"gap": "4px"}):
            solara.InputInt("Run to day", value=target, classes=["klad-target"], style={"max-width": "8em"})
            solara.Button("Go", on_click=lambda: session.run_to(int(target.value or 0)), classes=["klad-go"])
        solara.Text("Speed, days a second:", classes=["klad-status"])
        speeds = {str(s) if s else "max": s for s in SPEEDS}
        shown = next(name for name, s in speeds.items() if s == frame.speed)
        solara.ToggleButtonsSingle(shown, values=list(speeds), on_value=lambda name: session.set_speed(speeds[name]),
                                   classes=["klad-speed"])  # fmt: skip
        solara.Text(f"Day {frame.day}", classes=["klad-day"])
        if frame.target is not None:
            solara.Text(f"running to day {frame.target}, not drawing on the way", classes=["klad-status"])
        elif frame.day >= LAST_DAY:
            solara.Text("the last day: press New run", classes=["klad-status"])


@solara.component
def PolicyControls(session: Session, policy: Policy, titled: bool):
    """A policy's shocks and levers, what the last shock makes you look for, and the readouts since a change."""
    last_shock, set_last_shock = solara.use_state("")
    levers_open, set_levers_open = solara.use_state(False)

    def shock(key: str) -> Callable[[], None]:
        def press() -> None:
            session.act(policy.name, SHOCKS[key].act)
            set_last_shock(key)

        return press

    with solara.Column(gap="6px", classes=["klad-policy", f"klad-policy-{policy.name}"]):
        with solara.Div(classes=["klad-row"]):
            solara.Text(f"Policy {policy.name}, change it now:" if titled else "Change the policy now:",
                        style={"font-weight": "600"})  # fmt: skip
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
        Readouts(policy, SHOCKS[last_shock].look_for if last_shock else "")


@solara.component
def Levers(session: Session, policy: Policy):
    """Sliders for the levers that act from the next day on, each labelled in plain words."""

    def move(name: str, value) -> None:
        # A slider also reports the value it was given; only a move by the lecturer is a change.
        if value != policy.levers[name] and not (isinstance(value, float) and abs(value - policy.levers[name]) < 1e-9):
            session.act(policy.name, lambda market: market.set_lever(name, value))

    with solara.Div(classes=["klad-row", "klad-levers"]):
        for name, lever in LIVE_LEVERS.items():
            value = policy.levers[name]
            slider = solara.SliderInt if REGISTRY[name].type is int else solara.SliderFloat
            with solara.Div(classes=["klad-lever"]):
                slider(
                    f"{lever.label}: {lever.show(value)}", value=value, min=lever.low, max=lever.high, step=lever.step,
                    on_value=lambda new, name=name: move(name, new), thumb_label=False,
                )  # fmt: skip
        solara.Checkbox(label=BUYER_PRISON_LABEL, value=policy.levers[BUYER_PRISON],
                        on_value=lambda new: move(BUYER_PRISON, new))  # fmt: skip


@solara.component
def Readouts(policy: Policy, look_for: str):
    """Since the last change: each readout against the week before it, the grey run's beside it; and the changes."""
    with solara.Div(classes=["klad-readouts", f"klad-readouts-{policy.name}"]):
        if look_for:
            solara.HTML(tag="div", unsafe_innerHTML=f"<b>Look for:</b> {html.escape(look_for)}")
        if policy.readouts:
            words = ", ".join(r.words() for r in policy.readouts)
            solara.HTML(
                tag="div", unsafe_innerHTML=f"<b>Since day {policy.changed_on}</b>, last 7 days against the 7 before "
                f"the change: {html.escape(words)}", classes=["klad-readout-line"],
            )  # fmt: skip
        else:
            solara.Text(NO_CHANGE_YET)
        if policy.events:
            items = "".join(
                f"<span><span class='klad-number'>{n}</span>day {mark.day}: {html.escape(mark.text)}</span>"
                for n, mark in enumerate(policy.events, start=1)
            )
            solara.HTML(tag="div", unsafe_innerHTML=f"<b>Changes:</b> {items}", classes=["klad-change-list"])


# ------------------------------------------------------------------ the pictures
def Picture(frame: Frame, key: str, classes: list[str]):
    """A picture of the frame at the width it was drawn for (narrower windows shrink it)."""
    if key not in frame.pictures:
        return
    size = frame.sizes[key]
    with solara.Div(classes=["klad-picture", *classes], style={"width": f"{size.width}px", "max-width": "100%"}):
        solara.Image(frame.pictures[key], format="png", width=f"{size.width}px")


def Legend(entries: list[tuple[str, str]], marker: bool = False):
    """A legend in the page's text size: a swatch and a label per entry."""
    items = "".join(
        f"<span><span class='klad-swatch' style='background:{colour}'></span>{html.escape(label)}</span>"
        for label, colour in entries
    )
    solara.HTML(tag="div", unsafe_innerHTML=items, classes=["klad-legend"])


@solara.component
def ChartCard(session: Session, frame: Frame, policy: str, spec: ChartSpec):
    """A chart with its legend, and a button to download it as a PNG for slides."""
    get_png = solara.use_memo(lambda: lambda: session.chart_png(policy, spec.key), [session, policy, spec.key])
    width = frame.sizes[f"{policy}/{spec.key}"].width
    classes = ["klad-chart", f"klad-chart-{spec.key}", f"klad-chart-{policy}-{spec.key}"]
    with solara.Column(gap="0px", classes=classes, style={"width": f"{width}px", "max-width": "100%"}):
        Picture(frame, f"{policy}/{spec.key}", [])
        with solara.Div(classes=["klad-row"], style={"flex-wrap": "nowrap", "align-items": "flex-start"}):
            Legend(legend_entries(spec))
            with solara.FileDownload(get_png, filename=f"klad-{spec.key}-day{frame.day}.png", mime_type="image/png"):
                solara.Button("PNG", icon_name="mdi-download", text=True, classes=["klad-png"])


@solara.component
def Storefronts(policy: Policy):
    """Every shop's storefront: open, found (blocked soon) or blocked (a mirror comes), its mirrors and orders."""
    rows = policy.storefronts
    count = {state: sum(r["state"] == state for r in rows) for state in COLOURS}
    mirrors = sum(r["mirrors"] for r in rows)
    head = (
        f"<h2>Storefronts: {count['open']} open, {count['found']} found, {count['blocked']} blocked; "
        f"{mirrors} mirrors opened</h2>"
    )
    cells = "".join(
        f"<tr><td>shop {r['shop']}{' (abroad)' if r['abroad'] else ''}</td>"
        f"<td style='color:white;background:{COLOURS[r['state']]}'>{html.escape(r['status'])}</td>"
        f"<td align=right>{r['mirrors']}</td><td align=right>{r['orders']:.0f}</td>"
        f"<td align=right>{r['couriers']}</td><td align=right>{r['price']:,.0f}</td></tr>"
        for r in rows
    )
    table = (
        "<div class='klad-storefronts'><table><tr><th>shop</th><th>storefront</th><th>mirrors</th>"
        f"<th>orders a day</th><th>couriers</th><th>KZT a gram</th></tr>{cells}</table></div>"
    )
    note = (
        "A storefront the police found is blocked after the blocking delay; a blocked one comes back as a mirror "
        "a few days later."
    )
    with solara.Column(gap="4px", classes=["klad-storefront-panel", f"klad-storefront-panel-{policy.name}"]):
        solara.HTML(tag="div", unsafe_innerHTML=head + table)
        solara.Text(note, classes=["klad-status"])


@solara.component
def OnePolicy(session: Session, frame: Frame):
    """The lecturer's market: its controls, then the map and storefronts beside the charts."""
    policy = frame.policies[0]
    PolicyControls(session, policy, titled=False)
    with solara.Div(classes=["klad-row", "klad-top"], style={"gap": "16px", "flex-wrap": "nowrap"}):
        with solara.Column(gap="6px", style={"width": f"{frame.sizes['map'].width}px", "flex": "0 0 auto"}):
            Picture(frame, "map", ["klad-map"])
            Legend([(label, colour) for colour, _, _, _, label in MARK_STYLES.values()])
            Storefronts(policy)
        with solara.Div(classes=["klad-row", "klad-top", "klad-charts"], style={"gap": "16px"}):
            for spec in CHARTS:
                ChartCard(session, frame, "A", spec)


@solara.component
def TwoPolicies(session: Session, frame: Frame):
    """Two policies of the same city and seed, each chart of one beside the same chart of the other."""
    with solara.Div(classes=["klad-row", "klad-top"], style={"gap": "16px", "flex-wrap": "nowrap"}):
        for policy in frame.policies:
            with solara.Div(style={"width": f"{frame.sizes[f'{policy.name}/volume'].width}px"}):
                PolicyControls(session, policy, titled=True)
    for spec in CHARTS:
        with solara.Div(classes=["klad-row", "klad-top"], style={"gap": "16px", "flex-wrap": "nowrap"}):
            for policy in frame.policies:
                ChartCard(session, frame, policy.name, spec)
    with solara.Div(classes=["klad-row", "klad-top"], style={"gap": "16px", "flex-wrap": "nowrap"}):
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
    with solara.Div(classes=["klad-row", "klad-top", "klad-story"], style={"gap": "24px", "flex-wrap": "wrap"}):
        with solara.Column(gap="2px", style={"flex": "1 1 420px"}):
            solara.HTML(tag="h2", unsafe_innerHTML="What you see")
            solara.Text(MAP)
            solara.Text(GREY)
            solara.HTML(tag="h2", unsafe_innerHTML="The words")
            solara.HTML(tag="dl", unsafe_innerHTML=glossary)
        with solara.Column(gap="2px", style={"flex": "1 1 420px"}):
            solara.HTML(tag="h2", unsafe_innerHTML="The shocks, and what to look for")
            solara.HTML(tag="dl", unsafe_innerHTML=shocks)
            solara.HTML(tag="h2", unsafe_innerHTML="Take it home")
            solara.FileDownload(get_csv, filename=f"klad-demo-seed{frame.settings.seed}-day{frame.day}.csv",
                                label="The run's daily table (CSV)", mime_type="text/csv")  # fmt: skip
            solara.Text("Each chart's PNG button gives that chart for slides.", classes=["klad-status"])
