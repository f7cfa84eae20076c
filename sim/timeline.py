"""A scenario's timeline: events on given days, declared and checked here, done by the market (``sim.model.events``).

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
The actions and their keys are ``ACTIONS``; every value is checked like a
parameter (one line naming the file, the event and the key). The numbers of an
event can be swept: ``events.0.day`` names the ``day`` of the first event.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

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

#: action -> (its keys, the keys of which exactly one must be given, meaning).
ACTIONS: dict[str, tuple[dict[str, Key], tuple[str, ...], str]] = {
    "block_storefronts": (
        {"largest": LARGEST, "all": ALL, "shops": SHOPS,
         "mirror_delay": Key(int, 0, 100_000, "days until each blocked shop opens a mirror (default: the parameter)")},
        ("largest", "all", "shops"),
        "Block open storefronts (the largest by orders, all, or the named shops) at once.",
    ),
    "close_shops": (
        {"largest": LARGEST, "all": ALL, "shops": SHOPS},
        ("largest", "all", "shops"),
        "Shops stop trading without anyone arrested: stock and hidden stashes are abandoned, couriers let go.",
    ),
    "arrest_operators": (
        {"largest": LARGEST, "all": ALL, "shops": SHOPS},
        ("largest", "all", "shops"),
        "Police move on shops' operators (the largest by orders, all, or the named shops), as on a lead: those at "
        "home are arrested and their shops closed with stock and stashes seized; one abroad cannot be arrested, "
        "and his storefronts are found and blocked.",
    ),
    "raid_labs": (
        {"largest": LARGEST, "all": ALL},
        ("largest", "all"),
        "Police raid labs (the largest by capacity, or all): chemists arrested, stock seized.",
    ),
    "crackdown": (
        {"police_multiplier": Key(float, 0.0, 100.0, "police budget multiplier"),
         "duration": Key(int, 1, 100_000, "days it lasts")},
        (),
        "The police budget is multiplied for a number of days.",
    ),
    "arrest_wave": (
        {"couriers": Key(float, 0.0, 1.0, "share of working couriers arrested"),
         "buyers": Key(float, 0.0, 1.0, "share of active buyers arrested")},
        (),
        "A one-off wave of arrests of a share of working couriers and of active buyers, with cases as usual.",
    ),
    "set": (
        {"params": Key(dict, None, None, "lever = value, in force from this day on")},
        (),
        "Policy levers take new values from this day on (any number of times in a run).",
    ),
}  # fmt: skip
REQUIRED = {"crackdown": ("police_multiplier", "duration"), "set": ("params",)}


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
    """One event, checked: its ``day``, its ``action`` and that action's keys."""
    if not isinstance(event, dict):
        raise ParameterError(f"{where}: an event must be a table with 'day' and 'action'")
    action = event.get("action")
    if action not in ACTIONS:
        raise ParameterError(f"{where}: action = {action!r} is unknown; allowed are {', '.join(ACTIONS)}")
    if "day" not in event:
        raise ParameterError(f"{where}: 'day' is missing")
    keys, one_of, _ = ACTIONS[action]
    unknown = set(event) - set(keys) - {"day", "action"}
    if unknown:
        allowed = ", ".join(["day", "action", *keys])
        raise ParameterError(f"{where}: unknown key '{sorted(unknown)[0]}' for {action}; allowed are {allowed}")
    out = {"day": DAY.check(event["day"], f"{where} day"), "action": action}
    for name, key in keys.items():
        if name not in event:
            continue
        if key.kind is dict:
            if not isinstance(event[name], dict) or not event[name]:
                raise ParameterError(f"{where}: 'params' must be a table of lever = value")
            out[name] = validate(event[name], f"{where} params", levers_only=True)
        else:
            out[name] = key.check(event[name], f"{where} {name}")
    given = [name for name in one_of if name in out]
    if one_of and len(given) != 1:
        raise ParameterError(f"{where}: {action} needs exactly one of {', '.join(one_of)} (got {len(given)})")
    missing = [name for name in REQUIRED.get(action, ()) if name not in out]
    if missing:
        raise ParameterError(f"{where}: {action} needs '{missing[0]}'")
    if action == "arrest_wave" and not (out.get("couriers", 0) or out.get("buyers", 0)):
        raise ParameterError(f"{where}: arrest_wave needs a share of couriers or buyers above 0")
    return out


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
    keys = {"day": DAY, **ACTIONS[events[index]["action"]][0]}
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
    action, day = event["action"], event["day"]
    which = (f"the {event['largest']} largest" if "largest" in event else "all" if event.get("all")
             else f"shops {', '.join(map(str, event.get('shops', [])))}")  # fmt: skip
    if action == "block_storefronts":
        delay = f", mirrors after {event['mirror_delay']} d" if "mirror_delay" in event else ""
        return f"day {day}: {which} storefronts blocked{delay}"
    if action == "close_shops":
        return f"day {day}: {which} shops closed"
    if action == "arrest_operators":
        named = event["shops"] if "shops" in event else None
        target = f"{which} shops" if named is None else which if named else "no shop"
        return f"day {day}: operators of {target} pursued"
    if action == "raid_labs":
        return f"day {day}: {which} labs raided"
    if action == "crackdown":
        return f"day {day}: police x{event['police_multiplier']:g} for {event['duration']} d"
    if action == "arrest_wave":
        return f"day {day}: arrest wave"
    return f"day {day}: " + ", ".join(f"{k} = {v}" for k, v in event["params"].items())
