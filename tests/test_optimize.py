"""klad optimize: NSGA-II finds a known front through the same code path as the market; bad files are one line."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.experiments.optimize import OptimizePlan, load_optimisation, regret, search
from sim.params import ParameterError

ROOT = Path(__file__).resolve().parent.parent
TOY = ROOT / "tests" / "data" / "optimize_toy.toml"
#: The largest inverted generational distance to ZDT1's true front within the budget (f1 <= 0.5) accepted from
#: 20 x 25 evaluations; the search reaches about 0.005.
IGD_TOLERANCE = 0.02


def klad(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "sim", *args], capture_output=True, text=True, cwd=cwd)


def test_the_toy_front_is_the_true_front_within_the_budget(tmp_path):
    from pymoo.indicators.igd import IGD

    opt = load_optimisation(TOY)
    found = search(opt, OptimizePlan(tmp_path / "out"))
    f1 = np.linspace(0.0, 0.5, 1000)  # ZDT1's front is f2 = 1 - sqrt(f1); the budget keeps f1 <= 0.5
    truth = np.column_stack([f1, 1.0 - np.sqrt(f1)])
    front = found.front[["f1", "f2"]].to_numpy()
    assert len(front) >= 20
    assert front[:, 0].max() <= 0.5  # nothing over the budget
    assert IGD(truth)(front) < IGD_TOLERANCE
    # today's allocation (the ranges' middle: f1 = 0.5, f2 = 3.84) is far behind the front
    assert found.regret["regret"] > 0.5 and found.regret["dominated_by"] == len(front)


def test_a_resumed_search_finds_the_same_front_without_running_again(tmp_path):
    opt = load_optimisation(TOY)
    first = search(opt, OptimizePlan(tmp_path / "out"))
    stamps = {p: p.stat().st_mtime_ns for p in (tmp_path / "out" / "evaluations").glob("*.parquet")}
    again = search(opt, OptimizePlan(tmp_path / "out", resume=True))
    pd.testing.assert_frame_equal(first.front, again.front)
    assert stamps == {p: p.stat().st_mtime_ns for p in stamps}  # every evaluation was read, none run again


def test_regret_is_the_largest_improvement_one_front_point_gives_in_every_objective():
    opt = load_optimisation(TOY)
    front = pd.DataFrame({"x1": [0.0, 0.0], "x2": [0.0, 0.0], "x3": [0.0, 0.0], "f1": [0.0, 0.4],
                          "f2": [1.0, 0.2]})  # fmt: skip
    today = pd.Series({"x1": 0.5, "x2": 0.5, "x3": 0.5, "f1": 0.5, "f2": 1.0, "cost_kzt": 0.5, "feasible": True})
    found = regret(opt, front, today)
    # ranges over the front and today: f1 0.5, f2 0.8; point 1 improves by (0.1/0.5, 0.8/0.8) -> 0.2
    assert found["regret"] == pytest.approx(0.2) and found["closest"]["front_point"] == 1
    assert found["dominated_by"] == 2  # point 0 is as good in f2 and better in f1
    on_front = regret(opt, front, pd.Series({**today, "f1": 0.0, "f2": 1.0}))
    assert on_front["regret"] == 0.0


@pytest.mark.slow
def test_klad_optimize_writes_the_front_its_figure_and_the_regret(tmp_path):
    small = tmp_path / "toy.toml"
    small.write_text(
        TOY.read_text().replace("population = 20", "population = 8").replace("generations = 25", "generations = 2")
    )
    out = tmp_path / "out"
    res = klad("optimize", str(small), "--out", str(out), "--workers", "1", "--quiet")
    assert res.returncode == 0, res.stderr
    assert "expected time" in res.stderr and "regret of today's allocation" in res.stdout
    front = pd.read_csv(out / "front.csv")
    assert {"x1", "x2", "x3", "f1", "f2", "cost_kzt", "generation"} <= set(front.columns) and len(front) >= 1
    pd.testing.assert_frame_equal(pd.read_parquet(out / "front.parquet"), front, check_dtype=False)
    assert (out / "front.png").read_bytes()[:4] == b"\x89PNG"
    assert json.loads((out / "regret.json").read_text())["regret"] >= 0
    text = (out / "report.md").read_text()  # the front as a table, today's allocation first, with units
    assert "| policy | x1 | x2 | x3 |" in text and "| today's allocation |" in text and "| front 1 |" in text
    assert "KZT/year" in text and "![the front](front.png)" in text
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["optimisation"]["model"] == "toy" and manifest["git"] and manifest["finished"]
    from sim.reporting.numbers import block  # what the docs show of it: generated, not typed

    shown = block("out", root=tmp_path)
    assert f"{len(front)} policies on the front" in shown and "| front 1 |" in shown and "regret" in shown
    again = klad("optimize", str(small), "--out", str(out), "--workers", "1", "--quiet")
    assert again.returncode == 2 and "--resume" in again.stderr
    resumed = klad("optimize", str(small), "--out", str(out), "--workers", "1", "--quiet", "--resume")
    assert resumed.returncode == 0, resumed.stderr


MARKET = """
scenario = "{baseline}"
budget_kzt = 3e9
objectives = ["grams_sold_median", "grams_sold_worst_tenth", "prisoner_years", "cost_kzt"]
[variables]
police_budget = [50.0, 200.0]
prevention = [0.0, 1.0]
"""


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (("budget_kzt = 3e9", "budget_kzt = 3e9\nbudget = 1"), "unknown key 'budget'"),
        (("police_budget = [50.0, 200.0]", "police_budgets = [50.0, 200.0]"), "variables.police_budgets"),
        (("prevention = [0.0, 1.0]", "prevention = [0.0, 2.0]"), "variables.prevention = [0, 2] is outside"),
        (("prevention = [0.0, 1.0]", "order_rate = [0.1, 0.2]"), "order_rate' is not a policy lever"),
        (("budget_kzt = 3e9", "budget_kzt = 0"), "'budget_kzt' = 0.0 is invalid"),
        (
            ('objectives = ["grams_sold_median", "grams_sold_worst_tenth", "prisoner_years", "cost_kzt"]', ""),
            "'objectives' is missing",
        ),
        (("prisoner_years", "prisoners"), "'prisoners' is not an objective"),
    ],
)
def test_a_bad_optimisation_file_is_one_line_naming_the_file_and_key(tmp_path, change, says):
    path = tmp_path / "bad.toml"
    path.write_text(MARKET.format(baseline=ROOT / "scenarios" / "baseline.toml").replace(*change))
    with pytest.raises(ParameterError, match=str(path)) as caught:
        load_optimisation(path)
    assert says in str(caught.value)
    if "unknown key" in says or "outside" in says:  # and through the command: exit code 2, one line
        res = klad("optimize", str(path), "--out", str(tmp_path / "out"), "--quiet")
        assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1, res.stderr
        assert str(path) in res.stderr and says in res.stderr and "Traceback" not in res.stderr


@pytest.mark.slow
def test_a_tiny_market_search_runs_within_its_budget(tmp_path):
    path = tmp_path / "market.toml"
    city = "params = { n_buyers = 1000, n_shops = 2, n_couriers = 20, n_labs = 1 }\n"
    short = "days = 30\npolicy_start_day = 10\nreplications = 1\n"
    text = MARKET.format(baseline=ROOT / "scenarios" / "baseline.toml")
    path.write_text(city + short + text + "[algorithm]\npopulation = 4\ngenerations = 1\n")
    opt = load_optimisation(path)
    found = search(opt, OptimizePlan(tmp_path / "out"))
    assert len(found.evaluations) == 5  # today's allocation and a population of 4
    assert (found.evaluations["failed_runs"] == 0).all()
    assert found.evaluations["grams_sold_median"].gt(0).all() and found.evaluations["cost_kzt"].gt(0).all()
    assert found.today["police_budget"] == opt.today["police_budget"]
    from sim.experiments.execute import Execution

    elsewhere = search(opt, OptimizePlan(tmp_path / "two"), Execution(2))  # two processes: the same numbers
    pd.testing.assert_frame_equal(found.evaluations, elsewhere.evaluations)
