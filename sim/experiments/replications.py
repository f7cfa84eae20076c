"""Running scenarios: seeded replications in parallel, collected into DataFrames.

Replication ``r`` of a run with root seed ``S`` always uses the ``r``-th child
of ``numpy.random.SeedSequence(S)``, whatever the number of worker processes
and whatever order they finish in, so results are identical for any
``workers``. Comparisons use the same seeds for every scenario (common random
numbers).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from sim.experiments.execute import IN_PROCESS, Execution, available_memory, execute
from sim.io.config import Scenario
from sim.model.market import KladMarket
from sim.model.metrics import METRICS, UNITS, bounds
from sim.params import ParameterError, Params, defaults, resolve, validate

#: Metrics summarised over the final window and shown in summaries.
HEADLINE = (
    "grams_sold", "price_per_gram", "active_buyers", "active_couriers", "active_shops", "active_labs",
    "active_storefronts", "arrests_buyer", "arrests_courier", "arrests_operator", "arrests_lab",
    "prisoners", "not_found_rate", "latency", "courier_pay",
)  # fmt: skip


def replication_seeds(seed: int, reps: int) -> list[np.random.SeedSequence]:
    """Independent seeds for ``reps`` replications, spawned from one root seed."""
    return np.random.SeedSequence(seed).spawn(reps)


def run_one(params: Scenario | Params | dict[str, Any], days: int, seed: np.random.SeedSequence | int) -> pd.DataFrame:
    """Run the model once; return its daily metrics (one row per day, ``day`` from 1)."""
    model = KladMarket(params, rng=seed)
    model.run_for(days)
    return model.daily()


#: Bytes of a run's arrays per buyer, courier candidate and courier: the peak over a run's first days measured
#: with tracemalloc (180, 200 and 150 bytes, cities of 10,000 to 1,000,000 buyers), doubled, because the rosters
#: keep spare rows and the market grows.
BYTES_PER = {"buyer": 360, "candidate": 400, "courier": 300}


def run_memory(params: Scenario | Params | Mapping[str, Any], days: int) -> tuple[float, str]:
    """Roughly the bytes one run of the market needs, from the size of its city, and the sizes in words.

    Courier candidates are ``candidate_pool`` per 10,000 buyers at the start,
    joined by ``candidate_inflow`` a day for as long as they stay (``1 /
    candidate_exit_rate`` days) or the run lasts.
    """
    if isinstance(params, Scenario):
        params = params.params
    p = params.as_dict() if isinstance(params, Params) else {**defaults(), **params}
    scale = p["n_buyers"] / 10_000
    stay = days if p["candidate_exit_rate"] <= 0 else min(days, 1 / p["candidate_exit_rate"])
    candidates = (p["candidate_pool"] + p["candidate_inflow"] * stay) * scale
    need = (BYTES_PER["buyer"] * p["n_buyers"] + BYTES_PER["candidate"] * candidates
            + BYTES_PER["courier"] * p["n_couriers"])  # fmt: skip
    sizes = f"{p['n_buyers']:,} buyers, {candidates:,.0f} courier candidates, {p['n_couriers']:,} couriers"
    return need, sizes


def check_memory(
    cities: Sequence[Scenario | Params | Mapping[str, Any]],
    days: int,
    execution: Execution,
    runs: int,
    where: str,
    copies: int = 1,
) -> None:
    """Refuse runs that cannot fit in this machine's free memory, with the estimate (before any run starts).

    ``cities`` are the parameter sets whose runs may be in memory at once, one
    per worker (the largest counts), each ``copies`` times (2 for runs forked
    from a warm-up: the warm-up and the copy being run); on a Dask cluster the
    workers' memory is not known here and nothing is refused.
    """
    free = available_memory()
    if execution.scheduler or free is None or not cities:
        return
    need, sizes = max(run_memory(city, days) for city in cities)
    need *= copies
    parallel = max(1, min(execution.workers, runs))
    if need * parallel <= free:
        return
    gb = 1e9
    fewer = int(free // need)
    hint = f"; with --workers {fewer} they fit" if 1 <= fewer < parallel else ""
    at_once = f" x {parallel} at once" if parallel > 1 else ""
    raise ParameterError(f"{where}: a run of {sizes} needs about {need / gb:,.1f} GB of memory{at_once}; this "
                         f"machine has {free / gb:,.1f} GB free{hint}")  # fmt: skip


def run_forked(trunk: dict[str, Any], policies: list[dict[str, Any]], days: int,
               seed: np.random.SeedSequence | int) -> list[pd.DataFrame]:  # fmt: skip
    """Runs of one seed that differ only by their ``policy`` (levers from ``policy_start_day``): their daily metrics.

    Before ``policy_start_day`` such runs are the same run: every process of
    the model draws numbers that depend only on the seed, the process and the
    day (``sim.model.engine.draws.Streams``), and no lever has switched yet.
    So the warm-up is run once, and at its end the model is copied
    (``copy.deepcopy``) into one run per policy, each then going on with its
    own levers. The results are exactly those of separate runs (a test checks
    it), at the cost of one warm-up instead of one per policy.
    """
    import copy

    base = KladMarket(trunk, rng=seed)
    warm_up = min(days, max(0, base.p.policy_start_day - 1))  # the policy switches on at the start of its day
    base.run_for(warm_up)
    frames = []
    for i, policy in enumerate(policies):
        resolve({**trunk, "policy": policy})  # the levers keep the cross-parameter rules with the rest
        model = base if i == len(policies) - 1 else copy.deepcopy(base)
        model.policy = validate(policy, "policy", levers_only=True)
        model.run_for(days - warm_up)
        frames.append(model.daily())
        del model  # at most the warm-up and one copy in memory at once
    return frames


def run_recorded(
    params: Scenario | Params | dict[str, Any], days: int, seed: np.random.SeedSequence | int, record: tuple[str, ...]
) -> dict[str, pd.DataFrame]:
    """Run the model once keeping ``record`` (``sim.model.records``); its ``daily`` metrics and each record."""
    model = KladMarket(params, rng=seed, record=record)
    model.run_for(days)
    return {"daily": model.daily(), **model.records()}


def run_replications(
    scenario: Scenario,
    days: int,
    seeds: list[np.random.SeedSequence],
    *,
    execution: Execution = IN_PROCESS,
    desc: str = "runs",
    record: tuple[str, ...] = (),
) -> dict[str, pd.DataFrame]:
    """Run one replication per seed (``execute``: local processes or Dask).

    Returns ``daily`` (every day's metrics) and each record asked for, all
    replications in one frame each, with a ``rep`` column. The caller has
    checked that the runs fit in memory (``check_memory``).
    """
    jobs = [(run_recorded, (scenario, days, seed, tuple(record))) for seed in seeds]
    runs = execute(jobs, sizes=[days] * len(seeds), execution=execution, desc=desc, unit="day")
    assert runs is not None  # without paths, the results come back
    for rep, frames in enumerate(runs):
        for frame in frames.values():
            frame.insert(0, "rep", rep)
    return {name: pd.concat([run[name] for run in runs], ignore_index=True) for name in runs[0]}


#: The summary window when a file does not say: the last 90 days of each run.
DEFAULT_WINDOW = 90
#: A shorter window is refused unless forced: it averages too little to summarise a run.
MIN_WINDOW = 30


@dataclass(frozen=True)
class Window:
    """What a run's summary averages: its last ``days`` days, all after the ``burn_in`` days at its start."""

    days: int
    burn_in: int

    def describe(self, run_days: int) -> str:
        """The window in words, for reports: which days it covers and the burn-in before it."""
        return (f"the last {self.days} days (days {run_days - self.days + 1}-{run_days}), after a burn-in of "
                f"{self.burn_in} days")  # fmt: skip


def summary_window(
    run_days: int, window: int | None, burn_in: int | None, policy_start_day: int, *, force: bool = False,
    where: str = "",
) -> Window:  # fmt: skip
    """The summary window of runs of ``run_days`` days, checked so that it cannot summarise the wrong days.

    ``window`` defaults to ``DEFAULT_WINDOW`` and ``burn_in`` to the policy
    start day (a scenario's burn-in is the time it is given to settle before
    its policy starts). Refused with one line naming ``where``, unless
    ``force``: a window under ``MIN_WINDOW`` days, one longer than the run, or
    one that starts before the burn-in ends.
    """
    window = DEFAULT_WINDOW if window is None else window
    burn_in = policy_start_day if burn_in is None else burn_in
    prefix = f"{where}: " if where else ""
    if window > run_days:
        raise ParameterError(f"{prefix}the summary window ({window} days) is longer than the run ({run_days} days)")
    if force:
        return Window(window, burn_in)
    if window < MIN_WINDOW:
        raise ParameterError(f"{prefix}a summary window of {window} days averages too little (at least {MIN_WINDOW}; "
                             "--force to use it anyway)")  # fmt: skip
    if run_days - window < burn_in:
        raise ParameterError(
            f"{prefix}the summary window (the last {window} of {run_days} days) starts on day {run_days - window + 1}, "
            f"before the burn-in ends on day {burn_in}: run at least {burn_in + window} days, or set a shorter "
            "burn_in or window (--burn-in, --window), or --force"
        )
    return Window(window, burn_in)


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
    """Mean and 95% CI of each metric across replications, with its unit.

    A t interval is symmetric, so for a count near 0 (a city's few labs) it can reach below 0, which no count
    can: such an end is cut at the metric's bound (``sim.model.metrics.bounds``; 1 for a share) and
    ``cut`` says so, for the report to mark.
    """
    rows = []
    for m in metrics:
        mean, low, high = mean_ci(summary[m])
        floor, ceiling = bounds(m)
        cut = bool(low < floor or high > ceiling)
        rows.append((m, UNITS.get(m, ""), mean, max(low, floor), min(high, ceiling), cut))
    return pd.DataFrame(rows, columns=["metric", "unit", "mean", "ci_low", "ci_high", "cut"])


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
