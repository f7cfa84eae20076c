"""The market's side of the timeline: ``happen`` carries out one event today.

An event's keys, check, words and deeds are its class in ``sim.timeline``
(``EVENTS[action]``, e.g. ``BlockStorefronts``); its ``apply`` acts through the
roles' own verbs (``ShopRoster.block``, ``close_down`` and ``arrest_operators``,
``LabRoster.raid``, ``CourierRoster.arrest_share``, ``BuyerRoster.arrest_share``,
``Police.crack_down``), so an event's arrests, seizures and closures are
counted, charged and learned from like any other. ``KladMarket.happen_today``
calls ``happen`` for each event of the day, at the start of the day, before
anything else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sim.timeline import EVENTS

if TYPE_CHECKING:
    from sim.model.market import KladMarket


def happen(model: KladMarket, event: dict[str, Any]) -> dict[str, Any]:
    """Carry out one event today; returns what it hit (shop or lab rows, or counts of people arrested)."""
    kind = EVENTS.get(event["action"])
    if kind is None:  # the timeline checks actions: a bug if reached
        raise ValueError(f"unknown event action {event['action']!r}")
    return kind.apply(model, event)
