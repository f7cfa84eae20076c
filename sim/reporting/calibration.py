"""The files of a calibration: runs, posterior, fitted values, fit table, report, figures and manifest."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from sim.experiments.calibration import Calibration  # noqa: E402
from sim.experiments.targets import Targets  # noqa: E402
from sim.io.files import write_atomic, write_json, write_parquet, write_text  # noqa: E402
from sim.io.provenance import provenance  # noqa: E402
from sim.reporting.format import number  # noqa: E402


def write_calibration(result: Calibration, out: str | Path) -> list[Path]:
    """Write the files of a calibration under ``out``.

    ``runs.parquet`` (every run), ``posterior.csv`` (the accepted parameter
    sets), ``fit.csv``, ``fitted.toml`` (fitted values and intervals),
    ``report.md``, ``figures/`` and, last, ``manifest.json``.
    """
    out = Path(out)
    (out / "manifest.json").unlink(missing_ok=True)
    runs, targets, posterior, table, info = result.runs, result.targets, result.posterior, result.fit_table, result.info
    manifest = provenance(result.started, scenario_file=info["scenario"], parameters=result.params, calibration=info)
    files = [
        write_parquet(runs, out / "runs.parquet"),
        _write_csv(runs.loc[runs["accepted"], ["run", "seed", *targets.fit_params, "distance"]], out / "posterior.csv"),
        _write_csv(table, out / "fit.csv"),
        write_text(fitted_toml(posterior, result.fitted, manifest), out / "fitted.toml"),
        plot_posterior(runs, targets, out / "figures" / "posterior.png"),
        plot_pairs(runs, targets, out / "figures" / "pairs.png"),
        plot_fit(runs, result.check, targets, result.fitted, out / "figures" / "fit.png"),
        write_text(report(targets, posterior, table, info, manifest), out / "report.md"),
    ]
    files.append(write_json(manifest, out / "manifest.json"))
    return files


def _write_csv(frame: pd.DataFrame, path: Path) -> Path:
    return write_atomic(path, lambda tmp: frame.to_csv(tmp, index=False))


def fitted_toml(posterior: pd.DataFrame, fitted: dict[str, float], manifest: dict) -> str:
    """``fitted.toml``: the fitted values, ready for a scenario's [params], and their posterior intervals."""
    info = manifest["calibration"]
    lines = [
        "# Fitted by rejection ABC (sim/calibration.py): posterior medians, three significant figures.",
        f"# Command: {' '.join(manifest['command'])}",
        f"# Git commit: {manifest['git']['commit']}; started {manifest['started']}",
        f"# Budget {info['budget']} runs of {info['days']} days, seed {info['seed']}, "
        f"{info['accepted']} accepted ({info['accept_share']:.0%}); targets {info['targets']}.",
        "",
        "[params]",
    ]
    for name, value in fitted.items():
        lines.append(f"{name} = {value!r}")
    for row in posterior.itertuples():
        lines += [
            "",
            f"[posterior.{row.parameter}]",
            f"mean = {row.mean!r}",
            f"median = {row.median!r}",
            f"q05 = {row.q05!r}",
            f"q95 = {row.q95!r}",
            f"prior = [{row.prior_low!r}, {row.prior_high!r}]",
            f"width_ratio = {row.width_ratio!r}  # 90% interval width / prior width",
        ]
    return "\n".join(lines) + "\n"


def report(targets: Targets, posterior: pd.DataFrame, table: pd.DataFrame, info: dict, manifest: dict) -> str:
    """``report.md``: the procedure, the posterior, the fit and the out-of-sample patterns at the fitted point."""
    lines = [
        f"# Calibration: `{info['scenario']}`",
        "",
        f"Rejection ABC: {info['budget']} parameter sets drawn by Latin hypercube from uniform priors, one run of "
        f"{info['days']} days each (root seed {info['seed']}); distance = mean squared log-distance from the centre "
        f"of each `fit` target's range, in half-widths; the closest {info['accept_share']:.0%} "
        f"({info['accepted']} runs) are the posterior sample. {info['failed']} runs failed. Targets: "
        f"`{info['targets']}`; other parameters from `{info['scenario']}`. Git commit `{manifest['git']['commit']}`; "
        f"command `{' '.join(manifest['command'])}`.",
        "",
        "## Fitted parameters",
        "",
        "| parameter | prior | posterior mean | median (fitted) | 90% interval | interval / prior |",
        "|---|---|---:|---:|---|---:|",
    ]
    for row in posterior.itertuples():
        lines.append(
            f"| `{row.parameter}` | {number(row.prior_low)} to {number(row.prior_high)} | {number(row.mean)} "
            f"| {number(row.median)} | {number(row.q05)} to {number(row.q95)} | {row.width_ratio:.2f} |"
        )
    lines += ["", "Why these parameters:", ""]
    lines += [f"- `{name}`: {reason}" for name, reason in targets.fit_reasons.items()]
    for role, title in (("fit", "Fit at the fitted point"), ("pattern", "Out-of-sample patterns (not fitted)")):
        rows = table[table["role"] == role]
        lines += [
            "",
            f"## {title}",
            "",
            f"Mean and 95% CI over {info['check_replications']} replications at the fitted values (seed "
            f"{info['check_seed']}); 'accepted runs' is the median over the posterior sample.",
            "",
            "| target | accepted range | unit | mean (95% CI) | accepted runs | 95% CI vs range |",
            "|---|---|---|---|---:|---|",
        ]
        for row in rows.itertuples():
            t = next(t for t in targets.targets if t.id == row.target)
            lines.append(
                f"| {row.target} | {t.range_text()} | {row.unit} | {number(row.mean)} ({number(row.ci_low)} to "
                f"{number(row.ci_high)}) | {number(row.accepted_median)} | "
                f"{row.outcome if row.passed else '**outside**'} |"
            )
    lines += [
        "",
        "![posterior](figures/posterior.png)",
        "",
        "![pairs](figures/pairs.png)",
        "",
        "![fit](figures/fit.png)",
        "",
    ]
    return "\n".join(lines)


