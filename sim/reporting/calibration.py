"""The files of a calibration: runs, posterior sample, fitted values, checks, report, figures and manifest."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from sim.experiments.calibration import Calibration, Method  # noqa: E402
from sim.experiments.targets import Targets  # noqa: E402
from sim.io.files import write_atomic, write_json, write_parquet, write_text  # noqa: E402
from sim.io.provenance import provenance  # noqa: E402
from sim.params import REGISTRY  # noqa: E402
from sim.reporting.format import number, share  # noqa: E402

#: Points of the posterior sample drawn in the pairwise figure (all of them would hide the runs).
PAIR_POINTS = 400
#: Most parameters in the pairs figure: with more (a joint calibration), the best identified.
PAIR_MOST = 6


def write_calibration(result: Calibration, out: str | Path) -> list[Path]:
    """Write the files of a calibration under ``out``.

    ``runs.parquet`` (every calibration run), ``posterior.csv`` (the posterior
    sample: one column per fitted parameter, one row per draw; what ``klad
    hypotheses --worlds`` reads) with ``posterior.json`` (how it was made),
    ``ppc.csv`` and ``ppc.parquet`` (the posterior predictive check and its
    runs), ``fit.csv``, ``fitted.toml`` (fitted values and intervals),
    ``emulator.csv`` (the final emulator per target), ``comparison.csv``
    (with rejection, when it was run), ``report.md``,
    ``figures/`` and, last, ``manifest.json``.
    """
    out = Path(out)
    (out / "manifest.json").unlink(missing_ok=True)
    info = result.info
    manifest = provenance(result.started, scenario_file=info["scenario"], parameters=result.params, calibration=info)
    about = {key: info[key] for key in ("method", "seed", "budget", "waves", "days", "targets", "scenario")}
    about.update(size=len(result.sample), columns=list(result.sample.columns), commit=manifest["git"]["commit"],
                 started=manifest["started"])  # fmt: skip
    files = [
        write_parquet(result.runs, out / "runs.parquet"),
        _write_csv(result.sample, out / "posterior.csv"),
        write_json(about, out / "posterior.json"),
        _write_csv(result.ppc, out / "ppc.csv"),
        write_parquet(result.ppc_runs, out / "ppc.parquet"),
        _write_csv(result.fit_table, out / "fit.csv"),
        write_text(fitted_toml(result.posterior, result.fitted, manifest), out / "fitted.toml"),
        plot_posterior(result.runs, result.sample, result.targets, out / "figures" / "posterior.png"),
        plot_pairs(
            result.runs,
            result.sample,
            result.targets,
            out / "figures" / "pairs.png",
            list(result.posterior.sort_values("width_ratio")["parameter"].head(PAIR_MOST)),
        ),
        plot_ppc(result.runs, result.ppc_runs, result.check, result.targets, out / "figures" / "ppc.png"),
        write_text(report(result, manifest), out / "report.md"),
    ]
    if result.emulator is not None:
        files.append(_write_csv(result.emulator, out / "emulator.csv"))
    if result.comparison is not None:
        files.append(_write_csv(result.comparison, out / "comparison.csv"))
    files.append(write_json(manifest, out / "manifest.json"))
    return files


def _write_csv(frame: pd.DataFrame, path: Path) -> Path:
    return write_atomic(path, lambda tmp: frame.to_csv(tmp, index=False))


def procedure(info: dict) -> str:
    """One sentence on how the posterior was made."""
    if info["method"] == Method.REJECTION:
        return (f"Rejection ABC: {info['budget']} parameter sets drawn by Latin hypercube from uniform priors, one "
                f"run of {info['days']} days each (root seed {info['seed']}); distance = mean squared log-distance "
                f"from the centre of each `fit` target's range, in half-widths; the closest "
                f"{info['accept_share']:.0%} ({info['accepted']} runs) are the posterior sample.")  # fmt: skip
    return (f"Emulator-based ABC in {info['waves']} waves: {info['budget']} runs of {info['days']} days (root seed "
            f"{info['seed']}); wave 1 a Latin hypercube over the uniform priors; after each wave one Gaussian process "
            "per `fit` target (log of the statistic, parameters scaled to the unit cube, log-scaled where the prior "
            "spans a factor of 4 or more, white noise for the run-to-run noise) gives each of "
            f"{info['candidates']:,} Sobol' candidates from the prior the weight prior x product over targets of "
            "P(one run's statistic in the range); the next wave runs candidates resampled by weight, "
            f"{info['prior_share']:.0%} of them from the prior. The posterior sample is {info['posterior_size']:,} "
            "draws from the candidates by the final weights.")  # fmt: skip


def param_unit(name: str) -> str:
    """A parameter's unit, from the registry (``–`` for a name the registry does not hold)."""
    return REGISTRY[name].unit if name in REGISTRY else "–"


