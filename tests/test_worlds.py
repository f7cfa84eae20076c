"""Plausible worlds: the Latin hypercube, the file's checks, and the rules that name what decides a verdict."""

import numpy as np
import pandas as pd
import pytest

from sim.experiments.execute import Execution
from sim.experiments.hypotheses import load_hypothesis
from sim.experiments.worlds import decisive, draw, load_worlds, run_worlds, shares
from sim.params import ParameterError
from tests.test_hypotheses import HYPOTHESIS, ROOT, folder

WORLDS = """
seed = 4
replications = 2
[uncertainties]
discount_factor_mean = { range = [0.3, 0.9] }
candidate_pool = { range = [600, 20000], scale = "log" }
"""


def test_the_shipped_worlds_file_loads_and_stays_inside_the_registry():
    worlds = load_worlds(ROOT / "experiments" / "worlds.toml")
    table = draw(worlds, 32)
    fitted = list(worlds.posterior.columns)  # the calibration's sample, shipped beside the targets
    assert {"order_rate", "courier_detection"} <= set(fitted)
    for name, (low, high) in worlds.ranges.items():
        if name not in fitted:
            assert table[name].between(low, high).all(), name
    for name in fitted:
        assert table[name].isin(worlds.posterior[name]).all(), name


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


def test_the_tree_names_the_parameter_that_decides():
    rng = np.random.default_rng(5)
    table = pd.DataFrame({"world": range(40), "a": rng.random(40), "b": rng.random(40)})
    verdict = np.where(table["b"] > 0.6, "not supported", "supported")
    verdicts = pd.DataFrame({"world": range(40), "hypothesis": "H", "verdict": verdict})
    rules = decisive(table, verdicts, ["a", "b"], depth=1)
    (against,) = [r for r in rules if r.startswith("not supported where b > ")]
    assert 0.5 < float(against.split("> ")[1].split(" ")[0]) < 0.7
    assert against.endswith(f"({(table['b'] > 0.6).sum()} of {(table['b'] > 0.6).sum()} worlds)")
    assert any(rule.startswith("supported where b <= ") for rule in rules), rules
    same = verdicts.assign(verdict="supported")
    assert decisive(table, same, ["a", "b"]) == ["supported in every world"]
    assert shares(verdicts).loc["H", "worlds"] == 40


@pytest.mark.slow
def test_a_hypothesis_runs_in_every_world(tmp_path):
    src = folder(tmp_path / "hyp", {"A.toml": HYPOTHESIS.format(id="A", word="cuts", expect="decrease")})
    (tmp_path / "w.toml").write_text(WORLDS)
    h = load_hypothesis(src / "A.toml").use(quick=True)
    found = run_worlds([h], load_worlds(tmp_path / "w.toml"), 4, tmp_path / "out", execution=Execution(2))
    assert sorted(found.verdicts["world"]) == [0, 1, 2, 3]
    assert set(found.verdicts["verdict"]) <= {"supported", "not supported", "inconclusive"}
    assert found.rules["A"]
    again = run_worlds([h], load_worlds(tmp_path / "w.toml"), 4, tmp_path / "out", resume=True)
    pd.testing.assert_frame_equal(found.verdicts, again.verdicts)  # resumed: nothing new is run


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


def test_the_posterior_sample_may_carry_its_runs_bookkeeping(tmp_path):
    pd.DataFrame({"run": [3, 9], "seed": [11, 12], "order_rate": [0.2, 0.25], "distance": [0.1, 0.3]}).to_csv(
        tmp_path / "posterior.csv", index=False)  # fmt: skip
    (tmp_path / "w.toml").write_text('posterior = "posterior.csv"\n' + WORLDS)
    assert list(load_worlds(tmp_path / "w.toml").posterior.columns) == ["order_rate"]
