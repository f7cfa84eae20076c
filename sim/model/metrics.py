"""What the model reports each day (docs/ODD.md, section 2.10): one ``Day`` record, and ``METRICS``, its columns.

The market fills a new ``Day`` as the day's verbs run (flows: sales, arrests,
convictions ...), then adds the stocks at the end of the day (shops, couriers,
prisoners ...). Mesa's DataCollector keeps one row per day (its ``daily``
table). Counts are integers, amounts floats.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sim.model.day_fields import DayFields
from sim.model.world.justice import ROLE_NAMES


def by_role(metric: str, kind: type) -> list[tuple[str, type, Any]]:
    """One field per ``Role`` (``justice.Role``): ``<metric>_<role>``, in the roles' order."""
    return [(f"{metric}_{role}", kind, kind()) for role in ROLE_NAMES]


# The metrics of a day, in the order of the data collector's columns: (name, type, value at the start of a day).
# Flows are the day's; stocks are at the end of the day. A metric by role has one column per ``Role``.
FIELDS: list[tuple[str, type, Any]] = [
    ("grams_sold", float, 0.0),  # g collected by buyers and not seized at the pickup
    ("transactions", int, 0),  # pickups that ended in a sale
    ("price_per_gram", float, 0.0),  # KZT/g, order-weighted over open storefronts
    ("active_storefronts", int, 0),  # shops whose storefront takes orders
    ("blocked_storefronts", int, 0),  # shops in business whose storefront is blocked
    ("mirrors_opened", int, 0),  # blocked storefronts reopened as mirrors today
    ("active_shops", int, 0),
    ("active_couriers", int, 0),  # couriers employed by a shop
    ("active_labs", int, 0),
    ("active_buyers", int, 0),
    ("new_buyers", int, 0),  # users who started today
    *by_role("arrests", int),
    ("convictions", int, 0),
    *by_role("convictions", int),
    ("prisoners", int, 0),
    *by_role("prisoners", int),
    ("grams_seized", float, 0.0),  # g seized today: stashes, couriers' batches, at pickups, shops' and labs' stock
    ("not_found_rate", float, 0.0),  # share of pickups (orders and re-stashes) sent to a stash that was gone
    ("latency", float, 0.0),  # share of retail transactions without enforcement contact (docs/ODD.md, section 2.10)
    ("courier_vacancies", int, 0),  # courier jobs left unfilled today
    ("courier_pay", float, 0.0),  # KZT per stash, mean over shops in business
    ("courier_candidates", int, 0),  # people in the pool reached by job ads
    ("couriers_laying", int, 0),  # couriers who went out today
    ("batch_stashes", int, 0),  # stashes they took out (laid or seized on them)
    ("repeat_couriers", int, 0),  # working couriers with a previous conviction
    ("orders", int, 0),
    ("unmet_orders", int, 0),  # orders that got no stash (no storefront, none on file, or gone twice)
    ("storefronts_detected", int, 0),
    ("shipments_intercepted", int, 0),  # precursor shipments stopped
    ("wanted", int, 0),  # suspects who absconded before their forensic result, to date
    ("pending_cases", int, 0),  # suspects waiting for a forensic result
    ("grams_produced", float, 0.0),
    ("grams_lost", float, 0.0),  # g lost: badly placed stashes, abandoned stock
    ("grams_in_stock", float, 0.0),  # g in labs, shops' bulk and stashes on the ground
    ("revenue", float, 0.0),  # KZT of retail sales
    ("effort_patrol", float, 0.0),  # officer-days
    ("effort_cyber", float, 0.0),
    ("effort_investigation", float, 0.0),
    ("effort_labs", float, 0.0),
    ("buyers_treated", int, 0),
    ("restashes", int, 0),  # buyers sent to a new stash laid for them the day after a "not found"
    ("restash_failures", int, 0),  # re-stashes not found either, not laid, or dropped (shop closed): final
    ("vacancies_filled", int, 0),  # courier jobs filled today
    ("vacancy_days", int, 0),  # days those jobs had been open, summed (their mean is the time to refill a vacancy)
    ("shops_opened", int, 0),
    ("shops_closed", int, 0),  # operator arrested, out of money, or closed by an event
    ("grams_imported", float, 0.0),  # bulk shipped in when labs fall short (what the border stops is seized)
    ("stashes_seized", int, 0),  # stashes found: by patrol, on phones, of raided shops
    ("rearrests_courier", int, 0),  # arrests of couriers with a previous conviction
    ("persons_in_market", int, 0),  # buyers active and couriers at work on any day of the last 365 (distinct persons)
    ("persons_contacted", int, 0),  # of them, those arrested in the last 365 days (sim.model.world.contacts)
    ("persons_latency", float, 0.0),  # 1 - persons_contacted / persons_in_market: the persons no enforcement touched
]


