"""Scenario runs and comparisons: seeded replications of scenario files, summarised with confidence intervals.

``run_scenario`` and ``compare_scenarios`` take a ``Scenario`` (read and
checked once by ``sim.load_scenario``; a file or a mapping of values is
turned into one), a ``RunPlan`` and an ``Execution``, and return data (a
``ScenarioResult``, a ``Comparison``); ``sim.reporting.scenarios`` writes their
files, reports and figures. ``klad run`` and ``klad compare`` first
``prepare_run`` (or ``prepare_comparison``), so that whatever would refuse the
runs is said before an output folder is made, then run what was prepared.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.experiments.costs import cost_effectiveness, yearly_costs
from sim.experiments.execute import Execution
from sim.experiments.records import RunMetrics, run_metrics
from sim.experiments.replications import (
    HEADLINE,
    Window,
    check_memory,
    ci_table,
    paired_comparison,
    replication_seeds,
    run_replications,
    summarise,
    summary_window,
)
from sim.io.config import Scenario, scenario_of
from sim.io.provenance import now
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

    def window_of(self, scenario: Scenario) -> Window:
        """The checked summary window of a scenario's runs under this plan (an event they never reach is refused)."""
        check_reached(list(scenario.events), self.days, scenario.where)
        window = self.window if self.window is not None else scenario.window
        burn_in = self.burn_in if self.burn_in is not None else scenario.burn_in
        start = scenario.params.policy_start_day
        return summary_window(self.days, window, burn_in, start, force=self.force, where=scenario.where)


@dataclass
class ScenarioResult:
    """What a scenario run produced."""

    name: str
    source: str  # the scenario file, or "parameter dict"
    scenario: Scenario
    plan: RunPlan
    window: Window
    daily: pd.DataFrame  # rep, day, every metric
    summary: pd.DataFrame  # one row per replication: its seed and each metric's mean over the window
    table: pd.DataFrame  # mean and 95% CI of each headline metric
    metrics: RunMetrics  # the window's metrics beyond the daily totals: refill days, shop survival, migration
    records: dict[str, pd.DataFrame] = field(default_factory=dict)  # shops, purchases, couriers (with rep)
    started: str = field(default_factory=now)
    costs: pd.DataFrame = field(default_factory=pd.DataFrame)  # per replication and year (``yearly_costs``)

    @property
    def params(self) -> dict[str, Any]:
        """The scenario's values as one mapping (``Scenario.as_dict`` less its name), for manifests."""
        return _values(self.scenario)


@dataclass
class Comparison:
    """Scenarios run with common random numbers, each compared with the first."""

    names: list[str]
    sources: list[str]
    scenarios: dict[str, Scenario]
    plan: RunPlan
    window: Window
    daily: pd.DataFrame  # scenario, rep, day, every metric
    table: pd.DataFrame  # per scenario and headline metric: mean, CI, paired change against the first
    started: str = field(default_factory=now)
    costs: pd.DataFrame = field(default_factory=pd.DataFrame)  # scenario, then ``yearly_costs`` of its runs
    # Each scenario but the first against the first, year by year (``cost_effectiveness``): scenario, then its rows.
    against_first: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def params(self) -> dict[str, dict[str, Any]]:
        """Each scenario's values as one mapping (``Scenario.as_dict``), by name, for manifests."""
        return {name: _values(scenario) for name, scenario in self.scenarios.items()}


def _values(scenario: Scenario) -> dict[str, Any]:
    values = scenario.as_dict()
    del values["scenario_name"]
    return values


#: What a workflow accepts as its scenario: a ``Scenario``, a scenario file, or values (``Scenario.of``).
ScenarioLike = Scenario | str | Path | Mapping[str, Any]


def seed_label(root: int, seq: np.random.SeedSequence) -> str:
    """How a replication's seed is written in tables: the root seed and the spawn key."""
    return f"{root}/{'.'.join(str(k) for k in seq.spawn_key)}"


@dataclass(frozen=True)
class ScenarioRun:
    """A scenario's runs under a plan, checked and ready: ``prepare_run`` makes one, ``run`` runs it.

    Everything that could refuse the runs (an event they never reach, a
    summary window that would summarise the wrong days, a city too large for
    this machine's memory) is checked as it is made, before anything is run or
    written.
    """

    scenario: Scenario
    plan: RunPlan
    execution: Execution
    window: Window

    def run(self) -> ScenarioResult:
        """Run the replications and summarise them (``run_scenario``)."""
        started = now()
        plan, scenario = self.plan, self.scenario
        seeds = replication_seeds(plan.seed, plan.reps)
        record = plan.record or scenario.record
        runs = run_replications(scenario, plan.days, seeds, execution=self.execution, desc=scenario.name,
                                record=record)  # fmt: skip
        daily = runs.pop("daily")
        summary = summarise(daily, self.window.days)
        summary.insert(1, "seed", [seed_label(plan.seed, s) for s in seeds])
        metrics = run_metrics(daily, runs, plan.days - self.window.days + 1)
        costs = yearly_costs(daily, _values(scenario))
        return ScenarioResult(scenario.name, scenario.where, scenario, plan, self.window, daily, summary,
                              ci_table(summary), metrics, runs, started, costs)  # fmt: skip


