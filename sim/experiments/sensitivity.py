"""Sensitivity indices of a finished sweep, with SALib, and how far its samples are from ranking parameters.

``analyse`` gathers all of it (an ``Analysis``), which ``run_sweep`` hands on
with the runs; ``sim.reporting.sweep`` writes it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from sim.experiments.sweep import Design, Experiment, design_matrix  # noqa: E402

#: A confidence half-width of a Sobol or FAST index (a share of variance) above this is rough: the report says how
#: many base samples would bring every one under it. Whether an index ranks its parameter is another question,
#: answered by its interval against the others' (``overlaps``), whatever the index's scale.
WIDE_CI = 0.1
#: Fewer Sobol base samples than this give indices too rough to rank parameters by, whatever their intervals say:
#: SALib's bootstrap intervals are themselves unreliable on so few points (Saltelli et al. 2010 use 500 and more).
MIN_RANKING_SAMPLES = 64


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


#: The designs that give sensitivity indices (the others, ``latin`` and ``grid``, only sample the space).
INDEX_DESIGNS = (Design.SOBOL, Design.MORRIS, Design.FAST)
INDEX_COLUMNS = ["output", "parameter", "index", "value", "conf", "ci_low", "ci_high"]


def indices(exp: Experiment, runs: pd.DataFrame) -> pd.DataFrame:
    """Sensitivity indices of every output, one row per output, parameter and index (none for latin or grid)."""
    if exp.design not in INDEX_DESIGNS:
        return pd.DataFrame(columns=INDEX_COLUMNS)
    from SALib.analyze import fast, morris, sobol

    problem, X = exp.problem, design_matrix(exp)
    rows = []
    for output in exp.outputs:
        Y = point_means(exp, runs, output)
        if np.isnan(Y).any():
            continue  # failed runs: no indices for this output
        if exp.design == Design.SOBOL:
            res = sobol.analyze(problem, Y, calc_second_order=exp.second_order, seed=exp.seed)
            for name, s1, s1c, st, stc in zip(exp.factors, res["S1"], res["S1_conf"], res["ST"], res["ST_conf"],
                                             strict=True):  # fmt: skip
                rows += [(output, name, "S1", s1, s1c), (output, name, "ST", st, stc)]
            if exp.second_order:
                for i, j in zip(*np.triu_indices(len(exp.factors), 1), strict=True):
                    pair = f"{exp.factors[i]}*{exp.factors[j]}"
                    rows.append((output, pair, "S2", res["S2"][i, j], res["S2_conf"][i, j]))
        elif exp.design == Design.MORRIS:
            res = morris.analyze(problem, X, Y, num_levels=exp.num_levels, seed=exp.seed)
            for k, name in enumerate(problem["names"]):
                rows += [(output, name, "mu_star", res["mu_star"][k], res["mu_star_conf"][k]),
                         (output, name, "sigma", res["sigma"][k], float("nan"))]  # fmt: skip
        elif exp.design == Design.FAST:
            res = fast.analyze(problem, Y, seed=exp.seed)
            for k, name in enumerate(problem["names"]):
                rows += [(output, name, "S1", res["S1"][k], res["S1_conf"][k]),
                         (output, name, "ST", res["ST"][k], res["ST_conf"][k])]  # fmt: skip
    table = pd.DataFrame(rows, columns=["output", "parameter", "index", "value", "conf"])
    table["ci_low"] = table["value"] - table["conf"]
    table["ci_high"] = table["value"] + table["conf"]
    return table


def overlaps(table: pd.DataFrame) -> pd.Series:
    """For each index, the other parameters whose interval of the same index and output overlaps its own.

    A parameter whose interval overlaps no other's is ranked (above or below
    each of the others, at 95%); one that overlaps some cannot be ranked
    against them, however narrow its interval, and one far from the others
    is ranked however wide. This holds for any index on any scale: a Morris
    mu* is in the output's units, a Sobol index a share of variance. The
    result is indexed like ``table``: a list of parameter names (empty when
    ranked), or None for an index without an interval (sigma, failed runs).
    """
    result = pd.Series([None] * len(table), index=table.index, dtype=object)
    if table.empty:
        return result
    known = table[np.isfinite(table["conf"].astype(float))]
    for _, part in known.groupby(["output", "index"], sort=False):
        for i, row in part.iterrows():
            others = part.drop(index=i)
            hit = others[(others["ci_low"] <= row["ci_high"]) & (others["ci_high"] >= row["ci_low"])]
            result[i] = hit.sort_values("value", ascending=False)["parameter"].tolist()
    return result


def samples_needed(exp: Experiment, table: pd.DataFrame) -> int | None:
    """Base samples for every Sobol/FAST confidence half-width to fall under WIDE_CI (CI width ~ 1/sqrt(N))."""
    ci = table[table["index"].isin(["S1", "ST"])]["conf"].dropna()
    if ci.empty or ci.max() <= WIDE_CI:
        return None
    return int(math.ceil(exp.samples * (ci.max() / WIDE_CI) ** 2))


def ranking_problems(exp: Experiment, table: pd.DataFrame) -> dict[str, list[str]]:
    """Why a Sobol sweep's total indices cannot rank its factors, by output (an empty list: they can).

    A ranking needs at least ``MIN_RANKING_SAMPLES`` base samples, indices
    that are shares of variance (none above 1 or below 0 beyond its
    interval), and intervals that separate the factors ranked next to each
    other (by ``ST``).
    """
    problems: dict[str, list[str]] = {}
    if exp.design != Design.SOBOL:
        return problems
    for output in exp.outputs:
        found = []
        if exp.samples < MIN_RANKING_SAMPLES:
            found.append(f"{exp.samples} base samples, fewer than the {MIN_RANKING_SAMPLES} a ranking needs")
        part = table[(table["output"] == output) & table["index"].isin(["S1", "ST"])]
        if part.empty:
            problems[output] = ["no indices (failed runs)"]
            continue
        outside = part[(part["ci_low"] > 1.0) | (part["ci_high"] < 0.0) | (part["value"] > 1.0)]
        for r in outside.itertuples():
            found.append(f"{r.index}({r.parameter}) = {r.value:.2f} is not a share of variance")
        st = part[part["index"] == "ST"].sort_values("value", ascending=False)
        for upper, lower in zip(st.itertuples(), st.iloc[1:].itertuples(), strict=False):
            if upper.ci_low <= lower.ci_high:
                found.append(f"the intervals of ST({upper.parameter}) and ST({lower.parameter}) overlap")
        problems[output] = found
    return problems


def convergence(exp: Experiment, runs: pd.DataFrame) -> pd.DataFrame:
    """Sobol indices from the first 8, 16, ... base samples up to all: how they settle as samples grow.

    The design's points come in blocks of ``2D + 2`` (or ``D + 2``) per base
    sample, and its base samples are a Sobol' sequence from a power of 2 on,
    so its first ``n`` base samples (``n`` a power of 2) are a balanced
    Sobol' design of their own and are analysed as one. Columns: ``output``, ``parameter``, ``index``,
    ``samples``, ``value``, ``conf``.
    """
    if exp.design != Design.SOBOL:
        return pd.DataFrame(columns=["output", "parameter", "index", "samples", "value", "conf"])
    from SALib.analyze import sobol

    d = len(exp.factors)
    per_sample = 2 * d + 2 if exp.second_order else d + 2
    rows = []
    n = 8
    sizes = []
    while n < exp.samples:
        sizes.append(n)
        n *= 2
    sizes.append(exp.samples)
    for output in exp.outputs:
        y = point_means(exp, runs, output)
        if np.isnan(y).any():
            continue
        for n in sizes:
            res = sobol.analyze(exp.problem, y[: n * per_sample], calc_second_order=exp.second_order, seed=exp.seed)
            for k, name in enumerate(exp.factors):
                rows += [(output, name, "S1", n, res["S1"][k], res["S1_conf"][k]),
                         (output, name, "ST", n, res["ST"][k], res["ST_conf"][k])]  # fmt: skip
    return pd.DataFrame(rows, columns=["output", "parameter", "index", "samples", "value", "conf"])


@dataclass
class Analysis:
    """What a finished sweep's runs say of its parameters: ``analyse`` makes one."""

    indices: pd.DataFrame  # one row per output, parameter and index (``INDEX_COLUMNS``); empty for latin or grid
    overlaps: pd.Series  # per row of ``indices``: the parameters whose interval overlaps its own (``overlaps``)
    convergence: pd.DataFrame  # Sobol indices from the first 8, 16, ... base samples (``convergence``)
    samples_needed: int | None  # base samples for every interval to fall under ``WIDE_CI`` (``samples_needed``)
    ranking: dict[str, list[str]]  # per output, why the total indices cannot rank (``ranking_problems``)
    seed_noise: dict[str, float]  # per output, the share of variance that is seed noise (with replications only)
    missing: dict[str, int]  # outputs of an index design without indices: their points with no value


def analyse(exp: Experiment, runs: pd.DataFrame) -> Analysis:
    """The indices of a finished sweep, their overlaps and convergence, and whether they can rank parameters."""
    table = indices(exp, runs)
    noise = {o: seed_noise_share(runs, o) for o in exp.outputs} if exp.replications > 1 else {}
    missing = {o: int(np.isnan(point_means(exp, runs, o)).sum()) for o in exp.outputs
               if exp.design in INDEX_DESIGNS and o not in set(table["output"])}  # fmt: skip
    return Analysis(table, overlaps(table), convergence(exp, runs), samples_needed(exp, table),
                    ranking_problems(exp, table), noise, missing)  # fmt: skip
