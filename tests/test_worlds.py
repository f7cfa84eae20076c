"""Plausible worlds: the Latin hypercube, the file's checks, and the rules that name what decides a verdict."""

import numpy as np
import pandas as pd
import pytest

from sim.experiments.execute import Execution
from sim.experiments.hypotheses import load_hypothesis
from sim.experiments.worlds import check_worlds, draw, load_worlds, run_worlds, shares
from sim.params import REGISTRY, ParameterError
from tests.test_hypotheses import HYPOTHESIS, ROOT, folder

WORLDS = """
seed = 4
replications = 2
[uncertainties]
discount_factor_mean = { range = [0.3, 0.9] }
candidate_pool = { range = [600, 20000], scale = "log" }
"""


def test_the_shipped_worlds_file_draws_from_the_registry_priors_and_checks_every_world():
    worlds = load_worlds(ROOT / "experiments" / "worlds.toml")
    assert len(worlds.names) >= 25 and not worlds.overridden  # every range is the registry's prior, none typed here
    for name in worlds.names:
        prior = REGISTRY[name].prior
        assert prior is not None, name
        if name in worlds.ranges:
            assert worlds.ranges[name] == (prior.low, prior.high) and (name in worlds.log) == (prior.scale == "log")
    table = draw(worlds, 32)
    fitted = list(worlds.posterior.columns)  # the calibration's sample, shipped beside the targets
    assert {"order_rate", "courier_detection"} <= set(fitted)
    for name, (low, high) in worlds.ranges.items():
        if name not in fitted:
            assert table[name].between(low, high).all(), name
    for name in fitted:
        drawn = worlds.posterior[name].round() if REGISTRY[name].type is int else worlds.posterior[name]
        assert table[name].isin(drawn).all(), name
    assert worlds.targets_path.name == "kazakhstan.toml" and worlds.scenario_path.name == "baseline.toml"


@pytest.mark.slow
def test_a_world_is_plausible_when_its_baseline_passes_every_fitted_target(tmp_path):
    """One run per world, judged at every horizon: the worlds kept are exactly those whose statistic is inside."""
    src = folder(tmp_path / "hyp", {})
    wide = TARGETS.format(low=1e-9, high=1e9)
    (tmp_path / "t.toml").write_text(wide)
    (tmp_path / "w.toml").write_text(WORLDS.replace("[uncertainties]", 'targets = "t.toml"\nscenario = '
                                     f'"{src / "scen" / "small.toml"}"\n[uncertainties]\norder_rate = '
                                     '{ range = [0.1, 0.4] }'))  # fmt: skip
    worlds = load_worlds(tmp_path / "w.toml")
    table = draw(worlds, 10)
    first = check_worlds(table, worlds, tmp_path / "c1", execution=Execution(2))
    assert first["plausible"].all() and (first["outside"] == "").all()
    column = "national_volume_t@112"
    cut = float(first[column].median())
    (tmp_path / "t.toml").write_text(TARGETS.format(low=cut, high=1e9))
    second = check_worlds(table, load_worlds(tmp_path / "w.toml"), tmp_path / "c2", execution=Execution(2))
    np.testing.assert_array_equal(second[column], first[column])  # the same world, the same run
    assert (second["plausible"] == (first[column] >= cut)).all() and 0 < second["plausible"].sum() < 10
    assert set(second.loc[~second["plausible"], "outside"]) <= {"volume@56, volume@112", "volume@112",
                                                                 "volume@56"}  # fmt: skip
    # the volume grows with the order rate: it is the world's values, not luck, that decide
    assert first[["order_rate", column]].corr().iloc[0, 1] > 0.8


TARGETS = """
window = 28
horizons = [56, 112]
[[target]]
id = "volume"
description = "d"
range = [{low}, {high}]
unit = "t"
source = "s"
reliability = "r"
statistic = "national_volume_t"
role = "fit"
missable = "m"
"""


