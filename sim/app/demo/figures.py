"""The demo's pictures: the city map and the charts, drawn with Matplotlib and sent to the page as PNG.

Each picture is one Matplotlib figure kept for the page's lifetime and updated
in place (new data on the same lines and markers), which is several times
faster than drawing it anew. A picture is drawn at the size the page shows it
(``Size``, from the browser window's width), so that text keeps its size on a
projector and on a wide screen: every text in a figure is at least
``SMALLEST_TEXT`` points. Every chart starts its axes at zero and shows, in
grey, the same city without the lecturer's changes (the twin run), so that an
effect stands out against the market's own noise.
"""

from __future__ import annotations

import io
from typing import NamedTuple

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator, StrMethodFormatter

from sim.app.demo.market import STOREFRONT_STATES, DemoMarket

#: The smallest text in a figure (tick labels, legends, event numbers), in points.
SMALLEST_TEXT = 12
TITLE_TEXT = 14
#: The twin run's lines: the same city and seed without the lecturer's changes.
TWIN_COLOUR = "#9e9e9e"
TWIN_LABEL = "grey: without your changes"
#: Patrol officers in a district at the darkest shade (today's busiest district has about 10).
PATROL_SHADE_MAX = 15.0


class Size(NamedTuple):
    """A picture's size on the page in CSS pixels, how large its text is, and how finely it is drawn.

    At ``zoom`` 1 a point of text is 100/72 CSS pixels (12 points: 16.7 px); ``zoom`` 0.8 makes text smaller to
    fit more on a desk's screen. ``scale`` is device pixels per CSS pixel (2 for a sharp export).
    """

    width: int
    height: int
    scale: float = 1.0
    zoom: float = 1.0

    @property
    def dpi(self) -> float:
        """Dots per inch of the drawing."""
        return CSS_DPI * self.zoom * self.scale

    def px(self, points: float) -> float:
        """CSS pixels of ``points`` of text at this size."""
        return points * CSS_DPI * self.zoom / 72.0


#: Dots per inch of a figure drawn at one device pixel per CSS pixel, at zoom 1.
CSS_DPI = 100.0


def png(fig: Figure) -> bytes:
    """The figure as PNG bytes (light compression: the pictures travel on a local connection)."""
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=fig.dpi, pil_kwargs={"compress_level": 1})
    return out.getvalue()


def _resize(fig: Figure, size: Size, margins: tuple[float, float, float, float]) -> None:
    """Set the figure's size and its axes' margins (left, right, top, bottom) given in pixels."""
    fig.set_dpi(size.dpi)
    fig.set_size_inches(size.width / (CSS_DPI * size.zoom), size.height / (CSS_DPI * size.zoom))
    left, right, top, bottom = margins
    fig.subplots_adjust(
        left=left / size.width,
        right=1 - right / size.width,
        top=1 - top / size.height,
        bottom=min(bottom / size.height, 0.6),
    )


# -------------------------------------------------------------------- the map
#: How each kind of mark looks: colour, marker, edge colour, drawing order, legend label.
MARK_STYLES = {
    "stashes": ("#e0a526", "o", "#7a5200", 2, "stashes hidden there (bigger: more)"),
    "couriers": ("#1f4e9c", "^", "white", 3, "a courier at work today"),
    "arrests": ("#d62728", "X", "black", 4, "an arrest in the last 7 days"),
}


