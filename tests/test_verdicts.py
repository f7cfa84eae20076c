"""Verdict statistics on a toy whose true effect is known: power, Holm's correction, how many replications."""

import math

import numpy as np
import pandas as pd
import pytest

from sim.experiments.hypotheses import Criterion
from sim.experiments.verdicts import holm_levels, judge, judge_all, planned, replications_for

DROP = Criterion("volume", "contrast", "decrease", metric="grams_sold", effect="arm - base", margin=0.05,
                 relative_to="base")  # fmt: skip


def toy(rng, n: int, effect: float, noise: float = 0.04, paired: bool = True) -> dict[str, pd.DataFrame]:
    """``n`` replications of a market of about 100 with a city-level spread of 10%; the arm changes it by ``effect``.

    With ``paired`` the arm shares each replication's city (common random numbers); its own noise is ``noise``.
    """
    city = 100 * (1 + 0.1 * rng.standard_normal(n))
    own = city if paired else 100 * (1 + 0.1 * rng.standard_normal(n))
    arm = own * (1 + effect) + 100 * noise * rng.standard_normal(n)
    return {"base": pd.DataFrame({"grams_sold": city}), "arm": pd.DataFrame({"grams_sold": arm})}


def test_the_minimal_detectable_effect_is_found_with_the_stated_power():
    """At a true effect equal to the stated MDE, about 80% of experiments find it (CI excludes 0)."""
    rng = np.random.default_rng(1)
    n = 8
    mde = np.median([judge(DROP, toy(rng, n, 0.0))["mde_relative"] for _ in range(400)])
    found = [judge(DROP, toy(rng, n, -mde))["ci_high"] < 0 for _ in range(1000)]
    assert 0.75 < np.mean(found) < 0.85, np.mean(found)


def test_a_known_effect_is_supported_when_the_power_is_there_and_inconclusive_when_not():
    rng = np.random.default_rng(2)
    # A true 12% drop against a 5% margin: at 10 paired replications the MDE is far below it.
    rows = [judge(DROP, toy(rng, 10, -0.12)) for _ in range(300)]
    assert np.median([r["mde_relative"] for r in rows]) < 0.07
    assert np.mean([r["verdict"] == "supported" for r in rows]) > 0.9
    # The same drop, unpaired (no common random numbers) and with 3 replications: mostly undecided,
    # and the rows say how many replications would decide.
    rows = [judge(DROP, toy(rng, 3, -0.12, paired=False)) for _ in range(300)]
    assert np.mean([r["verdict"] == "inconclusive" for r in rows]) > 0.7
    undecided = [r["reps_needed"] for r in rows if r["verdict"] == "inconclusive"]
    assert np.median(undecided) > 10
    # No true effect, plenty of power: not supported (a 5% drop is excluded).
    rows = [judge(DROP, toy(rng, 20, 0.0)) for _ in range(300)]
    assert np.mean([r["verdict"] == "not supported" for r in rows]) > 0.9


def test_common_random_numbers_show_in_the_correlation():
    rng = np.random.default_rng(3)
    assert judge(DROP, toy(rng, 20, -0.1))["crn_correlation"] > 0.7
    assert abs(judge(DROP, toy(rng, 20, -0.1, paired=False))["crn_correlation"]) < 0.7


def test_replications_needed_shrink_the_interval_below_half_the_margin():
    n = replications_for(sd=10.0, half_width=2.5)
    assert n == 64 or n == 65  # z: (1.96 * 10 / 2.5)^2 = 61.5, t a little more
    from scipy import stats

    assert stats.t.ppf(0.975, n - 1) * 10 / math.sqrt(n) < 2.5 <= stats.t.ppf(0.975, n - 2) * 10 / math.sqrt(n - 1)
    assert replications_for(sd=0.0, half_width=1.0) == 2
    assert math.isinf(replications_for(sd=1.0, half_width=0.0))


