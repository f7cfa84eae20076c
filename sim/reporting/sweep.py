"""The files of a sweep: its runs, indices, figures and report, from what ``run_sweep`` computed."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from sim.experiments.sensitivity import INDEX_DESIGNS, WIDE_CI  # noqa: E402
from sim.experiments.sweep import Experiment, SweepResult  # noqa: E402
from sim.io.files import write_atomic, write_json, write_parquet, write_text  # noqa: E402
from sim.io.provenance import provenance  # noqa: E402
from sim.reporting.format import metric_unit  # noqa: E402
from sim.timeline import describe  # noqa: E402


def plot_indices(table: pd.DataFrame, path: Path) -> Path:
    """Bar charts of the indices with their confidence intervals, one panel per output."""
    outputs = list(table["output"].unique())
    fig, axes = plt.subplots(len(outputs), 1, figsize=(9, 3 + 2.2 * len(outputs)), squeeze=False)
    for ax, output in zip(axes[:, 0], outputs, strict=True):
        part = table[(table["output"] == output) & table["index"].isin(["S1", "ST", "mu_star"])]
        kinds = list(part["index"].unique())
        names = list(part["parameter"].unique())
        width = 0.8 / max(1, len(kinds))
        for k, kind in enumerate(kinds):
            sub = part[part["index"] == kind].set_index("parameter").reindex(names)
            ax.bar(np.arange(len(names)) + k * width, sub["value"], width, yerr=sub["conf"], capsize=3, label=kind)
        ax.set_xticks(np.arange(len(names)) + width * (len(kinds) - 1) / 2, names, rotation=30, ha="right")
        ax.set_title(output)
        ax.legend()
        ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    write_atomic(path, lambda tmp: fig.savefig(tmp, format="png", dpi=100))
    plt.close(fig)
    return path


def plot_convergence(steps: pd.DataFrame, path: Path) -> Path:
    """Each factor's S1 and ST (with 95% intervals) against the base samples they use, one row per output."""
    outputs = list(steps["output"].unique())
    fig, axes = plt.subplots(len(outputs), 2, figsize=(10, 2.8 * len(outputs) + 0.6), squeeze=False, sharex=True)
    for row, output in enumerate(outputs):
        for col, index in enumerate(("S1", "ST")):
            ax = axes[row, col]
            part = steps[(steps["output"] == output) & (steps["index"] == index)]
            for name, sub in part.groupby("parameter", sort=False):
                ax.errorbar(sub["samples"], sub["value"], yerr=sub["conf"], capsize=2, marker="o", ms=3, label=name)
            ax.axhline(0, color="k", lw=0.6)
            ax.axhline(1, color="0.6", lw=0.6, ls="--")
            ax.set_xscale("log", base=2)
            ax.set_title(f"{output}: {index}", fontsize=9)
            if row == len(outputs) - 1:
                ax.set_xlabel("base samples")
        axes[row, 1].legend(fontsize=7)
    fig.tight_layout()
    write_atomic(path, lambda tmp: fig.savefig(tmp, format="png", dpi=100))
    plt.close(fig)
    return path


def plot_scatter(exp: Experiment, runs: pd.DataFrame, path: Path) -> Path:
    """Each output against each varied parameter, one dot per run."""
    names, outputs = list(exp.varied), exp.outputs
    fig, axes = plt.subplots(len(outputs), len(names), figsize=(2.6 * len(names), 2.4 * len(outputs)), squeeze=False)
    for i, output in enumerate(outputs):
        for j, name in enumerate(names):
            ax = axes[i, j]
            ax.scatter(runs[name], runs[output], s=4, alpha=0.4)
            if i == len(outputs) - 1:
                ax.set_xlabel(name, fontsize=8)
            if j == 0:
                ax.set_ylabel(output, fontsize=8)
            ax.tick_params(labelsize=7)
    fig.tight_layout()
    write_atomic(path, lambda tmp: fig.savefig(tmp, format="png", dpi=90))
    plt.close(fig)
    return path


def index_unit(index: str, output: str) -> str:
    """What an index is measured in: a share of the output's variance, or the output's own unit.

    Sobol' and FAST indices (S1, S2, ST) are shares of the output's variance; Morris's mu* and sigma are
    changes of the output over a step of the parameter's range, in the output's unit.
    """
    if index.startswith(("S1", "S2", "ST")):
        return "share of variance"
    return metric_unit(output)


