"""Calibration of the uncertain parameters to the empirical targets: an emulator that learns, wave by wave.

The default method (``emulator``) is approximate Bayesian computation with a
Gaussian-process emulator, in the manner of Bayesian history matching
(Andrianakis et al. 2015, "Bayesian history matching of complex infectious
disease models using emulation", PLoS Comput Biol 11: e1003968). The
``budget`` of model runs is split into ``waves``. Wave 1 is a Latin hypercube
over the uniform priors. After each wave one Gaussian process (scikit-learn)
per ``fit`` target is fitted to the log of its statistic over every run so
far; its white-noise term learns the run-to-run noise. The emulator then
gives, for any parameter set θ, the probability that one run's statistic
falls in the target's range, and the posterior weight of θ is the prior
times the product of these probabilities over the fit targets: the ABC
posterior with the ranges as a uniform kernel, which is exact if the ranges
are read as the error between model and world (Wilkinson 2013, "Approximate
Bayesian computation (ABC) gives exact results under the assumption of model
error", Stat Appl Genet Mol Biol 12(2), doi:10.1515/sagmb-2013-0010). The
weights are evaluated on a large seeded Sobol' set of candidates drawn from
the prior; the next wave runs candidates resampled by weight, with a share of
prior points so the emulator keeps seeing the whole space. After the last
wave the posterior sample is drawn from the candidates by weight, its
medians are the fitted values, and ``ppc_runs`` runs at posterior draws are
the posterior predictive check of every target.

The older method (``rejection``) is kept for comparison: ``budget`` Latin
hypercube runs, of which the closest ``share`` by a distance are the
posterior sample (Pritchard et al. 1999; Beaumont 2010). The distance is the
mean of squared log-distances from each target range's geometric centre, in
half-widths of the range (``Target.z``).

Every run goes through the sweep machinery (resumable chunks, any executor,
the seed of a run fixed by its index within its wave), and every other random
choice (the candidates, the Gaussian processes' restarts, the resampling)
draws from a generator seeded from the calibration's seed through
``numpy.random.SeedSequence``, so the same seed gives the same posterior on
any executor, and a resumed calibration re-derives each wave's points from
the waves before it.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.experiments.execute import IN_PROCESS, Execution
from sim.experiments.replications import check_memory
from sim.experiments.sweep import CORNER_PARAMS, Design, corners
from sim.experiments.targets import (
    SHOCK_AFTER,
    STATISTICS_MODEL,
    Target,
    TargetRun,
    Targets,
    load_targets,
    replicate,
    run_statistics,
    statistic_names,
)
from sim.io.config import Scenario, scenario_of
from sim.io.files import claimed
from sim.io.provenance import fingerprint, keep_fingerprint, now
from sim.params import REGISTRY, ParameterError


class Method(StrEnum):
    """How a calibration finds its posterior; each is the word ``klad calibrate --method`` takes.

    ``emulator``: Gaussian-process emulators of the statistics, fitted in
    waves (``history_match``); ``rejection``: rejection ABC on one Latin
    hypercube (``abc``). Being strings, the members print and serialise as
    these words (in fingerprints and manifests too).
    """

    EMULATOR = "emulator"
    REJECTION = "rejection"


#: The methods' words, as ``klad calibrate --method`` and a ``CalibrationPlan`` take them.
METHODS = tuple(m.value for m in Method)
#: Share of the budget kept as the posterior sample by rejection.
ACCEPT = 0.1
#: Quantiles of the reported interval.
INTERVAL = (0.05, 0.95)
#: Waves of the emulator's calibration.
WAVES = 3
#: Candidates from the prior (a scrambled Sobol' set) on which the emulator's posterior weights are evaluated.
CANDIDATES = 2**14
#: Share of a later wave's points drawn from the prior rather than by weight, so the emulator does not go blind.
PRIOR_SHARE = 0.2
#: Draws in the posterior sample (``posterior.csv``).
POSTERIOR_SIZE = 1000
#: Runs of the posterior predictive check.
PPC_RUNS = 20
#: Restarts of each Gaussian process's hyperparameter search (from seeded random starts).
RESTARTS = 3
#: History matching's cut-off: a candidate more than 3 standard deviations from a target is implausible.
IMPLAUSIBLE = 3.0
#: A prior spanning at least this factor is emulated on a log scale.
LOG_SPAN = 4.0
#: Keys of the seeds derived from the calibration's seed (``derived_seed``), one per random choice.
_WAVE, _GP, _CANDIDATES, _RESAMPLE, _POSTERIOR, _PPC = range(1, 7)


@dataclass
class Calibration:
    """What a calibration produced."""

    method: Method
    posterior: pd.DataFrame  # one row per fitted parameter: prior bounds, mean, median, q05, q95, width ratio
    sample: pd.DataFrame  # the posterior sample: one column per fitted parameter
    fitted: dict[str, float]  # the fitted values (posterior medians, rounded)
    fit_table: pd.DataFrame  # one row per target: range, simulated mean and 95% CI at the fitted point
    runs: pd.DataFrame  # every calibration run: wave, sampled values, statistics (rejection: distance, accepted)
    waves: pd.DataFrame  # one row per wave: runs, failed, what the emulator kept
    emulator: pd.DataFrame | None  # one row per fit target: the final emulator's noise and length scales
    ppc: pd.DataFrame  # one row per target: share of posterior predictive runs inside the range, quantiles
    ppc_runs: pd.DataFrame  # the posterior predictive runs
    check: pd.DataFrame  # the replications at the fitted point
    comparison: pd.DataFrame | None  # per parameter: this method's interval against rejection's at the same budget
    targets: Targets
    params: dict[str, Any]  # the scenario's parameters (the ones not fitted)
    info: dict[str, Any]  # budget, seeds, waves and where the runs went, for the report and manifest
    started: str


def derived_seed(seed: int, *key: int) -> int:
    """A seed for one random choice of the calibration, from its seed and the choice's ``key``."""
    return int(np.random.SeedSequence(seed, spawn_key=key).generate_state(1)[0])


