"""The hypotheses report: one section per hypothesis with its source, numbers, figure and verdict."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.ticker import PercentFormatter  # noqa: E402

from sim.experiments.costs import YEAR  # noqa: E402
from sim.experiments.hypotheses import Verdicts, outside_regime, outside_words  # noqa: E402
from sim.experiments.study import HypothesesResult  # noqa: E402
from sim.experiments.verdicts import metric_values  # noqa: E402
from sim.experiments.worlds import WorldVerdicts, shares  # noqa: E402
from sim.io.files import write_atomic, write_json, write_text  # noqa: E402
from sim.io.provenance import provenance  # noqa: E402
from sim.reporting.format import RELATIVE, metric_unit, number  # noqa: E402
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


INTRODUCTION = [
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


def write_report(result: HypothesesResult, out: str | Path) -> None:
    """Write report.md, results.csv, regime.csv, one figure per hypothesis and manifest.json (last).

    With worlds (``result.across``, from ``run_worlds``), the report opens with
    the share of plausible worlds in which each verdict comes out and what
    decides it, and ``worlds.csv`` holds every world's values and verdicts.
    With alternatives (``result.alternatives``), each section has a table of
    the verdict and estimates under each, and ``alternatives.csv`` holds their
    rows. ``regime.csv`` holds every arm against the regime targets.
    """
    verdicts, across = result.verdicts, result.across
    hyps, details = verdicts.hypotheses, verdicts.details
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "manifest.json").unlink(missing_ok=True)
    lines = list(INTRODUCTION)
    if across is not None:
        lines += _worlds_section(hyps, details, across, out)
    lines += [
        "## At the defaults",
        "",
        "The calibrated baseline: the registry's defaults, with the values `scenarios/baseline.toml` fitted to "
        "the targets.",
        "",
        "| hypothesis | source | verdict | days | replications |",
        "|---|---|---|---|---|",
    ]
    for h in hyps:
        lines.append(f"| {h.id}: {h.title} | {h.source} | **{details[h.id].verdict}** | {h.settings['days']} | "
                     f"{_replications(h, details[h.id].replications)} |")  # fmt: skip
    costs = result.costs if result.costs is not None else pd.DataFrame(columns=["hypothesis"])
    for h in hyps:
        lines += _section(h, details[h.id], result.alternatives, out)
        lines += _costs_lines(h, costs[costs["hypothesis"] == h.id])
    write_text("\n".join(lines) + "\n", out / "report.md")
    if len(costs):
        write_atomic(out / "costs.csv", lambda tmp: costs.to_csv(tmp, index=False))
    else:
        (out / "costs.csv").unlink(missing_ok=True)  # not one of an earlier run in the same folder
    write_atomic(out / "results.csv", lambda tmp: verdicts.table.to_csv(tmp, index=False))
    write_atomic(out / "regime.csv", lambda tmp: result.regime.to_csv(tmp, index=False))
    if result.alternatives_table is not None:
        table = result.alternatives_table
        write_atomic(out / "alternatives.csv", lambda tmp: table.to_csv(tmp, index=False))
    write_json(_manifest(result), out / "manifest.json")


def _section(h, judged, alternatives: Verdicts | None, out: Path) -> list[str]:
    """One hypothesis: its claim, setup, chain, arms, tests, figures, regime, alternatives and verdict."""
    daily, results, window = judged.daily, judged.results, judged.window
    fig = plot_hypothesis(h, daily, results, out / "figures" / f"{h.id}.png")
    over_time = plot_effects(h, judged.effects, out / "figures" / f"{h.id}_over_time.png")
    lines = ["", f"## {h.id}: {h.title}", "", f"*Source:* {h.source}. *Claim:* {h.claim}", ""]
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
    lines += _chain(h)
    lines += ["", "Arms:", ""] + [f"- `{arm}`: {label}" for arm, label in h.arm_sources.items()]
    if h.sensitivity:
        s = h.sensitivity
        groups = "; ".join(f"{g}: {', '.join(names)}" for g, names in s.groups.items())
        lines.append(f"- ranking: grouped Sobol analysis of `{s.output}`, {h.settings['samples']} base samples, "
                     f"groups {groups}")  # fmt: skip
    lines += _tests_table(results)
    lines += ["", f"![{h.id}](figures/{fig.name})", ""]
    if over_time:
        lines += [f"How each contrast grew after the policy started (30-day means, 95% CI over replications; "
                  f"the verdict is read at the end, day {h.settings['days']}):", "",
                  f"![{h.id} over time](figures/{over_time.name})", ""]  # fmt: skip
    lines += _margins_and_horizons(h, judged)
    lines += _regime_lines(judged.regime)
    lines += _alternatives_lines(h, judged, alternatives)
    return lines + _verdict_lines(h, judged)


#: The columns of an arm's costs that a hypothesis's section shows (its last year), each with its unit.
COSTS_SHOWN = (
    ("extra_kzt", "extra cost, m KZT/year", 1e-6), ("grams_averted", "grams averted, kg/year", 1e-3),
    ("grams_per_million_kzt", "g averted per extra million KZT", 1.0),
    ("grams_per_officer_day", "g averted per extra officer-day", 1.0),
    ("prisoner_years_added", "prisoner-years added a year", 1.0),
)  # fmt: skip


def _costs_lines(h, costs: pd.DataFrame) -> list[str]:
    """What each arm costs against the baseline in the last whole year of the runs, and what it averts per KZT."""
    if costs.empty:
        return []
    whole = costs[costs["days"] >= YEAR]  # a part-year's sums are not yearly figures
    if whole.empty:
        return ["", f"No whole year in the runs ({int(costs['days'].max())} days at most): `costs.csv` has "
                "what each arm costs against the baseline, by part of a year.", ""]  # fmt: skip
    last = whole[whole["year"] == whole["year"].max()]
    lines = ["", f"What each arm costs against the baseline, in year {int(last['year'].iloc[0])} of the runs "
             f"(means over {int(last['pairs'].min())} paired replications; `costs.csv` has every year): arms "
             "compared at equal cost, by the grams each averts per extra million KZT (empty where it spends no "
             "more than the baseline).", "",
             "| arm | " + " | ".join(label for _, label, _ in COSTS_SHOWN) + " |",
             "|---|" + "---:|" * len(COSTS_SHOWN)]  # fmt: skip
    for row in last.to_dict("records"):
        cells = [number(row[column] * scale) for column, _, scale in COSTS_SHOWN]
        lines.append(f"| `{row['arm']}` | " + " | ".join(cells) + " |")
    return lines + [""]


def _tests_table(results: list[dict]) -> list[str]:
    """Every test's estimate, interval, margin, power and verdict, one row each.

    The estimate, its interval and the margin are in the metric's unit (its own column); the relative effect,
    and the MDE where the test has a reference arm, are shares of the reference arm's mean.
    """
    header = ("| test | role | metric | unit | comparison | expect | estimate (unit) | CI (level) | relative "
              f"({RELATIVE}) | margin / threshold (unit) | MDE (unit, or % of the reference arm) | CRN r "
              "| replications to decide |")  # fmt: skip
    lines = ["", header + " verdict |", "|" + "---|" * 14]
    for r in results:
        lines.append(
            f"| {r['test']} | {r['role']} | `{r['metric']}` | {_unit(r)} | `{r['comparison']}` "
            f"| {r['expect']} | "
            f"{number(r['estimate'], 3)} | [{number(r['ci_low'], 3)}, {number(r['ci_high'], 3)}] "
            f"({_level(r)}) | {_share(r['relative'])} | {number(r['margin_or_threshold'], 3)} | {_mde(r)} | "
            f"{_number(r.get('crn_correlation'), 2)} | {_to_decide(r)} | {r['verdict']} |"
        )
        if r.get("detail") or r.get("note"):
            lines.append(f"| | | | | {r.get('detail') or r.get('note')} |" + " |" * 9)
    return lines


def _unit(r) -> str:
    """The unit of a test's estimate: its metric's, or a share of variance for a ranking of total indices."""
    return "share of variance" if r.get("kind") == "ranking" else metric_unit(r["metric"])


def _read_in(r) -> str:
    """What a test's reported effect is measured in: a share of the reference arm where it has one, else its unit."""
    return RELATIVE if r.get("relative_to") else _unit(r)


