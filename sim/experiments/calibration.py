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

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.experiments.execute import IN_PROCESS, Execution
from sim.experiments.replications import check_memory
from sim.experiments.sweep import CORNER_PARAMS, corners
from sim.experiments.targets import SHOCK_AFTER, Target, Targets, load_targets, replicate, run_statistics
from sim.io.config import load_scenario
from sim.io.files import claimed
from sim.io.provenance import fingerprint, keep_fingerprint, now
from sim.params import REGISTRY, ParameterError

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
    check: pd.DataFrame  # the replications at the fitted point
    targets: Targets
    params: dict[str, Any]  # the scenario's parameters (the ones not fitted)
    info: dict[str, Any]  # budget, seeds, acceptance and where the runs went, for the report and manifest
    started: str


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


# ----------------------------------------------------------------- the whole
def calibrate(
    targets_path: str | Path,
    scenario: str | Path,
    *,
    budget: int = 300,
    share: float = ACCEPT,
    check_reps: int = 4,
    days: int = 730,
    seed: int = 20251,
    execution: Execution = IN_PROCESS,
    out: str | Path = "results/calibration",
    resume: bool = False,
) -> Calibration:
    """Fit the targets file's ``[fit]`` parameters to its ``fit`` targets.

    Finished runs are kept in ``out/runs`` and ``out/check`` as they finish;
    ``resume`` continues an interrupted calibration of the same scenario,
    priors, budget, days, seeds and check replications (its fingerprint), and
    refuses another in one line naming what changed; the targets' ranges and
    the accepted share may change, since they only judge the runs.
    (``sim.reporting.calibration`` writes the results beside them).
    """
    started = now()
    targets = load_targets(targets_path)
    if not targets.fit_params:
        raise ParameterError(f"{targets.path}: no [fit.<parameter>] tables: nothing to calibrate")
    params = load_scenario(scenario)
    out = Path(out)
    varied = {n: list(b) for n, b in targets.fit_params.items()}
    mark = fingerprint(scenario=params, priors=varied, budget=budget, days=days, seed=seed, check_reps=check_reps)
    cities = [{**params, **corner} for corner in corners(varied, CORNER_PARAMS)]
    check_memory(cities, days + SHOCK_AFTER, execution, budget, str(scenario))  # before anything is written
    with claimed(out):
        keep_fingerprint(out, mark, resume=resume, begun=any(out.glob("*/chunks/*.parquet")), work="calibration")
        runs = run_statistics(params, varied, design="latin", samples=budget, reps=1, days=days, seed=seed,
                              out=out / "runs", execution=execution, resume=resume)  # fmt: skip
        runs, posterior = abc(runs, targets, share)
        fitted = {row.parameter: round_fitted(row.median, row.parameter) for row in posterior.itertuples()}
        check, table = replicate({**params, **fitted}, targets, runs, reps=check_reps, days=days, seed=seed + 1,
                                 out=out / "check", execution=execution, resume=resume)  # fmt: skip
    info = {
        "targets": str(targets_path), "scenario": str(scenario), "budget": budget, "days": days, "seed": seed,
        "accept_share": share, "accepted": int(runs["accepted"].sum()), "failed": int((runs["status"] != "ok").sum()),
        "check_replications": check_reps, "check_seed": seed + 1, "workers": execution.workers,
        "scheduler": execution.scheduler,
        "run_seeds": "run j uses sim.experiments.sweep.run_seed(seed, j); the check runs use seed + 1",
    }  # fmt: skip
    return Calibration(posterior, fitted, table, runs, check, targets, params, info, started)
