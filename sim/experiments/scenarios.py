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
    ci_table,
    final_window,
    paired_comparison,
    replication_seeds,
    run_replications,
    summarise,
)
from sim.io.config import load_scenario
from sim.io.provenance import now


@dataclass
class ScenarioResult:
    """What a scenario run produced."""

    name: str
    source: str  # the scenario file, or "parameter dict"
    params: dict[str, Any]
    daily: pd.DataFrame  # rep, day, every metric
    summary: pd.DataFrame  # one row per replication: its seed and each metric's final-window mean
    table: pd.DataFrame  # mean and 95% CI of each headline metric
    reps: int
    days: int
    seed: int
    window: int  # days at the end of each run that ``summary`` averages
    started: str = field(default_factory=now)


@dataclass
class Comparison:
    """Scenarios run with common random numbers, each compared with the first."""

    names: list[str]
    sources: list[str]
    params: dict[str, dict[str, Any]]
    daily: pd.DataFrame  # scenario, rep, day, every metric
    table: pd.DataFrame  # per scenario and headline metric: mean, CI, paired change against the first
    reps: int
    days: int
    seed: int
    window: int
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
    scenario: str | Path | dict[str, Any],
    *,
    reps: int = 10,
    days: int = 730,
    seed: int = 20251,
    execution: Execution | None = None,
) -> ScenarioResult:
    """Run ``reps`` seeded replications of a scenario file (or parameter dict) and summarise them.

    Replication ``r`` uses the ``r``-th child of ``SeedSequence(seed)``,
    wherever it runs (``execution``; default every local core).
    """
    started = now()
    name, source, params = _resolve(scenario)
    seeds = replication_seeds(seed, reps)
    daily = run_replications(params, days, seeds, execution=execution or Execution.local(), desc=name)
    window = final_window(days, params.get("policy_start_day"))
    summary = summarise(daily, window)
    summary.insert(1, "seed", [seed_label(seed, s) for s in seeds])
    return ScenarioResult(name, source, params, daily, summary, ci_table(summary), reps, days, seed, window, started)


def compare_scenarios(
    scenarios: list[str | Path | dict[str, Any]],
    *,
    reps: int = 10,
    days: int = 730,
    seed: int = 20251,
    execution: Execution | None = None,
) -> Comparison:
    """Run scenarios with common random numbers (the same replication seeds) and compare each with the first.

    The table has one row per scenario and headline metric: mean, 95% CI,
    difference from the first scenario with its 95% CI (paired by
    replication) and the paired t-test p-value.
    """
    started = now()
    resolved = [_resolve(s) for s in scenarios]
    names = [n for n, _, _ in resolved]
    if len(set(names)) != len(names):
        names = [f"{i + 1}:{n}" for i, n in enumerate(names)]
    seeds = replication_seeds(seed, reps)
    window = final_window(days, resolved[0][2].get("policy_start_day"))
    dailies, summaries, rows = [], [], []
    for name, (_, _, params) in zip(names, resolved, strict=True):
        daily = run_replications(params, days, seeds, execution=execution or Execution.local(), desc=name)
        daily.insert(0, "scenario", name)
        dailies.append(daily)
        summaries.append(summarise(daily.drop(columns="scenario"), window))
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
        names, [src for _, src, _ in resolved], {n: p for n, (_, _, p) in zip(names, resolved, strict=True)},
        pd.concat(dailies, ignore_index=True), pd.DataFrame(rows), reps, days, seed, window, started,
    )  # fmt: skip