@dataclass
class Day(DayFields):
    """The metrics of one day (``FIELDS``). Flows are the day's; stocks are at the end of the day.

    Its fields are those of ``sim.model.day_fields.DayFields``, generated from ``FIELDS``
    (``python -m sim.model.metrics`` writes them anew).
    """

    def set_by_role(self, metric: str, counts: np.ndarray) -> None:
        """Set ``<metric>_<role>`` of each ``Role`` from ``counts``, indexed by role."""
        for role, name in enumerate(ROLE_NAMES):
            setattr(self, f"{metric}_{name}", int(counts[role]))


#: The daily metrics, in the order of the data collector's columns.
METRICS: tuple[str, ...] = tuple(name for name, _, _ in FIELDS)


#: Each metric's unit. A report's value is a mean over days of the window, so a flow is per day and a stock a count.
UNITS: dict[str, str] = {
    "grams_sold": "g/day", "transactions": "pickups/day", "price_per_gram": "KZT/g",
    "active_storefronts": "shops", "blocked_storefronts": "shops", "mirrors_opened": "mirrors/day",
    "active_shops": "shops", "active_couriers": "couriers", "active_labs": "labs", "active_buyers": "users",
    "new_buyers": "users/day",
    **{f"arrests_{r}": "arrests/day" for r in ROLE_NAMES},
    "convictions": "convictions/day", **{f"convictions_{r}": "convictions/day" for r in ROLE_NAMES},
    "prisoners": "people", **{f"prisoners_{r}": "people" for r in ROLE_NAMES},
    "grams_seized": "g/day", "not_found_rate": "share of pickups", "latency": "share of sales",
    "courier_vacancies": "jobs", "courier_pay": "KZT/stash", "courier_candidates": "people",
    "couriers_laying": "couriers/day", "batch_stashes": "stashes/day", "repeat_couriers": "couriers",
    "orders": "orders/day", "unmet_orders": "orders/day", "storefronts_detected": "storefronts/day",
    "shipments_intercepted": "shipments/day", "wanted": "people", "pending_cases": "cases",
    "grams_produced": "g/day", "grams_lost": "g/day", "grams_in_stock": "g", "revenue": "KZT/day",
    **{f"effort_{a}": "officer-days/day" for a in ("patrol", "cyber", "investigation", "labs")},
    "buyers_treated": "users/day", "restashes": "re-stashes/day", "restash_failures": "re-stashes/day",
    "vacancies_filled": "jobs/day", "vacancy_days": "job-days/day", "shops_opened": "shops/day",
    "shops_closed": "shops/day", "grams_imported": "g/day", "stashes_seized": "stashes/day",
    "rearrests_courier": "arrests/day", "persons_in_market": "people", "persons_contacted": "people",
    "persons_latency": "share of people",
}  # fmt: skip


def bounds(metric: str) -> tuple[float, float]:
    """The values a metric can take: every metric is a count, amount or price (at least 0); a share is at most 1.

    A name that is no metric (a derived column, which may be negative) has no bounds.
    """
    if metric not in UNITS:
        return (-float("inf"), float("inf"))
    return (0.0, 1.0) if UNITS[metric].startswith("share") else (0.0, float("inf"))


def fields_source() -> str:
    """The text of ``sim/model/day_fields.py``: one typed field per metric of ``FIELDS``, with its unit."""
    lines = [
        '"""The fields of ``sim.model.metrics.Day``: generated from its ``FIELDS`` by ``python -m sim.model.metrics``.',
        "",
        "Do not edit by hand: change ``FIELDS`` and write this file anew (``make docs`` does both).",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "from dataclasses import dataclass",
        "",
        "",
        "@dataclass",
        "class DayFields:",
        '    """Every metric of ``FIELDS``, typed, at its value at the start of a day (``Day`` adds the verb)."""',
    ]
    for name, kind, value in FIELDS:
        lines += ["", f"    #: {UNITS[name]}", f"    {name}: {kind.__name__} = {value!r}"]
    return "\n".join(lines) + "\n"


#: The generated file that holds the fields of ``Day``.
FIELDS_FILE = Path(__file__).with_name("day_fields.py")


if __name__ == "__main__":
    FIELDS_FILE.write_text(fields_source(), encoding="utf-8")
    print(f"wrote {FIELDS_FILE}")
