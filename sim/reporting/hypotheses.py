"""The hypotheses report: one section per hypothesis with its source, numbers, figure and verdict."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from sim.experiments.hypotheses import Verdicts, metric_values  # noqa: E402
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
    return write_atomic(path, lambda tmp: fig.savefig(tmp, dpi=110, format="png"))


def write_report(verdicts: Verdicts, out: str | Path) -> None:
    """Write report.md, results.csv, one figure per hypothesis and manifest.json (last)."""
    hyps, details, table = verdicts.hypotheses, verdicts.details, verdicts.table
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "manifest.json").unlink(missing_ok=True)
    lines = [
        "# The sources' hypotheses in the model",
        "",
        "Each hypothesis of MODEL.md section 7 runs as the experiment in its file under `experiments/hypotheses/`. "
        "Arms share replication seeds (common random numbers), so every contrast is a paired difference of "
        "final-window means; CIs are 95% t intervals over replications. The rule turning numbers into verdicts is "
        "in `sim/experiments/hypotheses.py`. A verdict holds *within the model*, with its assumptions (docs/ODD.md).",
        "",
        "| hypothesis | source | verdict | days | replications |",
        "|---|---|---|---|---|",
    ]
    for h in hyps:
        verdict = details[h.id][2]
        lines.append(f"| {h.id}: {h.title} | {h.source} | **{verdict}** | {h.settings['days']} | "
                     f"{h.settings['replications']} |")  # fmt: skip
    for h in hyps:
        daily, results, verdict, window, sens = details[h.id]
        fig = plot_hypothesis(h, daily, results, out / "figures" / f"{h.id}.png")
        lines += ["", f"## {h.id}: {h.title}", "", f"*Source:* {h.source}. *Claim:* {h.claim}", ""]
        if h.note:
            lines += [f"*How the model reads it:* {h.note}", ""]
        if h.flip_text:
            lines += [f"*What would make it come out supported:* {h.flip_text['supported']} "
                      f"*And not supported:* {h.flip_text['not_supported']} "
                      f"(`klad hypotheses --setting supported|not_supported` runs both)", ""]  # fmt: skip
        if h.setting:
            lines += [f"**Run under the `{h.setting}` setting of its [flip] table.**", ""]
        lines.append(f"Setup: `{h.path.name}`; {h.settings['replications']} replications of {h.settings['days']} "
                     f"days, seed {h.seed}; means over {window.describe(h.settings['days'])}.")  # fmt: skip
        lines += ["", "Arms:", ""] + [f"- `{arm}`: {label}" for arm, label in h.arm_sources.items()]
        if h.sensitivity:
            s = h.sensitivity
            groups = "; ".join(f"{g}: {', '.join(names)}" for g, names in s.groups.items())
            lines.append(f"- ranking: grouped Sobol analysis of `{s.output}`, {h.settings['samples']} base samples, "
                         f"groups {groups}")  # fmt: skip
        header = "| test | role | metric | comparison | expect | estimate | 95% CI | relative | margin / threshold |"
        lines += ["", header + " verdict |", "|---|---|---|---|---|---|---|---|---|---|"]
        for r in results:
            rel = "–" if math.isnan(r["relative"]) else f"{100 * r['relative']:+.1f}%"
            lines.append(
                f"| {r['test']} | {r['role']} | `{r['metric']}` | `{r['comparison']}` | {r['expect']} | "
                f"{number(r['estimate'], 3)} | [{number(r['ci_low'], 3)}, {number(r['ci_high'], 3)}] | {rel} | "
                f"{number(r['margin_or_threshold'], 3)} | {r['verdict']} |"
            )
            if r.get("detail"):
                lines.append(f"| | | | {r['detail']} | | | | | | |")
        lines += ["", f"![{h.id}](figures/{fig.name})", "", f"**Verdict: {verdict}.**"]
        if verdict == "inconclusive" and any(r["role"] == "check" and r["verdict"] != "supported" for r in results):
            lines.append(" A check failed: the arms did not change what the experiment meant to change.")
        elif verdict == "inconclusive":
            lines.append(" Some confidence intervals straddle the margin: more replications would decide.")
    write_text("\n".join(lines) + "\n", out / "report.md")
    write_atomic(out / "results.csv", lambda tmp: table.to_csv(tmp, index=False))
    manifest = provenance(
        verdicts.started,
        hypotheses={h.id: {"file": str(h.path), "settings": h.settings, "seed": h.seed} for h in hyps},
        verdicts={h.id: details[h.id][2] for h in hyps},
    )
    write_json(manifest, out / "manifest.json")
