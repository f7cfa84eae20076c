"""The hypotheses report: one section per hypothesis with its source, numbers, figure and verdict."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.ticker import PercentFormatter  # noqa: E402

from sim.experiments.hypotheses import Verdicts  # noqa: E402
from sim.experiments.verdicts import metric_values  # noqa: E402
from sim.experiments.worlds import WorldVerdicts, shares  # noqa: E402
from sim.io.files import write_atomic, write_json, write_text  # noqa: E402
from sim.io.provenance import provenance  # noqa: E402
from sim.reporting.format import number  # noqa: E402
from sim.reporting.plots import mark_days  # noqa: E402
from sim.reporting.scenarios import marks_of  # noqa: E402

COLOURS = {"supported": "#1a9850", "not supported": "#d73027", "inconclusive": "#7f7f7f"}


def plot_hypothesis(h, daily: dict[str, pd.DataFrame], results: list[dict], path: Path) -> Path:
    """Left: the main metric over time by arm (mean and 95% band); right: each test's estimate and CI."""
    n = max(1, len(results))
    fig = plt.figure(figsize=(12, max(3.6, 1.25 * n + 1.2)))
    grid = fig.add_gridspec(n, 2, width_ratios=[1.35, 1])
    ax = fig.add_subplot(grid[:, 0])
    for arm, frame in daily.items():
        values = metric_values(frame.set_index(["rep", "day"]), h.main_metric).unstack("rep")
        smooth = values.rolling(14, min_periods=1).mean()
        mean, sem = smooth.mean(axis=1), smooth.sem(axis=1)
        ax.plot(mean.index, mean, label=arm, lw=1.4)
        ax.fill_between(mean.index, mean - 1.96 * sem, mean + 1.96 * sem, alpha=0.2)
    marks = sorted({m for params in h.arms.values() for m in marks_of(params)})
    legend = mark_days([ax], marks, h.settings["days"])
    ax.set(title=f"{h.main_metric} (14-day mean, 95% band over replications)", xlabel="day")
    if legend:
        ax.text(0.0, -0.12, "   ".join(legend), transform=ax.transAxes, fontsize=7, va="top")
    ax.legend(fontsize=8)
    for k, r in enumerate(results):
        a = fig.add_subplot(grid[k, 1])
        colour = COLOURS[r["verdict"]]
        if not math.isnan(r["estimate"]):
            a.errorbar([r["estimate"]], [0], xerr=[[r["estimate"] - r["ci_low"]], [r["ci_high"] - r["estimate"]]],
                       fmt="o", color=colour, capsize=4)  # fmt: skip
        a.axvline(0, color="k", lw=0.8)
        bound = r["margin_or_threshold"]
        if not math.isnan(bound) and r["kind"] == "contrast" and bound > 0:
            a.axvspan(-bound, bound, color="0.85", zorder=0)
        elif r["kind"] == "level":
            a.axvline(bound, color="tab:orange", ls="--")
        a.set_yticks([])
        a.set_title(f"{r['test']}: {r['comparison']} ({r['role']}) – {r['verdict']}", fontsize=8, color=colour)
        a.tick_params(labelsize=7)
    fig.suptitle(f"{h.id}: {h.title}", fontsize=10)
    fig.tight_layout()
    written = write_atomic(path, lambda tmp: fig.savefig(tmp, dpi=110, format="png"))
    plt.close(fig)
    return written