class CityMap:
    """The city's districts shaded by today's police patrols, with stashes, couriers at work and arrests.

    The legend is the page's (``MARK_STYLES``), in the page's own text size.
    """

    def __init__(self, shape: tuple[int, int] = (8, 8)):
        self.shape = shape
        self.fig = Figure()
        self.fig.set_layout_engine("none")  # a fixed layout draws several times faster than a constrained one
        ax = self.ax = self.fig.subplots()
        width, height = shape
        self.patrol = ax.imshow(
            np.zeros((height, width)), cmap="Blues", vmin=0.0, vmax=PATROL_SHADE_MAX, origin="lower",
            extent=(-0.5, width - 0.5, -0.5, height - 0.5), interpolation="nearest", alpha=0.9,
        )  # fmt: skip
        ax.set_xticks(np.arange(width + 1) - 0.5, minor=True)
        ax.set_yticks(np.arange(height + 1) - 0.5, minor=True)
        ax.grid(which="minor", color="white", linewidth=1.0)
        ax.tick_params(which="both", length=0, labelbottom=False, labelleft=False)
        ax.set_xlim(-0.5, width - 0.5)
        ax.set_ylim(-0.5, height - 0.5)
        self.marks = {}
        for kind, (colour, marker, edge, order, _) in MARK_STYLES.items():
            self.marks[kind] = ax.scatter(
                [], [], c=colour, marker=marker, edgecolors=edge, linewidths=0.8, zorder=order
            )
        self.title = ax.set_title("", fontsize=TITLE_TEXT)
        self.size: Size | None = None

    def draw(self, market: DemoMarket, size: Size) -> bytes:
        """The map of the market's last day, as PNG."""
        if size != self.size:
            self.size = size
            title = size.px(2.0 * TITLE_TEXT)
            side = min(size.width - 4, size.height - title - 4)
            left = (size.width - side) / 2
            _resize(self.fig, size, (left, left, title, size.height - title - side))
        width, height = self.shape
        self.patrol.set_data(market.city.patrol.reshape(width, height).T)
        marks = market.map_marks()
        self.marks["stashes"].set_offsets(marks.stashes)
        self.marks["stashes"].set_sizes(MARK_AREA / 5 * marks.stash_counts**0.7)  # points squared
        for kind in ("couriers", "arrests"):
            self.marks[kind].set_offsets(getattr(marks, kind))
            self.marks[kind].set_sizes([MARK_AREA])
        self.title.set_text(f"The city, day {market.steps}")
        return png(self.fig)


#: Area of a courier's or an arrest's mark on the map, in points squared (a stash pile's grows with its stashes).
MARK_AREA = 90.0


# ----------------------------------------------------------------- the charts
class Series(NamedTuple):
    """One line of a chart: a daily metric, possibly as a trailing mean or total."""

    label: str
    metric: str
    colour: str
    window: int = 1  # days of the trailing mean (or total)
    total: bool = False  # the trailing total instead of the mean
    right: bool = False  # on the right-hand axis
    faint: bool = False  # a thin light line under another (the daily values under their mean): no grey twin
    stack: bool = False  # a band of a stacked area, on the bands before it; its grey twin is its upper edge


class ChartSpec(NamedTuple):
    """A chart: its key on the page, title, axis labels and lines."""

    key: str
    title: str
    left: str
    series: tuple[Series, ...]
    right: str = ""
    main: bool = True  # on the page's one screen (else below it, with the secondary parts)


#: The colour of each storefront state, in the storefront chart and table.
STATE_COLOURS = {"open": "#2e7d32", "found": "#ef6c00", "blocked": "#c62828"}
#: The storefront states as daily series: name -> column of ``DemoMarket.storefront_days``.
STOREFRONT_SERIES = {f"storefronts_{state}": column for column, state in enumerate(STOREFRONT_STATES)}


CHARTS: tuple[ChartSpec, ...] = (
    ChartSpec("volume", "Drugs sold", "grams a day", (
        Series("7-day mean", "grams_sold", "#2e7d32", 7),
        Series("each day", "grams_sold", "#a5d6a7", faint=True),
    )),
    ChartSpec("price", "Price and courier pay", "KZT per gram", (
        Series("retail price a gram", "price_per_gram", "#6a1b9a"),
        Series("courier pay a stash (right)", "courier_pay", "#d81b60", right=True),
    ), right="KZT per stash"),
    ChartSpec("people", "Couriers and buyers", "couriers at work", (
        Series("couriers at work", "active_couriers", "#1f4e9c"),
        Series("buyers (right)", "active_buyers", "#8d6e63", right=True),
    ), right="buyers"),
    ChartSpec("shops", "Storefronts", "shops, 7-day mean", tuple(
        Series(STOREFRONT_STATES[state], f"storefronts_{state}", STATE_COLOURS[state], 7, stack=True)
        for state in ("blocked", "found", "open")  # stacked from the bottom: the top edge is the shops in business
    )),
    ChartSpec("arrests", "Arrests in the last 30 days", "arrests", (
        Series("buyers", "arrests_buyer", "#8d6e63", 30, True),
        Series("couriers", "arrests_courier", "#1f4e9c", 30, True),
        Series("shop operators", "arrests_operator", "#ef6c00", 30, True),
        Series("lab chemists", "arrests_lab", "#c62828", 30, True),
    ), main=False),
)  # fmt: skip