# ---------------------------------------------------------------- rejection
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


def summarise_posterior(
    sample: pd.DataFrame, priors: dict[str, tuple[float, float]], scales: dict[str, str] | None = None
) -> pd.DataFrame:
    """Per parameter: prior bounds, posterior mean, median, 90% interval and its width over the prior's.

    The width ratio measures identifiability: near 0.9 (the prior's own 90% interval) the targets say nothing
    about the parameter. It is taken on the prior's scale (of logarithms for a log-uniform prior).
    """
    rows = []
    for name, (low, high) in priors.items():
        x = sample[name].to_numpy(dtype=float)
        q_low, q_high = np.quantile(x, INTERVAL)
        if (scales or {}).get(name) == "log":
            ratio = math.log(q_high / q_low) / math.log(high / low)
        else:
            ratio = (q_high - q_low) / (high - low)
        rows.append({
            "parameter": name, "prior_low": low, "prior_high": high, "mean": float(x.mean()),
            "median": float(np.median(x)), "q05": float(q_low), "q95": float(q_high),
            "width_ratio": float(ratio),
        })  # fmt: skip
    return pd.DataFrame(rows)


def round_fitted(value: float, name: str) -> float:
    """A fitted value to three significant figures (what a scenario file carries)."""
    rounded = float(f"{value:.3g}")
    if REGISTRY[name].type is int:
        rounded = round(value)
    return REGISTRY[name].check(rounded, "fitted value")


def abc(runs: pd.DataFrame, targets: Targets, share: float = ACCEPT) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Score every run against the fit targets and keep the closest ``share`` (rejection ABC).

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
    return runs, summarise_posterior(runs[runs["accepted"]], targets.fit_params, targets.fit_scales)


# ---------------------------------------------------------------- emulator
def log_scaled(low: float, high: float) -> bool:
    """Whether a prior is emulated on a log scale: positive and spanning a factor of ``LOG_SPAN`` or more."""
    return low > 0 and high / low >= LOG_SPAN


def to_unit(values: np.ndarray, priors: dict[str, tuple[float, float]]) -> np.ndarray:
    """Parameter values (one column per prior) scaled to the unit cube, on a log scale where ``log_scaled``."""
    columns = []
    for j, (low, high) in enumerate(priors.values()):
        x = values[:, j]
        if log_scaled(low, high):
            columns.append((np.log(x) - math.log(low)) / (math.log(high) - math.log(low)))
        else:
            columns.append((x - low) / (high - low))
    return np.column_stack(columns)


def prior_candidates(
    priors: dict[str, tuple[float, float]], n: int, seed: int, scales: dict[str, str] | None = None
) -> np.ndarray:
    """``n`` points from the priors: a scrambled Sobol' set (one column per prior), log-uniform where ``scales`` say."""
    from scipy.stats import qmc

    unit = qmc.Sobol(d=len(priors), scramble=True, seed=np.random.default_rng(seed)).random(n)
    return from_unit(unit, priors, scales)