def report(result: SweepResult, out: Path = Path(".")) -> str:
    """The sweep's Markdown report."""
    exp, runs, analysis = result.experiment, result.runs, result.analysis
    table = analysis.indices
    failed = int((runs["status"] != "ok").sum())
    lines = [f"# Sweep: {exp.name}", "",
             f"Design `{exp.design}`, {exp.samples} base samples, {runs['point'].nunique()} points x "
             f"{exp.replications} replications = {len(runs)} runs ({failed} failed), {exp.days} days, seed {exp.seed}.",
             f"Uncertainties: {', '.join(n for n, k in exp.kinds.items() if k != 'lever') or 'none'}; "
             f"levers: {', '.join(n for n, k in exp.kinds.items() if k == 'lever') or 'none'}."]  # fmt: skip
    if exp.window is not None:
        lines.append(f"Each run's outputs are its means over {exp.window.describe(exp.days)}.")
    if exp.events:
        lines.append("Timed events: " + "; ".join(describe(e) for e in exp.events) + ".")
    lines.append("")
    if failed:
        first = runs[runs["status"] != "ok"].iloc[0]
        every = "**Every run failed**" if failed == len(runs) else f"**{failed} of {len(runs)} runs failed**"
        lines += ["## Failed runs", "", f"{every}; their outputs are missing and no index uses them. The first "
                  f"(run {first['run']}, point {first['point']}): `{first['error']}`. Each failure's error and "
                  "traceback are in `runs.parquet`; `klad sweep --resume --retry-failed` runs them again.",
                  ""]  # fmt: skip
    if exp.replications > 1:
        lines += ["## Seed noise", "", "| output | share of variance that is seed noise |", "|---|---:|"]
        lines += [f"| {o} | {share:.1%} |" for o, share in analysis.seed_noise.items()]
        if exp.design in INDEX_DESIGNS:
            lines += ["", "Indices below are computed on the replication means of each point."]
        lines.append("")
    lines += ["## Indices", ""]
    if exp.design not in INDEX_DESIGNS:
        designs = ", ".join(f"`{d}`" for d in INDEX_DESIGNS[:-1]) + f" or `{INDEX_DESIGNS[-1]}`"
        lines.append(f"None: a `{exp.design}` design samples the parameters' space but gives no sensitivity indices; "
                     f"those need a {designs} design.")  # fmt: skip
        if (out / "figures" / "scatter.png").exists():
            lines[-1] += " The scatter plots below show each output against each varied parameter."
    missing = [f"`{o}` ({n} of {runs['point'].nunique()} points)" for o, n in analysis.missing.items()]
    if missing:
        lines += [f"No indices for {', '.join(missing)}: those points' runs failed or gave no value of the output, "
                  f"and an index of a `{exp.design}` design needs every point.", ""]  # fmt: skip
    if not table.empty:
        lines += ["| output | parameter | index | unit | value | 95% CI |", "|---|---|---|---|---:|---|"]
        overlapping = analysis.overlaps
        for r, others in zip(table.itertuples(), overlapping, strict=True):
            ci = "" if np.isnan(r.conf) else f"{r.ci_low:.3f} to {r.ci_high:.3f}"
            if others:
                ci += f" (overlaps {', '.join(others)})"
            lines.append(f"| {r.output} | {r.parameter} | {r.index} | {index_unit(r.index, r.output)} "
                         f"| {r.value:.3f} | {ci} |")  # fmt: skip
        if any(o is not None for o in overlapping):
            lines += ["", "An interval that *overlaps* others cannot rank its parameter against the parameters it "
                      "names (which of them matters more is not known at 95%); an interval that overlaps none "
                      "ranks its parameter against every other, however wide it is."]  # fmt: skip
    need = analysis.samples_needed
    if need:
        lines += ["", f"Some confidence intervals are wider than +/-{WIDE_CI}: about {need} base samples "
                  f"(now {exp.samples}) would bring every one under it."]  # fmt: skip
    problems = analysis.ranking
    if problems:
        lines += ["", "## Can the total indices rank the parameters?", ""]
        for output, found in problems.items():
            verdict = "**not a ranking**: " + "; ".join(found) if found else "yes: every interval separates"
            lines.append(f"- `{output}`: {verdict}.")
        if (out / "figures" / "convergence.png").exists():
            lines += ["", "How the indices settle as base samples grow (each point a Sobol' design of its own, with "
                      "its 95% bootstrap interval):", "", "![convergence](figures/convergence.png)"]  # fmt: skip
    for name in ("indices", "scatter"):
        if (out / "figures" / f"{name}.png").exists():
            lines += ["", f"![{name}](figures/{name}.png)"]
    lines.append("")
    return "\n".join(lines)


def write_sweep(result: SweepResult, out: Path, source: str) -> pd.DataFrame:
    """Every file of a finished sweep: ``runs.parquet``, the analysis, ``manifest.json`` last; returns the indices."""
    (out / "manifest.json").unlink(missing_ok=True)
    write_parquet(result.runs, out / "runs.parquet")
    table = write_analysis(result, out)
    write_json(provenance(result.started, experiment=vars(result.experiment), file=source), out / "manifest.json")
    return table


def write_analysis(result: SweepResult, out: Path) -> pd.DataFrame:
    """Indices, figures and report of a finished sweep, written under ``out``; returns the indices."""
    table, steps = result.analysis.indices, result.analysis.convergence
    write_atomic(out / "indices.csv", lambda tmp: table.to_csv(tmp, index=False))
    if not table.empty:
        plot_indices(table, out / "figures" / "indices.png")
    else:
        (out / "figures" / "indices.png").unlink(missing_ok=True)  # the report links only figures there are
    plot_scatter(result.experiment, result.runs, out / "figures" / "scatter.png")
    if not steps.empty:
        plot_convergence(steps, out / "figures" / "convergence.png")
    write_text(report(result, out), out / "report.md")
    return table
