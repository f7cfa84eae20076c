"""Scenario runs and comparisons for researchers: DataFrames in, files and figures out.

``run_scenario`` and ``compare_scenarios`` are what ``klad run`` and
``klad compare`` call; notebooks can call them too. Both return pandas
DataFrames and, given ``out``, write Parquet, a Markdown report and figures,
each file atomically.
"""

from __future__ import annotations

import datetime as dt
import platform
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from sim import __version__
from sim.experiments.replications import (
    HEADLINE,
    ci_table,
    default_workers,
    final_window,
    paired_comparison,
    replication_seeds,
    run_replications,
    summarise,
)
from sim.io.config import load_scenario
from sim.io.files import write_json, write_parquet, write_text
from sim.reporting.plots import plot_comparison, plot_timeseries


@dataclass
class ScenarioResult:
    """What a scenario run produced."""

    name: str
    params: dict[str, Any]
    daily: pd.DataFrame
    summary: pd.DataFrame
    table: pd.DataFrame
    files: list[Path] = field(default_factory=list)


def _resolve(scenario: str | Path | dict[str, Any]) -> tuple[str, dict[str, Any]]:
    if isinstance(scenario, dict):
        params = dict(scenario)
        return params.pop("scenario_name", "custom"), params
    params = load_scenario(scenario)
    return params.pop("scenario_name"), params


def run_scenario(
    scenario: str | Path | dict[str, Any],
    *,
    reps: int = 10,
    days: int = 730,
    seed: int = 20251,
    workers: int | None = None,
    out: str | Path | None = None,
    progress: bool = False,
) -> ScenarioResult:
    """Run ``reps`` seeded replications of a scenario file (or parameter dict).

    Returns the daily rows (``rep``, ``day``, metrics), the per-replication
    summary over the final window and a table of means with 95% CIs. With
    ``out``, writes ``daily.parquet``, ``summary.parquet``, ``report.md``,
    ``manifest.json`` and ``figures/timeseries.png`` there.
    """
    name, params = _resolve(scenario)
    seeds = replication_seeds(seed, reps)
    started = dt.datetime.now(dt.UTC).isoformat()
    daily = _simulate(name, params, days, seeds, workers, progress)
    window = final_window(days, params.get("policy_start_day"))
    summary = summarise(daily, window)
    summary.insert(1, "seed", [_seed_label(seed, s) for s in seeds])
    table = ci_table(summary)
    result = ScenarioResult(name, params, daily, summary, table)
    if out is not None:
        out = Path(out)
        _retire_manifest(out)
        figure = plot_timeseries(daily, out / "figures" / "timeseries.png", name, params.get("policy_start_day"))
        result.files = [
            write_parquet(daily, out / "daily.parquet"),
            write_parquet(summary, out / "summary.parquet"),
            figure,
            write_text(_run_report(name, scenario, table, reps, days, seed, window), out / "report.md"),
            write_json(_manifest(name, scenario, params, seed, reps, days, window, started), out / "manifest.json"),
        ]
    return result


def compare_scenarios(
    scenarios: list[str | Path | dict[str, Any]],
    *,
    reps: int = 10,
    days: int = 730,
    seed: int = 20251,
    workers: int | None = None,
    out: str | Path | None = None,
    progress: bool = False,
) -> pd.DataFrame:
    """Run scenarios with common random numbers and compare each with the first.

    Returns one row per scenario and metric: mean, 95% CI, difference from the
    first scenario with its 95% CI (paired by replication) and the paired
    t-test p-value. With ``out``, writes ``comparison.parquet``,
    ``daily.parquet``, ``report.md``, ``manifest.json`` and figures.
    """
    resolved = [_resolve(s) for s in scenarios]
    names = [n for n, _ in resolved]
    if len(set(names)) != len(names):
        names = [f"{i + 1}:{n}" for i, n in enumerate(names)]
    seeds = replication_seeds(seed, reps)
    started = dt.datetime.now(dt.UTC).isoformat()
    window = final_window(days, resolved[0][1].get("policy_start_day"))
    dailies, summaries, rows = [], [], []
    for name, (_, params) in zip(names, resolved, strict=True):
        daily = _simulate(name, params, days, seeds, workers, progress)
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
    comparison = pd.DataFrame(rows)
    if out is not None:
        out = Path(out)
        _retire_manifest(out)
        daily = pd.concat(dailies, ignore_index=True)
        policy_day = resolved[0][1].get("policy_start_day")
        write_parquet(comparison, out / "comparison.parquet")
        write_parquet(daily, out / "daily.parquet")
        plot_comparison(daily, out / "figures" / "comparison.png", policy_day)
        write_text(_compare_report(names, comparison, reps, days, seed, window), out / "report.md")
        write_json(
            _manifest(
                names,
                [str(s) if not isinstance(s, dict) else "dict" for s in scenarios],
                {n: p for n, (_, p) in zip(names, resolved, strict=True)},
                seed,
                reps,
                days,
                window,
                started,
            ),
            out / "manifest.json",
        )
    return comparison


