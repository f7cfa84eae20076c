"""A scenario's timeline: events on given days, one ``Event`` class an action (its keys, check, words and deed).

A scenario file lists its events as ``[[events]]`` tables, each with the
``day`` it happens on and its ``action``::

    [[events]]
    day = 400
    action = "block_storefronts"   # the 3 largest by orders; or all = true; or shops = [0, 4]
    largest = 3
    mirror_delay = 365             # this block's own delay before a mirror opens

    [[events]]
    day = 500
    action = "crackdown"           # 3 times the police budget for 30 days
    police_multiplier = 3
    duration = 30

An event happens at the start of its day, before anything else of that day.
The actions are ``EVENTS`` (one ``Event`` class each, with its keys); every value is checked like a
parameter (one line naming the file, the event and the key). The numbers of an
event can be swept: ``events.0.day`` names the ``day`` of the first event.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar, override

import numpy as np

from sim.params import ParameterError, validate


@dataclass(frozen=True)
class Key:
    """One key of an event: its type, allowed range and meaning."""

    kind: type  # int, float, bool or list (of shop numbers)
    low: float | None
    high: float | None
    doc: str

    def check(self, value: Any, where: str) -> Any:
        """``value`` converted to this key's type, or a ParameterError naming ``where``."""
        if self.kind is bool:
            if value is not True:
                raise ParameterError(f"{where} = {value!r} is invalid: allowed is true")
            return True
        if self.kind is list:
            if not isinstance(value, list) or not value or not all(_whole(v) and v >= 0 for v in value):
                raise ParameterError(f"{where} = {value!r} is invalid: allowed is a list of shop numbers (0, 1, ...)")
            return [int(v) for v in value]
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            allowed = f"a number in [{self.low:g}, {self.high:g}]"
            raise ParameterError(f"{where} = {value!r} is invalid: allowed is {allowed}")
        if self.kind is int:
            if not _whole(value):
                raise ParameterError(f"{where} = {value!r} is invalid: allowed is a whole number")
            value = int(value)
        if not self.low <= value <= self.high:
            raise ParameterError(f"{where} = {value!r} is invalid: allowed is [{self.low:g}, {self.high:g}]")
        return float(value) if self.kind is float else value


def _whole(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float) and float(value).is_integer()


DAY = Key(int, 0, 100_000, "day the event happens on (at its start)")
LARGEST = Key(int, 1, 10_000, "how many, the largest first")
ALL = Key(bool, None, None, "every one")
SHOPS = Key(list, None, None, "shop numbers (rows of the shop roster, as in the shop records)")


class Event:
    """One action of the timeline: its keys, its check, its words and what it does to the market.

    An event itself is a plain dict (``{"day": 60, "action": "block_storefronts", "largest": 3}``), as in the
    scenario file; its class is ``EVENTS[event["action"]]``. A subclass names its ``action`` and is registered
    by that name on definition: adding an event is one class. The timeline sits below the model
    (``tests/test_layers.py``), so ``apply`` reaches the market only through the model it is handed, by the roles'
    own verbs, and an event's arrests, seizures and closures are counted, charged and learned from like any other.
    """

    action: ClassVar[str] = ""  # its name in a scenario file
    keys: ClassVar[dict[str, Key]] = {}  # its keys besides day and action
    one_of: ClassVar[tuple[str, ...]] = ()  # keys of which exactly one must be given
    required: ClassVar[tuple[str, ...]] = ()  # keys that must be given

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.action:
            EVENTS[cls.action] = cls

    @classmethod
    def check(cls, event: dict[str, Any], where: str) -> dict[str, Any]:
        """The event checked and in its normal form (its ``action`` is known); a ParameterError naming ``where``."""
        unknown = set(event) - set(cls.keys) - {"day", "action"}
        if unknown:
            allowed = ", ".join(["day", "action", *cls.keys])
            raise ParameterError(f"{where}: unknown key '{sorted(unknown)[0]}' for {cls.action}; allowed are {allowed}")
        out = {"day": DAY.check(event["day"], f"{where} day"), "action": cls.action}
        out.update((name, cls.check_value(name, event[name], where)) for name in cls.keys if name in event)
        given = [name for name in cls.one_of if name in out]
        if cls.one_of and len(given) != 1:
            one = ", ".join(cls.one_of)
            raise ParameterError(f"{where}: {cls.action} needs exactly one of {one} (got {len(given)})")
        missing = [name for name in cls.required if name not in out]
        if missing:
            raise ParameterError(f"{where}: {cls.action} needs '{missing[0]}'")
        return out

    @classmethod
    def check_value(cls, name: str, value: Any, where: str) -> Any:
        """One key's value, checked by its ``Key``."""
        return cls.keys[name].check(value, f"{where} {name}")

    @classmethod
    def describe(cls, event: dict[str, Any]) -> str:
        """The event in a few plain words (after ``day N:``)."""
        return cls.action

    @classmethod
    def apply(cls, model: Any, event: dict[str, Any]) -> dict[str, Any]:
        """Carry the event out on ``model`` today; returns what it hit (shop or lab rows, or counts of people)."""
        raise NotImplementedError(cls.action)


