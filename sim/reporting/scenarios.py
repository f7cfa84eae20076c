"""The files of a scenario run and of a comparison: Parquet tables, a Markdown report, figures, a manifest.

Every file is written atomically; the manifest is removed first and written
last, so a folder with a manifest always holds one run's complete set of files.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sim.experiments.costs import SHOWN_AGAINST, UNITS_AGAINST, YEAR, yearly_means
from sim.experiments.replications import HEADLINE, Window, replication_seeds
from sim.experiments.scenarios import Comparison, RunPlan, ScenarioResult
from sim.io.files import write_json, write_parquet, write_text
from sim.io.provenance import provenance
from sim.reporting.format import number, share
from sim.reporting.plots import plot_comparison, plot_timeseries
from sim.timeline import describe


def seeds_manifest(seed: int, reps: int) -> dict:
    """How the replications' seeds were made, for a manifest."""
    return {
        "how": f"replication r uses numpy.random.SeedSequence({seed}).spawn({reps})[r]",
        "entropy": seed,
        "spawn_keys": [list(s.spawn_key) for s in replication_seeds(seed, reps)],
    }


def run_manifest(plan: RunPlan, window: Window, records: list[str]) -> dict:
    """What a manifest says of a run plan: seeds, replications, days, the summary window, records kept."""
    return {
        "seed": plan.seed, "replication_seeds": seeds_manifest(plan.seed, plan.reps), "replications": plan.reps,
        "days": plan.days, "window_days": window.days, "burn_in_days": window.burn_in, "window_forced": plan.force,
        "records": records,
    }  # fmt: skip


def write_scenario(result: ScenarioResult, out: str | Path) -> list[Path]:
    """Write a scenario run's files under ``out``.

    ``daily.parquet``, ``summary.parquet``, each record asked for as
    ``<record>.parquet`` (``shops``, ``purchases``, ``couriers``),
    ``figures/timeseries.png``, ``report.md`` and ``manifest.json``.
    """
    return write_folder(
        out, {"daily": result.daily, "summary": result.summary, "costs": result.costs, **result.records},
        lambda folder: plot_timeseries(result.daily, folder / "timeseries.png", result.name, marks_of(result.params)),
        scenario_report(result),
        lambda: provenance(result.started, scenario=result.name, scenario_file=result.source,
                           parameters=result.params, **run_manifest(result.plan, result.window, list(result.records))),
    )  # fmt: skip


def write_folder(out: str | Path, tables: dict, figure, report: str, manifest) -> list[Path]:
    """A run's folder: ``<name>.parquet`` per table, ``figure(figures folder)``, ``report.md``, ``manifest()`` last.

    An earlier manifest is removed first, so a folder with a manifest always
    holds one run's complete set of files.
    """
    out = Path(out)
    (out / "manifest.json").unlink(missing_ok=True)
    files = [write_parquet(frame, out / f"{name}.parquet") for name, frame in tables.items()]
    files += [figure(out / "figures"), write_text(report, out / "report.md")]
    files.append(write_json(manifest(), out / "manifest.json"))
    return files


def scenario_report(result: ScenarioResult) -> str:
    """The Markdown report of a scenario run: the table of means with 95% CIs, and the figure."""
    plan = result.plan
    lines = [
        f"# {result.name}",
        "",
        f"Scenario `{result.source}`, {plan.reps} replications of {plan.days} days, root seed {plan.seed}. "
        f"Values are means over {result.window.describe(plan.days)}, of each replication; the interval is the "
        "95% t confidence interval across replications.",
        *events_lines(result.params),
        "",
        "| metric | unit | mean | 95% CI |",
        "|---|---|---:|---|",
    ]
    for row in result.table.itertuples():
        lines.append(f"| {row.metric} | {row.unit} | {number(row.mean)} | {_interval(row)} |")
    lines += _cut_note(result.table)
    lines += ["", "![main metrics over time](figures/timeseries.png)", ""]
    return "\n".join(lines + records_lines(result) + costs_lines(result.costs))