def prepare_run(scenario: ScenarioLike, plan: RunPlan, execution: Execution | None = None) -> ScenarioRun:
    """A scenario's runs under ``plan``, checked before any of them starts (``ScenarioRun``)."""
    scenario = scenario_of(scenario)
    execution = execution or Execution.local()
    window = plan.window_of(scenario)
    check_memory([scenario], plan.days, execution, plan.reps, scenario.where)
    return ScenarioRun(scenario, plan, execution, window)


def run_scenario(
    scenario: ScenarioLike, plan: RunPlan | None = None, execution: Execution | None = None, **settings: Any
) -> ScenarioResult:
    """Run a scenario's seeded replications and summarise them.

    ``scenario`` is a ``Scenario`` (``sim.load_scenario``), a scenario file or
    a mapping of values. ``plan`` (or its fields as keywords: ``reps=8,
    days=730``) says how; replication ``r`` uses the ``r``-th child of
    ``SeedSequence(plan.seed)``, wherever it runs (``execution``; default
    every local core).
    """
    return prepare_run(scenario, plan or RunPlan(**settings), execution).run()


@dataclass(frozen=True)
class ComparisonRun:
    """Scenarios' runs under one plan, checked and ready: ``prepare_comparison`` makes one, ``run`` runs it."""

    scenarios: tuple[Scenario, ...]
    plan: RunPlan
    execution: Execution
    window: Window

    def run(self) -> Comparison:
        """Run every scenario with the same seeds and compare each with the first (``compare_scenarios``)."""
        started = now()
        plan = self.plan
        names = [s.name for s in self.scenarios]
        if len(set(names)) != len(names):
            names = [f"{i + 1}:{n}" for i, n in enumerate(names)]
        seeds = replication_seeds(plan.seed, plan.reps)
        dailies, summaries, rows = [], [], []
        for name, scenario in zip(names, self.scenarios, strict=True):
            daily = run_replications(scenario, plan.days, seeds, execution=self.execution, desc=name)["daily"]
            daily.insert(0, "scenario", name)
            dailies.append(daily)
            summaries.append(summarise(daily.drop(columns="scenario"), self.window.days))
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
        costs = [yearly_costs(daily.drop(columns="scenario"), _values(scenario))
                 for daily, scenario in zip(dailies, self.scenarios, strict=True)]  # fmt: skip
        against = [cost_effectiveness(arm, costs[0]).assign(scenario=name).set_index("scenario").reset_index()
                   for name, arm in zip(names[1:], costs[1:], strict=True)]  # fmt: skip
        return Comparison(
            names, [s.where for s in self.scenarios], dict(zip(names, self.scenarios, strict=True)), plan,
            self.window, pd.concat(dailies, ignore_index=True), pd.DataFrame(rows), started,
            pd.concat([c.assign(scenario=n).set_index("scenario").reset_index() for n, c in zip(names, costs,
                                                                                              strict=True)],
                      ignore_index=True),
            pd.concat(against, ignore_index=True) if against else pd.DataFrame(),
        )  # fmt: skip


def prepare_comparison(
    scenarios: Sequence[ScenarioLike], plan: RunPlan, execution: Execution | None = None
) -> ComparisonRun:
    """Scenarios' runs under ``plan``, checked before any of them starts (``ComparisonRun``).

    The summary window is the first scenario's.
    """
    checked = tuple(scenario_of(s) for s in scenarios)
    execution = execution or Execution.local()
    window = plan.window_of(checked[0])
    for scenario in checked:
        check_memory([scenario], plan.days, execution, plan.reps, scenario.where)
    return ComparisonRun(checked, plan, execution, window)


def compare_scenarios(
    scenarios: Sequence[ScenarioLike], plan: RunPlan | None = None, execution: Execution | None = None,
    **settings: Any,
) -> Comparison:  # fmt: skip
    """Run scenarios with common random numbers (the same replication seeds) and compare each with the first.

    The summary window is the first scenario's. The table has one row per
    scenario and headline metric: mean, 95% CI, difference from the first
    scenario with its 95% CI (paired by replication) and the paired t-test
    p-value.
    """
    return prepare_comparison(scenarios, plan or RunPlan(**settings), execution).run()
