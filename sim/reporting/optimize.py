"""What ``klad optimize`` writes: the front, every evaluation, today's regret, a figure, a report and a manifest.

``sim.experiments.optimize.search`` finds the front; this module only writes
it (``write_report``) and says it (``summary``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sim.experiments.optimize import OUTCOMES, STATS, Found, Optimisation, split_objective
from sim.io.files import write_atomic, write_json, write_parquet
from sim.io.provenance import provenance
from sim.params import REGISTRY
from sim.reporting.format import number

#: The files of a finished search, ``manifest.json`` last.
WRITTEN = ("front.csv", "front.parquet", "front.png", "evaluations.parquet", "regret.json", "report.md",
           "manifest.json")  # fmt: skip


def write_report(found: Found, out: Path) -> list[str]:
    """Write every file of a finished search (``WRITTEN``); the manifest last, so a folder with one is whole."""
    (out / "manifest.json").unlink(missing_ok=True)
    write_parquet(found.evaluations, out / "evaluations.parquet")
    write_parquet(found.front, out / "front.parquet")
    write_atomic(out / "front.csv", lambda tmp: found.front.to_csv(tmp, index=False))
    write_json(found.regret, out / "regret.json")
    write_atomic(out / "front.png", lambda tmp: _figure(found, tmp))
    write_atomic(out / "report.md", lambda tmp: Path(tmp).write_text(report(found)))
    opt = found.optimisation
    write_json(provenance(found.started, optimisation=opt.fingerprint(), file=str(opt.path)), out / "manifest.json")
    return list(WRITTEN)


def unit_of(opt: Optimisation, objective: str) -> str:
    """An objective's label with its unit, for figures and tables."""
    outcome, stat = split_objective(objective)
    unit = OUTCOMES[opt.model][outcome]
    return f"{outcome} ({STATS[stat]} over the runs){f', {unit}' if unit else ''}"


def report(found: Found) -> str:
    """The search in words and tables: the front with each point's settings, and today's allocation against it."""
    opt, front, today = found.optimisation, found.front, found.today
    names, objectives = list(opt.variables), list(opt.objectives)
    cost = [] if "cost_kzt" in objectives else ["cost_kzt"]  # the cost, once
    lines = [f"# {opt.name}: the policies that do most within {opt.budget:,.6g} KZT a year", "",
             f"NSGA-II over {', '.join(f'`{n}`' for n in names)} ({opt.population} policies x {opt.generations} "
             f"generations), each policy run {opt.replications} time(s) in each of {len(opt.worlds)} world(s), "
             f"{opt.days} days, the policy from day {opt.start}; all objectives are minimised.", "",
             *summary(found)[:2], "", "## The front", "",
             "| policy | " + " | ".join([*map(_with_unit, names), *(unit_of(opt, o) for o in objectives),
                                          *(["cost, KZT/year"] if cost else [])]) + " |",
             "|---|" + "---:|" * (len(names) + len(objectives) + len(cost))]  # fmt: skip
    rows = [("today's allocation", today)] + [(f"front {k + 1}", row) for k, (_, row) in enumerate(front.iterrows())]
    for label, row in rows:
        cells = [number(row[n]) for n in [*names, *objectives, *cost]]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += ["", "Today's allocation is the scenario's lever values. "
              "Regret: the largest share of each objective's range by which one front point betters today's "
              "allocation in every objective at once (docs/optimize.md).", "", "![the front](front.png)",
              ""]  # fmt: skip
    return "\n".join(lines)


def _with_unit(lever: str) -> str:
    """A lever's column header: its name, and its unit from the registry (a toy's variables have none)."""
    unit = REGISTRY[lever].unit if lever in REGISTRY else ""
    return f"{lever} ({unit})" if unit else lever


def _figure(found: Found, path: Path) -> None:
    """The front in the first two objectives (the others in the colour scale, if any), today's allocation marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    opt, front, today = found.optimisation, found.front, found.today
    first, second = opt.objectives[0], opt.objectives[1]
    fig, ax = plt.subplots(figsize=(7, 5))
    others = found.evaluations.iloc[1:]
    others = others[others["feasible"]]
    ax.scatter(others[first], others[second], s=8, color="0.75", label="evaluated, within budget")
    colour = front[opt.objectives[2]] if len(opt.objectives) > 2 else "tab:blue"
    points = ax.scatter(front[first], front[second], c=colour, s=30, label="front", zorder=3)
    if len(opt.objectives) > 2 and len(front):
        fig.colorbar(points, ax=ax, label=unit_of(opt, opt.objectives[2]))
    ax.scatter([today[first]], [today[second]], marker="*", s=200, color="tab:red", zorder=4,
               label=f"today's allocation (regret {_shown_regret(found.regret)})")  # fmt: skip
    ax.set_xlabel(unit_of(opt, first))
    ax.set_ylabel(unit_of(opt, second))
    ax.set_title(f"{opt.name}: budget {opt.budget:,.6g} KZT/year")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=120)
    plt.close(fig)


def _shown_regret(regret: dict[str, Any]) -> str:
    value = regret.get("regret")
    return "n/a" if value is None else f"{value:.3f}"


def summary(found: Found) -> list[str]:
    """What ``klad optimize`` prints at the end (and its report begins with)."""
    opt, regret_ = found.optimisation, found.regret
    lines = [f"{len(found.evaluations) - 1} policies evaluated, {len(found.front)} on the front "
             f"(within the budget of {opt.budget:,.6g} KZT/year)"]  # fmt: skip
    if regret_.get("regret") is not None:
        within = "" if regret_["today_within_budget"] else " (today's allocation is over the budget)"
        lines.append(f"regret of today's allocation: {regret_['regret']:.3f} of each objective's range{within}; "
                     f"{regret_['dominated_by']} front point(s) dominate it")  # fmt: skip
    lines.append(json.dumps(regret_["closest"]) if regret_.get("closest") else "no feasible policy found")
    return lines
