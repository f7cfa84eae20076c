"""The page of ``klad demo``: Mesa's SolaraViz over a ``DemoMarket``.

``solara run sim.app.demo.page`` serves ``Page``; ``klad demo`` does that for you
(``sim.app.demo.market.serve``). The page has, from Mesa: play / step / reset, the model
parameters applied at reset (scenario, seed, policy day), and the city map
drawn by a ``SpaceRenderer``. Around it, from here: the storefront panel, four
live charts, and in the sidebar the levers that act at once and the shock
buttons. ``KLAD_DEMO_SCENARIO`` (set by ``klad demo --scenario FILE``) names a
scenario file to offer first.
"""

from __future__ import annotations

import html
import os

import numpy as np
import solara
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from mesa.visualization import Slider, SolaraViz, SpaceRenderer
from mesa.visualization.components import AgentPortrayalStyle, PropertyLayerStyle
from mesa.visualization.utils import force_update, update_counter

from sim.app.demo.market import (
    BLOCK_LARGEST,
    CRACKDOWN_DAYS,
    CRACKDOWN_FACTOR,
    DEMO_POLICY_DAY,
    LIVE_LEVERS,
    PENALTY_FACTOR,
    DemoMarket,
    MapMark,
    shipped_scenarios,
)
from sim.params import REGISTRY

SCENARIOS = shipped_scenarios(os.environ.get("KLAD_DEMO_SCENARIO") or None)
FIRST_SCENARIO = next(iter(SCENARIOS))

#: Patrol officers in a district at the darkest shade (today's busiest district has about 10).
PATROL_SHADE_MAX = 15.0

#: How each kind of mark looks: colour, marker, edge, drawing order, and its legend label.
MARK_STYLES = {
    "stashes": ("#e0a526", "o", "#7a5200", 2, "stashes hidden there\n(bigger: more)"),
    "courier": ("#1f4e9c", "^", "white", 3, "courier at work today"),
    "arrest": ("#d62728", "X", "black", 4, "arrest in the\nlast 7 days"),
}


def portray_mark(mark: MapMark) -> AgentPortrayalStyle:
    """How a map mark is drawn: a stash pile grows with its stashes; couriers and arrests are one mark each."""
    color, marker, edge, zorder, _ = MARK_STYLES[mark.kind]
    size = 12.0 * mark.count**0.7 if mark.kind == "stashes" else 70.0
    return AgentPortrayalStyle(
        x=mark.x, y=mark.y, color=color, marker=marker, size=size, zorder=zorder, edgecolors=edge, linewidths=0.8
    )


def portray_layer(layer) -> PropertyLayerStyle | None:
    """Shade districts by the police on patrol there; the other layers stay hidden."""
    if layer.name != "patrol":
        return None
    return PropertyLayerStyle(colormap="Blues", vmin=0.0, vmax=PATROL_SHADE_MAX, alpha=0.9, colorbar=False)


def finish_map(ax) -> None:
    """Title, no axis ticks, and a legend of the shading and the marks beside the map."""
    ax.set_title("The city: 64 districts", fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])
    handles = [Patch(facecolor=colormaps["Blues"](0.75), label="darker: more police\non patrol")] + [
        Line2D([], [], linestyle="", marker=marker, markersize=8, color=color, markeredgecolor=edge, label=label)
        for color, marker, edge, _, label in MARK_STYLES.values()
    ]
    ax.legend(handles=handles, loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize=8, frameon=False)


class CityMap(SpaceRenderer):
    """Mesa's space renderer for the city, set up for the demo; Mesa copies it on reset."""

    def __init__(self, model: DemoMarket, backend: str = "matplotlib"):
        super().__init__(model, backend=backend)
        self.model = model
        fig = self.backend_renderer.fig
        fig.set_layout_engine("none")  # a fixed layout draws several times faster than a constrained one
        fig.set_size_inches(4.8, 3.4)
        self.backend_renderer.ax.set_position([0.01, 0.02, 0.6, 0.9])
        self.setup_structure(color="#bbbbbb", linestyle="-", linewidth=0.5)
        self.setup_agents(portray_mark)
        self.setup_propertylayer(portray_layer)
        self.post_process = finish_map
        self.render()

    def draw_agents(self, *args, **kwargs):
        """Draw the marks of one finished day (the market may be running the next one in another thread)."""
        with self.model.lock:
            return super().draw_agents(*args, **kwargs)


