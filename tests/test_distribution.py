"""Headline numbers over 20 seeds against a stored sample: a change of numbers that is not a change of model.

The golden runs (``tests/test_golden.py``) hold the numbers to the last digit.
A change that must alter the numbers without altering the model (how random
streams are keyed, a faster kernel that adds in another order) regenerates
them once, on purpose; this test then shows that the market it simulates is
the same: for every headline metric, the 20 seeds' means over the last 180
days of a default city's year are compared with the stored sample of 20 other
seeds (``golden/headline_20_seeds.csv``, made by the code before the change)
by Welch's two-sample t-test, the 15 tests held together at 1% by Holm's
step-down (an unchanged market fails at most 1 time in 100, whichever metric).

Power: with 20 runs a side, a metric whose mean moved by 1.7 seed-to-seed
standard deviations is found 9 times in 10 (``test_the_test_has_power``
computes it); ``mde`` says what that is in each metric's own terms, from the
stored sample, and a failure prints it.

``KLAD_UPDATE_DISTRIBUTION=1 pytest tests/test_distribution.py`` writes the
sample anew from the code as it is (run it on the commit before the change).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sim.experiments.replications import HEADLINE, run_one

SAMPLE = Path(__file__).resolve().parent / "golden" / "headline_20_seeds.csv"
DAYS, WINDOW, RUNS = 365, 180, 20
ALPHA = 0.01
#: The shift (in seed-to-seed standard deviations) the test finds 9 times in 10.
SHIFT = 1.7


def headline_sample(root: int) -> pd.DataFrame:
    """Each of ``RUNS`` seeds' mean of every headline metric over the last ``WINDOW`` days of a default city's year."""
    rows = []
    for seed in np.random.SeedSequence(root).spawn(RUNS):
        daily = run_one({}, DAYS, seed)
        rows.append(daily[list(HEADLINE)].iloc[-WINDOW:].mean())
    return pd.DataFrame(rows).reset_index(drop=True)


def mde(sample: pd.DataFrame) -> pd.Series:
    """The shift of each metric's mean the test finds 9 times in 10, relative to the stored mean."""
    return SHIFT * sample.std(ddof=1) / sample.mean().abs()


def power(shift: float, runs: int = RUNS, alpha: float = ALPHA / len(HEADLINE)) -> float:
    """The chance that Welch's test (as Student's: equal spreads and sizes) at ``alpha`` finds a shift of ``shift`` SDs.

    At Holm's first step (the level divided by the number of metrics): the least a metric's own test may have.
    """
    df, noncentral = 2 * runs - 2, shift * np.sqrt(runs / 2)
    t = stats.t.ppf(1 - alpha / 2, df)
    return float(stats.nct.sf(t, df, noncentral) + stats.nct.cdf(-t, df, noncentral))


def test_the_test_has_power():
    assert 0.9 <= power(SHIFT) < power(SHIFT + 0.2)
    assert power(0.0) == pytest.approx(ALPHA / len(HEADLINE), rel=1e-6)  # no shift: found as often as the level
    assert (mde(pd.DataFrame({"x": [1.0, 3.0]})) == SHIFT * np.sqrt(2) / 2).all()


@pytest.mark.slow
def test_the_market_is_the_same_over_20_seeds():
    if os.environ.get("KLAD_UPDATE_DISTRIBUTION"):
        headline_sample(1).to_csv(SAMPLE, index=False, float_format="%.10g")
    before = pd.read_csv(SAMPLE)
    shift = mde(before)
    now = headline_sample(2)  # other seeds: the comparison is of distributions, not of runs
    checked, pvalues = [], []
    for metric in HEADLINE:
        a, b = before[metric].to_numpy(), now[metric].to_numpy()
        if np.ptp(a) == 0 and np.ptp(b) == 0:  # e.g. no lab ever raided in a year: both constant
            assert a[0] == b[0], metric
            continue
        checked.append(metric)
        pvalues.append(stats.ttest_ind(a, b, equal_var=False).pvalue)
    failed = [
        f"{metric}: {before[metric].mean():.4g} before, {now[metric].mean():.4g} now (Welch p={p:.3g}; "
        f"a shift of {shift[metric]:.1%} is found 9 times in 10)"
        for metric, p in zip(checked, pvalues, strict=True)
        if metric in holm_rejected(dict(zip(checked, pvalues, strict=True)), ALPHA)
    ]
    assert not failed, "\n".join(failed)


def holm_rejected(pvalues: dict[str, float], alpha: float) -> set[str]:
    """The hypotheses Holm's step-down rejects at family-wise level ``alpha``."""
    rejected = set()
    for i, (name, p) in enumerate(sorted(pvalues.items(), key=lambda item: item[1])):
        if p >= alpha / (len(pvalues) - i):
            break
        rejected.add(name)
    return rejected


def test_holm_steps_down_and_stops_at_the_first_kept():
    assert holm_rejected({"a": 0.001, "b": 0.03, "c": 0.04}, 0.05) == {"a"}  # 0.03 >= 0.05 / 2: c is kept too
    assert holm_rejected({"a": 0.001, "b": 0.02, "c": 0.04}, 0.06) == {"a", "b", "c"}
    assert holm_rejected({"a": 0.5}, 0.01) == set()