def daily_values(market: DemoMarket, metric: str) -> np.ndarray:
    """A metric's value on each day run (day 1 first): the market's, or a storefront state's count of shops."""
    if metric in STOREFRONT_SERIES:
        return market.storefront_days()[:, STOREFRONT_SERIES[metric]].astype(float)
    return np.asarray(market.datacollector.tables["daily"][metric][: market.days_recorded], dtype=float)


def history(market: DemoMarket, series: Series) -> np.ndarray:
    """A series' values by day (day 1 first), as its trailing mean or total over its window."""
    values = daily_values(market, series.metric)
    if series.window <= 1 or len(values) == 0:
        return values
    sums = np.cumsum(np.concatenate([[0.0], values]))
    days = np.arange(1, len(values) + 1)
    start = np.maximum(0, days - series.window)
    out = sums[days] - sums[start]
    return out if series.total else out / (days - start)


class Chart:
    """A chart of one ``ChartSpec``: the lecturer's run in colour, its twin in grey, every change marked."""

    def __init__(self, spec: ChartSpec, legend: bool = False):
        self.spec = spec
        self.fig = Figure()
        self.fig.set_layout_engine("none")
        ax = self.fig.subplots()
        self.axes = {False: ax}
        if any(s.right for s in spec.series):
            self.axes[True] = ax.twinx()
            self.axes[True].set_ylabel(spec.right)
        self.title = ax.set_title(spec.title, fontsize=TITLE_TEXT, loc="left")
        ax.set_xlabel("day")
        ax.set_ylabel(spec.left)
        self.lines: list[tuple[Line2D, Series, bool]] = []  # (line, series, twin)
        self.bands: list = []  # the stacked areas of the last drawing (drawn anew each time)
        for series in spec.series:
            axis = self.axes[series.right]
            if series.stack:  # the band is drawn with the data; its upper edge in the grey run is a line
                (twin,) = axis.plot([], [], color=TWIN_COLOUR, lw=1.8, zorder=3)
                self.lines.append((twin, series, True))
                continue
            if not series.faint:
                (twin,) = axis.plot([], [], color=TWIN_COLOUR, lw=1.6, zorder=1)
                self.lines.append((twin, series, True))
            (line,) = axis.plot([], [], color=series.colour, lw=1.0 if series.faint else 2.2, label=series.label,
                                zorder=2 if series.faint else 3)  # fmt: skip
            self.lines.append((line, series, False))
        for axis in self.axes.values():
            axis.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
            axis.yaxis.set_major_locator(MaxNLocator(5, integer=True))
            axis.spines["top"].set_visible(False)
        self.legend = None  # on the page, the page's own legend (``legend``) is shown under the picture
        if legend:
            handles = [Line2D([], [], color=colour, lw=6 if any(s.stack for s in spec.series) else 2, label=label)
                       for label, colour in legend_entries(spec)]  # fmt: skip
            self.legend = self.fig.legend(handles=handles, loc="lower left", ncol=1, frameon=False, handlelength=1.5,
                                          fontsize=SMALLEST_TEXT, borderaxespad=0.2)  # fmt: skip
        self.marks: list = []
        self.size: Size | None = None

    def tops(self, market: DemoMarket, twin: DemoMarket) -> dict[bool, float]:
        """The highest value on each axis (left, right) over the run and its twin."""
        tops = dict.fromkeys(self.axes, 0.0)
        for series in self.spec.series:
            for run in (market, twin):
                values = self._values(run, series)
                if len(values):
                    tops[series.right] = max(tops[series.right], float(np.nanmax(values)))
        return tops

    def _values(self, market: DemoMarket, series: Series) -> np.ndarray:
        """A series' values by day; for a band of a stacked area, its upper edge (the sum of the bands to it)."""
        if not series.stack:
            return history(market, series)
        bands = [s for s in self.spec.series if s.stack]
        return np.sum([history(market, s) for s in bands[: bands.index(series) + 1]], axis=0)

    def draw(self, market: DemoMarket, twin: DemoMarket, size: Size, tops: dict[bool, float] | None = None) -> bytes:
        """The chart of the market's days so far, as PNG; ``tops`` (from ``tops``) shares axes with another chart."""
        if size != self.size:
            self._fit(size)
        tops = tops or self.tops(market, twin)
        # The days run, and a change made today (it acts tomorrow): its mark is inside the axes.
        days = max(30, market.days_recorded, *(mark.day for mark in market.events))
        for line, series, is_twin in self.lines:
            values = self._values(twin if is_twin else market, series)
            line.set_data(np.arange(1, len(values) + 1), values)
        self._stack(market)
        for right, axis in self.axes.items():
            # Room above the lines for the change numbers; the left lines keep below the right ones.
            headroom = 1.3 if right or len(self.axes) == 1 else 2.0
            axis.set_ylim(0.0, max(tops[right] * headroom, 1.0))
            axis.set_xlim(0, days)
        self._mark_changes(market)
        return png(self.fig)

    def _stack(self, market: DemoMarket) -> None:
        """The stacked areas of the run, each band on the ones before it."""
        for band in self.bands:
            band.remove()
        self.bands = []
        lower = None
        for series in self.spec.series:
            if not series.stack:
                continue
            upper = self._values(market, series)
            days = np.arange(1, len(upper) + 1)
            base = np.zeros_like(upper) if lower is None else lower
            self.bands.append(self.axes[series.right].fill_between(
                days, base, upper, color=series.colour, alpha=0.75, linewidth=0, zorder=2, label=series.label
            ))  # fmt: skip
            lower = upper

    def _mark_changes(self, market: DemoMarket) -> None:
        """A dashed line on each day something changed, numbered as in the page's list of changes."""
        for mark in self.marks:
            mark.remove()
        ax = self.axes[False]
        by_day: dict[int, list[str]] = {}
        for number, mark in enumerate(market.events, start=1):
            by_day.setdefault(mark.day, []).append(str(number))
        self.marks = []
        for day, numbers in by_day.items():
            self.marks.append(ax.axvline(day, color="#444444", linestyle="--", lw=1.0, zorder=4))
            self.marks.append(
                ax.annotate(",".join(numbers), (day, 1.0), xycoords=("data", "axes fraction"), ha="center", va="top",
                            fontsize=SMALLEST_TEXT, color="white", zorder=5,
                            bbox={"boxstyle": "round,pad=0.2", "facecolor": "#444444", "edgecolor": "none"})
            )  # fmt: skip

    def _fit(self, size: Size) -> None:
        """Lay the chart out for a new size: margins for ticks ("40,000"), labels and legend at their point sizes."""
        self.size = size
        text = size.px(SMALLEST_TEXT)
        legend = 0.0 if self.legend is None else len(self.legend.get_texts()) * 1.45 * text + 6
        right = 6.2 * text if len(self.axes) > 1 else 1.5 * text
        _resize(self.fig, size, (6.2 * text, right, size.px(2.0 * TITLE_TEXT), legend + 2.6 * text))
        days_width = size.width - 6.2 * text - right
        self.axes[False].xaxis.set_major_locator(MaxNLocator(max(3, int(days_width / (4 * text))), integer=True))
        for axis in self.axes.values():
            axis.tick_params(labelsize=SMALLEST_TEXT)
            axis.yaxis.label.set_fontsize(SMALLEST_TEXT)
        self.axes[False].xaxis.label.set_fontsize(SMALLEST_TEXT)
        self.axes[False].xaxis.labelpad = 0


def legend_entries(spec: ChartSpec, grey: bool = True) -> list[tuple[str, str]]:
    """A chart's legend: (label, colour) of each line or band the legend names (bands from the top), the grey last.

    Without ``grey``, the page says once what grey is, for every chart.
    """
    named = [(s.label, s.colour) for s in spec.series if not s.faint]
    if any(s.stack for s in spec.series):
        named.reverse()  # as the bands lie, the top one first
    return named + ([(TWIN_LABEL, TWIN_COLOUR)] if grey else [])


def export_png(spec: ChartSpec, market: DemoMarket, twin: DemoMarket) -> bytes:
    """A chart for a handout or slides, with its legend: drawn anew at twice the screen's resolution."""
    return Chart(spec, legend=True).draw(market, twin, Size(720, 520, 2.0))