# ------------------------------------------------------------------ panels
def StorefrontPanel(model: DemoMarket):
    """Every shop's storefront: open, found (blocked soon) or blocked (a mirror comes), and its mirrors."""
    with model.lock:
        rows = model.storefronts()
        day, closed, mirrors = model.steps, len(model.shops) - len(rows), int(model.shops.mirrors.sum())
    colours = {"open": "#2e7d32", "found": "#ef6c00", "blocked": "#c62828"}
    count = {state: sum(r["state"] == state for r in rows) for state in colours}
    head = (
        f"<b>Storefronts, day {day}</b>: {count['open']} open, {count['found']} found, "
        f"{count['blocked']} blocked; {mirrors} mirrors opened so far"
        + (f"; {closed} shop(s) closed" if closed else "")
    )
    cells = "".join(
        f"<tr><td>#{r['shop']}{' (abroad)' if r['abroad'] else ''}</td>"
        f"<td style='color:white;background:{colours[r['state']]};padding:1px 6px'>{html.escape(r['status'])}</td>"
        f"<td align=right>{r['mirrors']}</td><td align=right>{r['orders']:.0f}</td>"
        f"<td align=right>{r['couriers']}</td><td align=right>{r['price']:,.0f}</td></tr>"
        for r in rows
    )
    table = (
        "<table class='klad-storefronts' style='font-size:12px;border-spacing:4px 2px'>"
        "<tr><th>shop</th><th>storefront</th><th>mirrors</th><th>orders/day</th><th>couriers</th>"
        f"<th>KZT/g</th></tr>{cells}</table>"
    )
    note = (
        "<div style='font-size:11px;color:#555'>A found storefront is blocked after the blocking delay; "
        "a blocked one reopens as a mirror a few days later, with fewer customers.</div>"
    )
    return solara.HTML(tag="div", unsafe_innerHTML=f"<div>{head}</div>{table}{note}", classes=["klad-storefront-panel"])


def _history(model: DemoMarket, column: str, window: int = 1, total: bool = False) -> np.ndarray:
    """A metric by day, as a trailing mean (or total) over ``window`` days."""
    values = np.asarray(model.datacollector.tables["daily"][column][: model.days_recorded], dtype=float)
    if window <= 1 or len(values) == 0:
        return values
    sums = np.cumsum(np.concatenate([[0.0], values]))
    days = np.arange(1, len(values) + 1)
    start = np.maximum(0, days - window)
    out = sums[days] - sums[start]
    return out if total else out / (days - start)