def from_unit(unit: np.ndarray, priors: dict[str, tuple[float, float]], scales: dict[str, str] | None) -> np.ndarray:
    """Unit-cube points as parameter values: uniform over each prior, or uniform on a log scale."""
    from sim.params import Prior

    columns = []
    for j, (name, (low, high)) in enumerate(priors.items()):
        prior = Prior(low, high, (scales or {}).get(name, "linear"), "")
        whole = name in REGISTRY and REGISTRY[name].type is int  # each whole number drawn as often
        columns.append(prior.from_unit(unit[:, j], whole=whole).astype(float))
    return np.column_stack(columns)


def plain_design(targets: Targets, n: int, seed: int) -> dict[str, Any]:
    """Rejection ABC's design: a Latin hypercube of ``n`` points on the priors' own scales."""
    points = first_wave(targets, n, seed)
    if points is None:
        return {"design": Design.LATIN, "samples": n}
    return {"design": Design.POINTS, "samples": n, "points": points}


def first_wave(targets: Targets, n: int, seed: int) -> list[list[float]] | None:
    """Wave 1's points where a prior is log-uniform (a Latin hypercube on the priors' scales); else None.

    None lets the sweep's own Latin hypercube, uniform on every range, place them.
    """
    from scipy.stats import qmc

    if "log" not in targets.fit_scales.values():
        return None
    unit = qmc.LatinHypercube(d=len(targets.fit_params), seed=np.random.default_rng(seed)).random(n)
    return from_unit(unit, targets.fit_params, targets.fit_scales).tolist()


