"""Costs and harms: small daily tables with costs computed by hand, and a real short run."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sim.experiments.costs import ITEMS, NEEDED, UNITS, cost_effectiveness, levers_in_force, yearly_costs
from sim.params import ParameterError

SMALL_CITY = {"n_buyers": 1500, "n_shops": 3, "n_couriers": 36, "n_labs": 2}
#: Round prices, so that the costs below can be worked out by hand.
PRICES = {
    "cost_officer_day": 1000.0, "cost_prisoner_year": 365_000.0, "cost_analytics": 36_500.0,
    "cost_coordination": 73_000.0, "cost_prevention_person": 365.0, "prevention_cohort": 10_000.0,
    "cost_treatment": 500.0, "cost_detection": 3650.0, "cost_forensic_day": 365.0, "cost_border": 36_500.0,
    "cost_conviction": 700.0, "cost_block_day": 730.0, "n_buyers": 20_000, "stash_grams": 0.5,
}  # fmt: skip


def daily(days: int, **columns) -> pd.DataFrame:
    """A daily table of ``days`` days: every needed column 0, except those given (a number or one per day)."""
    table = pd.DataFrame({"day": np.arange(1, days + 1)})
    for name in NEEDED[1:]:
        table[name] = columns.get(name, 0.0)
    return table


def test_a_small_table_costs_what_it_costs_by_hand():
    table = daily(3, effort_patrol=10.0, effort_cyber=5.0, prisoners_courier=365.0, prisoners_buyer=[0, 0, 365],
                  buyers_treated=[2, 0, 0], convictions=[0, 4, 0], restash_failures=[1, 0, 1],
                  price_per_gram=[20_000.0, 0.0, 10_000.0], grams_sold=[5.0, 6.0, 7.0], active_buyers=[90, 100, 110],
                  new_buyers=[1, 2, 3], unmet_orders=[3, 0, 0], orders=[10, 10, 10])  # fmt: skip
    params = {**PRICES, "policy_start_day": 3, "policy": {"prevention": 0.5, "forensic_delay": 20}}
    row = yearly_costs(table, params).iloc[0]
    assert (row["year"], row["days"], row["officer_days"]) == (1, 3, 45.0)
    assert row["police_kzt"] == 45 * 1000.0
    assert row["prison_kzt"] == pytest.approx((3 * 365 + 365) * 1000.0)  # a prisoner-day costs 1,000
    assert (row["prisoner_years_courier"], row["prisoner_years_buyer"], row["prisoner_years"]) == (3.0, 1.0, 4.0)
    assert row["treatment_kzt"] == 2 * 500.0
    assert row["courts_kzt"] == 4 * 700.0
    assert row["analytics_kzt"] == pytest.approx(3 * 0.1 * 100.0)  # today's 0.1 of 36,500 a year, three days
    assert row["coordination_kzt"] == pytest.approx(3 * 0.1 * 200.0)
    # Day 3 only: half of a cohort of 10,000 per 10,000 buyers in a city of 20,000 buyers, at 365 KZT a year each.
    assert row["prevention_kzt"] == pytest.approx(0.5 * 20_000 * 1.0)
    assert row["forensics_kzt"] == pytest.approx((30 - 20) * 1.0)  # ten days cut, on day 3
    for item in ("detection", "custody", "border"):  # levers at today's values
        assert row[f"{item}_kzt"] == 0.0
    assert row["total_kzt"] == pytest.approx(sum(row[f"{item}_kzt"] for item in ITEMS))
    assert row["money_lost_kzt"] == 0.5 * 20_000.0 + 0.5 * 10_000.0
    assert (row["failed_orders"], row["failed_paid_orders"], row["orders"]) == (3, 2, 30)
    assert (row["grams_sold"], row["active_users"], row["new_users"]) == (18.0, 100.0, 6.0)
    assert row["young_users"] == pytest.approx(42.5) and row["minor_users"] == pytest.approx(25.0)
    assert (row["prisoners_courier"], row["prisoners_buyer"]) == (365, 365)


def test_raised_certainty_levers_cost_their_raise():
    table = daily(2, pending_cases=365.0)
    policy = {"detection_multiplier": 3.0, "abscond_rate": 0.0015, "precursor_interdiction": 0.55,
              "import_interdiction": 0.15, "block_delay": 4}  # fmt: skip
    row = yearly_costs(table, {**PRICES, "policy_start_day": 2, "policy": policy}).iloc[0]
    assert row["detection_kzt"] == pytest.approx(2 * 10.0)  # two units above today's 1, on day 2
    assert row["custody_kzt"] == pytest.approx(0.5 * 365 * 1000.0)  # half the suspects held, on day 2
    assert row["border_kzt"] == pytest.approx(0.5 * 100.0)  # the larger raise: 0.5 above today's 0.05
    assert row["blocking_kzt"] == pytest.approx(10 * 2.0)  # ten days cut below today's 14, on day 2


def test_days_fall_into_years():
    table = yearly_costs(daily(400, effort_patrol=1.0), PRICES)
    assert list(table["year"]) == [1, 2] and list(table["days"]) == [365, 35]
    assert list(table["officer_days"]) == [365.0, 35.0]


LEVELS = {"digital_analytics": "analytics", "coordination": "coordination", "prevention": "prevention"}


@pytest.mark.parametrize("lever", LEVELS)
def test_a_lever_at_zero_costs_nothing(lever):
    table = daily(30, effort_patrol=10.0, prisoners_courier=5.0)
    at_zero = yearly_costs(table, {**PRICES, lever: 0.0}).iloc[0]
    at_one = yearly_costs(table, {**PRICES, lever: 1.0}).iloc[0]
    assert at_zero[f"{LEVELS[lever]}_kzt"] == 0.0 and at_one[f"{LEVELS[lever]}_kzt"] > 0.0
    others = [f"{item}_kzt" for item in ITEMS if item != LEVELS[lever]]
    assert at_zero[others].equals(at_one[others])


def test_no_police_treatment_or_prison_costs_nothing():
    row = yearly_costs(daily(30), {**PRICES, "police_budget": 0.0, "treatment": 0.0, "digital_analytics": 0.0,
                                   "coordination": 0.0}).iloc[0]  # fmt: skip
    assert row["total_kzt"] == 0.0


def test_doubling_the_prison_cost_doubles_the_prison_item_only():
    table = daily(40, prisoners_courier=7.0, prisoners_lab=2.0, effort_labs=3.0, convictions=1.0)
    once = yearly_costs(table, PRICES).iloc[0]
    twice = yearly_costs(table, {**PRICES, "cost_prisoner_year": 2 * PRICES["cost_prisoner_year"]}).iloc[0]
    assert once["prison_kzt"] > 0 and twice["prison_kzt"] == pytest.approx(2 * once["prison_kzt"])
    others = [f"{item}_kzt" for item in ITEMS if item not in ("prison", "custody")]
    assert twice[others].equals(once[others])


def test_every_column_has_a_unit_and_a_bad_table_is_refused():
    table = yearly_costs(daily(5), PRICES)
    assert set(table.columns) <= set(UNITS)
    with pytest.raises(ParameterError, match="lacks effort_cyber"):
        yearly_costs(daily(5).drop(columns="effort_cyber"), PRICES)


def yearly(rep_grams: dict[int, float], officer_days: float, kzt: float) -> pd.DataFrame:
    """A ``yearly_costs``-like table of one year per replication."""
    rows = []
    for rep, grams in rep_grams.items():
        row = dict.fromkeys(UNITS, 0.0)
        row.update(rep=rep, year=1, days=365, grams_sold=grams, officer_days=officer_days, total_kzt=kzt,
                   police_kzt=kzt, prisoner_years_courier=rep, prisoner_years=rep)  # fmt: skip
        rows.append(row)
    return pd.DataFrame(rows)


def test_cost_effectiveness_pairs_replications():
    comparison = yearly({0: 100.0, 1: 120.0}, officer_days=1000.0, kzt=5e6)
    arm = yearly({0: 90.0, 1: 100.0}, officer_days=1500.0, kzt=7e6)
    arm["prisoner_years_courier"] += 2.0
    row = cost_effectiveness(arm, comparison).iloc[0]
    assert row["pairs"] == 2
    assert row["grams_averted"] == 15.0  # (10 + 20) / 2
    assert (row["extra_officer_days"], row["extra_kzt"], row["extra_police_kzt"]) == (500.0, 2e6, 2e6)
    assert row["grams_per_officer_day"] == pytest.approx(15.0 / 500.0)
    assert row["grams_per_million_kzt"] == pytest.approx(15.0 / 2.0)
    assert row["prisoner_years_added_courier"] == 2.0
    assert row["grams_averted_ci_low"] < 15.0 < row["grams_averted_ci_high"]
    # Paired by replication: the same arm against a comparison whose replications are swapped averts other grams.
    swapped = comparison.assign(rep=[1, 0])
    assert cost_effectiveness(arm, swapped).iloc[0]["grams_averted_ci_low"] != row["grams_averted_ci_low"]


def test_cost_effectiveness_of_no_extra_spending_is_no_ratio_and_mismatches_are_refused():
    comparison = yearly({0: 100.0}, officer_days=1000.0, kzt=5e6)
    row = cost_effectiveness(yearly({0: 90.0}, officer_days=1000.0, kzt=4e6), comparison).iloc[0]
    assert row["grams_averted"] == 10.0 and math.isnan(row["grams_per_million_kzt"])
    assert math.isnan(row["grams_per_officer_day"])
    with pytest.raises(ParameterError, match="different replications"):
        cost_effectiveness(yearly({1: 90.0}, 1000.0, 5e6), comparison)


# ------------------------------------------------------------------ a real run
def test_a_real_short_run_has_finite_non_negative_costs_and_pays_for_its_policy():
    from sim.experiments.replications import run_forked

    trunk = {**SMALL_CITY, "policy_start_day": 30,
             "events": [{"day": 45, "action": "set", "params": {"coordination": 0.5}}]}  # fmt: skip
    policy = {"police_budget": 130.0, "treatment": 0.8, "digital_analytics": 0.9}
    base_daily, arm_daily = run_forked(trunk, [{}, policy], 60, 1)
    arm_params = {**trunk, "policy": policy}
    # The levers as the costs read them are those the market used: its officer-days are the budget in force.
    in_force = levers_in_force(arm_params, 60)
    effort = arm_daily[[f"effort_{a}" for a in ("patrol", "cyber", "investigation", "labs")]].sum(axis=1)
    assert np.allclose(effort, in_force["police_budget"])
    assert list(in_force["coordination"].iloc[[43, 44]]) == [0.1, 0.5]
    base, arm = yearly_costs(base_daily, trunk), yearly_costs(arm_daily, arm_params)
    for table in (base, arm):
        values = table.drop(columns=["year"]).to_numpy(dtype=float)
        assert np.isfinite(values).all() and (values >= 0).all()
        assert table["prison_kzt"].iloc[0] > 0 and table["police_kzt"].iloc[0] > 0
    row = cost_effectiveness(arm, base).iloc[0]
    assert row["extra_officer_days"] == pytest.approx(30 * 31)  # days 30-60
    assert row["extra_police_kzt"] == pytest.approx(30 * 31 * 25_000.0)
    assert row["extra_analytics_kzt"] == pytest.approx(0.8 * 31 * 200e6 / 365)
    assert row["extra_kzt"] > 0 and math.isfinite(row["grams_per_million_kzt"])


# ------------------------------------------------------------------ in the reports of a run and a comparison
def test_a_run_and_a_comparison_report_their_costs_and_what_a_gram_averted_costs(tmp_path):
    from sim.experiments.execute import IN_PROCESS
    from sim.experiments.scenarios import compare_scenarios, run_scenario
    from sim.reporting.scenarios import write_comparison, write_scenario

    city = {**SMALL_CITY, "policy_start_day": 20}
    plan = {"reps": 2, "days": 380, "window": 30, "burn_in": 0, "force": True}
    run = run_scenario(city, execution=IN_PROCESS, **plan)
    pd.testing.assert_frame_equal(run.costs, yearly_costs(run.daily, run.params))  # the run's own prices
    write_scenario(run, tmp_path / "run")
    costs = pd.read_parquet(tmp_path / "run" / "costs.parquet")
    assert len(costs) == 2 * 2 and set(costs["year"]) == {1, 2}  # replications x years
    text = (tmp_path / "run" / "report.md").read_text()
    assert "## Public costs and harms, per year" in text and "| year 1 | year 2 (15 days) |" in text
    (total,) = [line for line in text.splitlines() if line.startswith("| total_kzt | KZT/year |")]
    assert " to " in total  # the total's interval over replications
    assert "| treatment_kzt |" not in text  # an item that cost nothing in every year is left out

    patrol = {**city, "policy": {"detection_multiplier": 2.0}}
    both = compare_scenarios([city, patrol], execution=IN_PROCESS, **plan)
    first, arm = (both.costs[both.costs["scenario"] == n].drop(columns="scenario").reset_index(drop=True)
                  for n in both.names)  # fmt: skip
    expected = cost_effectiveness(arm, first)
    got = both.against_first.drop(columns="scenario")
    pd.testing.assert_frame_equal(got, expected)
    assert got["extra_detection_kzt"].iloc[-1] > 0  # twice today's detection is paid for
    write_comparison(both, tmp_path / "cmp")
    assert len(pd.read_parquet(tmp_path / "cmp" / "cost_effectiveness.parquet")) == 2
    text = (tmp_path / "cmp" / "report.md").read_text()
    assert f"## What each scenario costs against {both.names[0]}" in text
    assert "| grams_per_million_kzt | g per extra million KZT |" in text


@pytest.mark.slow
def test_a_hypothesis_costs_each_arm_against_its_baseline_and_reports_it(tmp_path):
    """Arms are compared at equal cost too: the extra KZT of each against the baseline, and grams per million KZT."""
    from sim.experiments.hypotheses import load_all
    from sim.experiments.study import HypothesesPlan, run_hypotheses
    from sim.reporting.hypotheses import write_report
    from tests.test_hypotheses import HYPOTHESIS, folder

    text = HYPOTHESIS.format(id="C", word="cuts", expect="decrease")
    text = text.replace("base = ", "baseline = ").replace("hot - base", "hot - baseline")
    text = text.replace('relative_to = "base"', 'relative_to = "baseline"').replace('arm = "base"', 'arm = "baseline"')
    (h,) = [h.use(quick=True) for h in load_all(folder(tmp_path / "hyp", {"C.toml": text}))]
    result = run_hypotheses([h], HypothesesPlan(tmp_path / "out", alternatives=False))
    costs = result.costs
    assert costs is not None and list(costs["arm"].unique()) == ["hot"] and (costs["hypothesis"] == "C").all()
    hot = costs.iloc[-1]
    # Six times the street detection costs cost_detection for each step above today's, every day of the policy.
    assert hot["extra_detection_kzt"] > 0 and hot["extra_kzt"] > 0
    expected = hot["grams_averted"] / (hot["extra_kzt"] / 1e6)
    assert hot["grams_per_million_kzt"] == pytest.approx(expected)
    write_report(result, tmp_path / "report")
    report = (tmp_path / "report" / "report.md").read_text()
    # The test city runs 30 days: no whole year, so no yearly figures in the report; costs.csv has the part-year.
    assert "No whole year in the runs (30 days at most)" in report and "| `hot` |" not in report
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "report" / "costs.csv"), costs, check_dtype=False)
    from sim.reporting.hypotheses import _costs_lines

    lines = "\n".join(_costs_lines(h, costs.assign(days=365)))  # a whole year: its figures, per KZT too
    assert "What each arm costs against the baseline, in year 1" in lines and "| `hot` |" in lines
    assert "g averted per extra million KZT" in lines