def write_report(verdicts: Verdicts, out: str | Path, across: WorldVerdicts | None = None) -> None:
    """Write report.md, results.csv, one figure per hypothesis and manifest.json (last).

    With ``across`` (``run_worlds``), the report opens with the share of
    plausible worlds in which each verdict comes out and what decides it, and
    ``worlds.csv`` holds every world's values and verdicts.
    """
    hyps, details, table = verdicts.hypotheses, verdicts.details, verdicts.table
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "manifest.json").unlink(missing_ok=True)
    lines = [
        "# The sources' hypotheses in the model",
        "",
        "Each hypothesis of the sources (docs/ODD.md, section 1.1; docs/sources.md) runs as the experiment in its file "
        "under `experiments/hypotheses/`. "
        "Arms share replication seeds and, within a run, each process's and each agent's random numbers (common "
        "random numbers), so every contrast is a paired difference of final-window means; CIs are t intervals over "
        "replications at 95% (a *not supported* must also hold at Holm's level, given in the table). The rules "
        "that turn numbers into verdicts are in `sim/experiments/hypotheses.py` and `sim/experiments/verdicts.py`. "
        "A verdict holds *within the model*, with its assumptions (docs/ODD.md).",
        "",
    ]
    if across is not None:
        lines += _worlds_section(hyps, details, across, out)
    lines += [
        "## At the registry's defaults",
        "",
        "| hypothesis | source | verdict | days | replications |",
        "|---|---|---|---|---|",
    ]
    for h in hyps:
        lines.append(f"| {h.id}: {h.title} | {h.source} | **{details[h.id].verdict}** | {h.settings['days']} | "
                     f"{_replications(h, details[h.id].replications)} |")  # fmt: skip
    for h in hyps:
        judged = details[h.id]
        daily, results, verdict, window = judged.daily, judged.results, judged.verdict, judged.window
        fig = plot_hypothesis(h, daily, results, out / "figures" / f"{h.id}.png")
        over_time = plot_effects(h, judged.effects, out / "figures" / f"{h.id}_over_time.png")
        lines += ["", f"## {h.id}: {h.title}", "", f"*Source:* {h.source}. *Claim:* {h.claim}", ""]
        if h.note:
            lines += [f"*How the model reads it:* {h.note}", ""]
        if h.flip_text:
            lines += [f"*What would make it come out supported:* {h.flip_text['supported']} "
                      f"*And not supported:* {h.flip_text['not_supported']} "
                      f"(`klad hypotheses --setting supported|not_supported` runs both)", ""]  # fmt: skip
        if h.setting:
            lines += [f"**Run under the `{h.setting}` setting of its [flip] table.**", ""]
        lines.append(f"Setup: `{h.path.name}`; {_replications(h, judged.replications)} replications of "
                     f"{h.settings['days']} days ({h.settings['days'] - h.start + 1} of them with the policy), seed "
                     f"{h.seed}; means over {window.describe(h.settings['days'])}.")  # fmt: skip
        lines += ["", "Arms:", ""] + [f"- `{arm}`: {label}" for arm, label in h.arm_sources.items()]
        if h.sensitivity:
            s = h.sensitivity
            groups = "; ".join(f"{g}: {', '.join(names)}" for g, names in s.groups.items())
            lines.append(f"- ranking: grouped Sobol analysis of `{s.output}`, {h.settings['samples']} base samples, "
                         f"groups {groups}")  # fmt: skip
        header = ("| test | role | metric | comparison | expect | estimate | CI (level) | relative "
                  "| margin / threshold | MDE | CRN r | replications to decide |")  # fmt: skip
        lines += ["", header + " verdict |", "|" + "---|" * 13]
        for r in results:
            lines.append(
                f"| {r['test']} | {r['role']} | `{r['metric']}` | `{r['comparison']}` | {r['expect']} | "
                f"{number(r['estimate'], 3)} | [{number(r['ci_low'], 3)}, {number(r['ci_high'], 3)}] "
                f"({_level(r)}) | {_share(r['relative'])} | {number(r['margin_or_threshold'], 3)} | {_mde(r)} | "
                f"{_number(r.get('crn_correlation'), 2)} | {_to_decide(r)} | {r['verdict']} |"
            )
            if r.get("detail") or r.get("note"):
                lines.append(f"| | | | {r.get('detail') or r.get('note')} |" + " |" * 9)
        lines += ["", f"![{h.id}](figures/{fig.name})", ""]
        if over_time:
            lines += [f"How each contrast grew after the policy started (30-day means, 95% CI over replications; "
                      f"the verdict is read at the end, day {h.settings['days']}):", "",
                      f"![{h.id} over time](figures/{over_time.name})", ""]  # fmt: skip
        lines.append(f"**Verdict: {verdict}.**")
        if verdict == "inconclusive" and any(r["role"] == "check" and r["verdict"] != "supported" for r in results):
            lines.append(" A check failed: the arms did not change what the experiment meant to change.")
        elif verdict == "inconclusive":
            lines.append(f" {_power_words(h, judged)}")
    write_text("\n".join(lines) + "\n", out / "report.md")
    write_atomic(out / "results.csv", lambda tmp: table.to_csv(tmp, index=False))
    manifest = provenance(
        verdicts.started,
        hypotheses={
            h.id: {
                "file": str(h.path),
                "settings": h.settings,
                "seed": h.seed,
                "replications_used": details[h.id].replications,
            }
            for h in hyps
        },
        verdicts={h.id: details[h.id].verdict for h in hyps},
        worlds=None
        if across is None
        else {
            "n": len(across.worlds),
            "replications": across.replications,
            "shares": shares(across.verdicts).to_dict("index"),
        },
    )
    write_json(manifest, out / "manifest.json")