def costs_lines(costs: pd.DataFrame) -> list[str]:
    """What the run cost the state and what the market did to people, year by year (``yearly_costs``).

    Items that cost nothing in every year are left out of the table (``costs.parquet`` has them all).
    """
    if costs.empty:
        return []
    means = yearly_means(costs)
    years = sorted(means["year"].unique())
    days = means.groupby("year")["days"].max()
    head = " | ".join(f"year {y}" + ("" if days[y] == YEAR else f" ({days[y]} days)") for y in years)
    lines = ["## Public costs and harms, per year", "",
             "What the run's policing, prisons and programmes cost at the registry's prices (docs/costs.md), "
             "and the harms beside the volume sold: means over replications, with the 95% CI of the total. "
             "`costs.parquet` has every item per replication and year.", "",
             f"| item | unit | {head} |", "|---|---|" + "---:|" * len(years)]  # fmt: skip
    for column, rows in means.groupby("column", sort=False):
        if column.endswith("_kzt") and column not in ("total_kzt", "money_lost_kzt") and not rows["mean"].any():
            continue
        cells = []
        for row in rows.itertuples():
            interval = f" ({number(row.ci_low)} to {number(row.ci_high)})" if column == "total_kzt" and \
                row.ci_low == row.ci_low else ""  # fmt: skip
            cells.append(number(row.mean) + interval)
        lines.append(f"| {column} | {rows['unit'].iloc[0]} | " + " | ".join(cells) + " |")
    return [*lines, ""]


def against_first_lines(against: pd.DataFrame, first: str) -> list[str]:
    """Each scenario against the first, year by year: grams averted, extra cost, and what a gram costs."""
    if against.empty:
        return []
    lines = [f"## What each scenario costs against {first}", "",
             "Paired by replication (the same seeds), year by year: the grams the scenario averts and what it "
             "costs beyond the first, at the registry's prices (docs/costs.md); means over replications, with "
             "95% CIs of the grams averted and the extra cost. Grams per officer-day and per million KZT are "
             "ratios of the means, left empty where the scenario spends no more. `cost_effectiveness.parquet` "
             "has every item.", ""]  # fmt: skip
    for name, rows in against.groupby("scenario", sort=False):
        years = list(rows["year"])
        lines += [f"**{name}**", "", "| | unit | " + " | ".join(f"year {y}" for y in years) + " |",
                  "|---|---|" + "---:|" * len(years)]  # fmt: skip
        for column in SHOWN_AGAINST:
            cells = []
            for row in rows.to_dict("records"):
                text = number(row[column])
                if f"{column}_ci_low" in row:
                    text += f" ({number(row[f'{column}_ci_low'])} to {number(row[f'{column}_ci_high'])})"
                cells.append(text)
            lines.append(f"| {column} | {UNITS_AGAINST[column]} | " + " | ".join(cells) + " |")
        lines.append("")
    return lines


def _interval(row) -> str:
    """A level's 95% CI as words, marked (*) where the t interval was cut at what the metric can take."""
    return f"{number(row.ci_low)} to {number(row.ci_high)}" + (" *" if getattr(row, "cut", False) else "")


def _cut_note(table: pd.DataFrame) -> list[str]:
    """The footnote for intervals cut at 0 (or at 1 for a share), when a table has one."""
    if "cut" not in table or not table["cut"].any():
        return []
    return [
        "",
        "\\* The t interval reaches past what the metric can take (below 0, or above 1 for a share), "
        "as a symmetric interval of a few replications of a small count can: that end is shown at the bound.",
    ]


def records_lines(result: ScenarioResult) -> list[str]:
    """The run metrics of the window that need more than the city's daily totals, and those from records."""
    metrics = result.metrics
    lines = ["## Run metrics", "", f"- Time to refill a courier vacancy over the window: "
             f"{number(metrics.refill_days)} days (mean over the vacancies filled)."]  # fmt: skip
    if metrics.shop_survival is not None:
        life = metrics.median_shop_life
        median = f"{life} days" if life is not None else "more than the run (fewer than half closed)"
        lines.append(f"- Shops in business, median life: {median} (Kaplan-Meier over all replications).")
    for event, elsewhere in metrics.displaced.items():
        lines.append(f"- After {event}: the buyers of those shops placed {elsewhere:.0%} of their orders of the "
                     "next 30 days at other shops (replication 0).")  # fmt: skip
    return [*lines, ""]


