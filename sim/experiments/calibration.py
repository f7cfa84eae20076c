"""Calibration of the uncertain parameters to the empirical targets by rejection ABC.

Approximate Bayesian computation by rejection (Pritchard et al. 1999; Beaumont
2010): draw ``budget`` parameter sets from uniform priors by Latin hypercube
(SALib, through the sweep machinery), run the model once at each, measure the
distance of its statistics from the ``fit`` targets, and keep the closest
fraction. The kept sets approximate the posterior; their medians are the fitted
values and their 5-95% quantiles the uncertainty. The distance is the mean of
squared log-distances from each target range's geometric centre, in half-widths
of the range (``Target.z``), so every target weighs the same whatever its unit.
The fitted point is then run again with several replications to show the fit.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from sim.experiments.replications import mean_ci  # noqa: E402
from sim.experiments.targets import Target, Targets, load_targets, run_statistics  # noqa: E402
from sim.io.config import load_scenario  # noqa: E402
from sim.io.files import write_atomic, write_json, write_parquet, write_text  # noqa: E402
from sim.params import REGISTRY, ParameterError  # noqa: E402

#: Share of the budget kept as the posterior sample.
ACCEPT = 0.1
#: Quantiles of the reported interval.
INTERVAL = (0.05, 0.95)


@dataclass
class Calibration:
    """What a calibration produced."""

    posterior: pd.DataFrame  # one row per fitted parameter: prior bounds, mean, median, q05, q95, width ratio
    fitted: dict[str, float]  # the fitted values (posterior medians, rounded)
    fit_table: pd.DataFrame  # one row per target: range, simulated mean and 95% CI at the fitted point
    runs: pd.DataFrame  # every run: sampled values, statistics, distance, accepted
    files: list[Path] = field(default_factory=list)


# ---------------------------------------------------------------- ABC proper
def distances(stats: pd.DataFrame, targets: list[Target]) -> np.ndarray:
    """Mean squared ``z`` over the targets, per run; infinite when a statistic is missing or not positive."""
    z = np.column_stack([[t.z(x) for x in stats[t.statistic].to_numpy(dtype=float)] for t in targets])
    with np.errstate(invalid="ignore"):
        d = np.mean(z**2, axis=1)
    return np.where(np.isfinite(d), d, np.inf)


def accept_closest(distance: np.ndarray, share: float) -> np.ndarray:
    """Boolean mask of the ``share`` of finite distances that are smallest (at least two runs)."""
    finite = np.flatnonzero(np.isfinite(distance))
    n = min(len(finite), max(2, int(round(share * len(distance)))))
    keep = np.zeros(len(distance), dtype=bool)
    keep[finite[np.argsort(distance[finite], kind="stable")[:n]]] = True
    return keep


def summarise_posterior(accepted: pd.DataFrame, priors: dict[str, tuple[float, float]]) -> pd.DataFrame:
    """Per parameter: prior bounds, posterior mean, median, 90% interval and its width over the prior's."""
    rows = []
    for name, (low, high) in priors.items():
        x = accepted[name].to_numpy(dtype=float)
        q_low, q_high = np.quantile(x, INTERVAL)
        rows.append({
            "parameter": name, "prior_low": low, "prior_high": high, "mean": float(x.mean()),
            "median": float(np.median(x)), "q05": float(q_low), "q95": float(q_high),
            "width_ratio": float((q_high - q_low) / (high - low)),
        })  # fmt: skip
    return pd.DataFrame(rows)


def round_fitted(value: float, name: str) -> float:
    """A fitted value to three significant figures (what a scenario file carries)."""
    rounded = float(f"{value:.3g}")
    return REGISTRY[name].check(rounded, "fitted value")