def _replications(h, used: int) -> str:
    pilot, cap = h.settings["replications"], h.settings["max_replications"]
    if cap == pilot:
        return str(used)
    return f"{used} (pilot {pilot}, at most {cap})"


def _number(x, digits: int) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if isinstance(x, float) and math.isinf(x):
        return "∞"
    return number(x, digits) if digits else f"{int(x):,}"


def _to_decide(r) -> str:
    """The replications an undecided test would need (a decided one needs none)."""
    return _number(r.get("reps_needed"), 0) if r["verdict"] == "inconclusive" else "–"


def _share(x) -> str:
    return "–" if x is None or math.isnan(x) else f"{100 * x:+.1f}%"


def _level(r) -> str:
    """The interval's level, and Holm's for a *not supported* where it is stricter."""
    level = r.get("level", float("nan"))
    if level is None or math.isnan(level):
        return "–"
    holm = r.get("holm_level")
    if holm is not None and not math.isnan(holm) and holm > level + 1e-9:
        return f"{100 * level:.0f}%; Holm {100 * holm:.1f}%"
    return f"{100 * level:.0f}%"


def _mde(r) -> str:
    """The minimal detectable effect, as a share of the reference arm where the test has one."""
    if r.get("relative_to") and not math.isnan(r.get("mde_relative", float("nan"))):
        return f"{100 * r['mde_relative']:.1f}%"
    return _number(r.get("mde"), 3)


def _power_words(h, judged) -> str:
    """Why an inconclusive verdict is one: the replications it had and those that would decide it."""
    open_ = [r for r in judged.results if r["role"] in ("test", "check") and r["verdict"] == "inconclusive"]
    asked = [r.get("reps_needed", float("nan")) for r in open_]
    asked = [a for a in asked if not math.isnan(a)]
    if not asked:
        return "Some confidence intervals straddle the margin."
    most = max(asked)
    cap = h.settings["max_replications"]
    if math.isinf(most):
        need = "no number of replications would narrow them enough at the effect's spread"
    else:
        need = f"about {int(most):,} replications would decide it"
    return (f"Not enough power within {judged.replications} replications (the cap is {cap}): the confidence "
            f"intervals straddle the margin, and {need}.")  # fmt: skip


def plot_effects(h, effects: pd.DataFrame, path: Path) -> Path | None:
    """Each contrast's effect (and 95% band) against days since the policy started; None if there is none."""
    if effects.empty:
        return None
    tests = list(dict.fromkeys(effects["test"]))
    fig, axes = plt.subplots(len(tests), 1, figsize=(9, 1.9 * len(tests) + 0.8), sharex=True, squeeze=False)
    by_name = {t.name: t for t in h.tests}
    for ax, name in zip(axes[:, 0], tests, strict=True):
        rows = effects[effects["test"] == name]
        scale = 100.0 if rows["relative"].iloc[0] else 1.0
        x = rows["days_since_policy"]
        ax.plot(x, scale * rows["estimate"], color="tab:blue", lw=1.3)
        ax.fill_between(x, scale * rows["ci_low"], scale * rows["ci_high"], color="tab:blue", alpha=0.2)
        ax.axhline(0, color="k", lw=0.8)
        test = by_name[name]
        if test.margin > 0 and test.relative_to:
            ax.axhspan(-100 * test.margin, 100 * test.margin, color="0.88", zorder=0)
        ax.set_ylabel(f"% of {test.relative_to}" if test.relative_to else test.metric, fontsize=8)
        ax.set_title(f"{name}: {test.metric}, {test.effect} ({test.role})", fontsize=9)
        ax.tick_params(labelsize=8)
        if "correlation" in rows and rows["correlation"].notna().any():
            twin = ax.twinx()
            twin.plot(x, rows["correlation"], color="0.45", lw=0.9, ls="--")
            twin.set_ylim(-1, 1)
            twin.set_ylabel("arms' correlation", fontsize=7, color="0.35")
            twin.tick_params(labelsize=7, colors="0.35")
    axes[-1, 0].set_xlabel("days since the policy started")
    fig.suptitle(f"{h.id}: effects over time (grey: the margin; dashed, right axis: the correlation of the two "
                 "arms' 30-day means across replications)", fontsize=10)  # fmt: skip
    fig.tight_layout()
    written = write_atomic(path, lambda tmp: fig.savefig(tmp, dpi=100, format="png"))
    plt.close(fig)
    return written


