"""Scenario runs and comparisons: seeded replications of scenario files, summarised with confidence intervals.

``run_scenario`` and ``compare_scenarios`` are what ``klad run`` and ``klad
compare`` call; notebooks can call them too. They return data (a
``ScenarioResult``, a ``Comparison``); ``sim.reporting.scenarios`` writes their
files, reports and figures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from sim.experiments.execute import Execution
from sim.experiments.replications import (
    HEADLINE,
    Window,
    ci_table,
    paired_comparison,
    replication_seeds,
    run_replications,
    summarise,
    summary_window,
)
from sim.io.config import load_scenario
from sim.io.provenance import now
from sim.params import REGISTRY
from sim.timeline import check_reached


@dataclass(frozen=True)
class RunPlan:
    """How scenarios are run: replications, days, root seed, summary window, records.

    ``window`` and ``burn_in`` (days) override a scenario file's; left out,
    the file's, or the defaults of ``summary_window``. ``force`` accepts a
    window that ``summary_window`` would refuse. ``record`` names the records
    below the city level to keep (``sim.model.records.RECORDS``).
    """

    reps: int = 10
    days: int = 730
    seed: int = 20251
    window: int | None = None
    burn_in: int | None = None
    force: bool = False
    record: tuple[str, ...] = ()  # empty: the scenario file's ``record``, if any

    def window_of(self, params: dict[str, Any], where: str) -> Window:
        """The checked summary window of a scenario's runs under this plan (an event they never reach is refused)."""
        check_reached(params.get("events", []), self.days, where)
        window = self.window if self.window is not None else params.get("window")
        burn_in = self.burn_in if self.burn_in is not None else params.get("burn_in")
        start = params.get("policy_start_day", REGISTRY["policy_start_day"].default)
        return summary_window(self.days, window, burn_in, start, force=self.force, where=where)


@dataclass
class ScenarioResult:
    """What a scenario run produced."""

    name: str
    source: str  # the scenario file, or "parameter dict"
    params: dict[str, Any]
    plan: RunPlan
    window: Window
    daily: pd.DataFrame  # rep, day, every metric
    summary: pd.DataFrame  # one row per replication: its seed and each metric's mean over the window
    table: pd.DataFrame  # mean and 95% CI of each headline metric
    records: dict[str, pd.DataFrame] = field(default_factory=dict)  # shops, purchases, couriers (with rep)
    started: str = field(default_factory=now)


@dataclass
class Comparison:
    """Scenarios run with common random numbers, each compared with the first."""

    names: list[str]
    sources: list[str]
    params: dict[str, dict[str, Any]]
    plan: RunPlan
    window: Window
    daily: pd.DataFrame  # scenario, rep, day, every metric
    table: pd.DataFrame  # per scenario and headline metric: mean, CI, paired change against the first
    started: str = field(default_factory=now)


def _resolve(scenario: str | Path | dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    if isinstance(scenario, dict):
        params = dict(scenario)
        return params.pop("scenario_name", "custom"), "parameter dict", params
    params = load_scenario(scenario)
    return params.pop("scenario_name"), str(scenario), params


def seed_label(root: int, seq) -> str:
    """How a replication's seed is written in tables: the root seed and the spawn key."""
    return f"{root}/{'.'.join(str(k) for k in seq.spawn_key)}"


def run_scenario(
    scenario: str | Path | dict[str, Any], plan: RunPlan | None = None, execution: Execution | None = None, **settings
) -> ScenarioResult:
    """Run a scenario file's (or parameter dict's) seeded replications and summarise them.

    ``plan`` (or its fields as keywords: ``reps=8, days=730``) says how;
    replication ``r`` uses the ``r``-th child of ``SeedSequence(plan.seed)``,
    wherever it runs (``execution``; default every local core).
    """
    started = now()
    plan = plan or RunPlan(**settings)
    name, source, params = _resolve(scenario)
    window = plan.window_of(params, source)
    seeds = replication_seeds(plan.seed, plan.reps)
    record = plan.record or params.get("record", ())
    runs = run_replications(params, plan.days, seeds, execution=execution or Execution.local(), desc=name,
                            record=record)  # fmt: skip
    daily = runs.pop("daily")
    summary = summarise(daily, window.days)
    summary.insert(1, "seed", [seed_label(plan.seed, s) for s in seeds])
    return ScenarioResult(name, source, params, plan, window, daily, summary, ci_table(summary), runs, started)


def compare_scenarios(
    scenarios: list[str | Path | dict[str, Any]], plan: RunPlan | None = None, execution: Execution | None = None,
    **settings,
) -> Comparison:  # fmt: skip
    """Run scenarios with common random numbers (the same replication seeds) and compare each with the first.

    The summary window is the first scenario's. The table has one row per
    scenario and headline metric: mean, 95% CI, difference from the first
    scenario with its 95% CI (paired by replication) and the paired t-test
    p-value.
    """
    started = now()
    plan = plan or RunPlan(**settings)
    resolved = [_resolve(s) for s in scenarios]
    names = [n for n, _, _ in resolved]
    if len(set(names)) != len(names):
        names = [f"{i + 1}:{n}" for i, n in enumerate(names)]
    seeds = replication_seeds(plan.seed, plan.reps)
    window = plan.window_of(resolved[0][2], resolved[0][1])
    dailies, summaries, rows = [], [], []
    for name, (_, _, params) in zip(names, resolved, strict=True):
        daily = run_replications(params, plan.days, seeds, execution=execution or Execution.local(), desc=name)["daily"]
        daily.insert(0, "scenario", name)
        dailies.append(daily)
        summaries.append(summarise(daily.drop(columns="scenario"), window.days))
    for name, summary in zip(names, summaries, strict=True):
        table = ci_table(summary).set_index("metric")
        versus = paired_comparison(summaries[0], summary).set_index("metric")
        for metric in HEADLINE:
            rows.append(
                {
                    "scenario": name,
                    "metric": metric,
                    **table.loc[metric].to_dict(),
                    **versus.loc[metric, ["diff", "diff_ci_low", "diff_ci_high", "rel_change", "p_paired_t"]],
                }
            )
    return Comparison(
        names, [src for _, src, _ in resolved], {n: p for n, (_, _, p) in zip(names, resolved, strict=True)}, plan,
        window, pd.concat(dailies, ignore_index=True), pd.DataFrame(rows), started,
    )  # fmt: skip
