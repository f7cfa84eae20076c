"""The validation report: each target's range against the runs' mean and 95% CI, fitted targets and patterns apart."""

from __future__ import annotations

from pathlib import Path

from sim.experiments.validation import SECTIONS, Validation
from sim.io.files import write_atomic, write_json, write_text
from sim.io.provenance import provenance
from sim.reporting.format import number


def write_validation(result: Validation, out: str | Path) -> Path:
    """``report.md`` of a validation, its table (``validation.csv``) and its ``manifest.json``."""
    out = Path(out)
    by_id = {t.id: t for t in result.targets.targets}
    table = result.table.assign(
        description=result.table["target"].map(lambda t: by_id[t].description),
        range_low=result.table["target"].map(lambda t: by_id[t].low),
        range_high=result.table["target"].map(lambda t: by_id[t].high),
        accepted=result.table["target"].map(lambda t: by_id[t].range_text()),
        source=result.table["target"].map(lambda t: by_id[t].source),
    )
    (out / "manifest.json").unlink(missing_ok=True)  # a folder with a manifest holds one whole validation
    write_atomic(out / "validation.csv", lambda tmp: table.to_csv(tmp, index=False))
    path = write_text(report(result), out / "report.md")
    write_json(provenance(result.started, scenario_file=result.scenario, targets_file=str(result.targets.path),
                          reps=result.reps, days=result.days, seed=result.seed, horizons=list(result.horizons),
                          passed=result.passed, failed_runs=int((result.runs["status"] != "ok").sum())),
               out / "manifest.json")  # fmt: skip
    return path


def years(day: float) -> str:
    """A horizon in days as the year it ends ("year 2")."""
    return f"year {day / 365:.3g}"


def lines(result: Validation) -> list[tuple[str, list[str]]]:
    """The table as plain-text rows, per section."""
    by_id = {t.id: t for t in result.targets.targets}
    sections = []
    for role, title in SECTIONS:
        rows = [f"  {'target':<30} {'horizon':>8} {'accepted range':>22} {'mean':>11} {'95% CI':>24}  result"]
        for row in result.table[result.table["role"] == role].sort_values(["target", "horizon"], kind="stable")\
                .itertuples():  # fmt: skip
            ci = f"[{number(row.ci_low)}, {number(row.ci_high)}]"
            rows.append(
                f"  {row.target:<30} {years(row.horizon):>8} {by_id[row.target].range_text():>22} "
                f"{number(row.mean):>11} {ci:>24}  {row.outcome if row.passed else 'FAIL (outside)'}"
            )
        sections.append((title, rows))
    return sections


def report(result: Validation) -> str:
    """``report.md``: both sections as Markdown tables, with units and sources."""
    by_id = {t.id: t for t in result.targets.targets}
    failed_runs = int((result.runs["status"] != "ok").sum())
    verdict = "all targets pass" if result.passed else "**some targets fail**"
    window = min(result.targets.window, result.horizons[0] // 2)
    at = " and ".join(f"{years(h)} (day {h:,})" for h in result.horizons)
    text = [
        f"# Validation of `{result.scenario}`",
        "",
        f"{result.reps} replications of {result.days:,} days (root seed {result.seed}), targets "
        f"`{result.targets.path}`. Every statistic is computed per replication at {at}, over the {window} days "
        "that end there; the shop-exit patterns close the largest shops of a copy of the market at that day and "
        "follow it for eight weeks, while the run itself goes on. The table gives the mean over replications with its "
        "95% t confidence interval. A target is *inside* when the whole interval lies in its accepted range, "
        "*outside* (a failure) when the whole interval lies beyond it, and *straddles* a bound otherwise (not a "
        f"failure: more replications would tell). Result: {verdict}; {failed_runs} runs failed.",
    ]
    for role, title in SECTIONS:
        header = "| target | horizon | accepted range | unit | mean | 95% CI | result | source |"
        text += ["", f"## {title}", "", header, "|---|---|---|---|---:|---|---|---|"]
        for row in result.table[result.table["role"] == role].sort_values(["target", "horizon"], kind="stable")\
                .itertuples():  # fmt: skip
            t = by_id[row.target]
            text.append(
                f"| {row.target} | {years(row.horizon)} | {t.range_text()} | {t.unit} | {number(row.mean)} | "
                f"{number(row.ci_low)} to {number(row.ci_high)} | {row.outcome if row.passed else '**outside**'} | "
                f"{t.source} |"
            )
    text += ["", "## Why each target could be missed", "", "| target | role | why the model could miss it | "
             "why it was not fitted |", "|---|---|---|---|"]  # fmt: skip
    for t in result.targets.targets:
        text.append(f"| {t.id} | {t.role} | {t.missable} | {t.not_fitted or '(fitted)'} |")
    text += ["", "## Figures not compared, and why", "", "| figure | source | reason |", "|---|---|---|"]
    text += [f"| {n['figure']} | {n['source']} | {n['reason']} |" for n in result.targets.not_compared]
    return "\n".join(text) + "\n"