def _retire_manifest(out: Path) -> None:
    """Remove an earlier run's manifest before writing anything.

    The new manifest is written last, so a folder with a manifest always holds
    one run's complete set of files.
    """
    (out / "manifest.json").unlink(missing_ok=True)


def _simulate(name, params, days, seeds, workers, progress) -> pd.DataFrame:
    workers = default_workers() if workers is None else workers
    if not progress:
        return run_replications(params, days, seeds, workers)
    from tqdm import tqdm

    with tqdm(total=len(seeds) * days, desc=name, unit="day") as bar:
        return run_replications(params, days, seeds, workers, progress=bar.update)


def _seed_label(root: int, seq) -> str:
    return f"{root}/{'.'.join(str(k) for k in seq.spawn_key)}"


def _fmt(x: float) -> str:
    if pd.isna(x):
        return "n/a"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:,.2f}" if abs(x) >= 1 else f"{x:.4f}"


def _run_report(name, scenario, table, reps, days, seed, window) -> str:
    lines = [
        f"# {name}",
        "",
        f"Scenario `{scenario if not isinstance(scenario, dict) else 'parameter dict'}`, {reps} replications of "
        f"{days} days, root seed {seed}. Values are means over the last {window} days of each replication; "
        "the interval is the 95% t confidence interval across replications.",
        "",
        "| metric | mean | 95% CI |",
        "|---|---:|---|",
    ]
    for row in table.itertuples():
        lines.append(f"| {row.metric} | {_fmt(row.mean)} | {_fmt(row.ci_low)} to {_fmt(row.ci_high)} |")
    lines += ["", "![main metrics over time](figures/timeseries.png)", ""]
    return "\n".join(lines)


def _compare_report(names, comparison, reps, days, seed, window) -> str:
    lines = [
        f"# Comparison: {', '.join(names)}",
        "",
        f"{reps} replications of {days} days per scenario with common random numbers (root seed {seed}); "
        f"means over the last {window} days. Change is against **{names[0]}**, paired by replication, with its "
        "95% CI and the paired t-test p-value.",
        "",
        "| metric | scenario | mean (95% CI) | change (95% CI) | relative | p |",
        "|---|---|---|---|---:|---:|",
    ]
    for metric in HEADLINE:
        for row in comparison[comparison["metric"] == metric].itertuples():
            change = (
                ""
                if row.scenario == names[0]
                else (f"{_fmt(row.diff)} ({_fmt(row.diff_ci_low)} to {_fmt(row.diff_ci_high)})")
            )
            rel = "" if row.scenario == names[0] else f"{row.rel_change:+.1%}" if pd.notna(row.rel_change) else "n/a"
            p = "" if row.scenario == names[0] else _fmt(row.p_paired_t)
            lines.append(
                f"| {metric} | {row.scenario} | {_fmt(row.mean)} ({_fmt(row.ci_low)} to {_fmt(row.ci_high)}) "
                f"| {change} | {rel} | {p} |"
            )
    lines += ["", "![scenarios over time](figures/comparison.png)", ""]
    return "\n".join(lines)


def _manifest(name, scenario, params, seed, reps, days, window, started) -> dict:
    from importlib.metadata import version

    try:
        commit = (
            subprocess.run(
                ["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=Path(__file__).parent, timeout=10
            ).stdout.strip()
            or None
        )
    except (OSError, subprocess.SubprocessError):
        commit = None
    return {
        "scenario": name,
        "scenario_file": str(scenario),
        "parameters": params,
        "seed": seed,
        "replication_seeds": {
            "how": f"replication r uses numpy.random.SeedSequence({seed}).spawn({reps})[r]",
            "entropy": seed,
            "spawn_keys": [list(s.spawn_key) for s in replication_seeds(seed, reps)],
        },
        "replications": reps,
        "days": days,
        "final_window_days": window,
        "versions": {
            "klad-sim": __version__,
            "python": platform.python_version(),
            **{p: version(p) for p in ("mesa", "numpy", "pandas", "scipy", "SALib", "pyarrow")},
        },
        "git_commit": commit,
        "command": sys.argv,
        "started": started,
        "finished": dt.datetime.now(dt.UTC).isoformat(),
    }