def abc(runs: pd.DataFrame, targets: Targets, share: float = ACCEPT) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Score every run against the fit targets and keep the closest ``share``.

    Returns the runs with ``distance`` and ``accepted`` columns, and the
    posterior summary.
    """
    runs = runs.copy()
    ok = runs["status"] == "ok"
    runs["distance"] = np.inf
    runs.loc[ok, "distance"] = distances(runs[ok], targets.by_role("fit"))
    runs["accepted"] = accept_closest(runs["distance"].to_numpy(), share)
    if runs["accepted"].sum() < 2:
        raise ParameterError("calibration: fewer than two runs finished with every statistic; nothing to accept")
    return runs, summarise_posterior(runs[runs["accepted"]], targets.fit_params)


def fit_table(check: pd.DataFrame, targets: Targets, runs: pd.DataFrame | None = None) -> pd.DataFrame:
    """Each target: accepted range, simulated mean and 95% CI over the check runs, and how the CI lies.

    ``outcome`` is ``Target.outcome``; a target ``passed`` unless its whole CI lies outside the range.
    """
    rows = []
    for t in targets.targets:
        mean, low, high = mean_ci(check[t.statistic])
        row = {
            "target": t.id, "role": t.role, "statistic": t.statistic, "unit": t.unit, "low": t.low, "high": t.high,
            "mean": mean, "ci_low": low, "ci_high": high, "outcome": (outcome := t.outcome(mean, low, high)),
            "passed": outcome != "outside",
        }  # fmt: skip
        if runs is not None:
            row["accepted_median"] = float(runs.loc[runs["accepted"], t.statistic].median())
        rows.append(row)
    return pd.DataFrame(rows)


# ----------------------------------------------------------------- the whole
def calibrate(
    targets_path: str | Path,
    scenario: str | Path,
    *,
    budget: int = 300,
    days: int = 730,
    seed: int = 20251,
    share: float = ACCEPT,
    check_reps: int = 4,
    workers: int = 1,
    scheduler: str | None = None,
    out: str | Path = "results/calibration",
    resume: bool = False,
    progress: bool = False,
) -> Calibration:
    """Fit the targets file's ``[fit]`` parameters to its ``fit`` targets and write the results.

    Writes to ``out``: ``runs.parquet`` (every run), ``posterior.csv`` (the
    accepted parameter sets), ``fitted.toml`` (fitted values and intervals),
    ``fit.csv``, ``report.md``, ``figures/`` and, last, ``manifest.json``.
    Finished runs are kept in ``out/runs`` and ``out/check``; ``resume``
    continues an interrupted calibration.
    """
    targets = load_targets(targets_path)
    if not targets.fit_params:
        raise ParameterError(f"{targets.path}: no [fit.<parameter>] tables: nothing to calibrate")
    params = load_scenario(scenario)
    out = Path(out)
    (out / "manifest.json").unlink(missing_ok=True)
    started = dt.datetime.now(dt.UTC).isoformat()
    varied = {n: list(b) for n, b in targets.fit_params.items()}
    common = {"days": days, "workers": workers, "scheduler": scheduler, "resume": resume, "progress": progress}
    runs = run_statistics(params, varied, design="latin", samples=budget, reps=1, seed=seed, out=out / "runs", **common)
    runs, posterior = abc(runs, targets, share)
    fitted = {row.parameter: round_fitted(row.median, row.parameter) for row in posterior.itertuples()}
    check = run_statistics(
        params, {n: [v] for n, v in fitted.items()}, design="grid", samples=1, reps=check_reps, seed=seed + 1,
        out=out / "check", **common,
    )  # fmt: skip
    table = fit_table(check[check["status"] == "ok"], targets, runs)
    result = Calibration(posterior, fitted, table, runs)
    info = {
        "targets": str(targets_path), "scenario": str(scenario), "budget": budget, "days": days, "seed": seed,
        "accept_share": share, "accepted": int(runs["accepted"].sum()), "failed": int((runs["status"] != "ok").sum()),
        "check_replications": check_reps, "check_seed": seed + 1, "workers": workers, "scheduler": scheduler,
    }  # fmt: skip
    manifest = _manifest(params, info, started)
    result.files = [
        write_parquet(runs, out / "runs.parquet"),
        _write_csv(runs.loc[runs["accepted"], ["run", "seed", *varied, "distance"]], out / "posterior.csv"),
        _write_csv(table, out / "fit.csv"),
        write_text(fitted_toml(posterior, fitted, manifest), out / "fitted.toml"),
        plot_posterior(runs, targets, out / "figures" / "posterior.png"),
        plot_pairs(runs, targets, out / "figures" / "pairs.png"),
        plot_fit(runs, check, targets, fitted, out / "figures" / "fit.png"),
        write_text(report(targets, posterior, table, info, manifest), out / "report.md"),
    ]
    manifest["finished"] = dt.datetime.now(dt.UTC).isoformat()
    result.files.append(write_json(manifest, out / "manifest.json"))
    return result


def _manifest(params: dict[str, Any], info: dict[str, Any], started: str) -> dict:
    from sim.experiments.scenarios import _manifest as run_manifest

    base = run_manifest(
        params.get("scenario_name", "custom"), info["scenario"], params, info["seed"], 1, info["days"], None, started
    )
    for key in ("replication_seeds", "replications", "final_window_days", "scenario"):
        base.pop(key, None)
    base["calibration"] = info
    base["run_seeds"] = "run j uses sim.sweep.run_seed(seed, j); the check runs use seed + 1"
    return base


def _write_csv(frame: pd.DataFrame, path: Path) -> Path:
    return write_atomic(path, lambda tmp: frame.to_csv(tmp, index=False))


# ------------------------------------------------------------------ outputs
def fitted_toml(posterior: pd.DataFrame, fitted: dict[str, float], manifest: dict) -> str:
    """``fitted.toml``: the fitted values, ready for a scenario's [params], and their posterior intervals."""
    info = manifest["calibration"]
    lines = [
        "# Fitted by rejection ABC (sim/calibration.py): posterior medians, three significant figures.",
        f"# Command: {' '.join(manifest['command'])}",
        f"# Git commit: {manifest['git_commit']}; started {manifest['started']}",
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


def _g(x: float) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if math.isinf(x):
        return "inf"
    return f"{x:,.4g}"


def report(targets: Targets, posterior: pd.DataFrame, table: pd.DataFrame, info: dict, manifest: dict) -> str:
    """``report.md``: the procedure, the posterior, the fit and the out-of-sample patterns at the fitted point."""
    lines = [
        f"# Calibration: `{info['scenario']}`",
        "",
        f"Rejection ABC: {info['budget']} parameter sets drawn by Latin hypercube from uniform priors, one run of "
        f"{info['days']} days each (root seed {info['seed']}); distance = mean squared log-distance from the centre "
        f"of each `fit` target's range, in half-widths; the closest {info['accept_share']:.0%} "
        f"({info['accepted']} runs) are the posterior sample. {info['failed']} runs failed. Targets: "
        f"`{info['targets']}`; other parameters from `{info['scenario']}`. Git commit `{manifest['git_commit']}`; "
        f"command `{' '.join(manifest['command'])}`.",
        "",
        "## Fitted parameters",
        "",
        "| parameter | prior | posterior mean | median (fitted) | 90% interval | interval / prior |",
        "|---|---|---:|---:|---|---:|",
    ]
    for row in posterior.itertuples():
        lines.append(
            f"| `{row.parameter}` | {_g(row.prior_low)} to {_g(row.prior_high)} | {_g(row.mean)} | {_g(row.median)} "
            f"| {_g(row.q05)} to {_g(row.q95)} | {row.width_ratio:.2f} |"
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
                f"| {row.target} | {t.range_text()} | {row.unit} | {_g(row.mean)} ({_g(row.ci_low)} to "
                f"{_g(row.ci_high)}) | {_g(row.accepted_median)} | {row.outcome if row.passed else '**outside**'} |"
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