def test_worlds_fill_their_ranges_as_a_latin_hypercube(tmp_path):
    (tmp_path / "w.toml").write_text(WORLDS)
    worlds = load_worlds(tmp_path / "w.toml")
    table = draw(worlds, 20)
    pd.testing.assert_frame_equal(table, draw(worlds, 20))  # seeded
    # One world in each twentieth of each range (on the log scale for the pool).
    strata = np.floor((table["discount_factor_mean"] - 0.3) / 0.6 * 20)
    assert sorted(strata) == list(range(20))
    logs = np.floor((np.log(table["candidate_pool"]) - np.log(600)) / (np.log(20000) - np.log(600)) * 20)
    assert len(set(logs.clip(0, 19))) >= 18  # (rounded to whole candidates)
    assert table["candidate_pool"].dtype.kind == "i"


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (("discount_factor_mean", "n_buyers"), ["n_buyers is a structural", "only uncertainties"]),
        (("discount_factor_mean", "discount_factorz"), ["unknown parameter 'discount_factorz'"]),
        (("[0.3, 0.9]", "[0.9, 0.3]"), ["low < high"]),
        (("[0.3, 0.9]", "[0.3, 2.0]"), ["discount_factor_mean"]),
        (
            ("[0.3, 0.9] }", '[0.3, 0.9] }\nuse_risk_response = { range = [0.0, 3.0], scale = "log" }'),
            ["use_risk_response", "log scale needs a range above 0"],
        ),
        (('scale = "log"', 'scale = "cubic"'), ["'scale'"]),
        (("replications = 2", "replications = 1"), ["'replications' = 1"]),
    ],
)
def test_bad_worlds_files_say_what_is_wrong(tmp_path, change, words):
    (tmp_path / "w.toml").write_text(WORLDS.replace(*change, 1))
    with pytest.raises(ParameterError) as err:
        load_worlds(tmp_path / "w.toml")
    for word in words:
        assert word in str(err.value)
    assert "w.toml" in str(err.value)


def test_shares_count_each_hypothesis_s_worlds():
    verdicts = pd.DataFrame({"world": range(4), "hypothesis": "H",
                             "verdict": ["supported", "supported", "inconclusive", "not supported"]})  # fmt: skip
    table = shares(verdicts)
    assert table.loc["H", "worlds"] == 4 and table.loc["H", "supported"] == 0.5


@pytest.mark.slow
def test_a_hypothesis_runs_in_every_world_and_its_effect_is_emulated(tmp_path):
    src = folder(tmp_path / "hyp", {"A.toml": HYPOTHESIS.format(id="A", word="cuts", expect="decrease")})
    (tmp_path / "w.toml").write_text(WORLDS)
    h = load_hypothesis(src / "A.toml").use(quick=True)
    found = run_worlds([h], load_worlds(tmp_path / "w.toml"), 12, tmp_path / "out", execution=Execution(2))
    assert found.emulated and sorted(found.verdicts["world"]) == list(range(12))
    assert set(found.verdicts["verdict"]) <= {"supported", "not supported", "inconclusive"}
    assert len(found.effects) == 24 and found.effects["mean"].notna().all()  # the contrast and the check
    (sales, check) = found.reports["A"]
    assert (sales.name, sales.role, sales.relative, check.role) == ("sales", "test", True, "check")
    assert 0 <= sales.summary["share_supported"] <= 1 and len(sales.sobol) == 2
    assert found.rules["A"][0].startswith("sales: ")
    again = run_worlds([h], load_worlds(tmp_path / "w.toml"), 12, tmp_path / "out", resume=True)
    pd.testing.assert_frame_equal(found.verdicts, again.verdicts)  # resumed: nothing new is run
    pd.testing.assert_frame_equal(found.effects, again.effects)
    few = run_worlds([h], load_worlds(tmp_path / "w.toml"), 4, tmp_path / "few", execution=Execution(2))
    assert not few.emulated and (few.verdicts["verdict"] == few.verdicts["own_verdict"]).all()
    # the report: its table, its sentences and its files come from these results
    from dataclasses import replace

    from sim.experiments.study import HypothesesPlan, run_hypotheses
    from sim.reporting.hypotheses import write_report

    at_defaults = run_hypotheses([h], HypothesesPlan(tmp_path / "defaults"))
    write_report(replace(at_defaults, across=found), tmp_path / "report")
    text = (tmp_path / "report" / "report.md").read_text()
    share = shares(found.verdicts).loc["A"]
    assert "## Across 12 plausible worlds" in text and f"| {share['supported']:.0%} |" in text
    assert "in place of the registry's priors: `candidate_pool`, `discount_factor_mean`." in text
    (line,) = [x for x in text.splitlines() if x.startswith("- A (")]
    assert f"supported in {share['supported']:.0%} of 12 worlds" in line
    table = pd.read_csv(tmp_path / "report" / "worlds.csv")
    assert {"plausible", "A: sales", "A: sales (emulated)", "A", "A (own replications)"} <= set(table.columns)
    assert (tmp_path / "report" / "figures" / "effects_across_worlds.png").stat().st_size > 5000


def test_fitted_parameters_come_from_the_posterior_sample_the_others_from_the_hypercube(tmp_path):
    sample = pd.DataFrame({"discount_factor_mean": np.linspace(0.4, 0.5, 50), "order_rate": np.linspace(0.2, 0.3, 50)})
    sample.to_csv(tmp_path / "posterior.csv", index=False)
    (tmp_path / "w.toml").write_text('posterior = "posterior.csv"\n' + WORLDS)
    worlds = load_worlds(tmp_path / "w.toml")
    table = draw(worlds, 20)
    pd.testing.assert_frame_equal(table, draw(worlds, 20))  # seeded
    assert worlds.names == ["discount_factor_mean", "order_rate", "candidate_pool"]
    # Each world is one posterior draw (its parameters together, as the calibration found them), no row twice.
    pairs = set(zip(sample["discount_factor_mean"], sample["order_rate"], strict=True))
    drawn = list(zip(table["discount_factor_mean"], table["order_rate"], strict=True))
    assert set(drawn) <= pairs and len(set(drawn)) == 20
    assert table["candidate_pool"].between(600, 20000).all()  # not in the posterior: still the hypercube's


