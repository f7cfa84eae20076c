"""Validation of a scenario against the empirical targets: ``klad validate``.

Runs a scenario's replications (every target statistic per run, through the
sweep machinery), and for each target reports its accepted range, the mean over
replications with its 95% CI, and how that CI lies against the range: inside
it, straddling a bound, or wholly outside (a failure). Every target is judged
at each of the targets file's horizons (years 2 and 5 for Kazakhstan), over
the file's window, so that a market that drifts away from a figure fails.
Fitted targets and out-of-sample patterns are reported apart.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from sim.experiments.execute import IN_PROCESS, Execution
from sim.experiments.targets import Targets, load_targets, replicate
from sim.io.config import Scenario, scenario_of
from sim.io.provenance import now

SECTIONS = (("fit", "Fitted targets"), ("pattern", "Out-of-sample patterns (not used for fitting)"))


@dataclass
class Validation:
    """What a validation produced."""

    table: pd.DataFrame  # one row per target: role, range, mean, 95% CI, outcome, passed
    runs: pd.DataFrame
    targets: Targets
    scenario: str
    reps: int
    days: int
    seed: int
    horizons: tuple[int, ...]
    started: str = ""  # when the runs started (ISO time), for the manifest

    @property
    def passed(self) -> bool:
        """Whether every target passed."""
        return bool(self.table["passed"].all())


@dataclass(frozen=True)
class ValidationPlan:
    """How a scenario is validated: the targets file, replications, days and root seed.

    ``days`` replaces the targets file's horizons by one, at the run's last
    day; left out, every target is judged at each of the file's horizons.
    """

    targets: str | Path
    reps: int = 10
    days: int | None = None
    seed: int = 20251


def validate(
    scenario: Scenario | str | Path,
    plan: ValidationPlan | None = None,
    execution: Execution = IN_PROCESS,
    **settings: Any,
) -> Validation:
    """Run the plan's replications of ``scenario`` and judge every target at each horizon of the targets file.

    ``plan`` is a ``ValidationPlan`` (or its fields as keywords:
    ``targets=..., reps=8``); ``execution`` says where the runs go.
    """
    plan = plan or ValidationPlan(**settings)
    started = now()
    targets = load_targets(plan.targets)
    scenario = scenario_of(scenario)
    params = scenario.as_dict()
    horizons = targets.horizons if plan.days is None else (plan.days,)
    window = min(targets.window, horizons[0] // 2)
    with tempfile.TemporaryDirectory(prefix="klad-validate-") as tmp:
        runs, table = replicate(params, targets, horizons=horizons, reps=plan.reps, days=horizons[-1],
                                seed=plan.seed, out=tmp, window=window, execution=execution)  # fmt: skip
    return Validation(table, runs, targets, scenario.where, plan.reps, horizons[-1], plan.seed, horizons, started)