#: action name -> its class, filled as the classes below (or any later subclass of ``Event``) are defined.
EVENTS: dict[str, type[Event]] = {}


def which(event: dict[str, Any]) -> str:
    """The rows an event names, in words: the N largest, all, or the listed shops."""
    if "largest" in event:
        return f"the {event['largest']} largest"
    return "all" if event.get("all") else f"shops {', '.join(map(str, event.get('shops', [])))}"


def chosen(event: dict[str, Any], candidates: np.ndarray, size: np.ndarray) -> np.ndarray:
    """The rows an event names among ``candidates``: the ``largest`` by ``size``, ``all``, or the listed ``shops``."""
    if "largest" in event:
        return candidates[np.argsort(-size[candidates], kind="stable")[: event["largest"]]]
    if event.get("all"):
        return candidates
    return candidates[np.isin(candidates, event["shops"])]


class BlockStorefronts(Event):
    """Block open storefronts (the largest by orders, all, or the named shops) at once."""

    action = "block_storefronts"
    delay = Key(int, 0, 100_000, "days until each blocked shop opens a mirror (default: the parameter)")
    keys = {"largest": LARGEST, "all": ALL, "shops": SHOPS, "mirror_delay": delay}
    one_of = ("largest", "all", "shops")

    @classmethod
    @override
    def describe(cls, event: dict[str, Any]) -> str:
        delay = f", mirrors after {event['mirror_delay']} d" if "mirror_delay" in event else ""
        return f"{which(event)} storefronts blocked{delay}"

    @classmethod
    @override
    def apply(cls, model: Any, event: dict[str, Any]) -> dict[str, Any]:
        shops = model.shops
        rows = chosen(event, np.flatnonzero(shops.open_now()), shops.orders)
        shops.block(rows, event.get("mirror_delay", model.p.mirror_delay))
        return {"shops": rows.tolist()}


class CloseShops(Event):
    """Shops stop trading without anyone arrested: stock and hidden stashes are abandoned, couriers let go."""

    action = "close_shops"
    keys = {"largest": LARGEST, "all": ALL, "shops": SHOPS}
    one_of = ("largest", "all", "shops")

    @classmethod
    @override
    def describe(cls, event: dict[str, Any]) -> str:
        return f"{which(event)} shops closed"

    @classmethod
    @override
    def apply(cls, model: Any, event: dict[str, Any]) -> dict[str, Any]:
        shops = model.shops
        rows = chosen(event, np.flatnonzero(shops.active), shops.orders)
        for shop in rows:
            shops.close_down(int(shop), seize=False)
        return {"shops": rows.tolist()}


class ArrestOperators(Event):
    """Police move on shops' operators (the largest by orders, all, or the named shops), as on a lead.

    Those at home are arrested and their shops closed with stock and stashes seized; one abroad cannot be
    arrested, and his storefronts are found and blocked.
    """

    action = "arrest_operators"
    keys = {"largest": LARGEST, "all": ALL, "shops": SHOPS}
    one_of = ("largest", "all", "shops")

    @classmethod
    @override
    def describe(cls, event: dict[str, Any]) -> str:
        named = event["shops"] if "shops" in event else None
        target = f"{which(event)} shops" if named is None else which(event) if named else "no shop"
        return f"operators of {target} pursued"

    @classmethod
    @override
    def apply(cls, model: Any, event: dict[str, Any]) -> dict[str, Any]:
        shops = model.shops
        rows = chosen(event, np.flatnonzero(shops.active), shops.orders)
        caught = shops.arrest_operators(rows)
        return {"shops": rows.tolist(), "operators_arrested": len(caught)}


class RaidLabs(Event):
    """Police raid labs (the largest by capacity, or all): chemists arrested, stock seized."""

    action = "raid_labs"
    keys = {"largest": LARGEST, "all": ALL}
    one_of = ("largest", "all")

    @classmethod
    @override
    def describe(cls, event: dict[str, Any]) -> str:
        return f"{which(event)} labs raided"

    @classmethod
    @override
    def apply(cls, model: Any, event: dict[str, Any]) -> dict[str, Any]:
        labs = model.labs
        rows = chosen(event, np.flatnonzero(labs.active), labs.capacity)
        labs.raid(rows)
        return {"labs": rows.tolist()}


class Crackdown(Event):
    """The police budget is multiplied for a number of days."""

    action = "crackdown"
    keys = {"police_multiplier": Key(float, 0.0, 100.0, "police budget multiplier"),
            "duration": Key(int, 1, 100_000, "days it lasts")}  # fmt: skip
    required = ("police_multiplier", "duration")

    @classmethod
    @override
    def describe(cls, event: dict[str, Any]) -> str:
        return f"police x{event['police_multiplier']:g} for {event['duration']} d"

    @classmethod
    @override
    def apply(cls, model: Any, event: dict[str, Any]) -> dict[str, Any]:
        model.police.crack_down(model.day + event["duration"], event["police_multiplier"])
        return {}


