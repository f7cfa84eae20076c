"""Running scenarios: seeded replications in parallel, collected into DataFrames.

Replication ``r`` of a run with root seed ``S`` always uses the ``r``-th child
of ``numpy.random.SeedSequence(S)``, whatever the number of worker processes
and whatever order they finish in, so results are identical for any
``workers``. Comparisons use the same seeds for every scenario (common random
numbers).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from sim.experiments.execute import IN_PROCESS, Execution, execute
from sim.model.market import KladMarket
from sim.model.metrics import METRICS

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
    model = KladMarket(params, rng=seed)
    model.run_for(days)
    return model.daily()


def run_replications(
    params: dict[str, Any],
    days: int,
    seeds: list[np.random.SeedSequence],
    *,
    execution: Execution = IN_PROCESS,
    desc: str = "runs",
) -> pd.DataFrame:
    """Run one replication per seed (``execute``: local processes or Dask); all daily rows, with a ``rep`` column."""
    params = {k: v for k, v in params.items() if k != "scenario_name"}
    jobs = [(run_one, (params, days, seed)) for seed in seeds]
    frames = execute(jobs, sizes=[days] * len(seeds), execution=execution, desc=desc, unit="day")
    for rep, daily in enumerate(frames):
        daily.insert(0, "rep", rep)
    return pd.concat(frames, ignore_index=True)


def final_window(days: int, policy_start_day: int | None = None) -> int:
    """Days summarised at the end of a run: the last quarter, at most 90 days, and none before the policy starts."""
    window = max(1, min(90, days // 4))
    if policy_start_day is not None and policy_start_day <= days:
        window = min(window, days - policy_start_day + 1)
    return window


def summarise(daily: pd.DataFrame, window: int) -> pd.DataFrame:
    """One row per replication: each metric's mean over the last ``window`` days."""
    last = daily[daily["day"] > daily["day"].max() - window]
    return last.groupby("rep")[list(METRICS)].mean().reset_index()


def mean_ci(values: pd.Series, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and two-sided t confidence interval of replication values."""
    values = values.dropna()
    mean = float(values.mean())
    if len(values) < 2:
        return mean, float("nan"), float("nan")
    sem = float(stats.sem(values))
    if sem == 0.0:
        return mean, mean, mean
    low, high = stats.t.interval(level, len(values) - 1, loc=mean, scale=sem)
    return mean, float(low), float(high)


def ci_table(summary: pd.DataFrame, metrics: tuple[str, ...] = HEADLINE) -> pd.DataFrame:
    """Mean and 95% CI of each metric across replications."""
    rows = [(m, *mean_ci(summary[m])) for m in metrics]
    return pd.DataFrame(rows, columns=["metric", "mean", "ci_low", "ci_high"])


def paired_comparison(base: pd.DataFrame, other: pd.DataFrame, metrics: tuple[str, ...] = HEADLINE) -> pd.DataFrame:
    """Change of each metric against ``base``, paired by replication (common random numbers).

    Returns per metric: both means, the mean difference with its 95% CI, the
    relative change, and the p-value of a paired t-test.
    """
    rows = []
    for m in metrics:
        diff = other[m].to_numpy() - base[m].to_numpy()
        d_mean, d_low, d_high = mean_ci(pd.Series(diff))
        if len(diff) > 1 and np.std(diff) > 0:
            p_value = float(stats.ttest_rel(other[m], base[m]).pvalue)
        else:
            p_value = float("nan") if len(diff) < 2 else (1.0 if d_mean == 0 else 0.0)
        base_mean = float(base[m].mean())
        rows.append(
            {
                "metric": m,
                "base_mean": base_mean,
                "mean": float(other[m].mean()),
                "diff": d_mean,
                "diff_ci_low": d_low,
                "diff_ci_high": d_high,
                "rel_change": d_mean / base_mean if base_mean else float("nan"),
                "p_paired_t": p_value,
            }
        )
    return pd.DataFrame(rows)
