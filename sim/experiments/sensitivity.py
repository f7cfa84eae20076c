"""Sensitivity indices of a finished sweep, with SALib, and how far its samples are from ranking parameters."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from sim.experiments.sweep import Experiment, design_matrix  # noqa: E402

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


INDEX_COLUMNS = ["output", "parameter", "index", "value", "conf", "ci_low", "ci_high"]


def indices(exp: Experiment, runs: pd.DataFrame) -> pd.DataFrame:
    """Sensitivity indices of every output, one row per output, parameter and index (none for latin or grid)."""
    if exp.design not in ("sobol", "morris", "fast"):
        return pd.DataFrame(columns=INDEX_COLUMNS)
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
