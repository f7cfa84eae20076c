"""Every table of the reports says what its numbers are measured in: a unit column, or units in its headers.

A parameter's unit comes from the registry (``sim.params.REGISTRY``), an output's from the metrics' units
(``sim.model.metrics.UNITS``, as the scenario reports use them), and a relative effect is a share of the
reference arm's mean.
"""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from sim.reporting.format import RELATIVE, metric_unit

ROOT = Path(__file__).resolve().parent.parent


def tables(text: str) -> list[list[str]]:
    """The header cells of each Markdown table of ``text``."""
    lines = text.splitlines()
    return [[c.strip() for c in line.strip().strip("|").split("|")]
            for line, below in zip(lines, lines[1:], strict=False)
            if line.startswith("|") and below.startswith("|---")]  # fmt: skip


def headers(text: str) -> dict[str, list[str]]:
    """Each Markdown table of ``text`` by its first header cell (the last of several such): its header cells."""
    return {cells[0]: cells for cells in tables(text)}


def carries_units(cells: list[str]) -> bool:
    """A header with a unit column (``unit``, ``unit of the margin``), or with units in brackets."""
    return any(c.startswith("unit") for c in cells) or any("(" in c and ")" in c for c in cells[1:])


@pytest.mark.parametrize(
    ("expr", "unit"),
    [("grams_sold", "g/day"), ("arrests_buyer + arrests_courier", "arrests/day"), ("1 - persons_latency",
     "share of people"), ("repeat_couriers / active_couriers", "ratio"), ("courier_vacancies / vacancies_filled",
     "days"), ("vacancy_days / vacancies_filled", "days"), ("arrests_operator / (arrests_courier + arrests_lab)",
     "ratio"), ("rearrests_courier / repeat_couriers", "arrests/day per couriers"), ("no_such_metric", "–")],
)  # fmt: skip
def test_a_metric_expression_has_the_unit_of_its_metrics(expr, unit):
    assert metric_unit(expr) == unit


def _test_row(**changes) -> dict:
    row = {"test": "volume falls", "role": "test", "kind": "contrast", "metric": "grams_sold",
           "comparison": "policy - baseline", "expect": "decrease", "estimate": -120.0, "ci_low": -150.0,
           "ci_high": -90.0, "relative": -0.2, "margin_or_threshold": 30.0, "relative_to": "baseline",
           "reference": 600.0, "verdict": "supported", "mde": 20.0, "mde_relative": 0.033, "level": 0.95,
           "margin switch_low": 0.05, "margin switch_high": 0.25, "trend_per_year": math.nan}  # fmt: skip
    for step in ("0m", "0.5m", "1m", "1.5m", "2m"):
        row[f"margin {step}"] = "supported"
    return {**row, **changes}


def test_hypotheses_report_tables_carry_units():
    from sim.reporting import hypotheses as report

    rows = [_test_row(), _test_row(test="buyers", metric="active_buyers", relative_to=None, relative=math.nan)]
    tests = headers("\n".join(report._tests_table(rows)))["test"]
    assert "unit" in tests and f"relative ({RELATIVE})" in tests and "estimate (unit)" in tests
    table = "\n".join(report._tests_table(rows))
    assert "| `grams_sold` | g/day |" in table and "| `active_buyers` | users |" in table

    horizons = pd.DataFrame([{"test": r["test"], "years": 1, "day": 400, "relative": r["relative"],
                              "estimate": r["estimate"], "verdict": "supported", "hypothesis_verdict": "supported"}
                             for r in rows])  # fmt: skip
    judged = SimpleNamespace(results=rows, horizons=horizons, window=SimpleNamespace(days=365), trends={},
                             verdict="supported", regime=pd.DataFrame())  # fmt: skip
    h = SimpleNamespace(alternatives=[SimpleNamespace(name="other", alternative="another way", assumption="one way",
                                                      source="a source", values={"order_rate": 0.2})])  # fmt: skip
    text = "\n".join(report._margins_and_horizons(h, judged) + report._alternatives_lines(h, judged, None))
    found = headers(text)
    assert "unit of the margin" in found["test"]
    assert f"volume falls ({RELATIVE})" in found["years after the policy"] and "buyers (users)" in found[
        "years after the policy"]  # fmt: skip
    assert f"volume falls ({RELATIVE})" in found["assumption"] and "buyers (users)" in found["assumption"]
    assert all(carries_units(cells) for cells in found.values()), found


