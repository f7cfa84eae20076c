"""The golden runs: 60 days of the baseline and of two policy scenarios, equal to the last digit.

A year of a small city under precursor control is added so that lab raids,
lab entry and shop entry, which a 60-day run of the default city does not
reach, are guarded too.

A change that should not alter the model's behaviour (a restructure, a
speed-up, a new metric or record) must leave these tables exactly as they are
(a new metric adds a column; the golden columns stay). A change that alters
behaviour on purpose regenerates them (``KLAD_UPDATE_GOLDEN=1 pytest
tests/test_golden.py``) and says why in its commit message.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sim
from sim.experiments.replications import run_one

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden"
SEED = 20251
SMALL_CITY = {"n_buyers": 1500, "n_shops": 3, "n_couriers": 36, "n_labs": 2}
#: name -> (shipped scenario, overrides, days). The policy switches on partway, so both the
#: burn-in and the policy's first weeks are covered.
CASES = {
    "baseline": ("baseline", {"policy_start_day": 30}, 60),
    "tightened_penalties": ("tightened_penalties", {"policy_start_day": 30}, 60),
    "combined_package": ("combined_package", {"policy_start_day": 30}, 60),
    "small_precursor_control_year": ("precursor_control", {**SMALL_CITY, "policy_start_day": 100}, 365),
}


def golden_run(case: str) -> pd.DataFrame:
    """The daily metrics of a golden run."""
    scenario, overrides, days = CASES[case]
    params = sim.load_scenario(ROOT / "scenarios" / f"{scenario}.toml")
    params.pop("scenario_name")
    params.update(overrides)
    return run_one(params, days, SEED)


@pytest.mark.parametrize("case", CASES)
def test_golden_run_is_unchanged(case):
    daily = golden_run(case)
    path = GOLDEN / f"{case}.csv"
    if os.environ.get("KLAD_UPDATE_GOLDEN"):
        daily.to_csv(path, index=False, float_format="%.17g")
    expected = pd.read_csv(path)
    # Every golden column is still reported; metrics added since are new columns and do not count.
    assert list(daily.columns[: len(expected.columns)]) == list(expected.columns)
    for column in expected.columns:
        got, want = daily[column].to_numpy(dtype=float), expected[column].to_numpy(dtype=float)
        differ = np.flatnonzero(got != want)
        assert len(differ) == 0, (
            f"{case}: '{column}' differs from the golden run first on day {daily['day'].iloc[differ[0]]}: "
            f"{got[differ[0]]!r} != {want[differ[0]]!r}"
        )
