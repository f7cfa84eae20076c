"""Whole-model properties: the API, conservation of grams, determinism."""

import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import sim
from sim.model.roles.buyers import Buyer
from sim.model.roles.couriers import Courier
from sim.model.roles.labs import Lab
from sim.model.roles.police import Police
from sim.model.roles.shops import Operator

REQUIRED = (
    "grams_sold transactions price_per_gram active_storefronts blocked_storefronts mirrors_opened active_shops "
    "active_couriers active_labs active_buyers new_buyers arrests_buyer arrests_courier arrests_operator arrests_lab "
    "convictions prisoners grams_seized not_found_rate latency courier_vacancies"
).split()


def test_api_one_row_per_day_with_required_columns(small_model):
    small_model.run_for(20)
    small_model.step()
    df = small_model.daily().drop(columns="day")
    assert len(df) == 21
    assert set(REQUIRED) <= set(df.columns)
    assert df[REQUIRED].notna().all().all()


def test_all_five_roles_are_mesa_agents_in_agentsets(small_model):
    for role in (Buyer, Courier, Operator, Lab, Police):
        assert len(small_model.agents_by_type[role]) > 0
    buyer = small_model.agents_by_type[Buyer][0]
    buyer.perceived_risk = 0.25  # an agent's attributes are its row in the role's arrays
    assert small_model.buyers.perceived_risk[buyer.row] == 0.25


def test_every_agent_in_the_market_has_its_view_when_agents_are_asked_for(small_model):
    """Agent objects are made lazily, but whoever asks sees one per row still in the market, arrivals included."""
    small_model.run_for(30)
    for roster, role in ((small_model.buyers, Buyer), (small_model.couriers, Courier)):
        agents = small_model.agents_by_type[role]
        in_market = np.flatnonzero(~roster.departed())
        assert len(agents) == len(in_market) > 0 and roster.departed().any()
        assert sorted(a.row for a in agents) == list(in_market)
        assert all(roster.agent(i).row == i for i in (in_market[0], in_market[-1]))
    newest = small_model.couriers.agents[-1]
    assert newest in small_model.agents and newest.state == small_model.couriers.state[newest.row]
    assert newest.uid == small_model.couriers.uid[newest.row]


def test_views_show_every_field_of_their_role(small_model):
    for roster in small_model.rosters():
        view = roster.agents[0]
        for name in roster.agent_class.fields:
            column = getattr(roster, name)
            value = getattr(view, name)
            assert value == (column[view.row].tolist() if column.ndim > 1 else column[view.row])


def test_departed_agents_leave_mesa_and_their_rows_are_compacted_without_changing_the_run(monkeypatch):
    """Dropping departed rows (every day, here) renumbers references and changes nothing else."""
    import sim.model.engine.roster as roster_module

    params = {"n_buyers": 1500, "n_shops": 3, "n_couriers": 36, "n_labs": 2, "severity_multiplier": 0.02,
              "recovery_rate": 0.02, "candidate_exit_rate": 0.02}  # fmt: skip
    plain = sim.KladMarket(params, rng=5)
    plain.run_for(120)
    monkeypatch.setattr(roster_module, "COMPACT_MIN_ROWS", 1)
    monkeypatch.setattr(roster_module, "COMPACT_SHARE", 0.0)
    monkeypatch.setattr(roster_module, "COMPACT_EVERY", 1)
    compact = sim.KladMarket(params, rng=5)
    compact.agents  # noqa: B018 - views exist, so they must be renumbered too
    compact.run_for(120)
    pd.testing.assert_frame_equal(compact.daily(), plain.daily())
    assert len(compact.couriers) < len(plain.couriers) and len(compact.buyers) < len(plain.buyers)
    assert not compact.couriers.departed().any() and not compact.buyers.departed().any()
    assert compact.daily()["prisoners_courier"].iloc[-1] > 0  # references to couriers in the case ledger survived
    for roster in (compact.couriers, compact.buyers):
        views = roster.agents
        assert [v.row for v in views] == list(range(len(roster)))
        assert all(v.uid == roster.uid[v.row] for v in views)
    alive = {int(u) for u in plain.couriers.uid[~plain.couriers.departed()]}
    assert {int(u) for u in compact.couriers.uid} == alive


def test_default_city_scale():
    p = sim.params.defaults()
    assert p["n_buyers"] >= 10_000


def conservation_gap(model):
    c = model.cumulative
    stock = model.metrics.grams_in_stock
    return c["produced"] - (c["sold"] + c["seized"] + c["lost"] + stock)


