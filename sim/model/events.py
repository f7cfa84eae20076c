"""What each timed event does to the market (the events themselves are declared and checked in ``sim.timeline``).

``KladMarket.happen_today`` calls ``happen`` for each event of the day, at the
start of the day, before anything else. Events act through the
roles' own verbs (``ShopRoster.block``, ``close_down`` and ``arrest_operators``,
``LabRoster.raid``, ``CourierRoster.arrest``, ``BuyerRoster.arrest``,
``Police.crack_down``), so an event's arrests, seizures and closures are
counted, charged and learned from like any other.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from sim.model.roles.buyers import BuyerState
from sim.model.roles.couriers import CourierState

if TYPE_CHECKING:
    from sim.model.market import KladMarket


def chosen(event: dict[str, Any], candidates: np.ndarray, size: np.ndarray) -> np.ndarray:
    """The rows an event names among ``candidates``: the ``largest`` by ``size``, ``all``, or the listed ``shops``."""
    if "largest" in event:
        return candidates[np.argsort(-size[candidates], kind="stable")[: event["largest"]]]
    if event.get("all"):
        return candidates
    return candidates[np.isin(candidates, event["shops"])]


def happen(model: KladMarket, event: dict[str, Any]) -> dict[str, Any]:
    """Carry out one event today; returns what it hit (shop or lab rows, or counts of people arrested)."""
    action, day, shops = event["action"], model.day, model.shops
    if action == "block_storefronts":
        rows = chosen(event, np.flatnonzero(shops.open_now()), shops.orders)
        shops.block(rows, event.get("mirror_delay", model.p.mirror_delay))
        return {"shops": rows.tolist()}
    if action == "close_shops":
        rows = chosen(event, np.flatnonzero(shops.active), shops.orders)
        for shop in rows:
            shops.close_down(int(shop), seize=False)
        return {"shops": rows.tolist()}
    if action == "arrest_operators":
        rows = chosen(event, np.flatnonzero(shops.active), shops.orders)
        caught = shops.arrest_operators(rows)
        return {"shops": rows.tolist(), "operators_arrested": len(caught)}
    if action == "raid_labs":
        labs = model.labs
        rows = chosen(event, np.flatnonzero(labs.active), labs.capacity)
        labs.raid(rows)
        return {"labs": rows.tolist()}
    if action == "crackdown":
        model.police.crack_down(day + event["duration"], event["police_multiplier"])
        return {}
    if action == "arrest_wave":
        couriers = np.flatnonzero(model.couriers.state == CourierState.WORKING)
        caught = couriers[model.stream.keyed("events", model.couriers.uid[couriers]) < event.get("couriers", 0.0)]
        model.couriers.arrest(caught, np.zeros(len(caught)))
        buyers = np.flatnonzero(model.buyers.state == BuyerState.ACTIVE)
        arrested = buyers[model.stream.keyed("arrest_wave", model.buyers.uid[buyers]) < event.get("buyers", 0.0)]
        model.buyers.arrest(arrested)
        return {"couriers_arrested": len(caught), "buyers_arrested": len(arrested)}
    if action == "set":
        model.p = model.p.replace(**event["params"])
        return {}
    raise ValueError(f"unknown event action {action!r}")  # the timeline checks actions: a bug if reached
