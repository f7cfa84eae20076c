"""The files of a scenario run and of a comparison: Parquet tables, a Markdown report, figures, a manifest.

Every file is written atomically; the manifest is removed first and written
last, so a folder with a manifest always holds one run's complete set of files.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sim.experiments.replications import HEADLINE, replication_seeds
from sim.experiments.scenarios import Comparison, ScenarioResult
from sim.io.files import write_json, write_parquet, write_text
from sim.io.provenance import provenance
from sim.reporting.format import number, share
from sim.reporting.plots import plot_comparison, plot_timeseries


def seeds_manifest(seed: int, reps: int) -> dict:
    """How the replications' seeds were made, for a manifest."""
    return {
        "how": f"replication r uses numpy.random.SeedSequence({seed}).spawn({reps})[r]",
        "entropy": seed,
        "spawn_keys": [list(s.spawn_key) for s in replication_seeds(seed, reps)],
    }


def write_scenario(result: ScenarioResult, out: str | Path) -> list[Path]:
    """``daily.parquet``, ``summary.parquet``, ``figures/timeseries.png``, ``report.md``, ``manifest.json``."""
    out = Path(out)
    (out / "manifest.json").unlink(missing_ok=True)
    policy_day = result.params.get("policy_start_day")
    files = [
        write_parquet(result.daily, out / "daily.parquet"),
        write_parquet(result.summary, out / "summary.parquet"),
        plot_timeseries(result.daily, out / "figures" / "timeseries.png", result.name, policy_day),
        write_text(scenario_report(result), out / "report.md"),
    ]
    manifest = provenance(
        result.started, scenario=result.name, scenario_file=result.source, parameters=result.params,
        seed=result.seed, replication_seeds=seeds_manifest(result.seed, result.reps), replications=result.reps,
        days=result.days, final_window_days=result.window,
    )  # fmt: skip
    files.append(write_json(manifest, out / "manifest.json"))
    return files


def scenario_report(result: ScenarioResult) -> str:
    """The Markdown report of a scenario run: the table of means with 95% CIs, and the figure."""
    lines = [
        f"# {result.name}",
        "",
        f"Scenario `{result.source}`, {result.reps} replications of {result.days} days, root seed {result.seed}. "
        f"Values are means over the last {result.window} days of each replication; the interval is the 95% t "
        "confidence interval across replications.",
        "",
        "| metric | mean | 95% CI |",
        "|---|---:|---|",
    ]
    for row in result.table.itertuples():
        lines.append(f"| {row.metric} | {number(row.mean)} | {number(row.ci_low)} to {number(row.ci_high)} |")
    lines += ["", "![main metrics over time](figures/timeseries.png)", ""]
    return "\n".join(lines)


def write_comparison(comparison: Comparison, out: str | Path) -> list[Path]:
    """``comparison.parquet``, ``daily.parquet``, ``figures/comparison.png``, ``report.md``, ``manifest.json``."""
    out = Path(out)
    (out / "manifest.json").unlink(missing_ok=True)
    policy_day = comparison.params[comparison.names[0]].get("policy_start_day")
    files = [
        write_parquet(comparison.table, out / "comparison.parquet"),
        write_parquet(comparison.daily, out / "daily.parquet"),
        plot_comparison(comparison.daily, out / "figures" / "comparison.png", policy_day),
        write_text(comparison_report(comparison), out / "report.md"),
    ]
    manifest = provenance(
        comparison.started, scenario=comparison.names, scenario_file=comparison.sources, parameters=comparison.params,
        seed=comparison.seed, replication_seeds=seeds_manifest(comparison.seed, comparison.reps),
        replications=comparison.reps, days=comparison.days, final_window_days=comparison.window,
    )  # fmt: skip
    files.append(write_json(manifest, out / "manifest.json"))
    return files


def comparison_report(comparison: Comparison) -> str:
    """The Markdown report of a comparison: each scenario's means and its paired change against the first."""
    names, table = comparison.names, comparison.table
    lines = [
        f"# Comparison: {', '.join(names)}",
        "",
        f"{comparison.reps} replications of {comparison.days} days per scenario with common random numbers (root seed "
        f"{comparison.seed}); means over the last {comparison.window} days. Change is against **{names[0]}**, paired "
        "by replication, with its 95% CI and the paired t-test p-value.",
        "",
        "| metric | scenario | mean (95% CI) | change (95% CI) | relative | p |",
        "|---|---|---|---|---:|---:|",
    ]
    for metric in HEADLINE:
        for row in table[table["metric"] == metric].itertuples():
            first = row.scenario == names[0]
            change = "" if first else f"{number(row.diff)} ({number(row.diff_ci_low)} to {number(row.diff_ci_high)})"
            rel = "" if first else share(row.rel_change, signed=True)
            p = "" if first else number(row.p_paired_t)
            lines.append(
                f"| {metric} | {row.scenario} | {number(row.mean)} ({number(row.ci_low)} to {number(row.ci_high)}) "
                f"| {change} | {rel} | {p} |"
            )
    lines += ["", "![scenarios over time](figures/comparison.png)", ""]
    return "\n".join(lines)


def headline_lines(table: pd.DataFrame) -> list[str]:
    """A scenario run's table as printed lines: metric, mean and 95% CI."""
    lines = []
    for row in table.itertuples():
        ci = "" if pd.isna(row.ci_low) else f"  [{number(row.ci_low)}, {number(row.ci_high)}]"
        lines.append(f"  {row.metric:<22} {number(row.mean):>12}{ci}")
    return lines
