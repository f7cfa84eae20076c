"""Figures of a run: the main metrics over time, mean and 95% band across replications."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from .output import write_atomic  # noqa: E402

PANELS = (
    ("grams_sold", "Grams sold per day"),
    ("price_per_gram", "Retail price, KZT/g"),
    ("active_couriers", "Couriers working"),
    ("active_buyers", "Active buyers"),
    ("active_storefronts", "Open storefronts"),
    ("arrests_courier", "Courier arrests per day"),
    ("arrests_buyer", "Buyer arrests per day"),
    ("prisoners", "People in prison"),
    ("not_found_rate", "'Not found' share of pickups"),
)


def plot_timeseries(daily: pd.DataFrame, path: str | Path, title: str, policy_day: int | None = None) -> Path:
    """Plot PANELS over time for one or more replications (column ``rep``) and save a PNG."""
    fig, axes = plt.subplots(3, 3, figsize=(13, 9), sharex=True)
    reps = daily["rep"].nunique() if "rep" in daily else 1
    for ax, (metric, label) in zip(axes.flat, PANELS, strict=True):
        grouped = daily.groupby("day")[metric]
        mean = grouped.mean()
        smooth = mean.rolling(7, min_periods=1).mean()
        ax.plot(mean.index, smooth, color="tab:blue", lw=1.5)
        if reps > 1:
            half = 1.96 * grouped.std(ddof=1) / reps**0.5
            ax.fill_between(mean.index, mean - half, mean + half, color="tab:blue", alpha=0.2, lw=0)
        if policy_day is not None and policy_day <= daily["day"].max():
            ax.axvline(policy_day, color="tab:red", ls="--", lw=1)
        ax.set_title(label, fontsize=10)
        ax.grid(alpha=0.3)
    for ax in axes[-1]:
        ax.set_xlabel("day")
    band = f"mean of {reps} replications, 7-day smoothed, 95% band" if reps > 1 else "one replication, 7-day mean"
    fig.suptitle(f"{title} ({band}; dashed: policy starts)", fontsize=12)
    fig.tight_layout()
    write_atomic(path, lambda tmp: fig.savefig(tmp, format="png", dpi=110))
    plt.close(fig)
    return Path(path)