def _verdict_lines(h, judged) -> list[str]:
    """The verdict, and what qualifies it: arms outside the regime, effects not settled, a failed check."""
    results, verdict = judged.results, judged.verdict
    lines = [f"**Verdict: {verdict}.**"]
    outside = outside_regime(judged.regime)
    if outside:
        lines.append(" Outside the plausible regime: " + "; ".join(
            f"`{arm}` ({', '.join(targets)})" for arm, targets in outside.items()) +
            ": the tests with these arms describe a market the sources do not.")  # fmt: skip
    unsettled = [r for r in results if r["role"] == "test" and r.get("settled") is False]
    if unsettled:
        lines.append(" Not settled: " + "; ".join(
            f"{r['test']} still moves by {_share(r['trend_per_year'])} of the reference a year over the last "
            "year" for r in unsettled) + ", so a longer horizon could read it otherwise.")  # fmt: skip
    if verdict == "inconclusive" and any(r["role"] == "check" and r["verdict"] != "supported" for r in results):
        lines.append(" A check failed: the arms did not change what the experiment meant to change.")
    elif verdict == "inconclusive":
        lines.append(f" {_power_words(h, judged)}")
    return lines


def _manifest(result: HypothesesResult) -> dict:
    """What was run, with which settings and seeds, and what came out: the report's provenance."""
    verdicts, alternatives, across = result.verdicts, result.alternatives, result.across
    hyps, details = verdicts.hypotheses, verdicts.details
    return provenance(
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
        outside_regime={h.id: outside_regime(details[h.id].regime) for h in hyps},
        alternatives=None
        if alternatives is None
        else {
            a.id: {
                "alternative": a.alternative,
                "verdict": alternatives.details[a.id].verdict,
                "replications_used": alternatives.details[a.id].replications,
                "outside_regime": outside_regime(alternatives.details[a.id].regime),
            }
            for a in alternatives.hypotheses
        },
        worlds=None
        if across is None
        else {
            "candidates": len(across.worlds),
            "plausible": int(across.worlds["plausible"].sum()),
            "checked_against": across.targets,
            "replications": across.replications,
            "emulated": across.emulated,
            "shares": shares(across.verdicts).to_dict("index") if len(across.verdicts) else {},
            "effects": {f"{hid}: {r.name}": {**r.summary, **r.check} for hid, rs in across.reports.items() for r in rs},
        },
    )


