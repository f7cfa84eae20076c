"""Running a scenario: seeded replications of the model, collected into DataFrames."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .model import METRICS, KladMarket

#: Metrics summarised over the final window and shown in summaries.
HEADLINE = (
    "grams_sold", "price_per_gram", "active_buyers", "active_couriers", "active_shops", "active_labs",
    "active_storefronts", "arrests_buyer", "arrests_courier", "arrests_operator", "arrests_lab",
    "prisoners", "not_found_rate", "latency", "courier_pay",
)  # fmt: skip


def replication_seeds(seed: int, reps: int) -> list[np.random.SeedSequence]:
    """Independent seeds for ``reps`` replications, spawned from one root seed."""
    return np.random.SeedSequence(seed).spawn(reps)


def run_one(params: dict[str, Any], days: int, seed: np.random.SeedSequence | int) -> pd.DataFrame:
    """Run the model once; return its daily metrics (one row per day, ``day`` from 1)."""
    model = KladMarket(params, rng=np.random.default_rng(seed))
    model.run_for(days)
    daily = model.datacollector.get_model_vars_dataframe().reset_index(drop=True)
    daily.insert(0, "day", np.arange(1, len(daily) + 1))
    return daily


def summarise(daily: pd.DataFrame, window: int) -> pd.Series:
    """Mean of each metric over the last ``window`` days of one replication."""
    return daily[list(METRICS)].tail(window).mean()


def final_window(days: int) -> int:
    """Days summarised at the end of a run: the last quarter, at most 90 days."""
    return max(1, min(90, days // 4))