def plot_posterior(runs: pd.DataFrame, targets: Targets, path: Path) -> Path:
    """Histogram of each fitted parameter's accepted values over its uniform prior."""
    names = list(targets.fit_params)
    cols = min(3, len(names))
    rows = math.ceil(len(names) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.4 * cols, 2.8 * rows), squeeze=False)
    for ax in axes.flat[len(names) :]:
        ax.set_visible(False)
    for ax, name in zip(axes.flat, names, strict=False):
        low, high = targets.fit_params[name]
        bins = np.linspace(low, high, 16)
        ax.hist(runs[name], bins=bins, density=True, color="lightgrey", label="prior sample")
        ax.hist(runs.loc[runs["accepted"], name], bins=bins, density=True, alpha=0.7, label="posterior")
        ax.axvline(runs.loc[runs["accepted"], name].median(), color="red", lw=1.2, label="median (fitted)")
        ax.set_title(name, fontsize=9)
        ax.tick_params(labelsize=7)
    axes.flat[0].legend(fontsize=7)
    fig.suptitle("Rejection ABC: prior sample and accepted runs", fontsize=10)
    return _save(fig, path)


def plot_pairs(runs: pd.DataFrame, targets: Targets, path: Path) -> Path:
    """Pairwise scatter of the fitted parameters: every run grey, accepted runs coloured by distance."""
    names = list(targets.fit_params)
    k = len(names)
    fig, axes = plt.subplots(k, k, figsize=(2.2 * k, 2.2 * k), squeeze=False)
    acc = runs[runs["accepted"]]
    for i, yi in enumerate(names):
        for j, xj in enumerate(names):
            ax = axes[i][j]
            if i == j:
                ax.hist(acc[xj], bins=12, range=targets.fit_params[xj])
            else:
                ax.scatter(runs[xj], runs[yi], s=3, color="lightgrey")
                ax.scatter(acc[xj], acc[yi], s=8, c=acc["distance"], cmap="viridis_r")
            ax.tick_params(labelsize=6)
            if i == k - 1:
                ax.set_xlabel(xj, fontsize=7)
            if j == 0:
                ax.set_ylabel(yi, fontsize=7)
    fig.suptitle("Accepted parameter sets (colour: distance, darker = closer)", fontsize=10)
    return _save(fig, path)


def plot_fit(runs: pd.DataFrame, check: pd.DataFrame, targets: Targets, fitted: dict, path: Path) -> Path:
    """Each target: its accepted range, the prior-sample runs, the accepted runs and the fitted point."""
    items = targets.targets
    fig, axes = plt.subplots(len(items), 1, figsize=(7, 0.55 * len(items) + 1), squeeze=False)
    for ax, t in zip(axes[:, 0], items, strict=True):
        values = runs[t.statistic].to_numpy(dtype=float)
        finite = values[np.isfinite(values)]
        high = t.high if math.isfinite(t.high) else max(t.low * 2, np.nanmax(finite) if len(finite) else 1.0)
        ax.axvspan(t.low, high, color="green", alpha=0.15)
        ax.scatter(values, np.zeros(len(values)), s=4, color="lightgrey")
        ax.scatter(runs.loc[runs["accepted"], t.statistic], np.zeros(int(runs["accepted"].sum())), s=8, alpha=0.8)
        ax.scatter([check[t.statistic].mean()], [0], marker="|", s=300, color="red")
        ax.set_yticks([])
        ax.set_ylabel(f"{t.id}\n({t.role})", rotation=0, ha="right", va="center", fontsize=7)
        ax.tick_params(labelsize=6)
    fig.suptitle("Targets: range (green), prior runs (grey), accepted (blue), fitted point (red)", fontsize=9)
    return _save(fig, path)


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    write_atomic(path, lambda tmp: fig.savefig(tmp, format="png", dpi=100))
    plt.close(fig)
    return Path(path)
