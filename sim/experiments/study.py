"""A study of hypotheses: their verdicts at the defaults, under their structural alternatives and across worlds.

``run_hypotheses`` is the workflow ``klad hypotheses`` runs, in the shape of
every workflow (``calibrate``, ``validate``, ``run_sweep``): what to study, a
plan (``HypothesesPlan``: where, which parts) and how to execute the runs; it
returns a ``HypothesesResult`` that ``sim.reporting.hypotheses`` writes.
The hypotheses are judged by ``sim.experiments.hypotheses.judge_hypotheses``,
the worlds by ``sim.experiments.worlds.run_worlds``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from sim.experiments.execute import IN_PROCESS, Execution
from sim.experiments.hypotheses import Hypothesis, Verdicts, alternatives_table, judge_hypotheses, regime_rows
from sim.experiments.worlds import Worlds, WorldVerdicts, run_worlds
from sim.params import ParameterError


@dataclass(frozen=True)
class HypothesesPlan:
    """Where a study of hypotheses writes its runs, and which of its parts it runs.

    ``alternatives``: each hypothesis again under each of its structural
    alternatives (``Hypothesis.alternative_of``), in ``out/alternatives``.
    ``worlds``: that many candidate worlds of ``worlds_file`` (0: none), each
    checked against the targets, and every hypothesis run in the plausible
    ones (``sim.experiments.worlds.run_worlds``), in ``out/worlds``.
    ``rankings`` False leaves out the Sobol rankings of ``[sensitivity]``
    tables, allowed only where a ranking decides nothing (its role is
    ``detail``): the verdicts are the same without them. ``details`` False
    leaves out every test of role ``detail`` and the arms only they use
    (``Hypothesis.without_details``): the verdicts are the same, from fewer runs.
    """

    out: Path
    resume: bool = False
    alternatives: bool = True
    worlds: int = 0
    worlds_file: Worlds | None = None  # read and checked before anything runs
    rankings: bool = True
    details: bool = True


@dataclass
class HypothesesResult:
    """What ``run_hypotheses`` found: the verdicts at the defaults, under the alternatives and across worlds."""

    verdicts: Verdicts
    alternatives: Verdicts | None  # the hypotheses under their structural alternatives (None: not run)
    across: WorldVerdicts | None  # the verdicts across plausible worlds (None: no worlds)
    regime: pd.DataFrame  # every hypothesis's arms against its regime targets (``regime_rows``)
    alternatives_table: pd.DataFrame | None  # one row per test under the defaults and each alternative
    costs: pd.DataFrame | None = None  # each arm against the baseline, per hypothesis and year (``arm_costs``)


def run_hypotheses(hyps: list[Hypothesis], plan: HypothesesPlan, execution: Execution = IN_PROCESS
                   ) -> HypothesesResult:  # fmt: skip
    """Run and judge the hypotheses at the defaults, then under their alternatives and across worlds, as planned.

    Each part keeps its finished runs on disk as they finish; ``plan.resume``
    after an interruption runs only what is missing. ``sim.reporting.hypotheses``
    writes the report.
    """
    if not plan.rankings:
        deciding = [h.id for h in hyps if h.sensitivity and h.sensitivity.test.role != "detail"]
        if deciding:
            raise ParameterError(f"{deciding[0]}: its ranking decides the verdict; it cannot be left out")
        hyps = [h.without_ranking() for h in hyps]
    if not plan.details:
        hyps = [h.without_details() for h in hyps]
    variants = [h.alternative_of(a) for h in hyps for a in h.alternatives] if plan.alternatives else []
    verdicts = judge_hypotheses(hyps, plan.out, execution=execution, resume=plan.resume)
    alternatives = None
    if variants:
        alternatives = judge_hypotheses(variants, plan.out / "alternatives", execution=execution,
                                        resume=plan.resume, keep_daily=False)  # fmt: skip
    across = None
    if plan.worlds:
        if plan.worlds_file is None:
            raise ParameterError("worlds: the plan names no worlds file")
        across = run_worlds(hyps, plan.worlds_file, plan.worlds, plan.out / "worlds", execution=execution,
                            resume=plan.resume)  # fmt: skip
    table = None if alternatives is None else alternatives_table(verdicts, alternatives)
    return HypothesesResult(verdicts, alternatives, across, regime_rows(verdicts), table, arm_costs(verdicts))


#: The arm that every other arm of a hypothesis is costed against.
REFERENCE = "baseline"


def arm_costs(verdicts: Verdicts) -> pd.DataFrame:
    """Every arm of each hypothesis against its ``baseline`` arm, year by year (``costs.arms_against``).

    Cost, grams averted, and grams per extra million KZT and per extra officer-day: arms compared at equal
    cost, not only at equal officer-days. A ``hypothesis`` column first; hypotheses without a baseline arm or
    without their daily tables are left out.
    """
    from sim.experiments.costs import arms_against

    tables = []
    for h in verdicts.hypotheses:
        daily = verdicts.details[h.id].daily
        if REFERENCE in h.arms and REFERENCE in daily:
            tables.append(arms_against(h.arms, daily, REFERENCE).assign(hypothesis=h.id))
    if not tables:
        return pd.DataFrame(columns=["hypothesis", "arm", "year"])
    table = pd.concat(tables, ignore_index=True)
    return table[["hypothesis", *table.columns.drop("hypothesis")]]