@pytest.mark.parametrize(
    ("csv", "words"),
    [
        (None, ["no file", "klad calibrate"]),
        ("n_buyers\n100\n", ["n_buyers", "not an uncertainty"]),
        ("order_rate\n0.2\n\n", None),  # a blank line is fine
        ("order_rate\n99\n", ["order_rate"]),
        ("order_rate,discount_factor_mean\n0.2,\n", ["without gaps"]),
    ],
)
def test_a_bad_posterior_file_is_named(tmp_path, csv, words):
    if csv is not None:
        (tmp_path / "posterior.csv").write_text(csv)
    (tmp_path / "w.toml").write_text('posterior = "posterior.csv"\n' + WORLDS)
    if words is None:
        assert load_worlds(tmp_path / "w.toml").posterior["order_rate"].tolist() == [0.2]
        return
    with pytest.raises(ParameterError) as err:
        load_worlds(tmp_path / "w.toml")
    message = str(err.value)
    assert all(w in message for w in words) and "\n" not in message, message
    assert message.startswith(f"{tmp_path / 'w.toml'}: posterior"), message


def test_a_joint_posterior_s_whole_numbers_are_rounded(tmp_path):
    pd.DataFrame({"candidate_pool": [2502.34, 9000.6], "mirror_delay": [0.4, 6.6]}).to_csv(
        tmp_path / "posterior.csv", index=False)  # fmt: skip
    (tmp_path / "w.toml").write_text('posterior = "posterior.csv"\n' + WORLDS)
    table = draw(load_worlds(tmp_path / "w.toml"), 2)
    assert sorted(table["candidate_pool"]) == [2502, 9001] and sorted(table["mirror_delay"]) == [0, 7]
    assert table["candidate_pool"].dtype.kind == "i"


def test_the_posterior_sample_may_carry_its_runs_bookkeeping(tmp_path):
    pd.DataFrame({"run": [3, 9], "seed": [11, 12], "order_rate": [0.2, 0.25], "distance": [0.1, 0.3]}).to_csv(
        tmp_path / "posterior.csv", index=False)  # fmt: skip
    (tmp_path / "w.toml").write_text('posterior = "posterior.csv"\n' + WORLDS)
    assert list(load_worlds(tmp_path / "w.toml").posterior.columns) == ["order_rate"]


def test_worlds_run_only_the_arms_of_the_deciding_tests(tmp_path):
    from tests.test_hypotheses import with_a_detail

    src = folder(tmp_path / "hyp", {"E.toml": with_a_detail("E")})
    (tmp_path / "w.toml").write_text(WORLDS)
    h = load_hypothesis(src / "E.toml").use(quick=True)
    found = run_worlds([h], load_worlds(tmp_path / "w.toml"), 3, tmp_path / "out", execution=Execution(2))
    worlds = len(found.verdicts)
    assert worlds == 3 and "a milder crackdown" not in set(found.effects["test"])
    runs = list((tmp_path / "out" / "runs").glob("*.parquet"))
    assert len(runs) == worlds * 2 * 2  # base and hot, two replications each: the detail's arm is not run


def test_a_run_s_worlds_table_gives_its_plausible_worlds(tmp_path):
    """What ``klad optimize`` reads of a ``klad hypotheses --worlds`` run: the plausible rows, the uncertainties."""
    from sim.experiments.worlds import plausible_worlds

    table = pd.DataFrame({"world": [0, 1, 2], "order_rate": [0.2, 0.21, 0.22], "candidate_pool": [900.0, 1200, 5000],
                          "plausible": [True, False, True], "outside": ["", "sale_convictions@730", ""],
                          "H1": ["supported", "inconclusive", "supported"]})  # fmt: skip
    table.to_csv(tmp_path / "worlds.csv", index=False)
    kept = plausible_worlds(tmp_path / "worlds.csv", "test")
    assert list(kept.columns) == ["order_rate", "candidate_pool"] and kept["order_rate"].tolist() == [0.2, 0.22]
    table.assign(plausible=False).to_csv(tmp_path / "none.csv", index=False)
    with pytest.raises(ParameterError, match="no plausible world"):
        plausible_worlds(tmp_path / "none.csv", "test")
    table.drop(columns=["plausible", "outside", "H1", "world"]).to_csv(tmp_path / "posterior.csv", index=False)
    assert len(plausible_worlds(tmp_path / "posterior.csv", "test")) == 3  # a posterior sample: every row