class ArrestWave(Event):
    """A one-off wave of arrests of a share of working couriers and of active buyers, with cases as usual."""

    action = "arrest_wave"
    keys = {"couriers": Key(float, 0.0, 1.0, "share of working couriers arrested"),
            "buyers": Key(float, 0.0, 1.0, "share of active buyers arrested")}  # fmt: skip

    @classmethod
    @override
    def check(cls, event: dict[str, Any], where: str) -> dict[str, Any]:
        out = super().check(event, where)
        if not (out.get("couriers", 0) or out.get("buyers", 0)):
            raise ParameterError(f"{where}: arrest_wave needs a share of couriers or buyers above 0")
        return out

    @classmethod
    @override
    def describe(cls, event: dict[str, Any]) -> str:
        return "arrest wave"

    @classmethod
    @override
    def apply(cls, model: Any, event: dict[str, Any]) -> dict[str, Any]:
        couriers = model.couriers.arrest_share(event.get("couriers", 0.0))
        buyers = model.buyers.arrest_share(event.get("buyers", 0.0))
        return {"couriers_arrested": couriers, "buyers_arrested": buyers}


class SetParams(Event):
    """Policy levers take new values from this day on (any number of times in a run)."""

    action = "set"
    keys = {"params": Key(dict, None, None, "lever = value, in force from this day on")}
    required = ("params",)

    @classmethod
    @override
    def check_value(cls, name: str, value: Any, where: str) -> Any:
        if not isinstance(value, dict) or not value:
            raise ParameterError(f"{where}: 'params' must be a table of lever = value")
        return validate(value, f"{where} params", levers_only=True)

    @classmethod
    @override
    def describe(cls, event: dict[str, Any]) -> str:
        return ", ".join(f"{k} = {v}" for k, v in event["params"].items())

    @classmethod
    @override
    def apply(cls, model: Any, event: dict[str, Any]) -> dict[str, Any]:
        model.p = model.p.replace(**event["params"])
        return {}


def check_events(events: Any, where: str) -> list[dict[str, Any]]:
    """The events of a scenario, checked and in a normal form (sorted by day, in file order within a day).

    Raises:
        ParameterError: naming ``where``, the event and the key, on any problem.
    """
    if not isinstance(events, list):
        raise ParameterError(f"{where}: 'events' must be a list of [[events]] tables")
    checked = [check_event(event, f"{where} events[{i}]") for i, event in enumerate(events)]
    return sorted(checked, key=lambda e: e["day"])


def check_reached(events: list[dict[str, Any]], days: int, where: str) -> None:
    """Refuse an event after a run's last day: it would never happen, yet a report would list it.

    Raises:
        ParameterError: naming ``where``, the first such event and what would reach it.
    """
    late = [event for event in events if event["day"] > days]
    if late:
        event = late[0]
        raise ParameterError(f"{where}: the {event['action']} event on day {event['day']} is after the run's last "
                             f"day ({days}), so it would never happen: run at least {event['day']} days "
                             "(--days), or move the event")  # fmt: skip


def check_event(event: Any, where: str) -> dict[str, Any]:
    """One event, checked: its ``day``, its ``action`` and that action's keys (its class's ``check``)."""
    if not isinstance(event, dict):
        raise ParameterError(f"{where}: an event must be a table with 'day' and 'action'")
    action = event.get("action")
    if action not in EVENTS:
        raise ParameterError(f"{where}: action = {action!r} is unknown; allowed are {', '.join(EVENTS)}")
    if "day" not in event:
        raise ParameterError(f"{where}: 'day' is missing")
    return EVENTS[action].check(event, where)


def event_number(name: str) -> tuple[int, str] | None:
    """``(index, key)`` of a swept event number such as ``events.0.day``; None if ``name`` is not one."""
    parts = name.split(".")
    if len(parts) != 3 or parts[0] != "events" or not parts[1].isdigit():
        return None
    return int(parts[1]), parts[2]


def event_key(events: list[dict[str, Any]], name: str, where: str) -> Key:
    """The ``Key`` of a swept event number (``events.0.day``), checked against the experiment's events."""
    index, key = event_number(name) or (None, None)
    if index is None or index >= len(events):
        raise ParameterError(f"{where}: '{name}' names no event (the file has {len(events)} [[events]])")
    keys = {"day": DAY, **EVENTS[events[index]["action"]].keys}
    if key not in keys or keys[key].kind not in (int, float):
        numbers = ", ".join(k for k, v in keys.items() if v.kind in (int, float))
        raise ParameterError(f"{where}: '{name}': {events[index]['action']} has no number '{key}'; allowed: {numbers}")
    return keys[key]


def with_event_numbers(events: list[dict[str, Any]], values: dict[str, Any]) -> list[dict[str, Any]]:
    """The events with swept numbers put in (``{"events.0.day": 420}``), re-sorted by day."""
    events = [dict(e) for e in events]
    for name, value in values.items():
        number = event_number(name)
        if number is None:
            raise ValueError(f"{name!r} is not an event number (events.<index>.<key>)")
        index, key = number
        events[index][key] = value
    return sorted(events, key=lambda e: e["day"])


def describe(event: dict[str, Any]) -> str:
    """An event in a few plain words, for figures and reports."""
    return f"day {event['day']}: {EVENTS[event['action']].describe(event)}"