def test_holm_levels():
    assert holm_levels([0.01]) == [0.95]
    levels = holm_levels([0.04, 0.001, float("nan")])
    assert levels == [pytest.approx(1 - 0.05 / 2), pytest.approx(1 - 0.05 / 3), pytest.approx(0.95)]


def test_holm_guards_both_verdicts():
    """Each verdict of a deciding test must hold at its Holm level, 'not supported' and 'supported' alike."""
    base = np.array([100.0, 110, 90, 105, 95, 100])
    wiggle = np.array([1.0, -1, 1, -1, 1, -1])
    summary = {"base": pd.DataFrame({"grams_sold": base, "orders": base, "transactions": base}),
               "arm": pd.DataFrame({"grams_sold": base + 50 + 3 * wiggle, "orders": base + 1.4 + wiggle,
                                    "transactions": base + 1.4 + wiggle})}  # fmt: skip
    tests = [Criterion(m, "contrast", "decrease", metric=m, effect="arm - base", margin=0.0) for m in
             ("grams_sold", "orders", "transactions")]  # fmt: skip
    alone = judge(tests[2], summary)  # an increase with p about 0.026: 'not supported' at 95%
    assert alone["verdict"] == "not supported" and 0.025 < alone["p_decided"] < 0.05
    results = judge_all(tests, summary)
    assert [r["verdict"] for r in results] == ["not supported", "inconclusive", "inconclusive"]
    assert results[0]["holm_level"] == pytest.approx(1 - 0.05 / 3)
    assert "not at its level" in results[1]["note"]
    assert judge_all(tests[2:], summary)[0]["verdict"] == "not supported"  # alone, the plain 95% decides
    # The mirror image: marginal decreases are each 'supported' at 95%, but beside two others only the clear
    # one keeps its verdict; the hypothesis is then inconclusive, as it would be not supported above.
    mirrored = {arm: -frame for arm, frame in summary.items()}
    assert [judge(t, mirrored)["verdict"] for t in tests] == ["supported"] * 3
    assert [r["verdict"] for r in judge_all(tests, mirrored)] == ["supported", "inconclusive", "inconclusive"]


def test_replications_follow_the_pilots_spread_within_the_cap():
    rows = [{"role": "test", "kind": "contrast", "verdict": "inconclusive", "reps_needed": 40.0},
            {"role": "test", "kind": "contrast", "verdict": "supported", "reps_needed": 400.0},
            {"role": "check", "kind": "contrast", "verdict": "inconclusive", "reps_needed": 900.0},
            {"role": "detail", "kind": "contrast", "verdict": "inconclusive", "reps_needed": 900.0}]  # fmt: skip
    assert planned(rows, pilot=6, cap=30) == 30
    assert planned(rows, pilot=6, cap=60) == 60  # a verdict reached on the pilot does not stop it early
    assert planned(rows[:1] + rows[2:], pilot=6, cap=60) == 40  # checks and details ask for nothing
    assert planned(rows[2:], pilot=6, cap=60) == 6
    rows[0]["reps_needed"] = float("inf")
    assert planned(rows[:1], pilot=6, cap=24) == 24


def test_effects_over_time_follow_a_known_effect_and_the_arms_correlation_falls_when_their_paths_part():
    from sim.experiments.verdicts import effects_over_time

    rng = np.random.default_rng(3)
    reps, days, start = 12, 200, 100
    city = 100 * (1 + 0.1 * rng.standard_normal(reps))  # each replication's own market: shared by both arms
    base, arm = [], []
    for r in range(reps):
        day = np.arange(1, days + 1)
        own = np.where(day < start + 50, 0.0, 15 * rng.standard_normal())  # after 50 days the arm goes its own way
        base.append(pd.DataFrame({"rep": r, "day": day, "grams_sold": city[r]}))
        arm.append(pd.DataFrame({"rep": r, "day": day, "grams_sold": city[r] * np.where(day >= start, 0.8, 1) + own}))
    effects = effects_over_time([DROP], {"base": pd.concat(base), "arm": pd.concat(arm)}, start, smooth=1)
    assert effects["days_since_policy"].min() == 0 and len(effects) == days - start + 1
    early = effects[effects["days_since_policy"] < 50]
    assert np.allclose(early["estimate"], -0.2) and np.allclose(early["correlation"], 1.0)
    late = effects[effects["days_since_policy"] >= 50]
    assert (late["correlation"] < 0.9).all() and (late["ci_low"] < -0.2).all() and (late["ci_high"] > -0.2).all()