def _chain(h) -> list[str]:
    """The mechanisms that decide the verdict, in order, with their code and sources."""
    if not h.chain:
        return []
    lines = ["", "What decides the verdict, in order:", ""]
    lines += [f"{i}. {c['mechanism']} (`{c['code']}`; {c['source']})" for i, c in enumerate(h.chain, 1)]
    return lines


def _regime_lines(regime: pd.DataFrame) -> list[str]:
    """Each arm against the regime targets: inside, straddling, or outside the range the sources give."""
    if regime.empty:
        return []
    targets = list(dict.fromkeys(regime["target"]))
    ranges = {t: g.iloc[0] for t, g in regime.groupby("target", sort=False)}
    head = " | ".join(f"{t} [{number(r['low'], 3)}, {number(r['high'], 3)}] ({r['unit']})" for t, r in ranges.items())
    lines = ["Each arm against the market's regime (the sources' ranges; mean [95% CI] over replications, final "
             "window; *outside* when the whole interval is):", "",
             f"| arm | {head} |", "|---|" + "---|" * len(targets)]  # fmt: skip
    for arm, group in regime.groupby("arm", sort=False):
        cells = []
        for t in targets:
            r = group[group["target"] == t].iloc[0]
            mark = " **outside**" if r["outcome"] == "outside" else ""
            cells.append(f"{number(r['mean'], 3)} [{_number(r['ci_low'], 3)}, {_number(r['ci_high'], 3)}]{mark}")
        lines.append(f"| `{arm}` | " + " | ".join(cells) + " |")
    return lines + [""]


