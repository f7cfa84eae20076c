"""The validation report: each target's range against the runs' mean and 95% CI, fitted targets and patterns apart."""

from __future__ import annotations

from pathlib import Path

from sim.experiments.validation import SECTIONS, Validation
from sim.io.files import write_text
from sim.reporting.format import number


def write_validation(result: Validation, out: str | Path) -> Path:
    """``report.md`` of a validation."""
    return write_text(report(result), Path(out) / "report.md")


def lines(result: Validation) -> list[tuple[str, list[str]]]:
    """The table as plain-text rows, per section."""
    by_id = {t.id: t for t in result.targets.targets}
    sections = []
    for role, title in SECTIONS:
        rows = [f"  {'target':<30} {'accepted range':>22} {'mean':>11} {'95% CI':>24}  result"]
        for row in result.table[result.table["role"] == role].itertuples():
            ci = f"[{number(row.ci_low)}, {number(row.ci_high)}]"
            rows.append(
                f"  {row.target:<30} {by_id[row.target].range_text():>22} {number(row.mean):>11} {ci:>24}  "
                f"{row.outcome if row.passed else 'FAIL (outside)'}"
            )
        sections.append((title, rows))
    return sections


def report(result: Validation) -> str:
    """``report.md``: both sections as Markdown tables, with units and sources."""
    by_id = {t.id: t for t in result.targets.targets}
    failed_runs = int((result.runs["status"] != "ok").sum())
    verdict = "all targets pass" if result.passed else "**some targets fail**"
    text = [
        f"# Validation of `{result.scenario}`",
        "",
        f"{result.reps} replications of {result.days} days (root seed {result.seed}), targets "
        f"`{result.targets.path}`. Each statistic is "
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
                f"| {row.target} | {t.range_text()} | {t.unit} | {number(row.mean)} | {number(row.ci_low)} to "
                f"{number(row.ci_high)} | {row.outcome if row.passed else '**outside**'} | {t.source} |"
            )
    return "\n".join(text) + "\n"
