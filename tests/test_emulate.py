"""The effect-across-worlds pipeline on toy effect surfaces whose truth is known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import qmc

from sim.experiments.emulate import discover, effect_report

NAMES = ["x1", "x2", "x3"]
MARGIN = 0.1
NOISE = 0.03  # one world's estimate about its effect: a few paired replications' worth


def _worlds(n: int, seed: int) -> pd.DataFrame:
    return pd.DataFrame(qmc.LatinHypercube(d=3, seed=np.random.default_rng(seed)).random(n), columns=NAMES)


def _plausible(n: int = 4000, seed: int = 7) -> pd.DataFrame:
    return pd.DataFrame(np.random.default_rng(seed).random((n, 3)), columns=NAMES)


def _surface(table: pd.DataFrame) -> np.ndarray:
    """The known effect: x1 drives it across the margin, x2 nudges it, x3 does nothing."""
    return -0.25 * table["x1"].to_numpy() + 0.02 * table["x2"].to_numpy()


def _run(surface, n=200, seed=1):
    run = _worlds(n, seed)
    noise = np.random.default_rng([seed, 2]).normal(0.0, NOISE, n)
    return run, surface(run) + noise


@pytest.mark.slow
def test_the_share_of_worlds_per_verdict_the_driver_and_the_rule_are_found():
    run, effect = _run(_surface)
    plausible = _plausible()
    report = effect_report("toy", run, effect, plausible, NAMES, "decrease", MARGIN, seed=3, noise_floor=NOISE**2)
    truth = _surface(plausible) < -MARGIN  # true share past the margin: P(x1 > 0.4 + 0.08 x2) = 0.56
    assert abs(truth.mean() - 0.56) < 0.02
    s = report.summary
    assert abs(s["share_supported"] - truth.mean()) < 0.05
    assert abs(s["share_not_supported"] - (1 - truth.mean())) < 0.05
    assert s["share_inconclusive"] < 0.08  # only a thin band around the margin
    assert abs(s["p_claim"] - truth.mean()) < 0.05
    assert s["q10"] < -MARGIN < s["q90"] and abs(s["median"] - np.median(_surface(plausible))) < 0.02
    # the emulator, checked out of sample: its 90% predictive intervals hold about 90% of held-out worlds
    assert 0.82 <= report.check["coverage"] <= 0.97
    assert report.check["noise_sd"] == pytest.approx(NOISE, rel=0.3)
    assert 1.0 <= report.check["inflation"] < 1.4  # a well-calibrated emulator is barely widened
    assert report.sobol["parameter"].iloc[0] == "x1" and report.sobol["ST"].iloc[0] > 0.8
    assert report.sobol.set_index("parameter").loc["x3", "ST"] < 0.05
    found = report.discovery
    assert found.found and found.accuracy > found.majority + 0.2
    top = found.rules[0]
    assert "x1 >" in top or "x1 <=" in top
    cut = float(top.split("x1 ")[1].split()[1])
    assert 0.35 < cut < 0.5


@pytest.mark.slow
def test_a_verdict_that_depends_on_no_parameter_gets_no_rule():
    flat = lambda table: np.full(len(table), -MARGIN)  # noqa: E731  at the margin: each world's estimate is luck
    run, effect = _run(flat)
    report = effect_report("flat", run, effect, _plausible(), NAMES, "decrease", MARGIN, seed=5)
    assert not report.discovery.found
    assert report.discovery.lines()[0].startswith("no rule found")
    assert report.summary["share_inconclusive"] > 0.9  # the emulator knows the effect sits on the margin
    assert report.check["r2"] < 0.2
    # an effect far past the margin everywhere: one verdict, nothing to explain
    far = lambda table: np.full(len(table), -0.3)  # noqa: E731
    run, effect = _run(far)
    report = effect_report("far", run, effect, _plausible(), NAMES, "decrease", MARGIN, seed=5)
    assert report.summary["share_supported"] > 0.99
    assert report.discovery.lines() == ["no rule found (past the margin in every world)"]


@pytest.mark.slow
def test_few_worlds_in_many_dimensions_are_not_read_as_exact():
    """23 worlds in 29 dimensions, the effect pure noise about -0.1: without a floor the emulator may interpolate
    the worlds' estimates and call each world decided; with the replications' own noise as its floor it cannot."""
    rng = np.random.default_rng(8)
    names = [f"p{i}" for i in range(29)]
    run = pd.DataFrame(rng.random((23, 29)), columns=names)
    effect = -0.1 + rng.normal(0, 0.05, 23)
    report = effect_report("noise", run, effect, run, names, "decrease", MARGIN, seed=2, noise_floor=0.05**2)
    assert report.check["noise_sd"] >= 0.05 * 0.99
    assert report.summary["share_inconclusive"] > 0.5  # the truth: every world sits on the margin


def test_discovery_refuses_a_tree_that_guesses_no_better_than_the_majority():
    table = _worlds(120, 11)
    labels = np.random.default_rng(4).random(120) < 0.3  # no parameter has anything to do with it
    found = discover(table, labels, NAMES, seed=1)
    assert not found.found and found.accuracy <= found.majority
    assert "does not beat guessing" in found.why
    planted = table["x3"].to_numpy() > 0.6
    assert discover(table, planted, NAMES, seed=1).found