def _alternatives_lines(h, judged, alternatives: Verdicts | None) -> list[str]:
    """The verdict and estimates under the defaults and under each structural alternative, from their runs."""
    if not h.alternatives:
        return []
    tests = [r for r in judged.results if r["role"] == "test"]
    lines = [
        "Structural alternatives: the assumptions the verdict hinges on, and the verdict when each is "
        "replaced (the same arms, tests and seeds, with the alternative's values in every arm):",
        "",
    ]
    head = " | ".join(f"{r['test']} ({_read_in(r)})" for r in tests)
    lines += [f"| assumption | values | {head} | verdict | arms outside the regime |",
              "|---|---|" + "---|" * len(tests) + "---|---|"]  # fmt: skip
    lines.append(f"| defaults | – | {' | '.join(_cell(r) for r in tests)} | **{judged.verdict}** | "
                 f"{outside_words(judged.regime) or 'none'} |")  # fmt: skip
    for alt in h.alternatives:
        other = None if alternatives is None else alternatives.details.get(f"{h.id}-{alt.name}")
        values = ", ".join(f"`{k}` = {v}" for k, v in alt.values.items())
        if other is None:
            lines.append(f"| {alt.alternative} (instead of: {alt.assumption}) | {values} |" + " not run |" *
                         (len(tests) + 2))  # fmt: skip
            continue
        by_name = {r["test"]: r for r in other.results}
        cells = " | ".join(_cell(by_name[r["test"]]) if r["test"] in by_name else "–" for r in tests)
        lines.append(f"| {alt.alternative} (instead of: {alt.assumption}; {alt.source}) | {values} | {cells} | "
                     f"**{other.verdict}** | {outside_words(other.regime) or 'none'} |")  # fmt: skip
    return lines + [""]


def _cell(r) -> str:
    """A test's estimate (relative where it has a reference), interval and verdict, in one cell."""
    rel = r.get("relative")
    if r.get("relative_to") and rel is not None and not math.isnan(rel):
        ref = r.get("reference") or float("nan")
        low, high = (r["ci_low"] / ref, r["ci_high"] / ref) if ref and not math.isnan(ref) else (math.nan, math.nan)
        return f"{_share(rel)} [{_share(low)}, {_share(high)}] {r['verdict']}"
    return f"{number(r['estimate'], 3)} [{number(r['ci_low'], 3)}, {number(r['ci_high'], 3)}] {r['verdict']}"


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