def write_comparison(comparison: Comparison, out: str | Path) -> list[Path]:
    """``comparison.parquet``, ``daily.parquet``, ``figures/comparison.png``, ``report.md``, ``manifest.json``."""
    marks = sorted({m for params in comparison.params.values() for m in marks_of(params)})
    tables = {"comparison": comparison.table, "daily": comparison.daily, "costs": comparison.costs}
    if len(comparison.against_first):
        tables["cost_effectiveness"] = comparison.against_first
    return write_folder(
        out, tables,
        lambda folder: plot_comparison(comparison.daily, folder / "comparison.png", marks),
        comparison_report(comparison),
        lambda: provenance(comparison.started, scenario=comparison.names, scenario_file=comparison.sources,
                           parameters=comparison.params, **run_manifest(comparison.plan, comparison.window, [])),
    )  # fmt: skip


def comparison_report(comparison: Comparison) -> str:
    """The Markdown report of a comparison: each scenario's means and its paired change against the first."""
    names, table, plan = comparison.names, comparison.table, comparison.plan
    lines = [
        f"# Comparison: {', '.join(names)}",
        "",
        f"{plan.reps} replications of {plan.days} days per scenario with common random numbers (root seed "
        f"{plan.seed}); means over {comparison.window.describe(plan.days)}. Change is against **{names[0]}**, "
        "paired by replication, with its 95% CI and the paired t-test p-value.",
        *[line for params in comparison.params.values() for line in events_lines(params)],
        "",
        "| metric | unit | scenario | mean (95% CI) | change (95% CI) | relative | p |",
        "|---|---|---|---|---|---:|---:|",
    ]
    for metric in HEADLINE:
        for row in table[table["metric"] == metric].itertuples():
            first = row.scenario == names[0]
            change = "" if first else f"{number(row.diff)} ({number(row.diff_ci_low)} to {number(row.diff_ci_high)})"
            rel = "" if first else share(row.rel_change, signed=True)
            p = "" if first else number(row.p_paired_t)
            lines.append(
                f"| {metric} | {row.unit} | {row.scenario} | {number(row.mean)} ({_interval(row)}) "
                f"| {change} | {rel} | {p} |"
            )
    lines += _cut_note(table)
    lines += ["", "![scenarios over time](figures/comparison.png)", ""]
    return "\n".join(lines + against_first_lines(comparison.against_first, names[0]))


def marks_of(params: dict) -> list[tuple[int, str]]:
    """The days a figure marks for a scenario: its policy start (if it has a policy) and each event."""
    marks = [(params["policy_start_day"], "policy starts")] if params.get("policy") else []
    return marks + [(e["day"], describe(e)) for e in params.get("events", [])]


def events_lines(params: dict) -> list[str]:
    """A report's lines on a scenario's timed events (none: no lines)."""
    events = params.get("events", [])
    return ["", "Timed events: " + "; ".join(describe(e) for e in events) + "."] if events else []


def headline_lines(table: pd.DataFrame) -> list[str]:
    """A scenario run's table as printed lines under a header: metric, mean and 95% CI."""
    lines = [f"  {'metric':<22} {'unit':<18} {'mean':>12}  95% CI"]
    for row in table.itertuples():
        ci = "" if pd.isna(row.ci_low) else f"  [{number(row.ci_low)}, {number(row.ci_high)}]"
        lines.append(f"  {row.metric:<22} {row.unit:<18} {number(row.mean):>12}{ci}" + (" *" if row.cut else ""))
    if table["cut"].any():
        lines.append("  * the t interval was cut at what the metric can take (0, or 1 for a share)")
    return lines


def comparison_lines(table: pd.DataFrame, first: str) -> list[str]:
    """A comparison's changes against ``first`` as printed lines under a header."""
    lines = [f"  {'scenario':<28} {'metric':<20} {'mean':>11}  {'change':>11} {'95% CI of the change':<24} p"]
    for row in table[table["scenario"] != first].itertuples():
        ci = f"[{number(row.diff_ci_low)}, {number(row.diff_ci_high)}]"
        lines.append(f"  {row.scenario:<28} {row.metric:<20} {number(row.mean):>11}  {number(row.diff):>11} "
                     f"{ci:<24} {number(row.p_paired_t, 3)}")  # fmt: skip
    return lines
