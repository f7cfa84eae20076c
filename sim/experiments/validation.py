"""Validation of a scenario against the empirical targets: ``klad validate``.

Runs a scenario's replications (every target statistic per run, through the
sweep machinery), and for each target reports its accepted range, the mean over
replications with its 95% CI, and how that CI lies against the range: inside
it, straddling a bound, or wholly outside (a failure). Fitted
targets and out-of-sample patterns are reported apart.
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from sim.experiments.calibration import fit_table
from sim.experiments.targets import Targets, load_targets, run_statistics
from sim.io.config import load_scenario
from sim.io.files import write_text

SECTIONS = (("fit", "Fitted targets"), ("pattern", "Out-of-sample patterns (not used for fitting)"))


@dataclass
class Validation:
    """What a validation produced."""

    table: pd.DataFrame  # one row per target: role, range, mean, 95% CI, passed
    runs: pd.DataFrame
    targets: Targets

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
    workers: int = 1,
    scheduler: str | None = None,
    out: str | Path | None = None,
    progress: bool = False,
) -> Validation:
    """Run ``reps`` replications of ``scenario`` and judge every target; with ``out``, write ``report.md``."""
    targets = load_targets(targets_path)
    params = load_scenario(scenario)
    with tempfile.TemporaryDirectory(prefix="klad-validate-") as tmp:
        runs = run_statistics(
            params, {"policy_start_day": [params["policy_start_day"]]}, design="grid", samples=1, reps=reps,
            days=days, seed=seed, out=tmp, workers=workers, scheduler=scheduler, progress=progress,
        )  # fmt: skip
    failed = runs[runs["status"] != "ok"]
    table = fit_table(runs[runs["status"] == "ok"], targets)
    table["passed"] &= len(failed) == 0
    result = Validation(table, runs, targets)
    if out is not None:
        write_text(report(result, scenario, reps, days, seed), Path(out) / "report.md")
    return result


def _g(x: float) -> str:
    return "n/a" if math.isnan(x) else f"{x:,.4g}"


def lines(result: Validation) -> list[tuple[str, list[str]]]:
    """The table as plain-text rows, per section."""
    by_id = {t.id: t for t in result.targets.targets}
    sections = []
    for role, title in SECTIONS:
        rows = [f"  {'target':<30} {'accepted range':>22} {'mean':>11} {'95% CI':>24}  result"]
        for row in result.table[result.table["role"] == role].itertuples():
            ci = f"[{_g(row.ci_low)}, {_g(row.ci_high)}]"
            rows.append(
                f"  {row.target:<30} {by_id[row.target].range_text():>22} {_g(row.mean):>11} {ci:>24}  "
                f"{row.outcome if row.passed else 'FAIL (outside)'}"
            )
        sections.append((title, rows))
    return sections


def report(result: Validation, scenario, reps: int, days: int, seed: int) -> str:
    """``report.md``: both sections as Markdown tables, with units and sources."""
    by_id = {t.id: t for t in result.targets.targets}
    failed_runs = int((result.runs["status"] != "ok").sum())
    verdict = "all targets pass" if result.passed else "**some targets fail**"
    text = [
        f"# Validation of `{scenario}`",
        "",
        f"{reps} replications of {days} days (root seed {seed}), targets `{result.targets.path}`. Each statistic is "
        "computed per replication over its last simulated year (the take-down pattern over the 14 days after the run); "
        "the table gives the mean over replications with its 95% t confidence interval. A target is *inside* when the "
        "whole interval lies in its accepted range, *outside* (a failure) when the whole interval lies beyond it, and "
        f"*straddles* a bound otherwise. Result: {verdict}; {failed_runs} runs failed.",
    ]
    for role, title in SECTIONS:
        text += ["", f"## {title}", "", "| target | accepted range | unit | mean | 95% CI | result | source |",
                 "|---|---|---|---:|---|---|---|"]  # fmt: skip
        for row in result.table[result.table["role"] == role].itertuples():
            t = by_id[row.target]
            text.append(
                f"| {row.target} | {t.range_text()} | {t.unit} | {_g(row.mean)} | {_g(row.ci_low)} to "
                f"{_g(row.ci_high)} | {row.outcome if row.passed else '**outside**'} | {t.source} |"
            )
    return "\n".join(text) + "\n"
