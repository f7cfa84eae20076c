"""Run metrics read from the daily table and the records below the city level (``sim.model.records``).

- ``refill_days``: how long a courier vacancy stays open before it is filled;
- ``shop_survival``: how long each shop stayed in business (Kaplan-Meier over
  the shops that opened, those still open at the end censored);
- ``migration``: where the buyers of blocked shops bought after the block.

Each takes the frames a run or ``run_scenario`` returns (with a ``rep``
column, or without) and returns numbers or a DataFrame. ``run_metrics``
gathers those of a scenario run's window (a ``RunMetrics``), which
``run_scenario`` hands on in its result for the report.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sim.timeline import ArrestOperators, BlockStorefronts, CloseShops


def refill_days(daily: pd.DataFrame, first_day: int = 1) -> float:
    """Mean days to refill a courier vacancy from ``first_day`` on, counting the vacancies not filled too.

    The occurrence-exposure estimate of survival analysis: the vacancy-nights
    at risk (each vacancy left open after a day's hiring counts that night:
    ``courier_vacancies``, whether it is filled later, still open at the end,
    or withdrawn) over the vacancies filled. Were only filled vacancies
    counted (``vacancy_days / vacancies_filled``), a market whose hard jobs
    are never filled, or are withdrawn, would look quick to refill. NaN when
    no vacancy was open or filled; infinite when vacancies were open but none
    was filled.
    """
    days = daily[daily["day"] >= first_day]
    filled, exposure = days["vacancies_filled"].sum(), days["courier_vacancies"].sum()
    if filled == 0:
        return float("inf") if exposure > 0 else float("nan")
    return float(exposure / filled)


def shop_lives(shops: pd.DataFrame) -> pd.DataFrame:
    """One row per shop (and replication): the first and last day it is on record and whether it closed."""
    keys = ["rep", "shop"] if "rep" in shops else ["shop"]
    lives = shops.groupby(keys).agg(first=("day", "min"), last=("day", "max"), open=("active", "last"))
    lives["closed"] = ~lives.pop("open").astype(bool)
    lives["days"] = lives["last"] - lives["first"] + 1
    return lives.reset_index()


def shop_survival(shops: pd.DataFrame) -> pd.DataFrame:
    """Kaplan-Meier survival of shops in business: the share still open after each number of days.

    Shops still open at the end of the run are censored there.
    """
    lives = shop_lives(shops)
    rows, alive = [], 1.0
    for days in np.unique(lives.loc[lives["closed"], "days"]):
        at_risk = int((lives["days"] >= days).sum())
        closed = int(((lives["days"] == days) & lives["closed"]).sum())
        alive *= 1.0 - closed / at_risk
        rows.append({"days": int(days), "at_risk": at_risk, "closed": closed, "surviving": alive})
    return pd.DataFrame(rows, columns=["days", "at_risk", "closed", "surviving"])


def migration(purchases: pd.DataFrame, shops: list[int], day: int, before: int = 30, after: int = 30) -> pd.DataFrame:
    """Where the buyers of ``shops`` (blocked or closed on ``day``) bought in the ``after`` days from ``day`` on.

    The displaced buyers are those who got a stash from one of ``shops`` in the
    ``before`` days up to ``day``. Returns, per shop they bought from after
    (``shop`` -1: an order that found no storefront), their purchases and the
    share of all their orders, ``back`` marking the shops that were hit (their
    mirrors).
    """
    keys = ["rep", "buyer"] if "rep" in purchases else ["buyer"]
    if "attempt" in purchases:  # orders only: a re-stash pickup is the same purchase again
        purchases = purchases[purchases["attempt"] == 1]
    got = purchases["outcome"] == "got"
    was = purchases[got & purchases["shop"].isin(shops) & purchases["day"].between(day - before, day - 1)]
    displaced = was[keys].drop_duplicates()
    later = purchases[purchases["day"].between(day, day + after - 1)].merge(displaced, on=keys)
    table = later.groupby("shop").size().rename("orders").reset_index()
    table["share"] = table["orders"] / max(1, len(later))
    table["back"] = table["shop"].isin(shops)
    return table.sort_values("orders", ascending=False, kind="stable").reset_index(drop=True)


#: The events whose shops' buyers a scenario run follows (``migration``): those that take shops out of reach.
BLOCKS = (BlockStorefronts.action, CloseShops.action, ArrestOperators.action)


@dataclass
class RunMetrics:
    """A scenario run's metrics that need more than the city's daily totals: ``run_metrics`` makes them."""

    refill_days: float  # mean days to refill a courier vacancy over the window (``refill_days``)
    shop_survival: pd.DataFrame | None = None  # Kaplan-Meier of shops in business, all replications; None: no record
    median_shop_life: int | None = None  # days at which half the shops had closed; None: fewer than half closed
    displaced: dict[str, float] = field(default_factory=dict)  # per blocking event: its buyers' share elsewhere


def run_metrics(daily: pd.DataFrame, records: dict[str, pd.DataFrame], first_day: int) -> RunMetrics:
    """The run metrics of a scenario run's window (from ``first_day``), and those its records allow.

    With a ``shops`` record, the shops' survival and median life (over all
    replications); with ``purchases`` and ``events``, for each event that
    blocks or closes shops, the share of the next 30 days' orders that their
    buyers placed at other shops (replication 0).
    """
    metrics = RunMetrics(refill_days(daily, first_day))
    if "shops" in records:
        survival = shop_survival(records["shops"])
        half = survival.loc[survival["surviving"] <= 0.5, "days"]
        metrics.shop_survival, metrics.median_shop_life = survival, int(half.iloc[0]) if len(half) else None
    events = records.get("events")
    if "purchases" in records and events is not None:
        blocks = events[events["action"].isin(BLOCKS)]
        rows = records["purchases"]
        rows = rows[rows["rep"] == 0] if "rep" in rows else rows
        for block in blocks.drop_duplicates("event").itertuples():
            hit = events[(events["event"] == block.event) & (events["rep"] == 0)] if "rep" in events else blocks
            moved = migration(rows, list(hit["shops"].iloc[0]), int(block.day))
            metrics.displaced[str(block.event)] = float(moved.loc[(moved["shop"] >= 0) & ~moved["back"], "share"].sum())
    return metrics
