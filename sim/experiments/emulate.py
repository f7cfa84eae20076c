"""A hypothesis's effect across plausible worlds, read through an emulator.

Each plausible world (a draw of the joint calibration's posterior) runs a
few paired replications of a contrast; its estimate is the world's effect
plus replication noise. One world's estimate decides little, and a share of
worlds per verdict counted from such estimates mixes what the worlds differ
in with how lucky their replications were. So, per contrast:

1. ``fit_effect``: a Gaussian process (scikit-learn; a constant times an RBF
   with one length scale per parameter, plus a white-noise term that learns
   the replication noise) learns the effect over the worlds' parameters
   (scaled to the unit cube, on a log scale where the range spans a factor
   of four or more, as the calibration's emulator).
2. ``coverage``: out of sample, by K-fold cross-validation: the share of
   held-out worlds whose estimate lies inside the emulator's 90% predictive
   interval (latent effect plus noise), and the error of its mean. An
   emulator whose intervals hold fewer held-out worlds than they should is
   made as unsure as it proved to be: its standard deviations are widened by
   the factor that gives 90% coverage out of sample (``inflation``).
3. ``across_worlds``: the emulator's latent effect at every plausible world
   (those run and found inside the targets): the median and 80%
   interval of the effect across them; each world's verdict by the rule of
   ``sim.experiments.verdicts`` applied to the emulator's 95% interval of
   that world's effect (so a world near the margin is *inconclusive*, not a
   coin toss); and the probability that the claim holds, the mean over
   worlds of the emulator's probability that the effect lies past (or, for a
   negated claim, on the near side of) the margin.
4. ``sobol``: first-order and total Sobol indices of the emulated effect
   over the world's parameters (SALib), each parameter drawn independently
   from its marginal across the plausible worlds (the indices need
   independent inputs; the posterior's correlations are dropped, which the
   report says).
5. ``discover``: scenario discovery (Bryant & Lempert 2010) with a shallow
   classification tree (CART, scikit-learn) of "past the margin" against
   "not" on the run worlds' own estimates. Its accuracy under repeated
   stratified cross-validation must beat always guessing the commoner class,
   else there is no rule: "no rule found".

``effect_report`` does all five for one contrast; the toy tests
(``tests/test_emulate.py``) run it on effect surfaces whose truth is known.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from sim.experiments.verdicts import contrast_verdict

#: The emulator's interval that decides a world's verdict, and the predictive interval whose coverage is checked.
DECIDE, PREDICT = 0.95, 0.90
#: The reported interval of the effect across worlds.
SPREAD = (0.1, 0.9)
#: Folds of the emulator's cross-validation, and of scenario discovery's (repeated ``REPEATS`` times).
FOLDS, REPEATS = 5, 5
#: Base samples of the Sobol design on the emulator (SALib; cheap, the emulator is evaluated, not the model).
SOBOL_BASE = 1024
#: The tree of scenario discovery: depth, and the smallest leaf as a share of the worlds.
DEPTH, LEAF_SHARE = 2, 0.05
#: Restarts of the emulator's hyperparameter search.
RESTARTS = 3


@dataclass
class EffectEmulator:
    """A Gaussian process of one contrast's effect over the worlds' parameters."""

    names: list[str]
    bounds: dict[str, tuple[float, float]]
    gp: Any
    noise_sd: float  # the replication noise it learned, in the effect's units: one world's estimate about its mean

    def unit(self, table: pd.DataFrame) -> np.ndarray:
        """The rows' parameters scaled to the unit cube the emulator was fitted in."""
        return to_unit(table[self.names].to_numpy(dtype=float), self.bounds)

    def predict(self, table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """The latent effect's mean and standard deviation at each row's parameters (no replication noise)."""
        mean, sd = self.gp.predict(self.unit(table), return_std=True)
        # scikit-learn's std includes the white-noise term; take it out for the latent effect
        latent = np.sqrt(np.maximum(sd**2 - self.noise_sd**2, 1e-24))
        return mean, latent


def to_unit(values: np.ndarray, bounds: dict[str, tuple[float, float]]) -> np.ndarray:
    """The calibration's scaling: each column to [0, 1] over its bounds, on a log scale where they span 4x or more."""
    from sim.experiments.calibration import to_unit as scaled

    return scaled(values, bounds)


def bounds_of(table: pd.DataFrame, names: list[str], given: dict[str, tuple[float, float]] | None = None):
    """Each parameter's bounds: ``given`` (a prior) where named, else the span of its values (a fixed one widened)."""
    out = {}
    for name in names:
        if given and name in given:
            out[name] = tuple(float(v) for v in given[name])
            continue
        low, high = float(table[name].min()), float(table[name].max())
        out[name] = (low, high) if high > low else (low - 0.5, high + 0.5)
    return out


def fit_effect(
    table: pd.DataFrame,
    effect: np.ndarray,
    names: list[str],
    bounds: dict[str, tuple[float, float]],
    seed: int,
    noise_floor: float = 0.0,
) -> EffectEmulator:
    """Fit the emulator of ``effect`` (one estimate per row of ``table``) over ``names``.

    ``noise_floor`` is the variance of one world's estimate about its effect that the replications themselves
    show (pooled over the worlds): the noise term may learn more, never less, so that few worlds in many
    dimensions cannot be interpolated as if each world's estimate were its effect.
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel

    y = np.asarray(effect, dtype=float)
    good = np.isfinite(y)
    x = to_unit(table[names].to_numpy(dtype=float), bounds)[good]
    scale = float(np.std(y[good])) or 1.0  # normalize_y's scale, which the noise level is in
    least = min(max(1e-8, noise_floor / scale**2), 5.0) if math.isfinite(noise_floor) else 1e-8
    kernel = ConstantKernel(1.0, (1e-3, 1e3)) * RBF(np.full(len(names), 0.5), (0.02, 100.0)) + WhiteKernel(
        max(0.1, 1.01 * least), (least, 10.0))  # fmt: skip
    gp = GaussianProcessRegressor(kernel, normalize_y=True, n_restarts_optimizer=RESTARTS,
                                  random_state=seed % 2**32)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # a length scale at its bound: a flat direction
        gp.fit(x, y[good])
    noise = math.sqrt(gp.kernel_.k2.noise_level) * scale
    return EffectEmulator(list(names), dict(bounds), gp, noise)


def coverage(
    table: pd.DataFrame,
    effect: np.ndarray,
    names: list[str],
    bounds: dict[str, tuple[float, float]],
    seed: int,
    noise_floor: float = 0.0,
) -> dict[str, float]:
    """K-fold: the share of held-out estimates inside the 90% predictive interval, and the RMSE of the mean.

    ``r2`` is one minus the held-out mean squared error over the estimates' variance: how much of the
    differences between worlds' estimates the emulator predicts (at most the share that is not noise).
    ``inflation`` is the factor by which the emulator's standard deviations must grow for its 90% intervals
    to hold 90% of the held-out estimates (the 90th percentile of their standardised errors over 1.645; at
    least 1): an emulator that is too sure of itself out of sample is made as unsure as it proved to be.
    """
    from sklearn.model_selection import KFold

    y = np.asarray(effect, dtype=float)
    good = np.flatnonzero(np.isfinite(y))
    z = stats.norm.ppf(0.5 + PREDICT / 2)
    inside, errors, scaled = [], [], []
    folds = KFold(n_splits=min(FOLDS, len(good)), shuffle=True, random_state=seed % 2**32)
    for k, (fit, held) in enumerate(folds.split(good)):
        em = fit_effect(table.iloc[good[fit]], y[good[fit]], names, bounds, seed + k + 1, noise_floor)
        mean, sd = em.gp.predict(em.unit(table.iloc[good[held]]), return_std=True)  # predictive: with noise
        truth = y[good[held]]
        inside.extend(np.abs(truth - mean) <= z * sd)
        errors.extend(truth - mean)
        scaled.extend(np.abs(truth - mean) / np.maximum(sd, 1e-300))
    error = np.asarray(errors)
    variance = float(np.var(y[good])) or float("nan")
    inflation = max(1.0, float(np.quantile(scaled, PREDICT)) / z)
    return {"coverage": float(np.mean(inside)), "rmse": float(np.sqrt(np.mean(error**2))),
            "r2": 1 - float(np.mean(error**2)) / variance, "held_out": int(len(error)),
            "inflation": inflation}  # fmt: skip


def across_worlds(
    em: EffectEmulator, plausible: pd.DataFrame, expect: str, margin: float, inflation: float = 1.0
) -> tuple[dict[str, float], np.ndarray, np.ndarray, np.ndarray]:
    """The effect's spread and verdict shares across ``plausible`` worlds, and each world's verdict, mean and sd.

    The standard deviations returned are the widened ones.

    ``inflation`` widens the emulator's standard deviations (``coverage``) before the rule reads them.
    """
    mean, sd = em.predict(plausible)
    sd = sd * inflation
    z = stats.norm.ppf(0.5 + DECIDE / 2)
    verdicts = np.array([contrast_verdict(expect, m, m - z * s, m + z * s, margin)
                         for m, s in zip(mean, sd, strict=True)])  # fmt: skip
    bound = -margin if expect in ("decrease", "no_decrease") else margin
    below = stats.norm.cdf((bound - mean) / sd)  # the emulator's chance that the effect lies below the bound
    holds = {"decrease": below, "no_increase": below, "increase": 1 - below, "no_decrease": 1 - below}[expect]
    q_low, q_high = np.quantile(mean, SPREAD)
    summary = {
        "median": float(np.median(mean)), "q10": float(q_low), "q90": float(q_high),
        "p_claim": float(np.mean(holds)),
        **{f"share_{v.replace(' ', '_')}": float(np.mean(verdicts == v))
           for v in ("supported", "not supported", "inconclusive")},
        "worlds": int(len(plausible)),
    }  # fmt: skip
    return summary, verdicts, mean, sd


def sobol(em: EffectEmulator, plausible: pd.DataFrame, seed: int, base: int = SOBOL_BASE) -> pd.DataFrame:
    """First-order and total Sobol indices of the emulated effect (SALib), inputs from the worlds' marginals."""
    from SALib.analyze import sobol as analyse
    from SALib.sample import sobol as sample

    names = em.names
    problem = {"num_vars": len(names), "names": names, "bounds": [[0.0, 1.0]] * len(names)}
    unit = sample.sample(problem, base, calc_second_order=False, seed=seed % 2**32)
    design = pd.DataFrame({name: np.quantile(plausible[name].to_numpy(dtype=float), unit[:, j])
                           for j, name in enumerate(names)})  # fmt: skip
    y, _ = em.predict(design)
    if np.ptp(y) == 0:
        return pd.DataFrame({"parameter": names, "S1": 0.0, "S1_conf": 0.0, "ST": 0.0, "ST_conf": 0.0})
    res = analyse.analyze(problem, y, calc_second_order=False, seed=seed % 2**32)
    table = pd.DataFrame({"parameter": names, "S1": res["S1"], "S1_conf": res["S1_conf"], "ST": res["ST"],
                          "ST_conf": res["ST_conf"]})  # fmt: skip
    return table.sort_values("ST", ascending=False, ignore_index=True)


@dataclass
class Discovery:
    """Scenario discovery's outcome: the rules, if the tree predicts better than guessing."""

    found: bool
    accuracy: float  # mean accuracy of the tree under repeated stratified cross-validation
    majority: float  # the share of the commoner class: what always guessing it scores
    rules: list[str] = field(default_factory=list)
    why: str = ""

    def lines(self) -> list[str]:
        """The rules in words, or why there is none."""
        if not self.found:
            return [f"no rule found ({self.why})"]
        return self.rules


def discover(
    table: pd.DataFrame, past: np.ndarray, names: list[str], seed: int, label: tuple[str, str] = ("past", "not past")
) -> Discovery:
    """A depth-2 tree of ``past`` (a boolean per world) on the worlds' values, if it beats the majority class."""
    from sklearn.model_selection import RepeatedStratifiedKFold, cross_val_score
    from sklearn.tree import DecisionTreeClassifier

    y = np.asarray(past, dtype=bool)
    share = float(y.mean()) if len(y) else float("nan")
    majority = max(share, 1 - share)
    if len(y) == 0 or share in (0.0, 1.0):
        return Discovery(False, float("nan"), majority, why=f"{label[0] if share == 1 else label[1]} in every world")
    smaller = int(min(y.sum(), (~y).sum()))
    if smaller < FOLDS:
        return Discovery(False, float("nan"), majority,
                         why=f"only {smaller} world(s) {label[0] if y.sum() == smaller else label[1]}")  # fmt: skip
    x = table[names].to_numpy(dtype=float)
    leaf = max(2, math.ceil(LEAF_SHARE * len(y)))
    tree = DecisionTreeClassifier(max_depth=DEPTH, min_samples_leaf=leaf, random_state=0)
    folds = RepeatedStratifiedKFold(n_splits=FOLDS, n_repeats=REPEATS, random_state=seed % 2**32)
    accuracy = float(cross_val_score(tree, x, y, cv=folds).mean())
    if not accuracy > majority:
        return Discovery(False, accuracy, majority,
                         why=f"the tree's cross-validated accuracy {accuracy:.2f} does not beat guessing the "
                             f"commoner outcome, {majority:.2f}")  # fmt: skip
    tree.fit(x, y)
    return Discovery(True, accuracy, majority, _leaves(tree, names, label))


def _leaves(tree, names: list[str], label: tuple[str, str]) -> list[str]:
    t = tree.tree_
    rules: list[tuple[int, str]] = []

    def walk(node: int, conditions: list[str]) -> None:
        if t.children_left[node] == -1:
            share = t.value[node][0] / max(t.value[node][0].sum(), 1e-12)
            best = int(np.argmax(share))
            m = int(t.n_node_samples[node])
            k = int(round(share[best] * m))
            outcome = label[0] if bool(tree.classes_[best]) else label[1]
            where = " and ".join(conditions) if conditions else "everywhere"
            rules.append((m, f"{outcome} where {where} ({k} of {m} worlds)"))
            return
        name, cut = names[t.feature[node]], t.threshold[node]
        walk(t.children_left[node], [*conditions, f"{name} <= {_cut(cut)}"])
        walk(t.children_right[node], [*conditions, f"{name} > {_cut(cut)}"])

    walk(0, [])
    return [rule for _, rule in sorted(rules, key=lambda r: -r[0])]


def _cut(value: float) -> str:
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    digits = max(0, 2 - int(math.floor(math.log10(abs(value)))))
    return f"{value:.{digits}f}"


def past_margin(effect: np.ndarray, expect: str, margin: float) -> np.ndarray:
    """Whether each estimate lies past the margin the claim reads (below ``-m`` or above ``+m``)."""
    effect = np.asarray(effect, dtype=float)
    return effect < -margin if expect in ("decrease", "no_decrease") else effect > margin


@dataclass
class EffectReport:
    """One contrast across worlds: the emulator's check, the effect's spread, its verdicts, drivers and rules."""

    name: str
    expect: str
    margin: float
    check: dict[str, float]  # coverage, rmse, r2, held_out, noise_sd
    summary: dict[str, float]  # median, q10, q90, p_claim, shares of verdicts, worlds
    verdicts: np.ndarray  # each plausible world's verdict
    sobol: pd.DataFrame
    discovery: Discovery
    means: np.ndarray  # each plausible world's emulated effect
    sds: np.ndarray  # and its standard deviation
    role: str = "test"  # the test's role in its hypothesis ("test" or "check")
    offset: float = 0.0  # added to the effect when shown: a level test's threshold, so that its level shows
    relative: bool = False  # whether the effect is a share of a reference arm


def effect_report(
    name: str,
    run: pd.DataFrame,
    effect: np.ndarray,
    plausible: pd.DataFrame,
    names: list[str],
    expect: str,
    margin: float,
    seed: int,
    bounds: dict[str, tuple[float, float]] | None = None,
    noise_floor: float = 0.0,
) -> EffectReport:
    """All of the module's steps for one contrast, from the ``run`` worlds' ``effect`` estimates.

    The emulator is fitted to the run worlds and read at every ``plausible`` world. ``effect`` and
    ``margin`` are in the same units (for a relative contrast, shares of the reference arm).
    """
    seeds = np.random.SeedSequence(seed).generate_state(4)
    bounds = bounds_of(pd.concat([run[names], plausible[names]]), names, bounds)
    check = coverage(run, effect, names, bounds, int(seeds[0]), noise_floor)
    em = fit_effect(run, effect, names, bounds, int(seeds[1]), noise_floor)
    check["noise_sd"] = em.noise_sd
    summary, verdicts, means, sds = across_worlds(em, plausible, expect, margin, check["inflation"])
    indices = sobol(em, plausible, int(seeds[2]))
    past = past_margin(effect, expect, margin)
    good = np.isfinite(np.asarray(effect, dtype=float))
    found = discover(run[good].reset_index(drop=True), past[good], names, int(seeds[3]),
                     ("past the margin", "within the margin"))  # fmt: skip
    return EffectReport(name, expect, margin, check, summary, verdicts, indices, found, means, sds)
