"""Validation of a scenario against the empirical targets: ``klad validate``.

Runs a scenario's replications (every target statistic per run, through the
sweep machinery), and for each target reports its accepted range, the mean over
replications with its 95% CI, and how that CI lies against the range: inside
it, straddling a bound, or wholly outside (a failure). Fitted
targets and out-of-sample patterns are reported apart.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from sim.experiments.execute import IN_PROCESS, Execution
from sim.experiments.targets import Targets, load_targets, replicate
from sim.io.config import load_scenario

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

    @property
    def passed(self) -> bool:
        """Whether every target passed."""
        return bool(self.table["passed"].all())


def validate(
    scenario: str | Path,
    targets_path: str | Path,
    *,
    reps: int = 10,
    days: int = 730,
    seed: int = 20251,
    execution: Execution = IN_PROCESS,
) -> Validation:
    """Run ``reps`` replications of ``scenario`` and judge every target."""
    targets = load_targets(targets_path)
    params = load_scenario(scenario)
    with tempfile.TemporaryDirectory(prefix="klad-validate-") as tmp:
        runs, table = replicate(params, targets, reps=reps, days=days, seed=seed, out=tmp, execution=execution)
    return Validation(table, runs, targets, str(scenario), reps, days, seed)