def _margins_and_horizons(h, judged) -> list[str]:
    """Each deciding contrast's verdict against the margin (0 to twice the file's), and every test's by horizon."""
    from sim.experiments.verdicts import MARGIN_STEPS, SETTLED

    lines = []
    rows = [r for r in judged.results if r["role"] == "test" and r["kind"] == "contrast" and
            r["margin_or_threshold"] > 0]  # fmt: skip
    if rows:
        steps = [f"{step:g}m" for step in MARGIN_STEPS]
        lines += ["Against the margin (*m* is the file's; the same interval judged with a margin from 0 to 2*m*; "
                  "the claim changes verdict where the interval's ends cross it):", "",
                  "| test | unit of the margin | margin m | " + " | ".join(steps) +
                  " | the verdict changes at margins of |", "|---|---|---|" + "---|" * (len(steps) + 1)]  # fmt: skip
        for r in rows:
            margin = _share(r["margin_or_threshold"] / abs(r["estimate"] / r["relative"])) if r.get("relative_to") \
                and r["relative"] else number(r["margin_or_threshold"], 3)  # fmt: skip
            low, high = r["margin switch_low"], r["margin switch_high"]
            where = f"{100 * low:.1f}% and {100 * high:.1f}%" if r.get("relative_to") else \
                f"{number(low, 3)} and {number(high, 3)}"  # fmt: skip
            verdicts = " | ".join(r[f"margin {s_}"] for s_ in steps)
            lines.append(f"| {r['test']} | {_read_in(r)} | {margin} | {verdicts} | {where} |")
        lines.append("")
    horizons = judged.horizons
    if len(horizons):
        tests = list(dict.fromkeys(horizons["test"]))
        by_name = {r["test"]: r for r in judged.results}
        heads = [f"{t} ({_read_in(by_name[t])})" if t in by_name else t for t in tests]
        lines += [f"Against the horizon (each test over its {judged.window.days}-day window ending that many years "
                  "after the policy; the verdict above is read at the last):", "",
                  "| years after the policy | day | " + " | ".join(heads) + " | hypothesis |",
                  "|---|---|" + "---|" * (len(tests) + 1)]  # fmt: skip
        for (years, day), rows_ in horizons.groupby(["years", "day"], sort=True):
            cells = []
            for test in tests:
                r = rows_[rows_["test"] == test].iloc[0]
                value = _share(r["relative"]) if not pd.isna(r["relative"]) else number(r["estimate"], 3)
                cells.append(f"{value} ({r['verdict']})")
            lines.append(f"| {years} | {day} | " + " | ".join(cells) + f" | {rows_['hypothesis_verdict'].iloc[0]} |")
        lines.append("")
    trends = {t: v for t, v in judged.trends.items() if not pd.isna(v)}
    if trends:
        lines += ["Trend over the last year (per year, as a share of the reference arm, or of its last estimate "
                  "for a contrast without one; settled within "
                  f"±{SETTLED:.0%}): " + "; ".join(f"{t} {_share(v)} ({'settled' if abs(v) <= SETTLED else 'not '
                  'settled'})" for t, v in trends.items()), ""]  # fmt: skip
    return lines


def _worlds_section(hyps, details, across: WorldVerdicts, out: Path) -> list[str]:
    """The headline: each hypothesis's effects and verdicts across plausible worlds, and what decides them."""
    kept = len(across.plausible)
    write_atomic(out / "worlds.csv", lambda tmp: worlds_table(across).to_csv(tmp, index=False))
    write_atomic(out / "effects.csv", lambda tmp: across.effects.to_csv(tmp, index=False))
    lines = [f"## Across {kept} plausible worlds", "", _worlds_checked(across), ""]
    if across.overridden:
        lines += ["Drawn over ranges the worlds file sets in place of the registry's priors: "
                  + ", ".join(f"`{name}`" for name in across.overridden) + ".", ""]  # fmt: skip
    if not kept:
        return [*lines, "No world passed: no verdict across worlds.", ""]
    lines += _verdicts_across(hyps, details, across, out)
    if across.emulated:
        lines += _effects_across(hyps, across, out)
    return lines


def _worlds_checked(across: WorldVerdicts) -> str:
    """How the candidate worlds were drawn, how many passed the targets, and the targets missed most often."""
    n, kept = len(across.worlds), len(across.plausible)
    names = ", ".join(f"`{c}`" for c in _varied(across) if c not in across.fitted)
    fitted = ", ".join(f"`{c}`" for c in across.fitted)
    drawn = f"the uncertainties {names} from a Latin hypercube over their priors (`klad params`)"
    if across.fitted:
        drawn = (f"the parameters {fitted} from the calibration's posterior sample (`{across.posterior}`), and "
                 f"{drawn}")  # fmt: skip
    if not across.targets:
        return f"{n} worlds ({drawn}), not checked against any targets (the worlds file names none)."
    missed = pd.Series([m for text in across.worlds.loc[~across.worlds["plausible"], "outside"]
                        for m in text.split(", ") if m]).value_counts()  # fmt: skip
    top = ", ".join(f"{k} ({v})" for k, v in missed.head(4).items())
    return (f"Of {n} candidate worlds ({drawn}), {kept} passed every fitted target of `{across.targets}` "
            f"at every horizon in one run of their baseline; the other {n - kept} were dropped"
            + (f" (most often missed: {top})" if top else "") + ".")  # fmt: skip


