"""The fields of ``sim.model.metrics.Day``: generated from its ``FIELDS`` by ``python -m sim.model.metrics``.

Do not edit by hand: change ``FIELDS`` and write this file anew (``make docs`` does both).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class DayFields:
    """Every metric of ``FIELDS``, typed, at its value at the start of a day (``Day`` adds the verb)."""

    #: g/day
    grams_sold: float = 0.0

    #: pickups/day
    transactions: int = 0

    #: KZT/g
    price_per_gram: float = 0.0

    #: shops
    active_storefronts: int = 0

    #: shops
    blocked_storefronts: int = 0

    #: mirrors/day
    mirrors_opened: int = 0

    #: shops
    active_shops: int = 0

    #: couriers
    active_couriers: int = 0

    #: labs
    active_labs: int = 0

    #: users
    active_buyers: int = 0

    #: users/day
    new_buyers: int = 0

    #: arrests/day
    arrests_buyer: int = 0

    #: arrests/day
    arrests_courier: int = 0

    #: arrests/day
    arrests_operator: int = 0

    #: arrests/day
    arrests_lab: int = 0

    #: convictions/day
    convictions: int = 0

    #: convictions/day
    convictions_buyer: int = 0

    #: convictions/day
    convictions_courier: int = 0

    #: convictions/day
    convictions_operator: int = 0

    #: convictions/day
    convictions_lab: int = 0

    #: people
    prisoners: int = 0

    #: people
    prisoners_buyer: int = 0

    #: people
    prisoners_courier: int = 0

    #: people
    prisoners_operator: int = 0

    #: people
    prisoners_lab: int = 0

    #: g/day
    grams_seized: float = 0.0

    #: share of pickups
    not_found_rate: float = 0.0

    #: share of sales
    latency: float = 0.0

    #: jobs
    courier_vacancies: int = 0

    #: KZT/stash
    courier_pay: float = 0.0

    #: people
    courier_candidates: int = 0

    #: couriers/day
    couriers_laying: int = 0

    #: stashes/day
    batch_stashes: int = 0

    #: couriers
    repeat_couriers: int = 0

    #: orders/day
    orders: int = 0

    #: orders/day
    unmet_orders: int = 0

    #: storefronts/day
    storefronts_detected: int = 0

    #: shipments/day
    shipments_intercepted: int = 0

    #: people
    wanted: int = 0

    #: cases
    pending_cases: int = 0

    #: g/day
    grams_produced: float = 0.0

    #: g/day
    grams_lost: float = 0.0

    #: g
    grams_in_stock: float = 0.0

    #: KZT/day
    revenue: float = 0.0

    #: officer-days/day
    effort_patrol: float = 0.0

    #: officer-days/day
    effort_cyber: float = 0.0

    #: officer-days/day
    effort_investigation: float = 0.0

    #: officer-days/day
    effort_labs: float = 0.0

    #: users/day
    buyers_treated: int = 0

    #: re-stashes/day
    restashes: int = 0

    #: re-stashes/day
    restash_failures: int = 0

    #: jobs/day
    vacancies_filled: int = 0

    #: job-days/day
    vacancy_days: int = 0

    #: shops/day
    shops_opened: int = 0

    #: shops/day
    shops_closed: int = 0

    #: g/day
    grams_imported: float = 0.0

    #: stashes/day
    stashes_seized: int = 0

    #: arrests/day
    rearrests_courier: int = 0

    #: people
    persons_in_market: int = 0

    #: people
    persons_contacted: int = 0

    #: share of people
    persons_latency: float = 0.0