def identifiability(ratio: float) -> str:
    """A word for a posterior interval's width over its prior's."""
    return "identified" if ratio < 0.5 else "narrowed" if ratio < 0.8 else "not identified"


def fitted_toml(posterior: pd.DataFrame, fitted: dict[str, float], manifest: dict) -> str:
    """``fitted.toml``: the fitted values, ready for a scenario's [params], and their posterior intervals."""
    info = manifest["calibration"]
    how = (f"{info['accepted']} accepted ({info['accept_share']:.0%})" if info["method"] == Method.REJECTION
           else f"{info['waves']} waves, {info['posterior_size']} posterior draws")  # fmt: skip
    lines = [
        f"# Fitted by {info['method']} ABC (sim/experiments/calibration.py): posterior medians, three significant "
        "figures.",
        f"# Command: {' '.join(manifest['command'])}",
        f"# Git commit: {manifest['git']['commit']}; started {manifest['started']}",
        f"# Budget {info['budget']} runs of {info['days']} days, seed {info['seed']}, {how}; targets "
        f"{info['targets']}.",
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


def report(result: Calibration, manifest: dict) -> str:
    """``report.md``: the procedure, the posterior, the waves, the checks and, if run, the comparison."""
    info, targets, posterior = result.info, result.targets, result.posterior
    lines = [
        f"# Calibration: `{info['scenario']}`",
        "",
        f"{procedure(info)} {info['failed']} runs failed. Then {info['ppc_runs']} runs at posterior draws (the "
        f"posterior predictive check) and {info['check_replications']} replications at the fitted point. Targets: "
        f"`{info['targets']}`; other parameters from `{info['scenario']}`. Git commit `{manifest['git']['commit']}`; "
        f"command `{' '.join(manifest['command'])}`.",
        "",
        "## Fitted parameters",
        "",
        "The interval / prior column is the identifiability of each parameter: the posterior's 90% interval width "
        "over the prior's width (1: the targets say nothing about it).",
        "",
        "| parameter | unit | prior | posterior mean | median (fitted) | 90% interval | interval / prior | |",
        "|---|---|---|---:|---:|---|---:|---|",
    ]
    for row in posterior.itertuples():
        lines.append(
            f"| `{row.parameter}` | {param_unit(row.parameter)} | {number(row.prior_low)} to "
            f"{number(row.prior_high)} | {number(row.mean)} "
            f"| {number(row.median)} | {number(row.q05)} to {number(row.q95)} | {row.width_ratio:.2f} "
            f"| {identifiability(row.width_ratio)} |"
        )
    lines += ["", "Why these parameters:", ""]
    lines += [f"- `{name}`: {reason}" for name, reason in targets.fit_reasons.items()]
    lines += _waves(result)
    if result.comparison is not None:
        lines += _comparison(result.comparison, info)
    lines += [
        "",
        "## Posterior predictive check",
        "",
        f"{info['ppc_runs']} runs, each at a draw from the posterior (one replication, its own seed): the share of "
        "runs whose statistic lies in the target's range, and their 5%, 50% and 95% quantiles. Fit targets were "
        "used to make the posterior; patterns were not.",
        "",
        "| target | role | accepted range | unit | runs inside | 5% | median | 95% |",
        "|---|---|---|---|---:|---:|---:|---:|",
    ]
    for row in result.ppc.itertuples():
        t = next(t for t in targets.targets if t.id == row.target)
        lines.append(f"| {row.target} | {row.role} | {t.range_text()} | {row.unit} | {share(row.share_inside)} "
                     f"| {number(row.q05)} | {number(row.median)} | {number(row.q95)} |")  # fmt: skip
    table = result.fit_table
    for role, title in (("fit", "Fit at the fitted point"), ("pattern", "Out-of-sample patterns (not fitted)")):
        if not (table["role"] == role).any():
            continue
        lines += [
            "",
            f"## {title}",
            "",
            f"Mean and 95% CI over {info['check_replications']} replications at the fitted values (seed "
            f"{info['check_seed']}); 'posterior runs' is the median over the posterior predictive runs.",
            "",
            "| target | accepted range | unit | mean (95% CI) | posterior runs | 95% CI vs range |",
            "|---|---|---|---|---:|---|",
        ]
        for row in table[table["role"] == role].itertuples():
            t = next(t for t in targets.targets if t.id == row.target)
            lines.append(
                f"| {row.target} | {t.range_text()} | {row.unit} | {number(row.mean)} ({number(row.ci_low)} to "
                f"{number(row.ci_high)}) | {number(row.accepted_median)} | "
                f"{row.outcome if row.passed else '**outside**'} |"
            )
    lines += ["", "![posterior](figures/posterior.png)", "", "![pairs](figures/pairs.png)", "",
              "![posterior predictive check](figures/ppc.png)", ""]  # fmt: skip
    return "\n".join(lines)


def _waves(result: Calibration) -> list[str]:
    if result.method == Method.REJECTION:
        return []
    lines = [
        "",
        "## Waves",
        "",
        "After each wave the emulator is fitted to every run so far. *Effective candidates*: how many equal-weight "
        "points the weighted candidates are worth (Kish); *not implausible*: the share of the prior that history "
        "matching would keep (every target within 3 standard deviations of its range's centre, the range read as "
        "the centre plus or minus two).",
        "",
        "| wave | runs | failed | design | effective candidates | not implausible (share of the prior) |",
        "|---:|---:|---:|---|---:|---:|",
    ]
    for row in result.waves.itertuples():
        lines.append(f"| {row.wave} | {row.runs} | {row.failed} | {row.design} | {row.effective_candidates:,.0f} "
                     f"| {share(row.not_implausible)} |")  # fmt: skip
    lines += [
        "",
        "The final emulator, per fit target: the run-to-run noise it learned and the range's half-width, both as "
        "standard deviations of the log statistic. Where the noise is the larger, one run says little about the "
        "parameters, and the posterior stays wide in what that target informs. *Led by*: the parameter with the "
        "shortest length scale (the statistic changes most along it).",
        "",
        "| target | runs | run-to-run noise (SD of the log statistic) | range half-width (SD of the log statistic) "
        "| led by |",
        "|---|---:|---:|---:|---|",
    ]
    names = list(result.targets.fit_params)
    assert result.emulator is not None  # the emulator method's waves
    for row in result.emulator.to_dict("records"):
        lead = min(names, key=lambda name: row[f"length_{name}"])
        lines.append(f"| {row['target']} | {row['runs']} | {row['noise_sd']:.3f} | {row['range_half_width']:.3f} "
                     f"| `{lead}` |")  # fmt: skip
    return lines


def _comparison(comparison: pd.DataFrame, info: dict) -> list[str]:
    narrower = int((comparison["width_ratio"] < comparison["rejection_width_ratio"]).sum())
    lines = [
        "",
        "## Against rejection ABC at the same budget",
        "",
        f"Rejection ABC with the same {info['budget']} runs (a Latin hypercube over the priors, seed "
        f"{info['seed']}, the closest {info['accept_share']:.0%} kept): the emulator's 90% interval is narrower for "
        f"{narrower} of {len(comparison)} parameters. The two do not estimate quite the same posterior: rejection's "
        "tolerance is set by the share it keeps, not by the ranges, and its interval comes from a few runs, so "
        "it can be narrower than the ranges support where a statistic's run-to-run noise exceeds its range "
        "(table above), and it changes more from seed to seed.",
        "",
        "| parameter | unit | emulator 90% interval | interval / prior | rejection 90% interval | interval / prior |",
        "|---|---|---|---:|---|---:|",
    ]
    for row in comparison.itertuples():
        lines.append(f"| `{row.parameter}` | {param_unit(row.parameter)} | {number(row.q05)} to {number(row.q95)} "
                     f"| {row.width_ratio:.2f} "
                     f"| {number(row.rejection_q05)} to {number(row.rejection_q95)} | "
                     f"{row.rejection_width_ratio:.2f} |")  # fmt: skip
    return lines


def plot_posterior(runs: pd.DataFrame, sample: pd.DataFrame, targets: Targets, path: Path) -> Path:
    """Histogram of each fitted parameter's posterior sample over the first wave's runs (a prior sample)."""
    names = list(targets.fit_params)
    cols = min(3, len(names))
    rows = math.ceil(len(names) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.4 * cols, 2.8 * rows), squeeze=False)
    for ax in axes.flat[len(names) :]:
        ax.set_visible(False)
    for ax, name in zip(axes.flat, names, strict=False):
        low, high = targets.fit_params[name]
        bins = np.linspace(low, high, 21)
        ax.hist(runs.loc[runs["wave"] == 1, name], bins=bins, density=True, color="lightgrey", label="prior sample")
        ax.hist(sample[name], bins=bins, density=True, alpha=0.7, label="posterior")
        ax.axvline(sample[name].median(), color="red", lw=1.2, label="median (fitted)")
        ax.set_title(name, fontsize=9)
        ax.tick_params(labelsize=7)
    axes.flat[0].legend(fontsize=7)
    fig.suptitle("Posterior sample over the prior sample (wave 1)", fontsize=10)
    return _save(fig, path)