def _verdicts_across(hyps, details, across: WorldVerdicts, out: Path) -> list[str]:
    """How each world's verdict was reached, and each hypothesis's share of worlds per verdict (table and figure)."""
    reps = across.replications
    table = shares(across.verdicts)
    figure = plot_worlds(table, out / "figures" / "worlds.png")
    how = (f"Each hypothesis ran in every plausible world with {reps} paired replications, its policy acting "
           f"{across.years} years. Each test's effect "
           "was then learned over the worlds' parameters by a Gaussian process with a noise term "
           "(`sim/experiments/emulate.py`); a world's verdict is the rule applied to the emulator's 95% interval "
           "of its effect there, and a hypothesis's combines its tests' as at the defaults (each at 95%: the "
           "emulator's intervals get no Holm correction, so across worlds a hypothesis of several tests is "
           "judged a little less strictly than at the defaults)."
           if across.emulated else
           f"Each hypothesis ran in every plausible world with {reps} paired replications, its policy acting "
           f"{across.years} years; with fewer than "
           "ten worlds no emulator is fitted and a world's verdict is its own replications'.")  # fmt: skip
    lines = [how, "", "| hypothesis | at defaults | supported (share of worlds) | not supported (share of worlds) "
             "| inconclusive (share of worlds) |",
             "|---|---|---:|---:|---:|"]  # fmt: skip
    for h in hyps:
        row = table.loc[h.id] if h.id in table.index else None
        if row is None:
            continue
        lines.append(f"| {h.id}: {h.title} | {details[h.id].verdict} | {row['supported']:.0%} | "
                     f"{row['not supported']:.0%} | {row['inconclusive']:.0%} |")  # fmt: skip
    return [*lines, "", f"![verdicts across worlds](figures/{figure.name})", ""]


def _effects_across(hyps, across: WorldVerdicts, out: Path) -> list[str]:
    """Through the emulator: the hypotheses in plain words, each test's effect across worlds and what decides it."""
    lines = ["In plain words:", ""] + [f"- {line}" for line in plain_lines(hyps, across)] + [""]
    effects_figure = plot_effects_across(across, out / "figures" / "effects_across_worlds.png")
    lines += [
        "Each test across the plausible worlds: the emulated effect's median and 80% interval, the "
        "probability that the claim holds, the emulator's checks out of sample (the share of held-out "
        "worlds inside its 90% predictive interval, and R², the share of the differences between worlds' "
        "estimates it predicts; where its intervals held too few, they were widened by the factor shown), the "
        "parameters with the largest total Sobol index of the effect, and "
        "scenario discovery (a depth-2 tree of 'past the margin' on the worlds' values; kept only when its "
        "cross-validated accuracy beats guessing the commoner outcome):", "",
        "| test | unit | effect: median [80% of worlds] (unit) | claim holds (share of worlds) | coverage (90%), "
        "widened | R² | largest ST (share of variance) | what decides it |",
        "|---|---|---|---:|---:|---:|---|---|",
    ]  # fmt: skip
    lines += [_effect_row(h, r) for h in hyps for r in across.reports.get(h.id, [])]
    return [
        *lines,
        "",
        f"![effects across worlds](figures/{effects_figure.name})",
        "",
        "Sobol indices are computed on the emulator, each parameter drawn from its own distribution "
        "across the plausible worlds (independently: the posterior's correlations are dropped). "
        "`worlds.csv` has every candidate world's values, whether it passed (and which targets it "
        "missed), its baseline's fitted statistics, each test's estimate and emulated effect, and each "
        "hypothesis's verdict; `effects.csv` the same effects as one row per world and test.",
        "",
    ]


def _effect_row(h, r) -> str:
    """One test's row of the effects table: its effect across worlds, the emulator's checks, Sobol, the rule."""
    s_, c = r.summary, r.check
    sobol = ", ".join(f"`{row.parameter}` {row.ST:.2f}" for row in r.sobol.head(3).itertuples())
    found = r.discovery
    rule = "; ".join(found.lines())
    if found.found:
        rule += f" (accuracy {found.accuracy:.2f} against {found.majority:.2f})"
    test = next((t for t in h.tests if t.name == r.name), None)
    unit = RELATIVE if r.relative else metric_unit(test.metric) if test is not None else "–"
    return (f"| {h.id} {r.name} ({r.role}) | {unit} | {_effect(s_['median'], r)} [{_effect(s_['q10'], r)}, "
            f"{_effect(s_['q90'], r)}] | {s_['p_claim']:.0%} | {c['coverage']:.0%}, "
            f"×{c['inflation']:.1f} | "
            f"{c['r2']:.2f} | {sobol} | {rule} |")  # fmt: skip