def log_interval(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``log(Phi(b) - Phi(a))`` for ``a <= b``, accurate far out in either tail of the standard normal."""
    from scipy.special import log_ndtr

    upper = a > 0  # both in the upper tail: use the mirror image, where the cdf is not close to 1
    lo, hi = np.where(upper, -b, a), np.where(upper, -a, b)
    log_hi, log_lo = log_ndtr(hi), log_ndtr(lo)
    with np.errstate(divide="ignore"):
        return log_hi + np.log1p(-np.exp(log_lo - log_hi))


@dataclass
class Emulator:
    """One Gaussian process per fit target, of the log of its statistic over the unit-cube parameters."""

    priors: dict[str, tuple[float, float]]
    targets: list[Target]
    processes: list[Any]  # fitted sklearn GaussianProcessRegressor, one per target
    used: list[int]  # runs each process was fitted on (statistic positive and finite)
    noise: list[float]  # the run-to-run noise each process learned: a standard deviation of the log statistic

    def predict(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Predictive mean and standard deviation (with the run-to-run noise) of each log statistic."""
        x = to_unit(values, self.priors)
        means, sds = [], []
        for gp in self.processes:
            mean, sd = gp.predict(x, return_std=True)
            means.append(mean)
            sds.append(np.maximum(sd, 1e-9))
        return np.column_stack(means), np.column_stack(sds)

    def log_weight(self, mean: np.ndarray, sd: np.ndarray) -> np.ndarray:
        """Log of the product over targets of P(low <= statistic <= high): the ABC likelihood, uniform kernel."""
        low = np.log([t.low for t in self.targets])
        high = np.log([t.high for t in self.targets])
        return log_interval((low - mean) / sd, (high - mean) / sd).sum(axis=1)

    def implausibility(self, mean: np.ndarray, sd: np.ndarray) -> np.ndarray:
        """History matching's implausibility: the largest over targets of the distance from the range's centre.

        In standard deviations of the emulator (with run noise) and of the
        range read as the centre plus or minus two standard deviations.
        """
        low = np.log([t.low for t in self.targets])
        high = np.log([t.high for t in self.targets])
        spread = np.sqrt(sd**2 + ((high - low) / 4) ** 2)
        return (np.abs(mean - (low + high) / 2) / spread).max(axis=1)


def fit_emulator(runs: pd.DataFrame, targets: Targets, seed: int) -> Emulator:
    """Fit one Gaussian process per fit target to the log statistic of the finished runs.

    Kernel: a constant times an RBF with one length scale per parameter
    (ARD), plus white noise for the run-to-run noise; the outputs are
    standardised. Runs whose statistic is not positive and finite are left
    out for that target.
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel

    priors = targets.fit_params
    ok = runs[runs["status"] == "ok"]
    x = to_unit(ok[list(priors)].to_numpy(dtype=float), priors)
    processes, used, noise = [], [], []
    for k, t in enumerate(targets.by_role("fit")):
        y = ok[t.statistic].to_numpy(dtype=float)
        good = np.isfinite(y) & (y > 0)
        if good.sum() < 3:
            raise ParameterError(f"calibration: fewer than three runs with a positive '{t.statistic}' (target "
                                 f"'{t.id}'); nothing to emulate")  # fmt: skip
        kernel = ConstantKernel(1.0, (1e-2, 1e2)) * RBF(np.full(len(priors), 0.5), (0.05, 100.0)) + WhiteKernel(
            0.1, (1e-6, 2.0))  # fmt: skip
        gp = GaussianProcessRegressor(kernel, normalize_y=True, n_restarts_optimizer=RESTARTS,
                                      random_state=derived_seed(seed, k))  # fmt: skip
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # a length scale at its bound: a flat direction
            gp.fit(x[good], np.log(y[good]))
        processes.append(gp)
        used.append(int(good.sum()))
        scale = float(np.std(np.log(y[good]))) or 1.0  # normalize_y's scale, which the noise level is in
        noise.append(math.sqrt(gp.kernel_.k2.noise_level) * scale)
    return Emulator(priors, targets.by_role("fit"), processes, used, noise)


def emulator_table(emulator: Emulator) -> pd.DataFrame:
    """Per fit target: runs fitted, the run-to-run noise learned, the range's half-width, and the length scales.

    Both the noise and the half-width are on the log scale: where the noise is
    the larger, one run says little about the parameters. A short length
    scale (in the unit cube) marks a parameter the statistic depends on.
    """
    rows = []
    for t, gp, used, noise in zip(emulator.targets, emulator.processes, emulator.used, emulator.noise, strict=True):
        scales = np.atleast_1d(gp.kernel_.k1.k2.length_scale)
        lengths = {f"length_{name}": float(x) for name, x in zip(emulator.priors, scales, strict=True)}
        rows.append({"target": t.id, "statistic": t.statistic, "runs": used, "noise_sd": noise,
                     "range_half_width": 0.5 * math.log(t.high / t.low), **lengths})  # fmt: skip
    return pd.DataFrame(rows)


def normalised(log_weight: np.ndarray) -> np.ndarray:
    """Weights that sum to one, from their logarithms."""
    w = np.exp(log_weight - np.max(log_weight))
    return w / w.sum()


def effective_size(weights: np.ndarray) -> float:
    """Kish's effective sample size of weighted candidates: how many equal-weight points they are worth."""
    return float(weights.sum() ** 2 / (weights**2).sum())


def next_design(weights: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of ``n`` candidates for the next wave: ``PRIOR_SHARE`` of them at random, the rest by weight.

    Drawn without replacement, so no point is run twice in a wave.
    """
    from_prior = int(round(PRIOR_SHARE * n))
    p = np.maximum(weights, 1e-300)  # every candidate can be drawn, so there are always enough to draw from
    by_weight = rng.choice(len(weights), n - from_prior, replace=False, p=p / p.sum())
    rest = np.setdiff1d(np.arange(len(weights)), by_weight)
    return np.concatenate([by_weight, rng.choice(rest, from_prior, replace=False)])


def wave_sizes(budget: int, waves: int) -> list[int]:
    """The budget split into waves: equal shares, the remainder to the first."""
    sizes = [budget // waves] * waves
    sizes[0] += budget % waves
    return sizes


def fit_seconds(sizes: list[int], dims: int, targets: int) -> float:
    """Rough time of the emulator's fits on one core: one Gaussian process per target after each wave.

    Measured on this project's 2-core machine: about 150 s for 450 runs in 29 dimensions with ``RESTARTS``
    restarts; the cost grows with the cube of the runs so far and about linearly with the dimensions.
    """
    total, runs = 0.0, 0
    for n in sizes:
        runs += n
        total += 150.0 * (runs / 450) ** 3 * (dims / 29) * targets
    return total


def candidate_count(sizes: list[int]) -> int:
    """How many candidates: ``CANDIDATES``, or the power of two of at least four per point of the largest wave."""
    return max(CANDIDATES, 2 ** math.ceil(math.log2(4 * max(sizes))))


RunWave = Callable[[int, list[list[float]] | None, int], pd.DataFrame]


@dataclass
class Waves:
    """What the waves found."""

    runs: pd.DataFrame  # every run, with its ``wave`` (from 1)
    emulator: Emulator  # fitted to every run
    candidates: np.ndarray  # the candidates from the prior, one column per fitted parameter
    weights: np.ndarray  # their posterior weights, summing to one
    table: pd.DataFrame  # one row per wave: runs, failed, design, effective candidates, share not implausible


def history_match(targets: Targets, budget: int, waves: int, seed: int, run_wave: RunWave) -> Waves:
    """The waves: run, fit the emulator to every run so far, weigh the candidates, choose the next points.

    ``run_wave(k, points, n)`` runs wave ``k`` (from 0): a Latin hypercube
    of ``n`` points if ``points`` is None, else those points.
    """
    sizes = wave_sizes(budget, waves)
    candidates = prior_candidates(targets.fit_params, candidate_count(sizes), derived_seed(seed, _CANDIDATES),
                                  targets.fit_scales)  # fmt: skip
    rng = np.random.default_rng(derived_seed(seed, _RESAMPLE))
    frames, rows, weights, emulator = [], [], None, None
    points = first_wave(targets, sizes[0], derived_seed(seed, _WAVE, 0))
    for k, n in enumerate(sizes):
        if k > 0:
            assert weights is not None  # weighed after the first wave
            points = candidates[next_design(weights, n, rng)].tolist()
        frame = run_wave(k, points, n)
        frames.append(frame.assign(wave=k + 1))
        runs = pd.concat(frames, ignore_index=True)
        emulator = fit_emulator(runs, targets, derived_seed(seed, _GP, k))
        mean, sd = emulator.predict(candidates)
        weights = normalised(emulator.log_weight(mean, sd))
        rows.append({
            "wave": k + 1, "runs": len(frame), "failed": int((frame["status"] != "ok").sum()),
            "design": "Latin hypercube over the priors" if k == 0 else
            f"{n - int(round(PRIOR_SHARE * n))} by weight, {int(round(PRIOR_SHARE * n))} from the prior",
            "effective_candidates": effective_size(weights),
            "not_implausible": float((emulator.implausibility(mean, sd) < IMPLAUSIBLE).mean()),
        })  # fmt: skip
    assert emulator is not None and weights is not None  # at least one wave
    return Waves(pd.concat(frames, ignore_index=True), emulator, candidates, weights, pd.DataFrame(rows))


# ------------------------------------------------- posterior predictive check
def ppc_table(ppc_runs: pd.DataFrame, targets: Targets) -> pd.DataFrame:
    """Per target: the share of posterior predictive runs inside its range and their 5%, 50% and 95% quantiles."""
    ok = ppc_runs[ppc_runs["status"] == "ok"]
    rows = []
    for t in targets.targets:
        x = ok[t.statistic].to_numpy(dtype=float)
        x = x[np.isfinite(x)]
        q05, q50, q95 = np.quantile(x, [0.05, 0.5, 0.95]) if len(x) else (math.nan,) * 3
        rows.append({
            "target": t.id, "role": t.role, "statistic": t.statistic, "unit": t.unit, "low": t.low, "high": t.high,
            "runs": len(x), "share_inside": float(np.mean([t.contains(v) for v in x])) if len(x) else math.nan,
            "q05": float(q05), "median": float(q50), "q95": float(q95),
        })  # fmt: skip
    return pd.DataFrame(rows)


def compare_widths(posterior: pd.DataFrame, rejection: pd.DataFrame) -> pd.DataFrame:
    """Per parameter: the 90% intervals of this calibration and of rejection, and their widths over the prior's."""
    a, b = posterior.set_index("parameter"), rejection.set_index("parameter")
    table = pd.DataFrame({
        "prior_low": a["prior_low"], "prior_high": a["prior_high"], "q05": a["q05"], "q95": a["q95"],
        "width_ratio": a["width_ratio"], "rejection_q05": b["q05"], "rejection_q95": b["q95"],
        "rejection_width_ratio": b["width_ratio"],
    })  # fmt: skip
    return table.reset_index()


# ----------------------------------------------------------------- the whole
@dataclass(frozen=True)
class CalibrationPlan:
    """How a calibration runs: its targets file, method, budget of runs, sizes, seed and where its runs are kept.

    ``emulator`` spends ``budget`` runs in ``waves`` (module docstring);
    ``rejection`` spends them at once and keeps the closest ``share``. Both
    then run ``ppc_runs`` runs at posterior draws (the posterior predictive
    check) and ``check_reps`` replications at the fitted point. With
    ``compare``, rejection is also run at the same budget (in ``out/rejection``)
    and its intervals are set beside these. ``model`` replaces the klad market
    by another sweep model entry point that returns every statistic (a toy
    with known parameters). ``jointly`` names more uncertainties to fit
    beside the file's ``[fit]`` ones, each over its registry prior (the
    joint calibration that plausible worlds are drawn from; ``jointly_why``
    says whose they are, e.g. the worlds file). Runs last ``days``, by default the targets file's
    first horizon, and statistics are taken over the file's window. Finished
    runs are kept under ``out``; ``resume`` continues an interrupted
    calibration there.
    """

    targets: str | Path
    method: Method = Method.EMULATOR  # its word is taken too
    budget: int = 300
    waves: int = WAVES
    share: float = ACCEPT
    posterior_size: int = POSTERIOR_SIZE
    ppc_runs: int = PPC_RUNS
    check_reps: int = 4
    days: int | None = None
    seed: int = 20251
    out: str | Path = "results/calibration"
    resume: bool = False
    compare: bool = False
    model: str = STATISTICS_MODEL
    jointly: tuple[str, ...] = ()
    jointly_why: str = ""


def calibrate(
    scenario: Scenario | str | Path,
    plan: CalibrationPlan | None = None,
    execution: Execution = IN_PROCESS,
    **settings: Any,
) -> Calibration:
    """Fit the targets file's ``[fit]`` parameters to its ``fit`` targets, from ``scenario``'s values.

    ``scenario`` is a ``Scenario`` (or its file), as for every workflow;
    ``plan`` (a ``CalibrationPlan``, or its fields as keywords: ``targets=...,
    budget=60``) says how, and ``execution`` where the runs go.

    Finished runs are kept under ``plan.out`` as they finish; ``resume`` continues
    an interrupted calibration of the same scenario, targets, priors, method,
    budget, waves, days, seeds and sizes (its fingerprint; the fit targets'
    ranges steer the waves, the patterns' may change), and refuses another in
    one line naming what changed. Each wave's points are a
    function of the runs before it, so a resumed calibration derives them
    again and reuses the finished chunks. (``sim.reporting.calibration``
    writes the results beside them.)
    """
    plan = plan or CalibrationPlan(**settings)
    plan = replace(plan, method=_check_method(plan))
    started = now()
    targets = _targets_to_fit(plan)
    scenario = scenario_of(scenario)
    run = _runs_of(scenario, targets, plan, execution)
    out = Path(plan.out)
    mark = _fingerprint(run, targets, plan)
    cities = [{**run.params, **corner} for corner in corners(run.varied, CORNER_PARAMS)]
    check_memory(cities, run.days + SHOCK_AFTER, execution, plan.budget, scenario.where)  # before anything is written
    with claimed(out):
        keep_fingerprint(out, mark, resume=plan.resume, begun=any(out.glob("**/chunks/*.parquet")), work="calibration")
        found = _by_rejection(run, targets, plan, out) if plan.method == Method.REJECTION else \
            _by_emulator(run, targets, plan, out)  # fmt: skip
        ppc_runs = _predictive_runs(run, found.sample, plan, out)
        fitted = {row.parameter: round_fitted(row.median, row.parameter) for row in found.posterior.itertuples()}
        check, table = _check_fitted(run, targets, fitted, ppc_runs, plan, out)
        comparison = None
        if plan.compare and plan.method == Method.EMULATOR:
            comparison = _against_rejection(run, targets, found.posterior, plan, out)
    info = _info(plan, run, scenario, found, comparison is not None)
    return Calibration(plan.method, found.posterior, found.sample, fitted, table, found.runs, found.waves,
                       found.emulator, ppc_table(ppc_runs, targets), ppc_runs, check, comparison, targets, run.params,
                       info, started)  # fmt: skip


def _check_method(plan: CalibrationPlan) -> Method:
    """The plan's method; an unknown one, or more waves than the budget can fill with three runs each, is refused."""
    budget, waves = plan.budget, plan.waves
    if plan.method not in METHODS:
        raise ParameterError(f"calibration: method {plan.method!r} is unknown; allowed are {', '.join(METHODS)}")
    method = Method(plan.method)
    if method == Method.EMULATOR and not 1 <= waves <= budget // 3:
        raise ParameterError(f"calibration: {waves} waves of a budget of {budget} runs: give 1 to {budget // 3} "
                             "waves (at least 3 runs each)")  # fmt: skip
    return method


def _targets_to_fit(plan: CalibrationPlan) -> Targets:
    """The targets file, with the uncertainties the plan fits ``jointly`` beside its own; none to fit is refused."""
    targets = load_targets(plan.targets)
    if plan.jointly:
        targets = targets.jointly(list(plan.jointly), plan.jointly_why or "calibrated jointly")
    if not targets.fit_params:
        raise ParameterError(f"{targets.path}: no [fit.<parameter>] tables: nothing to calibrate")
    return targets


@dataclass(frozen=True)
class _Runs:
    """How every run of one calibration goes, called with its folder, seed and design (``run_statistics``).

    Each run starts from the scenario's values with the fitted parameters at
    the design's point, lasts ``days`` and takes its statistics over the last
    ``window`` days.
    """

    params: dict[str, Any]  # the scenario's values
    varied: dict[str, list[float]]  # each fitted parameter's prior bounds
    days: int
    window: int
    execution: Execution
    resume: bool
    model: str

    def __call__(self, where: Path, seed: int, **design: Any) -> pd.DataFrame:
        """One run at each point of ``design`` (a sweep's design keywords), kept under ``where``."""
        return run_statistics(self.params, self.varied, reps=1, days=self.days, seed=seed, out=where,
                              execution=self.execution, resume=self.resume, model=self.model, window=self.window,
                              **design)  # fmt: skip


def _runs_of(scenario: Scenario, targets: Targets, plan: CalibrationPlan, execution: Execution) -> _Runs:
    """The calibration's runs: the plan's days, else the targets file's first horizon, and a window within half."""
    days = targets.horizons[0] if plan.days is None else plan.days
    varied = {n: list(b) for n, b in targets.fit_params.items()}
    return _Runs(scenario.as_dict(), varied, days, min(targets.window, days // 2), execution, plan.resume, plan.model)


def _fingerprint(run: _Runs, targets: Targets, plan: CalibrationPlan) -> dict[str, Any]:
    """What a resumed calibration must share with the one it continues (``keep_fingerprint``)."""
    ranges = {t.id: [t.statistic, t.low, t.high] for t in targets.by_role("fit")}  # patterns judge, never steer
    scales = {n: targets.fit_scales.get(n, "linear") for n in run.varied}
    method = plan.method
    return fingerprint(scenario=run.params, priors=run.varied, scales=scales, targets=ranges, method=method,
                       budget=plan.budget, waves=plan.waves if method == Method.EMULATOR else None,
                       share=plan.share if method == Method.REJECTION else None, posterior_size=plan.posterior_size,
                       ppc_runs=plan.ppc_runs, days=run.days, window=run.window, seed=plan.seed,
                       check_reps=plan.check_reps, model=plan.model)  # fmt: skip


@dataclass
class _Found:
    """What a method found: its runs and waves, the posterior sample and its summary (and the emulator's table)."""

    runs: pd.DataFrame
    waves: pd.DataFrame
    sample: pd.DataFrame
    posterior: pd.DataFrame
    emulator: pd.DataFrame | None


def _by_rejection(run: _Runs, targets: Targets, plan: CalibrationPlan, out: Path) -> _Found:
    """Rejection ABC: one Latin hypercube of the budget, of which the closest share is the posterior sample."""
    runs, posterior = abc(run(out / "runs", plan.seed, **plain_design(targets, plan.budget, plan.seed)), targets,
                          plan.share)  # fmt: skip
    runs = runs.assign(wave=1)
    sample = runs.loc[runs["accepted"], list(run.varied)].reset_index(drop=True)
    waves = pd.DataFrame([{"wave": 1, "runs": len(runs), "failed": int((runs["status"] != "ok").sum()),
                           "design": "Latin hypercube over the priors",
                           "accepted": int(runs["accepted"].sum())}])  # fmt: skip
    return _Found(runs, waves, sample, posterior, None)


def _by_emulator(run: _Runs, targets: Targets, plan: CalibrationPlan, out: Path) -> _Found:
    """The emulator's waves (``history_match``), then the posterior sample drawn from the candidates by weight."""
    seed = plan.seed

    def run_wave(k: int, points: list[list[float]] | None, n: int) -> pd.DataFrame:
        design: dict[str, Any] = {"design": Design.LATIN, "samples": n}
        if points is not None:
            design = {"design": Design.POINTS, "samples": n, "points": points}
        return run(out / "runs" / f"wave_{k + 1}", derived_seed(seed, _WAVE, k), **design)

    found = history_match(targets, plan.budget, plan.waves, seed, run_wave)
    rng = np.random.default_rng(derived_seed(seed, _POSTERIOR))
    draws = rng.choice(len(found.candidates), plan.posterior_size, replace=True, p=found.weights)
    sample = pd.DataFrame(found.candidates[draws], columns=list(run.varied))
    posterior = summarise_posterior(sample, targets.fit_params, targets.fit_scales)
    return _Found(found.runs, found.table, sample, posterior, emulator_table(found.emulator))


def _predictive_runs(run: _Runs, sample: pd.DataFrame, plan: CalibrationPlan, out: Path) -> pd.DataFrame:
    """The posterior predictive check's runs: one at each of ``ppc_runs`` draws of the posterior sample."""
    rng = np.random.default_rng(derived_seed(plan.seed, _PPC))
    at = sample.iloc[rng.choice(len(sample), plan.ppc_runs, replace=len(sample) < plan.ppc_runs)]
    return run(out / "ppc", derived_seed(plan.seed, _PPC), design=Design.POINTS, samples=plan.ppc_runs,
               points=at.to_numpy(dtype=float).tolist())  # fmt: skip


def _check_fitted(
    run: _Runs, targets: Targets, fitted: dict[str, float], ppc_runs: pd.DataFrame, plan: CalibrationPlan, out: Path
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``check_reps`` replications at the fitted point, judged against every target, beside the posterior runs'."""
    posterior_runs = ppc_runs.assign(accepted=ppc_runs["status"] == "ok")
    return replicate({**run.params, **fitted}, targets, posterior_runs, reps=plan.check_reps, days=run.days,
                     seed=plan.seed + 1, out=out / "check", execution=run.execution, resume=run.resume,
                     model=run.model, window=run.window)  # fmt: skip


def _against_rejection(
    run: _Runs, targets: Targets, posterior: pd.DataFrame, plan: CalibrationPlan, out: Path
) -> pd.DataFrame:
    """Rejection ABC at the same budget, its intervals set beside the emulator's (``compare_widths``)."""
    plain = run(out / "rejection" / "runs", plan.seed, **plain_design(targets, plan.budget, plan.seed))
    return compare_widths(posterior, abc(plain, targets, plan.share)[1])


def _info(plan: CalibrationPlan, run: _Runs, scenario: Scenario, found: _Found, compared: bool) -> dict[str, Any]:
    """The calibration's budget, sizes, seeds and where its runs went, for the report and the manifest."""
    method, budget, seed, runs, execution = plan.method, plan.budget, plan.seed, found.runs, run.execution
    return {
        "method": method, "targets": str(plan.targets), "scenario": scenario.where, "budget": budget,
        "days": run.days, "window": run.window,
        "seed": seed, "waves": len(found.waves), "posterior_size": len(found.sample), "ppc_runs": plan.ppc_runs,
        "accept_share": plan.share, "accepted": int(runs["accepted"].sum()) if method == Method.REJECTION else None,
        "failed": int((runs["status"] != "ok").sum()), "check_replications": plan.check_reps, "check_seed": seed + 1,
        "candidates": candidate_count(wave_sizes(budget, plan.waves)) if method == Method.EMULATOR else None,
        "prior_share": PRIOR_SHARE, "compared_with_rejection": compared, "workers": execution.workers,
        "scheduler": execution.scheduler, "model": plan.model,
        "run_seeds": "run j of wave k (from 0) uses sim.experiments.sweep.run_seed(derived_seed(seed, 1, k), j); "
        "posterior predictive runs derived_seed(seed, 6); rejection runs seed; the check runs seed + 1"
        if method == Method.EMULATOR else "run j uses sim.experiments.sweep.run_seed(seed, j); posterior predictive "
        "runs derived_seed(seed, 6); the check runs use seed + 1",
    }  # fmt: skip


# ------------------------------------------------------------ a toy to test it
#: The toy's parameters (registry uncertainties, so a targets file can fit them) and its noise on the log scale.
TOY_PARAMETERS = ("order_rate", "buyer_detection", "courier_detection")
TOY_NOISE = 0.1


def toy_statistics(params: dict[str, Any], seed: int, days: int = 0, run: TargetRun | None = None) -> dict[str, float]:
    """A toy model with known parameters, to check the calibration through the same machinery as the market.

    Three statistics, log-normal around power laws of the three
    ``TOY_PARAMETERS`` (each statistic led by one parameter, with some
    confounding), with independent noise of ``TOY_NOISE`` on the log scale;
    the other statistics are NaN. ``days`` and ``run`` (when a run of the
    market would take its statistics) are ignored.
    """
    rng = np.random.default_rng(seed)
    order, buyer, courier = (float(params[name]) for name in TOY_PARAMETERS)
    noise = np.exp(rng.normal(0.0, TOY_NOISE, 3))
    out = dict.fromkeys(statistic_names(), math.nan)
    out["national_volume_t"] = 6.0 * order * noise[0]
    out["national_arrests"] = 5e6 * buyer * order**0.5 * noise[1]
    out["national_sale_convictions"] = 3e6 * courier * (buyer / 1e-3) ** -0.3 * noise[2]
    return out