def test_sweep_indices_carry_the_output_s_unit(tmp_path):
    from sim.experiments.sensitivity import Analysis, overlaps
    from sim.experiments.sweep import SweepPlan, SweepResult, load_experiment
    from sim.reporting.sweep import report

    exp = load_experiment(ROOT / "experiments" / "sensitivity_small.toml")
    runs = pd.DataFrame({"run": range(4), "point": range(4), "rep": 0, "status": "ok", "grams_sold": 1.0})
    rows = [("grams_sold", "order_rate", "mu_star", 70.0, 4.0), ("grams_sold", "order_rate", "sigma", 9.0, math.nan)]
    table = pd.DataFrame(rows, columns=["output", "parameter", "index", "value", "conf"])
    table["ci_low"], table["ci_high"] = table["value"] - table["conf"], table["value"] + table["conf"]
    analysis = Analysis(table, overlaps(table), pd.DataFrame(), None, {}, {}, {})
    text = report(SweepResult(exp, SweepPlan(tmp_path), runs, analysis), tmp_path)
    assert "unit" in headers(text)["output"]
    assert "| grams_sold | order_rate | mu_star | g/day |" in text


def test_calibration_report_tables_carry_units(tmp_path):
    from sim.experiments.calibration import CalibrationPlan, calibrate, toy_statistics
    from sim.params import REGISTRY
    from sim.reporting.calibration import write_calibration

    priors = {"order_rate": (0.1, 0.4), "buyer_detection": (0.0002, 0.002), "courier_detection": (0.00003, 0.0004)}
    clean = toy_statistics({"order_rate": 0.22, "buyer_detection": 0.0008, "courier_detection": 0.00012}, 0)
    text = ""
    for stat in ("national_volume_t", "national_arrests"):
        m = float(clean[stat])
        text += (f'[[target]]\nid = "{stat}"\ndescription = "the toy at known values"\nrange = [{m / 1.25!r}, '
                 f'{m * 1.25!r}]\nunit = "-"\nsource = "synthetic"\nreliability = "exact"\nstatistic = "{stat}"\n'
                 'role = "fit"\nmissable = "synthetic"\n\n')  # fmt: skip
    for name, (low, high) in priors.items():
        text += f'[fit.{name}]\nprior = [{low!r}, {high!r}]\nreason = "-"\n'
    (tmp_path / "targets.toml").write_text(text)
    scenario = tmp_path / "city.toml"
    scenario.write_text("[params]\nn_buyers = 1500\n")
    plan = CalibrationPlan(tmp_path / "targets.toml", budget=30, days=1, seed=3, check_reps=2, ppc_runs=4,
                           posterior_size=200, compare=True, model="sim.experiments.calibration:toy_statistics",
                           out=tmp_path / "cal")  # fmt: skip
    write_calibration(calibrate(scenario, plan), tmp_path / "cal")
    report = (tmp_path / "cal" / "report.md").read_text()
    found = tables(report)
    assert len(found) >= 5 and all(carries_units(cells) for cells in found), found
    assert any("(SD of the log statistic)" in " ".join(cells) for cells in found)
    assert f"| `order_rate` | {REGISTRY['order_rate'].unit} |" in report


def test_generated_blocks_carry_units():
    from sim.reporting.numbers import block

    folders = [p for p in (ROOT / "docs" / "results").iterdir() if (p / "manifest.json").exists()]
    assert folders
    for folder in folders:
        found = tables(block(str(folder.relative_to(ROOT))))
        assert found, folder
        for cells in found:
            assert carries_units(cells), (folder.name, cells)
