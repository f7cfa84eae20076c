"""The words of the demo page: the market's parts, each shock and what to look for, and the live readouts.

What the map and a klad, a stash, a storefront and a mirror are; what each shock does and what to look for
after it; and the readouts of the last week against the week before a change ("drugs sold -18%").

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

#: Before any change, what the readouts say instead.
NO_CHANGE_YET = (
    "No change yet. Let the market run about 60 days to settle, then press a shock or move a lever: "
    "here you will see what it did."
)

#: The readouts: label, metric, and how a value is shown.
READOUTS: tuple[tuple[str, str], ...] = (
    ("drugs sold", "grams_sold"),
    ("couriers at work", "active_couriers"),
    ("retail price", "price_per_gram"),
    ("courier pay", "courier_pay"),
)
#: Days compared: the last days (at most this many) against as many before the change.
READOUT_DAYS = 7


class Readout(NamedTuple):
    """A metric since the last change: its mean over the last days, and its change against the week before."""

    label: str
    mean: float
    change: float  # share: -0.18 is 18% less than in the week before the change
    twin_change: float | None  # the same change in the grey run (None: no grey run yet)

    def words(self) -> str:
        """The readout in a line: "drugs sold -18% (grey: -2%)"."""
        grey = f" (grey: {_percent(self.twin_change)})" if self.twin_change is not None else ""
        return f"{self.label} {_percent(self.change)}{grey}"


def _percent(share: float) -> str:
    return f"{share:+.0%}".replace("-", "\u2212")


def readouts(market: DemoMarket, twin: DemoMarket | None) -> tuple[Readout, ...]:
    """Each readout metric over the last days since the last change, against the week before that change.

    Empty while no change has acted yet. ``twin`` (the run without the lecturer's changes) gives the same
    comparison in the grey run, so that an effect can be told from the market's own drift.
    """
    changed = [mark.day for mark in market.events if mark.change and mark.day <= market.steps]
    if not changed:
        return ()
    day = changed[-1]
    recent = slice(max(day, market.steps - READOUT_DAYS + 1) - 1, market.steps)
    before = slice(max(day - READOUT_DAYS, 1) - 1, day - 1)
    if before.stop <= before.start:
        return ()
    shown = []
    for label, metric in READOUTS:
        change, mean = _change(market, metric, recent, before)
        twin_change = _change(twin, metric, recent, before)[0] if twin is not None else None
        shown.append(Readout(label, mean, change, twin_change))
    return tuple(shown)


def _change(market: DemoMarket, metric: str, recent: slice, before: slice) -> tuple[float, float]:
    """A metric's mean over ``recent`` days and its relative change from its mean over ``before``."""
    values = np.asarray(market.datacollector.tables["daily"][metric], dtype=float)
    now, then = float(values[recent].mean()), float(values[before].mean())
    return (now / then - 1.0 if then > 0 else 0.0), now