def plot_pairs(
    runs: pd.DataFrame, sample: pd.DataFrame, targets: Targets, path: Path, names: list[str] | None = None
) -> Path:
    """Pairwise scatter of the fitted parameters (``names``: some of them): the posterior sample, the runs by wave."""
    names = [n for n in targets.fit_params if names is None or n in names]
    k = len(names)
    fig, axes = plt.subplots(k, k, figsize=(2.2 * k, 2.2 * k), squeeze=False)
    shown = sample.head(PAIR_POINTS)
    waves = sorted(runs["wave"].unique())
    for i, yi in enumerate(names):
        for j, xj in enumerate(names):
            ax = axes[i][j]
            if i == j:
                ax.hist(sample[xj], bins=16, range=targets.fit_params[xj])
            else:
                ax.scatter(shown[xj], shown[yi], s=3, color="lightsteelblue", alpha=0.6)
                for w in waves:
                    at = runs[runs["wave"] == w]
                    ax.scatter(at[xj], at[yi], s=7, color=plt.cm.viridis(w / (max(waves) + 0.5)), label=f"wave {w}")
            ax.tick_params(labelsize=6)
            if i == k - 1:
                ax.set_xlabel(xj, fontsize=7)
            if j == 0:
                ax.set_ylabel(yi, fontsize=7)
    if k > 1:
        axes[0][1].legend(fontsize=6)
    fig.suptitle("Posterior sample (light blue) and the runs of each wave", fontsize=10)
    return _save(fig, path)