def _varied(across: WorldVerdicts) -> list[str]:
    skip = {"world", "plausible", "outside"}
    return [c for c in across.worlds.columns if c not in skip and "@" not in c]


def _effect(value: float, report) -> str:
    """An effect as the report shows it: a share of the reference arm in percent, else the number."""
    if report.relative:
        return f"{100 * value:+.1f}%".replace("-", "−")
    if report.offset:  # a level test: the level itself, not its distance from the threshold
        return f"{value + report.offset:.3g}"
    return f"{value:+.3g}".replace("-", "−")


def plain_lines(hyps, across: WorldVerdicts) -> list[str]:
    """One sentence per hypothesis, from the results: its main test's effect across worlds and its verdicts."""
    table = shares(across.verdicts)
    lines = []
    for h in hyps:
        reports = [r for r in across.reports.get(h.id, []) if r.role == "test"]
        if not reports or h.id not in table.index:
            continue
        main = reports[0]
        s_ = main.summary
        row = table.loc[h.id]
        lines.append(
            f"{h.id} ({h.title}): {main.name}: {_effect(s_['median'], main)} in the median plausible "
            f"world (80% of worlds: {_effect(s_['q10'], main)} to {_effect(s_['q90'], main)}); the hypothesis is "
            f"supported in {row['supported']:.0%} of {int(row['worlds'])} worlds, not supported in "
            f"{row['not supported']:.0%}, inconclusive in {row['inconclusive']:.0%}."
        )
    return lines


def worlds_table(across: WorldVerdicts) -> pd.DataFrame:
    """One row per candidate world: its values, its check, each test's estimate and emulated effect, verdicts."""
    table = across.worlds.copy()
    effects = across.effects.assign(column=across.effects["hypothesis"] + ": " + across.effects["test"])
    if len(effects):
        for what, suffix in (("effect", ""), ("mean", " (emulated)")):
            wide = effects.pivot(index="world", columns="column", values=what)
            wide.columns = [f"{c}{suffix}" for c in wide.columns]
            table = table.merge(wide, left_on="world", right_index=True, how="left")
    for what, suffix in (("verdict", ""), ("own_verdict", " (own replications)")):
        if len(across.verdicts):
            wide = across.verdicts.pivot(index="world", columns="hypothesis", values=what)
            wide.columns = [f"{c}{suffix}" for c in wide.columns]
            table = table.merge(wide, left_on="world", right_index=True, how="left")
    return table


def plot_effects_across(across: WorldVerdicts, path: Path) -> Path:
    """Each test's emulated effect across the plausible worlds (a box per test), with its margin."""
    reports = [(hid, r) for hid, rs in across.reports.items() for r in rs]
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(reports) + 1.4))
    for i, (_, r) in enumerate(reports):
        scale = 100.0 if r.relative else 1.0
        ax.boxplot([r.means * scale], positions=[i], orientation="horizontal", widths=0.6, whis=(10, 90),
                   showfliers=False)  # fmt: skip
        for bound in {-r.margin, r.margin} if r.margin else {0.0}:
            ax.plot([bound * scale] * 2, [i - 0.4, i + 0.4], color="firebrick", lw=1)
    ax.set_yticks(range(len(reports)), [f"{hid} {r.name}"[:48] for hid, r in reports], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("effect across plausible worlds (% of the reference arm, or the level above its threshold); "
                  "box: 25-75%, whiskers: 10-90%; red: the margin", fontsize=8)  # fmt: skip
    fig.tight_layout()
    written = write_atomic(path, lambda tmp: fig.savefig(tmp, dpi=100, format="png"))
    plt.close(fig)
    return written


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
