"""Figures of a run: the main metrics over time, mean and 95% band across replications."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from sim.io.files import write_atomic  # noqa: E402

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


def _draw(ax, daily: pd.DataFrame, metric: str, color: str, label: str | None) -> None:
    """Mean over replications (7-day smoothed) and its 95% band."""
    grouped = daily.groupby("day")[metric]
    mean = grouped.mean()
    reps = daily["rep"].nunique() if "rep" in daily else 1
    ax.plot(mean.index, mean.rolling(7, min_periods=1).mean(), color=color, lw=1.5, label=label)
    if reps > 1:
        smooth = mean.rolling(7, min_periods=1).mean()
        half = (1.96 * grouped.std(ddof=1) / reps**0.5).rolling(7, min_periods=1).mean()
        ax.fill_between(mean.index, smooth - half, smooth + half, color=color, alpha=0.18, lw=0)


Mark = tuple[int, str]  # a day a figure marks, and what happened on it


def mark_days(axes, marks: list[Mark], last_day: int) -> list[str]:
    """Dashed lines on the days of ``marks`` (the policy start, timed events), numbered on the first axes.

    Returns the legend lines ("1: day 400: the 3 largest storefronts blocked").
    """
    shown = [(day, text) for day, text in marks if day <= last_day]
    for ax in axes:
        for day, _ in shown:
            ax.axvline(day, color="black", ls="--", lw=0.8, alpha=0.7)
    first = axes[0]
    for k, (day, _) in enumerate(shown, 1):
        first.annotate(str(k), (day, 1.0), xycoords=("data", "axes fraction"), xytext=(2, -2),
                       textcoords="offset points", va="top", fontsize=8)  # fmt: skip
    return [f"{k}: {text}" for k, (_, text) in enumerate(shown, 1)]


def _figure(daily: pd.DataFrame, groups: list[tuple[str | None, pd.DataFrame]], title: str, marks, path) -> Path:
    fig, axes = plt.subplots(3, 3, figsize=(13, 9), sharex=True)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, (metric, label) in zip(axes.flat, PANELS, strict=True):
        for i, (name, frame) in enumerate(groups):
            _draw(ax, frame, metric, colors[i % len(colors)], name)
        ax.set_title(label, fontsize=10)
        ax.grid(alpha=0.3)
    legend = mark_days(list(axes.flat), marks, int(daily["day"].max()))
    for ax in axes[-1]:
        ax.set_xlabel("day")
    if len(groups) > 1:
        axes.flat[0].legend(fontsize=8, loc="best")
    reps = daily["rep"].nunique() if "rep" in daily else 1
    band = f"mean of {reps} replications, 7-day smoothed, 95% band" if reps > 1 else "one replication, 7-day mean"
    fig.suptitle(f"{title} ({band}; dashed: the days marked below)" if legend else f"{title} ({band})", fontsize=12)
    if legend:
        fig.text(0.01, 0.005, "   ".join(legend), fontsize=8, va="bottom", wrap=True)
        fig.tight_layout(rect=(0, 0.03, 1, 1))
    else:
        fig.tight_layout()
    write_atomic(path, lambda tmp: fig.savefig(tmp, format="png", dpi=110))
    plt.close(fig)
    return Path(path)


def plot_timeseries(daily: pd.DataFrame, path: str | Path, title: str, marks: Sequence[Mark] = ()) -> Path:
    """Plot PANELS over time for one scenario's replications (column ``rep``), days in ``marks`` marked; save a PNG."""
    return _figure(daily, [(None, daily)], title, list(marks), path)


def plot_comparison(daily: pd.DataFrame, path: str | Path, marks: Sequence[Mark] = ()) -> Path:
    """Overlay several scenarios (column ``scenario``) on the same panels, days in ``marks`` marked; save a PNG."""
    groups = [(name, frame) for name, frame in daily.groupby("scenario", sort=False)]
    return _figure(daily, groups, "Scenario comparison", list(marks), path)