def plot_ppc(runs: pd.DataFrame, ppc_runs: pd.DataFrame, check: pd.DataFrame, targets: Targets, path: Path) -> Path:
    """Each target: its range, the calibration's runs, the posterior predictive runs and their 5-95% span."""
    items = targets.targets
    fig, axes = plt.subplots(len(items), 1, figsize=(7, 0.6 * len(items) + 1), squeeze=False)
    for ax, t in zip(axes[:, 0], items, strict=True):
        every = runs[t.statistic].to_numpy(dtype=float)
        posterior = ppc_runs[t.statistic].to_numpy(dtype=float)
        posterior = posterior[np.isfinite(posterior)]
        seen = np.concatenate([every[np.isfinite(every)], posterior])
        log = len(seen) > 0 and t.low > 0 and bool((seen > 0).all())
        high = t.high if math.isfinite(t.high) else max(t.low * 2, seen.max() if len(seen) else 1.0)
        ax.axvspan(t.low, high, color="green", alpha=0.15)
        ax.scatter(every, np.full(len(every), 0.3), s=4, color="lightgrey")
        ax.scatter(posterior, np.zeros(len(posterior)), s=8, alpha=0.8)
        if len(posterior):
            ax.plot(np.quantile(posterior, [0.05, 0.95]), [-0.3, -0.3], color="black", lw=2)
        ax.scatter([check[t.statistic].mean()], [0], marker="|", s=300, color="red")
        if log:
            from matplotlib.ticker import LogLocator, NullFormatter, ScalarFormatter

            ax.set_xscale("log")
            ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))  # 1, 2, 5 in each decade, plain numbers
            ax.xaxis.set_major_formatter(ScalarFormatter())
            ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_ylim(-0.6, 0.6)
        ax.set_yticks([])
        ax.set_ylabel(f"{t.id}\n({t.role})", rotation=0, ha="right", va="center", fontsize=7)
        ax.tick_params(labelsize=6)
    fig.suptitle("Targets: range (green), calibration runs (grey), posterior predictive runs (blue) and their "
                 "5-95% (black), fitted point (red)", fontsize=8)  # fmt: skip
    return _save(fig, path)


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    write_atomic(path, lambda tmp: fig.savefig(tmp, format="png", dpi=100))
    plt.close(fig)
    return Path(path)