class LiveChart:
    """A line chart of metrics by day that is updated in place, which is several times faster than redrawing it.

    Args:
        title: chart title.
        ylabel: left axis label.
        series: label -> (metric, colour, window in days, total over the window instead of mean).
        right: (axis label, series) for series on a right-hand axis.
        zero: start the axes at zero (off where the changes are small against the level, as for prices).
    """

    def __init__(self, title: str, ylabel: str, series: dict[str, tuple], right: tuple | None = None, zero=True):
        self.zero = zero
        self.fig = Figure(figsize=(4.6, 3.6), dpi=100)
        self.fig.subplots_adjust(left=0.13, right=0.87 if right else 0.96, top=0.92, bottom=0.32)
        ax = self.fig.subplots()
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("day", fontsize=8)
        ax.set_ylabel(ylabel, fontsize=8)
        self.axes = [ax]
        self.lines = []  # (line, axis, metric, window, total)
        for table in [series, right[1]] if right else [series]:
            if table is not series:
                self.axes.append(ax.twinx())
                self.axes[-1].set_ylabel(right[0], fontsize=8)
            for label, (metric, colour, window, total) in table.items():
                (line,) = self.axes[-1].plot([], [], color=colour, label=label, lw=1.6)
                self.lines.append((line, self.axes[-1], metric, window, total))
        for axis in self.axes:
            axis.tick_params(labelsize=7)
        ax.legend(
            handles=[line for line, *_ in self.lines],
            fontsize=7,
            loc="upper center",
            bbox_to_anchor=(0.5, -0.18),
            ncol=2,
            frameon=False,
        )
        self.marks: list = []

    def update(self, model: DemoMarket) -> Figure:
        """Show the market's history up to today, with its policy events."""
        days = np.arange(1, model.days_recorded + 1)
        shown: dict = {axis: [] for axis in self.axes}
        for line, axis, metric, window, total in self.lines:
            values = _history(model, metric, window, total)
            line.set_data(days, values)
            shown[axis].append(values)
        for axis, values in shown.items():
            values = np.concatenate(values)
            low, high = (float(values.min()), float(values.max())) if len(values) else (0.0, 1.0)
            low = 0.0 if self.zero else low
            pad = 0.06 * (high - low) or 0.06 * abs(high) or 1.0
            # With a right-hand axis, the left one's lines keep below the right one's.
            top = high + (8 * pad if axis is self.axes[0] and len(self.axes) > 1 else pad)
            axis.set_ylim(low if self.zero else low - pad, top)
            axis.set_xlim(0, max(30, model.days_recorded))
        for mark in self.marks:
            mark.remove()
        ax = self.axes[0]
        self.marks = []
        texts: dict[int, list[str]] = {}
        for day, text in model.events:
            texts.setdefault(day, []).append(text)
        for day, text in ((day, " + ".join(t)) for day, t in texts.items()):
            self.marks.append(ax.axvline(day, color="#555555", linestyle="--", lw=0.8))
            self.marks.append(
                ax.annotate(text, (day, 0.98), xycoords=("data", "axes fraction"), rotation=90, va="top", ha="right",
                            fontsize=6, color="#333333")
            )  # fmt: skip
        return self.fig


def make_chart(title: str, ylabel: str, series: dict[str, tuple], right: tuple | None = None, zero: bool = True):
    """A page component showing a ``LiveChart`` of the model (a new chart for each new model)."""

    def Chart(model: DemoMarket):
        chart = solara.use_memo(lambda: LiveChart(title, ylabel, series, right, zero), [model])
        with model.lock:  # a day's data whole, even while the market runs the next day in another thread
            figure = chart.update(model)
            changed = [model, model.days_recorded, len(model.events), model.events[-1:]]
        with solara.Div(classes=["klad-chart", f"klad-chart-{slug}"]) as chart_box:
            # The figure object stays the same, so tell Solara when its picture changes.
            solara.FigureMatplotlib(figure, dependencies=changed, format="png")
        return chart_box

    slug = "-".join(title.lower().split())
    Chart.__name__ = "Chart_" + slug.replace("-", "_")
    return Chart


CHARTS = [
    make_chart(
        "Volume sold", "grams per day",
        {"grams sold (7-day mean)": ("grams_sold", "#2e7d32", 7, False), "daily": ("grams_sold", "#a5d6a7", 1, False)},
    ),
    make_chart(
        "Retail price", "KZT per gram",
        {"price per gram": ("price_per_gram", "#6a1b9a", 1, False)},
        right=("KZT per stash", {"courier pay per stash (right)": ("courier_pay", "#ba68c8", 1, False)}), zero=False,
    ),
    make_chart(
        "Active in the market", "couriers, shops",
        {"couriers at work": ("active_couriers", "#1f4e9c", 1, False),
         "shops": ("active_shops", "#ef6c00", 1, False),
         "open storefronts": ("active_storefronts", "#2e7d32", 1, False)},
        right=("buyers", {"buyers (right axis)": ("active_buyers", "#777777", 1, False)}),
    ),
    make_chart(
        "Arrests by role", "arrests in the last 30 days",
        {"buyers": ("arrests_buyer", "#777777", 30, True), "couriers": ("arrests_courier", "#1f4e9c", 30, True),
         "operators": ("arrests_operator", "#ef6c00", 30, True), "labs": ("arrests_lab", "#c62828", 30, True)},
    ),
]  # fmt: skip


