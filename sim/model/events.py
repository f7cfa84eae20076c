"""What each timed event does to the market (the events themselves are declared and checked in ``sim.timeline``).

``KladMarket.happen_today`` calls ``happen`` for each event of the day, at the
start of the day, before anything else. Events act through the market's own
verbs (``_close_shop``, ``raid_labs``, ``arrest_couriers``, ``arrest_buyers``),
so an event's arrests, seizures and closures are counted, charged and learned
from like any other.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from sim.model.roles.buyers import BuyerState
from sim.model.roles.couriers import CourierState
from sim.model.roles.shops import Storefront

if TYPE_CHECKING:
    from sim.model.market import KladMarket


def chosen(event: dict[str, Any], candidates: np.ndarray, size: np.ndarray) -> np.ndarray:
    """The rows an event names among ``candidates``: the ``largest`` by ``size``, ``all``, or the listed ``shops``."""
    if "largest" in event:
        return candidates[np.argsort(-size[candidates], kind="stable")[: event["largest"]]]
    if event.get("all"):
        return candidates
    return candidates[np.isin(candidates, event["shops"])]


def happen(model: KladMarket, event: dict[str, Any]) -> None:
    """Carry out one event today."""
    action, day, shops = event["action"], model.day, model.shops
    if action == "block_storefronts":
        rows = chosen(event, np.flatnonzero(shops.active & (shops.storefront != Storefront.BLOCKED)), shops.orders)
        shops.storefront[rows] = Storefront.BLOCKED
        shops.storefront_day[rows] = day + event.get("mirror_delay", model.p.mirror_delay)
    elif action == "close_shops":
        for shop in chosen(event, np.flatnonzero(shops.active), shops.orders):
            model._close_shop(int(shop), seize=False)
    elif action == "raid_labs":
        labs = model.labs
        model.raid_labs(chosen(event, np.flatnonzero(labs.active), labs.capacity))
    elif action == "crackdown":
        model.crackdowns.append((day + event["duration"], event["police_multiplier"]))
    elif action == "arrest_wave":
        couriers = np.flatnonzero(model.couriers.state == CourierState.WORKING)
        caught = couriers[model.rng.random(len(couriers)) < event.get("couriers", 0.0)]
        model.arrest_couriers(caught, np.zeros(len(caught)))
        buyers = np.flatnonzero(model.buyers.state == BuyerState.ACTIVE)
        model.arrest_buyers(buyers[model.rng.random(len(buyers)) < event.get("buyers", 0.0)])
    elif action == "set":
        model.p = model.p.replace(**event["params"])
    else:  # the timeline checks actions; an unknown one here is a bug
        raise ValueError(f"unknown event action {action!r}")