def _growing(start: int = 366, years: int = 5, per_year: float = -0.05, reps: int = 6) -> dict[str, pd.DataFrame]:
    """Two arms whose ratio falls by ``per_year`` of the base each year after the policy, with a little noise."""
    rng = np.random.default_rng(1)
    days = np.arange(1, start + 365 * years)
    frames = {"base": [], "arm": []}
    for rep in range(reps):
        base = 100 + rng.normal(0, 1, len(days))
        effect = per_year * np.clip((days - start + 1) / 365, 0, None)
        frames["base"].append(pd.DataFrame({"rep": rep, "day": days, "grams_sold": base}))
        frames["arm"].append(pd.DataFrame({"rep": rep, "day": days, "grams_sold": base * (1 + effect)}))
    return {arm: pd.concat(f, ignore_index=True) for arm, f in frames.items()}


def test_a_growing_effect_is_judged_at_each_horizon_and_is_not_settled():
    from sim.experiments.verdicts import at_horizons, effects_over_time, trend_per_year

    test = Criterion("volume", "contrast", "decrease", metric="grams_sold", effect="arm - base", margin=0.1,
                     relative_to="base")  # fmt: skip
    daily = _growing()
    table = at_horizons([test], daily, start=366, window=90, days=365 + 365 * 5)
    assert table["years"].tolist() == [1, 2, 3, 5]
    assert table["verdict"].tolist() == ["not supported", "not supported", "supported", "supported"]  # -9.4% at 2
    assert table["relative"].iloc[-1] == pytest.approx(-0.05 * (5 - 45 / 365), abs=0.003)  # the window's middle
    trend = trend_per_year(effects_over_time([test], daily, 366))["volume"]
    assert trend == pytest.approx(-0.05, abs=0.005)  # 5% of the base a year: not settled
    flat = {arm: frame.assign(grams_sold=daily["base"]["grams_sold"] * (0.8 if arm == "arm" else 1.0))
            for arm, frame in daily.items()}  # fmt: skip
    assert abs(trend_per_year(effects_over_time([test], flat, 366))["volume"]) < 0.005
    short = at_horizons([test], daily, start=366, window=90, days=365 + 800)
    assert short["years"].tolist() == [1, 2]  # only the horizons the runs reach


def test_the_verdict_against_the_margin_changes_where_the_interval_crosses_it():
    from sim.experiments.verdicts import against_margins

    row = {
        "expect": "decrease",
        "estimate": -6.0,
        "ci_low": -8.0,
        "ci_high": -4.0,
        "relative": -0.06,
        "relative_to": "base",
        "margin_or_threshold": 5.0,
        "reference": 100.0,
    }  # a base of 100: -6% [-8%, -4%], margin 5%
    out = against_margins(row)
    assert [out[k] for k in ("0m", "0.5m", "1m", "1.5m", "2m")] == [
        "supported", "supported", "inconclusive", "inconclusive", "not supported"]  # fmt: skip
    assert out["switch_low"] == pytest.approx(0.04) and out["switch_high"] == pytest.approx(0.08)
    negated = against_margins({**row, "expect": "no_decrease"})
    assert negated["0.5m"] == "not supported" and negated["2m"] == "supported"
    nothing = against_margins({**row, "estimate": 0.0, "relative": 0.0, "ci_low": -2.0, "ci_high": 2.0})
    assert nothing["switch_high"] == pytest.approx(0.02)  # an estimate of 0 still has its reference's shares
    assert math.isnan(against_margins({**row, "reference": float("nan")})["switch_low"])
