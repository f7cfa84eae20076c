"""Does a run settle? The yearly trend of each metric after a warm-up, with its confidence interval.

A baseline that drifts (shops piling up, prisons filling) turns every
comparison with it into a comparison of dates. ``trends`` fits, within each
replication, a straight line through the yearly means after ``warmup`` days,
and reports the mean slope across replications as a share of the metric's mean
per year, with a 95% t interval across replications (each replication's own
level does not count as noise). ``dry_spells`` finds the longest run of days
without a sale.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.experiments.replications import mean_ci


def trends(daily: pd.DataFrame, metrics: list[str], warmup: int) -> pd.DataFrame:
    """Per metric: mean after ``warmup``, and the slope per year as a share of that mean, with its 95% CI."""
    after = daily[daily["day"] > warmup].assign(year=lambda d: (d["day"] - warmup - 1) // 365)
    rows = []
    for metric in metrics:
        yearly = after.groupby(["rep", "year"])[metric].mean().reset_index()
        slopes = pd.Series([np.polyfit(g["year"], g[metric], 1)[0] for _, g in yearly.groupby("rep")])
        level = float(after[metric].mean())
        slope, low, high = (x / level if level else float("nan") for x in mean_ci(slopes))
        rows.append({"metric": metric, "mean": level, "slope": slope, "ci_low": low, "ci_high": high})
    return pd.DataFrame(rows)


def dry_spells(daily: pd.DataFrame) -> pd.Series:
    """The longest run of days without a sale, per replication."""

    def longest(sold: pd.Series) -> int:
        dry = (sold == 0).astype(int)
        return int(dry.groupby((dry == 0).cumsum()).sum().max()) if len(dry) else 0

    return daily.groupby("rep")["grams_sold"].apply(longest)