def _worlds_section(hyps, details, across: WorldVerdicts, out: Path) -> list[str]:
    """The headline: each hypothesis's verdicts across plausible worlds, and the rules that decide them."""
    table = shares(across.verdicts)
    n, reps = len(across.worlds), across.replications
    merged = across.worlds.merge(across.verdicts.pivot(index="world", columns="hypothesis", values="verdict"),
                                 on="world")  # fmt: skip
    write_atomic(out / "worlds.csv", lambda tmp: merged.to_csv(tmp, index=False))
    figure = plot_worlds(table, out / "figures" / "worlds.png")
    names = ", ".join(f"`{c}`" for c in across.worlds.columns if c != "world" and c not in across.fitted)
    fitted = ", ".join(f"`{c}`" for c in across.fitted)
    cube = "a point of a Latin hypercube over"
    if across.fitted:
        cube = (f"a draw of the calibration's posterior sample (`{across.posterior}`) for the fitted parameters "
                f"({fitted}), and for the others {cube}")  # fmt: skip
    lines = [
        f"## Across {n} plausible worlds", "",
        f"Each hypothesis ran in {n} worlds, each {cube} the uncertainties that the "
        f"hypotheses' [flip] tables name ({names}; ranges in `experiments/worlds.toml`), with {reps} replications "
        "per world. The share of worlds per verdict, and the conditions under which each verdict comes out (the "
        "leaves of a depth-2 classification tree on the worlds' values):", "",
        "| hypothesis | at defaults | supported | not supported | inconclusive | what decides it |",
        "|---|---|---:|---:|---:|---|",
    ]  # fmt: skip
    for h in hyps:
        row = table.loc[h.id]
        rules = "; ".join(across.rules[h.id])
        lines.append(f"| {h.id}: {h.title} | {details[h.id].verdict} | {row['supported']:.0%} | "
                     f"{row['not supported']:.0%} | {row['inconclusive']:.0%} | {rules} |")  # fmt: skip
    lines += ["", f"![verdicts across worlds](figures/{figure.name})", "",
              f"A world's verdict rests on {reps} replications, so some *inconclusive* worlds lack power rather "
              "than a decision; `worlds.csv` has every world's values and verdicts.", ""]  # fmt: skip
    return lines


def plot_worlds(table: pd.DataFrame, path: Path) -> Path:
    """A bar per hypothesis: the shares of worlds in which it is supported, not supported, inconclusive."""
    fig, ax = plt.subplots(figsize=(8, 0.5 * len(table) + 1.2))
    left = pd.Series(0.0, index=table.index)
    for verdict in ("supported", "not supported", "inconclusive"):
        ax.barh(table.index, table[verdict], left=left, color=COLOURS[verdict], label=verdict)
        left += table[verdict]
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel(f"share of {int(table['worlds'].iloc[0])} worlds")
    ax.legend(ncol=3, fontsize=8, loc="lower center", bbox_to_anchor=(0.5, 1.0))
    fig.tight_layout()
    written = write_atomic(path, lambda tmp: fig.savefig(tmp, dpi=100, format="png"))
    plt.close(fig)
    return written