# ------------------------------------------------------------ the sidebar
@solara.component
def PolicyPanel(model: DemoMarket):
    """Shock buttons and lever sliders that change the running market from the next day on."""
    update_counter.get()  # redraw with the market: sliders show the values in force

    def act(action):
        def on_click():
            action()
            force_update()

        return on_click

    def change_lever(name: str, value) -> None:
        # A slider also reports the value it was given; only a move by the lecturer is a change.
        if not np.isclose(value, getattr(model.p, name)):
            model.set_lever(name, value)
            force_update()

    shocks = (
        (f"Block the {BLOCK_LARGEST} largest storefronts", model.block_largest_storefronts, "klad-shock-block"),
        (f"Raise penalties (prison x{PENALTY_FACTOR:g}, buyers jailed)", model.raise_penalties, "klad-shock-penalties"),
        (f"Police crackdown (x{CRACKDOWN_FACTOR:g} police, {CRACKDOWN_DAYS} days)", model.start_crackdown,
         "klad-shock-crackdown"),
    )  # fmt: skip
    with solara.Card("Policy shock now"):
        for label, action, css in shocks:
            solara.Button(label, on_click=act(action), color="error", block=True, classes=[css])
        with solara.Column(gap="2px", style={"font-size": "13px", "margin-top": "6px"}):
            solara.Text(f"Day {model.steps}. Scenario: {model.scenario_name}.")
            if model.scenario_policy:
                changes = ", ".join(f"{k} = {v}" for k, v in model.scenario_policy.items())
                state = "in force" if model.policy_active else f"from day {model.p.policy_start_day}"
                solara.Text(f"Its policy: {changes} ({state}).")
            for day, text in model.events[-4:]:
                solara.Text(f"Day {day}: {text}")
    with solara.Card("Policy levers, from the next day on"):
        for name, (label, low, high, step) in LIVE_LEVERS.items():
            slider = solara.SliderInt if REGISTRY[name].type is int else solara.SliderFloat
            slider(
                f"{label}: {getattr(model.p, name):g}", value=getattr(model.p, name), min=low, max=high, step=step,
                on_value=lambda value, name=name: change_lever(name, value), thumb_label=False,
            )  # fmt: skip
        solara.Checkbox(
            label="Prison for buyers (instead of a fine)", value=model.p.buyer_imprisonment,
            on_value=lambda value: change_lever("buyer_imprisonment", value),
        )  # fmt: skip


#: Applied when the lecturer presses Reset: every name is a ``DemoMarket`` argument.
MODEL_PARAMS = {
    "preset": {"type": "Select", "value": FIRST_SCENARIO, "values": list(SCENARIOS), "label": "Scenario"},
    "seed": Slider("Seed", value=1, min=0, max=99, step=1),
    "policy_start_day": Slider(
        "Day the scenario's policy starts",
        value=DEMO_POLICY_DAY,
        min=int(REGISTRY["policy_start_day"].low),
        max=365,
        step=5,
    ),
}


class ScenarioMarket(DemoMarket):
    """A ``DemoMarket`` that looks scenario names up among the page's scenarios (Mesa builds it on reset)."""

    def __init__(self, preset: str = FIRST_SCENARIO, seed: int = 1, policy_start_day: int = DEMO_POLICY_DAY):
        super().__init__(preset, seed, policy_start_day, scenarios=SCENARIOS)


@solara.component
def Page():
    """The demo page: one market per browser session."""
    first = solara.use_memo(ScenarioMarket, [])
    model = solara.use_reactive(first)
    city_map = solara.use_memo(lambda: CityMap(first), [])
    PolicySidebar(model.value)
    SolaraViz(
        model,
        renderer=city_map,
        components=[StorefrontPanel, *CHARTS],
        model_params=MODEL_PARAMS,
        name="klad market: classroom demo",
        play_interval=100,
        use_threads=True,  # the market runs on while the page draws; the page shows the latest day
    )


@solara.component
def PolicySidebar(model: DemoMarket):
    """The policy panel, in the sidebar under Mesa's controls (it renders after them)."""
    with solara.Sidebar():
        PolicyPanel(model)
