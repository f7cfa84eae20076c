"""Sensitivity indices from a finished sweep, with SALib, and the sweep's report."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from sim.experiments.sweep import Experiment, design_matrix  # noqa: E402
from sim.io.files import write_atomic, write_text  # noqa: E402

#: A confidence half-width above this cannot rank parameters.
WIDE_CI = 0.1


def point_means(exp: Experiment, runs: pd.DataFrame, output: str) -> np.ndarray:
    """The output averaged over replications, one value per sample point."""
    return runs.groupby("point")[output].mean().reindex(range(len(runs["point"].unique()))).to_numpy()


def seed_noise_share(runs: pd.DataFrame, output: str) -> float:
    """Share of the output's variance that is within-point (seed) noise rather than parameters."""
    if runs["rep"].nunique() < 2:
        return float("nan")
    within = runs.groupby("point")[output].var(ddof=1).mean()
    total = runs[output].var(ddof=1)
    return float(within / total) if total > 0 else float("nan")


def indices(exp: Experiment, runs: pd.DataFrame) -> pd.DataFrame:
    """Sensitivity indices of every output, one row per output, parameter and index."""
    from SALib.analyze import fast, morris, sobol

    problem, X = exp.problem, design_matrix(exp)
    rows = []
    for output in exp.outputs:
        Y = point_means(exp, runs, output)
        if np.isnan(Y).any():
            continue  # failed runs: no indices for this output
        if exp.design == "sobol":
            res = sobol.analyze(problem, Y, calc_second_order=exp.second_order, seed=exp.seed)
            for name, s1, s1c, st, stc in zip(exp.factors, res["S1"], res["S1_conf"], res["ST"], res["ST_conf"],
                                             strict=True):  # fmt: skip
                rows += [(output, name, "S1", s1, s1c), (output, name, "ST", st, stc)]
            if exp.second_order:
                for i, j in zip(*np.triu_indices(len(exp.factors), 1), strict=True):
                    pair = f"{exp.factors[i]}*{exp.factors[j]}"
                    rows.append((output, pair, "S2", res["S2"][i, j], res["S2_conf"][i, j]))
        elif exp.design == "morris":
            res = morris.analyze(problem, X, Y, num_levels=exp.num_levels, seed=exp.seed)
            for k, name in enumerate(problem["names"]):
                rows += [(output, name, "mu_star", res["mu_star"][k], res["mu_star_conf"][k]),
                         (output, name, "sigma", res["sigma"][k], float("nan"))]  # fmt: skip
        elif exp.design == "fast":
            res = fast.analyze(problem, Y, seed=exp.seed)
            for k, name in enumerate(problem["names"]):
                rows += [(output, name, "S1", res["S1"][k], res["S1_conf"][k]),
                         (output, name, "ST", res["ST"][k], res["ST_conf"][k])]  # fmt: skip
    table = pd.DataFrame(rows, columns=["output", "parameter", "index", "value", "conf"])
    table["ci_low"] = table["value"] - table["conf"]
    table["ci_high"] = table["value"] + table["conf"]
    return table


def samples_needed(exp: Experiment, table: pd.DataFrame) -> int | None:
    """Base samples for every Sobol/FAST confidence half-width to fall under WIDE_CI (CI width ~ 1/sqrt(N))."""
    ci = table[table["index"].isin(["S1", "ST"])]["conf"].dropna()
    if ci.empty or ci.max() <= WIDE_CI:
        return None
    return int(math.ceil(exp.samples * (ci.max() / WIDE_CI) ** 2))


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


def report(exp: Experiment, runs: pd.DataFrame, table: pd.DataFrame) -> str:
    """The sweep's Markdown report."""
    failed = int((runs["status"] != "ok").sum())
    lines = [f"# Sweep: {exp.name}", "",
             f"Design `{exp.design}`, {exp.samples} base samples, {runs['point'].nunique()} points x "
             f"{exp.replications} replications = {len(runs)} runs ({failed} failed), {exp.days} days, seed {exp.seed}.",
             f"Uncertainties: {', '.join(n for n, k in exp.kinds.items() if k != 'lever') or 'none'}; "
             f"levers: {', '.join(n for n, k in exp.kinds.items() if k == 'lever') or 'none'}.", ""]  # fmt: skip
    if exp.replications > 1:
        lines += ["## Seed noise", "", "| output | share of variance that is seed noise |", "|---|---:|"]
        lines += [f"| {o} | {seed_noise_share(runs, o):.1%} |" for o in exp.outputs]
        lines += ["", "Indices below are computed on the replication means of each point.", ""]
    lines += ["## Indices", "", "| output | parameter | index | value | 95% CI |", "|---|---|---|---:|---|"]
    for r in table.itertuples():
        wide = " (too wide to rank)" if r.conf > WIDE_CI else ""
        ci = "" if np.isnan(r.conf) else f"{r.ci_low:.3f} to {r.ci_high:.3f}{wide}"
        lines.append(f"| {r.output} | {r.parameter} | {r.index} | {r.value:.3f} | {ci} |")
    need = samples_needed(exp, table)
    if need:
        lines += ["", f"Some confidence intervals are wider than +/-{WIDE_CI}: about {need} base samples "
                  f"(now {exp.samples}) would bring every one under it."]  # fmt: skip
    lines += ["", "![indices](figures/indices.png)", "", "![scatter](figures/scatter.png)", ""]
    return "\n".join(lines)


def write_analysis(exp: Experiment, runs: pd.DataFrame, out: Path) -> pd.DataFrame:
    """Indices, figures and report of a finished sweep, written under ``out``."""
    table = indices(exp, runs) if exp.design in ("sobol", "morris", "fast") else pd.DataFrame(
        columns=["output", "parameter", "index", "value", "conf", "ci_low", "ci_high"])  # fmt: skip
    write_atomic(out / "indices.csv", lambda tmp: table.to_csv(tmp, index=False))
    if not table.empty:
        plot_indices(table, out / "figures" / "indices.png")
    plot_scatter(exp, runs, out / "figures" / "scatter.png")
    write_text(report(exp, runs, table), out / "report.md")
    return table
