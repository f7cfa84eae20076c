"""The words of the demo page: the market's parts, each shock and what to look for, and the live readouts.

What the map and a klad, a stash, a storefront and a mirror are; what each shock does and what to look for
after it; the states of a storefront; and the readouts: each metric over the last days, the coloured run
against the grey run over the same days, in one number ("drugs sold, last 7 days: -12% against the grey run").

Kept apart from the page's layout so that a lecturer can reword them in one place. What a shock makes happen
is checked against runs of the demo city (``sim.app.demo.exercises`` and its test); the words here only name
directions that those runs show.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from sim.app.demo.market import (
    BLOCK_LARGEST,
    CRACKDOWN_DAYS,
    CRACKDOWN_FACTOR,
    PENALTY_FACTOR,
    DemoMarket,
)

MAP = (
    "The city's 64 districts. Blue: police on patrol there today (darker, more). Gold circles: stashes hidden "
    "and not yet picked up (bigger, more). Blue triangles: couriers at work today. Red crosses: street arrests "
    "of the last 7 days."
)

#: What the market's parts are, in the order a lecturer introduces them.
GLOSSARY: tuple[tuple[str, str], ...] = (
    ("Klad", "a dead drop: a small packet of drugs hidden in a public place (under a stone, in a stairwell, on a "
     "magnet behind a pipe). The buyer pays online first and then gets a photo and the coordinates; buyer and "
     "seller never meet."),
    ("Stash", "one hidden packet. A courier hides a batch of 10 to 20 a day; a stash lies in the city until its "
     "buyer picks it up, or the police or a passer-by find it."),
    ("Storefront", "a shop's face online (a Telegram bot or channel, a darknet site), where buyers order and pay. "
     "The police can find it and have it blocked."),
    ("Mirror", "a copy of a blocked storefront under a new address. A shop opens one a few days after the block; "
     "most of its buyers find it again."),
    ("Courier", "hides stashes for a shop and is paid per stash. Couriers take the job, or quit it, by weighing "
     "the pay against how likely and how long a prison term seems to them."),
    ("Lab", "makes the drugs from precursor chemicals and sells them to the shops in bulk."),
    ("KZT", "the Kazakh tenge, the currency (about 500 to a US dollar: [001 L139]). A gram sells for about 20,000 KZT "
     "here; a courier gets about 2,000 KZT a stash."),
)  # fmt: skip

GREY = (
    "Grey lines: the same city and seed, run alongside without your changes. Where the colour leaves the grey, "
    "your change did it; where they wander together, it is the market's own noise."
)


class Shock(NamedTuple):
    """A button that changes the market at once: what it says, what it does, and what to look for after it."""

    label: str
    does: str
    look_for: str
    act: Callable[[DemoMarket], Any]


SHOCKS: dict[str, Shock] = {
    "block": Shock(
        f"Block the {BLOCK_LARGEST} largest storefronts",
        f"The {BLOCK_LARGEST} storefronts with the most orders are blocked tomorrow.",
        "the storefront table turns red and drugs sold dip in the first week, as buyers look for another shop; "
        "within days the blocked shops are back as mirrors and sales return to the grey line.",
        DemoMarket.block_largest_storefronts,
    ),
    "penalties": Shock(
        f"Raise penalties (prison x{PENALTY_FACTOR:g}, buyers jailed)",
        f"Prison terms x{PENALTY_FACTOR:g} for every role, and buyers go to prison instead of paying a fine.",
        "drugs sold fall at once, because buyers now risk prison and order less; couriers fall only slowly, "
        "over months, as the shops need fewer of them. The price hardly moves.",
        DemoMarket.raise_penalties,
    ),
    "crackdown": Shock(
        f"Police crackdown (x{CRACKDOWN_FACTOR:g} police, {CRACKDOWN_DAYS} days)",
        f"{CRACKDOWN_FACTOR:g} times the police on the street for {CRACKDOWN_DAYS} days.",
        "arrests of buyers and couriers jump while it lasts and drugs sold dip a few percent; months later, "
        "sales are still below the grey line in most runs, in some far below.",
        DemoMarket.start_crackdown,
    ),
}

#: What to look for after an exercise's change (``sim.app.demo.exercises``) that no shock makes: directions its
#: claims hold on seeds 1-10.
LOOK_FOR: dict[str, str] = {
    "severity": "almost nothing: two to three months later, couriers at work and drugs sold are still near the grey "
    "line. Couriers rarely see a peer arrested and discount the future: a longer term barely changes the job's cost.",
    "certainty": "courier arrests rise first; then couriers at work fall below the grey line as they learn the risk, "
    "and courier pay and the retail price climb above it: the risk premium.",
}

#: Before any change, what the readouts say instead.
NO_CHANGE_YET = (
    "No change yet. Let the market run about 60 days to settle, then press a shock, move a lever or pick an "
    "exercise: here you will see what it did, against the grey run."
)

#: The readouts: label, metric, and the unit of its means (for the tooltip).
READOUTS: tuple[tuple[str, str, str], ...] = (
    ("drugs sold", "grams_sold", "grams a day"),
    ("couriers at work", "active_couriers", "couriers"),
    ("retail price", "price_per_gram", "KZT a gram"),
    ("courier pay", "courier_pay", "KZT a stash"),
)
#: Days a readout is read over, as the page offers them: the last days (at most this many since the first change).
READOUT_WINDOWS = (7, 30)
READOUT_DAYS = READOUT_WINDOWS[0]


class Readout(NamedTuple):
    """A metric over the last days, the coloured run against the grey run over the same days: one number."""

    label: str
    unit: str
    first: int  # days read, both included
    last: int
    mean: float  # the coloured run's mean over the days
    grey: float  # the grey run's mean over the same days
    change: float | None  # mean / grey - 1: -0.12 is 12% less than the grey run (None: the grey run had none)

    @property
    def days(self) -> int:
        """How many days are read."""
        return self.last - self.first + 1

    def number(self) -> str:
        """The one number: "\u221212%", "+3%", "0%"; "n/a" where the grey run had none and the coloured run some."""
        return "n/a" if self.change is None else _percent(self.change)

    def words(self) -> str:
        """The readout in a line: "drugs sold, last 7 days: \u221212% against the grey run"."""
        if self.change is None:
            return f"{self.label}, last {self.days} days: none in the grey run, {self.mean:,.0f} {self.unit} in yours"
        return f"{self.label}, last {self.days} days: {self.number()} against the grey run"

    def detail(self) -> str:
        """Both means, for a tooltip: "days 144-150: 152 grams a day; grey run 173"."""
        return f"days {self.first}-{self.last}: {self.mean:,.0f} {self.unit}; grey run {self.grey:,.0f}"


def _percent(share: float) -> str:
    if round(share * 100) == 0:
        return "0%"
    return f"{share:+.0%}".replace("-", "\u2212")


def readouts(
    market: DemoMarket, twin: DemoMarket | None, since: int | None, days: int = READOUT_DAYS
) -> tuple[Readout, ...]:
    """Each readout metric over the last ``days`` days (none before day ``since``), the run against ``twin``.

    ``twin`` is the grey run (the same city and seed without the lecturer's changes) and ``since`` the first day
    a change of the lecturer's acted on ``market``. Empty while there is no grey run, no change, or the change
    has not acted yet: the two runs are then the same.
    """
    if twin is None or twin is market or since is None or market.steps < since:
        return ()
    first, last = max(since, market.steps - days + 1), market.steps
    shown = []
    for label, metric, unit in READOUTS:
        mine, grey = _mean(market, metric, first, last), _mean(twin, metric, first, last)
        change = mine / grey - 1.0 if grey > 0 else (0.0 if mine == 0 else None)
        shown.append(Readout(label, unit, first, last, mine, grey, change))
    return tuple(shown)


def _mean(market: DemoMarket, metric: str, first: int, last: int) -> float:
    """A metric's mean over days ``first`` to ``last`` (day 1 is the first day run)."""
    values = np.asarray(market.datacollector.tables["daily"][metric][first - 1 : last], dtype=float)
    return float(values.mean())
