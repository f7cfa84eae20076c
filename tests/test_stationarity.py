"""The baseline settles: no trend after the warm-up, and no week without sales."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.experiments.execute import Execution
from sim.experiments.scenarios import run_scenario
from sim.experiments.stationarity import dry_spells, trends

ROOT = Path(__file__).resolve().parents[1]
SETTLED = ["active_shops", "active_storefronts", "price_per_gram", "active_couriers", "active_buyers", "prisoners"]


def test_trends_finds_a_trend_and_no_trend():
    days = np.arange(1, 5 * 365 + 1)
    rng = np.random.default_rng(0)
    frames = []
    for rep in range(8):
        flat = 100.0 + rng.normal(0.0, 5.0, len(days))
        rising = 100.0 * 1.1 ** (days / 365) + rng.normal(0.0, 5.0, len(days))
        frames.append(pd.DataFrame({"rep": rep, "day": days, "flat": flat, "rising": rising}))
    table = trends(pd.concat(frames), ["flat", "rising"], warmup=365).set_index("metric")
    assert table.loc["flat", "ci_low"] < 0 < table.loc["flat", "ci_high"]
    assert abs(table.loc["flat", "slope"]) < 0.01
    assert table.loc["rising", "ci_low"] > 0.08  # about +10% a year, relative to the mean level
    sold = pd.DataFrame({"rep": [0] * 10 + [1] * 10, "grams_sold": [1, 0, 0, 0, 1, 0, 0, 1, 1, 1] + [1] * 10})
    assert dry_spells(sold).tolist() == [3, 0]


@pytest.mark.slow
def test_six_year_baseline_has_no_trend_after_a_year_and_no_week_without_sales():
    result = run_scenario(ROOT / "scenarios" / "baseline.toml", execution=Execution(2), reps=12, days=6 * 365,
                          seed=11, window=90, burn_in=365)  # fmt: skip
    table = trends(result.daily, SETTLED, warmup=365).set_index("metric")
    wide = table[(table["ci_low"] < -0.03) | (table["ci_high"] > 0.03)]
    assert wide.empty, f"a trend, or one not ruled out, of more than 3% a year:\n{wide}"
    first_month = result.daily.loc[result.daily["day"] <= 30, "prisoners"].mean()
    assert first_month == pytest.approx(table.loc["prisoners", "mean"], rel=0.1)  # prisons start at their level
    assert dry_spells(result.daily).max() <= 7