@pytest.mark.parametrize(
    "scenario",
    [
        {},
        {"targeting_mode": "statistics", "abroad_share": 0.0, "lead_probability": 0.5},
        {"precursor_interdiction": 1.0, "police_budget": 400.0, "mirror_delay": 0},
    ],
)
def test_conservation_of_grams_every_day(small_params, scenario):
    model = sim.KladMarket({**small_params, **scenario}, rng=3)
    assert conservation_gap(model) == pytest.approx(0.0, abs=1e-6)
    start = model.metrics.grams_in_stock
    for _ in range(150):
        model.step()
        assert conservation_gap(model) == pytest.approx(0.0, abs=1e-6 * model.cumulative["produced"])
    df = model.daily().drop(columns="day")
    made = df["grams_produced"].sum() + df["grams_imported"].sum()  # imports stopped at the border count as seized
    flows = df["grams_sold"].sum() + df["grams_seized"].sum() + df["grams_lost"].sum()
    assert start + made == pytest.approx(flows + df["grams_in_stock"].iloc[-1])


def run_frame(params, seed, days=60):
    model = sim.KladMarket(params, rng=seed)
    model.run_for(days)
    return model.daily().drop(columns="day")


def test_same_seed_same_results_other_seed_differs(small_params):
    a, b = run_frame(small_params, 11), run_frame(small_params, 11)
    pd.testing.assert_frame_equal(a, b)
    assert not run_frame(small_params, 12).equals(a)


def test_same_results_in_a_separate_process_with_other_hash_seed(small_params, tmp_path):
    # Short sentences so that releases, repeat offences and all sentence types occur within the run.
    params = {**small_params, "severity_multiplier": 0.02}
    out = tmp_path / "daily.parquet"
    code = (
        "import sim; "
        f"m = sim.KladMarket({params!r}, rng=11); m.run_for(150); "
        f"m.daily().drop(columns='day').to_parquet({str(out)!r})"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
    pd.testing.assert_frame_equal(pd.read_parquet(out), run_frame(params, 11, days=150), check_index_type=False)


def test_seed_sequence_is_accepted(small_params):
    seq = np.random.SeedSequence(5).spawn(2)[1]
    a = sim.KladMarket(small_params, rng=np.random.default_rng(seq))
    b = sim.KladMarket(small_params, rng=np.random.default_rng(np.random.SeedSequence(5).spawn(2)[1]))
    a.run_for(10)
    b.run_for(10)
    assert a.daily().drop(columns="day").equals(b.daily().drop(columns="day"))


def test_policy_switches_on_at_start_day(small_params):
    model = sim.KladMarket({**small_params, "policy_start_day": 5, "policy": {"severity_multiplier": 3.0}}, rng=1)
    model.run_for(4)
    assert model.p.severity_multiplier == 1.0
    model.step()
    assert model.p.severity_multiplier == 3.0


def test_the_fields_of_day_are_written_from_the_metrics():
    """``Day``'s fields (declared for type checkers in ``sim/model/day_fields.py``) are ``FIELDS``, generated."""
    import dataclasses

    from sim.model.metrics import FIELDS, FIELDS_FILE, METRICS, Day, fields_source

    assert FIELDS_FILE.read_text(encoding="utf-8") == fields_source(), (
        "run `python -m sim.model.metrics` (or make docs)"
    )
    assert [(f.name, f.type, f.default) for f in dataclasses.fields(Day)] == [
        (name, kind.__name__, value) for name, kind, value in FIELDS
    ]
    day = vars(Day())  # what the data collector gets: one row, in the columns' order
    assert tuple(day) == METRICS and [type(v) for v in day.values()] == [kind for _, kind, _ in FIELDS]


def test_every_metric_has_a_unit_and_intervals_stay_where_a_metric_can_go():
    """Each daily metric has a unit for the reports, and a level's CI is cut (and marked) at 0 or at 1 for a share."""
    from sim.experiments.replications import ci_table
    from sim.model.metrics import METRICS, UNITS
    from sim.reporting.scenarios import headline_lines

    assert set(UNITS) == set(METRICS) and all(UNITS.values())
    summary = pd.DataFrame({"active_labs": [0.0, 0.0, 1.0, 9.0], "latency": [0.99, 1.0, 0.9, 1.0],
                            "grams_sold": [500.0, 510.0, 490.0, 505.0]})  # fmt: skip
    table = ci_table(summary, ("active_labs", "latency", "grams_sold")).set_index("metric")
    assert table.loc["active_labs", "ci_low"] == 0.0 and table.loc["active_labs", "cut"]  # the t interval: -4.5
    assert table.loc["latency", "ci_high"] == 1.0 and table.loc["latency", "cut"]
    assert not table.loc["grams_sold", "cut"] and 0 < table.loc["grams_sold", "ci_low"] < 500
    assert table.loc["grams_sold", "unit"] == "g/day" and table.loc["latency", "unit"] == "share of sales"
    derived = ci_table(pd.DataFrame({"change": [-5.0, -3.0, -4.0]}), ("change",)).iloc[0]  # no metric: no bounds
    assert derived["ci_low"] < derived["mean"] < derived["ci_high"] < 0 and not derived["cut"]
    lines = headline_lines(table.reset_index())
    assert "unit" in lines[0] and lines[1].endswith("*") and "cut" in lines[-1]
