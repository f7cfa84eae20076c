"""Targets, run statistics and the ABC calibration, down to recovering known parameters."""

import dataclasses
import json
import math
import pickle
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.experiments import sweep
from sim.experiments.calibration import (
    TOY_PARAMETERS,
    CalibrationPlan,
    accept_closest,
    calibrate,
    distances,
    log_interval,
    log_scaled,
    next_design,
    summarise_posterior,
    to_unit,
    toy_statistics,
    wave_sizes,
)
from sim.experiments.execute import Execution
from sim.experiments.sweep import Design, Experiment, design_matrix, run_chunk
from sim.experiments.targets import (
    SHOCK_STATISTICS,
    STATISTICS,
    Target,
    TargetRun,
    blocked_days,
    close_largest_shops,
    courier_conviction_hazard,
    failed_order_share,
    horizon_column,
    load_targets,
    national_arrests,
    operator_arrest_share,
    price_after_shop_exit,
    run_statistics,
    sales_after_shop_exit,
    shop_turnover_bn,
    simulate,
    stashes_per_batch,
)
from sim.io.provenance import fingerprint
from sim.model.market import KladMarket
from sim.params import ParameterError
from sim.reporting.calibration import write_calibration

ROOT = Path(__file__).resolve().parent.parent
TARGETS = ROOT / "scenarios" / "data" / "kazakhstan.toml"
SOURCES = ROOT / "docs" / "sources.md"


def frame(**columns):
    n = len(next(iter(columns.values())))
    base = {c: np.zeros(n) for c in ("arrests_buyer", "arrests_courier", "arrests_operator", "arrests_lab")}
    return pd.DataFrame({**base, **{k: np.asarray(v, dtype=float) for k, v in columns.items()}})


# ------------------------------------------------------------- statistics
def test_national_statistics_scale_city_days_to_country_years():
    w = frame(arrests_buyer=[2, 4], arrests_courier=[1, 1])
    assert national_arrests(w, {"national_scale_factor": 5.0}) == pytest.approx(4 * 365 * 5)
    assert national_arrests(w, {"national_scale_factor": 1.0}) == pytest.approx(4 * 365)


def test_batch_is_stashes_over_couriers_who_worked():
    w = frame(batch_stashes=[30, 0, 45], couriers_laying=[2, 0, 3])
    assert stashes_per_batch(w, {}) == 15.0
    assert math.isnan(stashes_per_batch(frame(batch_stashes=[0], couriers_laying=[0]), {}))


def test_turnover_is_yearly_revenue_per_active_shop():
    w = frame(revenue=[1e6, 3e6], active_shops=[2, 2])
    assert shop_turnover_bn(w, {}) == pytest.approx(2e6 * 365 / 2 / 1e9)


def test_operator_share_and_blocked_days():
    w = frame(arrests_courier=[3, 5], arrests_operator=[1, 0], arrests_lab=[0, 1])
    assert operator_arrest_share(w, {}) == pytest.approx(0.1)
    # Little's law: 6 storefronts blocked at any time, 2 reopen a day -> 3 days each
    assert blocked_days(frame(blocked_storefronts=[6, 6], mirrors_opened=[1, 3]), {}) == pytest.approx(3.0)


def test_failed_orders_and_courier_prison_risk():
    assert failed_order_share(frame(unmet_orders=[1, 3], orders=[10, 10]), {}) == pytest.approx(0.2)
    w = frame(convictions_courier=[1, 0, 0, 1], active_couriers=[100, 100, 100, 100])
    assert courier_conviction_hazard(w, {}) == pytest.approx(0.5 * 365 / 100)


def test_shop_exit_statistics_read_weeks_three_four_and_the_highest_weekly_price():
    before = pd.DataFrame({"transactions": [100.0] * 28, "price_per_gram": [20000.0] * 28})
    after = pd.DataFrame({"transactions": [50.0] * 14 + [90.0] * 14 + [100.0] * 28,
                          "price_per_gram": [20000.0] * 21 + [22000.0] * 7 + [21000.0] * 28})  # fmt: skip
    assert sales_after_shop_exit(before, after) == pytest.approx(0.9)
    assert price_after_shop_exit(before, after) == pytest.approx(1.1)


def test_closing_the_largest_shops_closes_three_in_ten_largest_first(small_params):
    model = KladMarket({**small_params, "n_shops": 10}, rng=3)
    model.run_for(30)
    active = np.flatnonzero(model.shops.active)
    largest = active[np.argsort(-model.shops.orders[active], kind="stable")[: max(1, round(0.3 * len(active)))]]
    assert close_largest_shops(model) == len(largest)
    assert not model.shops.active[largest].any() and model.shops.active.sum() == len(active) - len(largest)


def test_simulate_takes_every_statistic_at_each_horizon_and_the_experiment_leaves_the_run_alone(small_params):
    out = simulate(small_params, 1, days=120, run=TargetRun(horizons=(60, 120), window=30))
    names = {*STATISTICS, *SHOCK_STATISTICS}
    assert set(out) == names | {horizon_column(n, h) for n in names for h in (60, 120)}
    assert out["price_per_gram"] == out[horizon_column("price_per_gram", 120)] > 0
    alone = simulate(small_params, 1, days=120, run=TargetRun(window=30))  # no experiment at day 60
    assert all(alone[n] == out[n] or (math.isnan(alone[n]) and math.isnan(out[n])) for n in STATISTICS)
    with pytest.raises(ValueError, match="last target horizon"):
        simulate(small_params, 1, days=120, run=TargetRun(horizons=(60, 100)))


# ------------------------------------------------------------ targets file
def test_shipped_targets_load_and_cite_real_source_lines():
    targets = load_targets(TARGETS)
    assert {t.role for t in targets.targets} == {"fit", "pattern"}
    assert len(targets.by_role("pattern")) >= 2
    rows = re.findall(r"^\| (\d{3} L\d+)(?:-\d+)? \|", SOURCES.read_text(encoding="utf-8"), flags=re.MULTILINE)
    cited = 0
    for source in [t.source for t in targets.targets] + [n["source"] for n in targets.not_compared]:
        for doc, line in re.findall(r"\[(\d{3}) L(\d+)", source):
            assert f"{doc} L{line}" in rows, f"{source}: no row for {doc} L{line} in docs/sources.md"
            cited += 1
    assert cited >= len(targets.targets)


def test_target_z_is_zero_at_the_centre_and_one_at_the_ends():
    t = Target("x", "d", 100.0, 400.0, "u", "s", "r", "price_per_gram", "fit")
    assert t.z(200.0) == pytest.approx(0.0)
    assert t.z(400.0) == pytest.approx(1.0) and t.z(100.0) == pytest.approx(-1.0)
    assert t.z(0.0) == math.inf and t.contains(400.0) and not t.contains(401.0)


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (
            lambda s: s.replace('statistic = "shop_turnover_bn"', 'statistic = "turnover"'),
            ["shop_turnover", "turnover"],
        ),
        (lambda s: s.replace("range = [0.36, 1.42]", "range = [1.42, 0.36]"), ["shop_turnover", "range"]),
        (lambda s: s.replace('role = "fit"', 'role = "fitted"', 1), ["shop_turnover", "role"]),
        (lambda s: s.replace("[fit.order_rate]", "[fit.n_shops]"), ["fit.n_shops", "uncertainties"]),
        (
            lambda s: s.replace("[fit.order_rate]\n", "[fit.order_rate]\nprior = [0.1, 9.0]\n"),
            ["fit.order_rate", "allowed"],
        ),
        (lambda s: s.replace("[fit.order_rate]", "[fit.candidate_exit_rate]"), ["fit.candidate_exit_rate", "no prior"]),
        (lambda s: s.replace('unit = "bn KZT/shop/year"\n', "", 1), ["shop_turnover", "unit"]),
        (lambda s: s + "\n[[target\n", ["TOML"]),
        (lambda s: s.replace("horizons = [730, 1825]", "horizons = [1825, 730]"), ["horizons", "increasing"]),
        (lambda s: s.replace("horizons = [730, 1825]", "horizons = [400, 1825]"), ["horizons", "twice the window"]),
        (lambda s: s.replace("window = 365", "window = 3"), ["window", "28"]),
        (
            lambda s: s.replace('not_fitted = "From another market', 'nofit = "From', 1),
            ["courier_prison_risk", "nofit"],
        ),
        (lambda s: re.sub(r'not_fitted = "From another market[^\n]*\n', "", s), ["courier_prison_risk", "not_fitted"]),
        (lambda s: re.sub(r'missable = "Demand[^\n]*\n', "", s), ["shop_turnover", "missable"]),
        (lambda s: re.sub(r'missable = "Demand[^\n]*\n', 'missable = "  "\n', s), ["shop_turnover", "missable"]),
        (lambda s: s.replace('role = "fit"\n', 'role = "fit"\nnot_fitted = "x"\n', 1), ["shop_turnover", "role"]),
        (
            lambda s: re.sub(r'not_fitted = "From another market[^\n]*\n', 'not_fitted = " "\n', s),
            ["courier_prison_risk", "not_fitted"],
        ),
    ],
)
def test_bad_targets_file_names_file_and_key(tmp_path, edit, words):
    path = tmp_path / "t.toml"
    path.write_text(edit(TARGETS.read_text(encoding="utf-8")), encoding="utf-8")
    with pytest.raises(ParameterError) as err:
        load_targets(path)
    message = str(err.value)
    assert str(path) in message and "\n" not in message
    for word in words:
        assert word in message


# --------------------------------------------------------------------- ABC
def test_distance_and_acceptance():
    targets = [
        Target("a", "d", 1.0, 4.0, "u", "s", "r", "s1", "fit"),
        Target("b", "d", 10.0, 40.0, "u", "s", "r", "s2", "fit"),
    ]
    stats = pd.DataFrame({"s1": [2.0, 4.0, 2.0, np.nan], "s2": [20.0, 20.0, 80.0, 20.0]})
    d = distances(stats, targets)
    assert d[0] == pytest.approx(0.0) and d[1] == pytest.approx(0.5) and d[2] == pytest.approx(2.0)
    assert d[3] == np.inf
    assert accept_closest(d, 0.5).tolist() == [True, True, False, False]
    assert accept_closest(d, 0.01).sum() == 2  # never fewer than two


def test_posterior_summary_quantiles_and_width():
    accepted = pd.DataFrame({"x": np.linspace(2.0, 4.0, 101)})
    row = summarise_posterior(accepted, {"x": (0.0, 10.0)}).iloc[0]
    assert row["median"] == pytest.approx(3.0)
    assert row["q05"] == pytest.approx(2.1) and row["q95"] == pytest.approx(3.9)
    assert row["width_ratio"] == pytest.approx(0.18)


# ---------------------------------------------------------------- emulator
def test_log_interval_is_exact_in_the_middle_and_finite_in_the_tails():
    from scipy.stats import norm

    a, b = np.array([-1.0, 0.5, -3.0]), np.array([1.0, 2.0, -2.0])
    assert np.exp(log_interval(a, b)) == pytest.approx(norm.cdf(b) - norm.cdf(a), rel=1e-12)
    far = log_interval(np.array([40.0, -41.0]), np.array([41.0, -40.0]))  # both 1 or both 0 as plain cdfs
    assert np.all(np.isfinite(far)) and far[0] == pytest.approx(far[1]) and far[0] < -700


def test_parameters_go_to_the_unit_cube_on_a_log_scale_when_the_prior_spans_a_factor_of_four():
    priors = {"a": (1.0, 3.0), "b": (0.001, 0.1), "c": (-1.0, 1.0)}
    assert [log_scaled(*b) for b in priors.values()] == [False, True, False]
    unit = to_unit(np.array([[2.0, 0.01, 0.0], [3.0, 0.1, -1.0]]), priors)
    assert unit == pytest.approx(np.array([[0.5, 0.5, 0.5], [1.0, 1.0, 0.0]]))


def test_next_wave_mixes_prior_points_into_the_points_drawn_by_weight():
    weights = np.zeros(1000)
    weights[:10] = 0.1  # all the weight on ten candidates
    chosen = next_design(weights, 20, np.random.default_rng(1))
    assert len(set(chosen.tolist())) == 20  # no point twice
    assert (chosen < 10).sum() >= 10 and (chosen >= 10).sum() >= 4  # the weighted ten, and 20% from the prior
    assert wave_sizes(61, 3) == [21, 20, 20]


def test_a_sweep_runs_an_explicit_list_of_points_with_seeds_fixed_by_run_index(tmp_path):
    varied = {"order_rate": [0.1, 0.4], "buyer_detection": [0.0002, 0.002], "courier_detection": [3e-5, 4e-4]}
    points = [[0.2, 0.001, 1e-4], [0.3, 0.0005, 2e-4], [0.15, 0.0015, 5e-5]]
    how = {"reps": 1, "days": 1, "seed": 3, "model": "sim.experiments.calibration:toy_statistics"}
    runs = run_statistics({}, varied, design="points", samples=3, points=points, out=tmp_path / "a", **how)
    assert runs[list(varied)].to_numpy().tolist() == points
    first = run_statistics({}, varied, design="points", samples=1, points=points[:1], out=tmp_path / "b", **how)
    assert first["seed"].iloc[0] == runs["seed"].iloc[0]
    assert first["national_volume_t"].iloc[0] == runs["national_volume_t"].iloc[0]


def test_a_method_is_taken_as_its_word_refused_in_one_line_and_fingerprinted_as_its_word(tmp_path):
    from sim.experiments.calibration import Method, _check_method

    assert _check_method(CalibrationPlan(tmp_path / "t.toml", method="rejection")) is Method.REJECTION
    refused = r"^calibration: method 'magic' is unknown; allowed are emulator, rejection$"
    with pytest.raises(ParameterError, match=refused):
        _check_method(CalibrationPlan(tmp_path / "t.toml", method="magic"))
    assert fingerprint(method=Method.EMULATOR) == fingerprint(method="emulator")
    assert json.dumps(fingerprint(method=Method.EMULATOR)) == json.dumps(fingerprint(method="emulator"))


def test_a_statistics_run_gets_its_options_beside_its_parameters_and_keeps_its_fingerprint(monkeypatch):
    seen = []

    def model(params, seed, days=0, run=None):
        seen.append((params, run))
        return toy_statistics(params, seed, days)

    monkeypatch.setattr(sweep, "_entry_point", lambda spec, where="": model)
    varied = {"order_rate": [0.1, 0.4], "buyer_detection": [0.0002, 0.002], "courier_detection": [3e-5, 4e-4]}
    exp = Experiment(name="statistics", model="sim.experiments.calibration:toy_statistics", design=Design.POINTS,
                     samples=1, replications=1, days=120, outputs=["national_volume_t"], seed=3, varied=varied,
                     kinds=dict.fromkeys(varied, "uncertainty"), fixed={"n_buyers": 500},
                     points=[[0.2, 0.001, 1e-4]], run=TargetRun(horizons=(60, 120), window=30))  # fmt: skip
    exp = pickle.loads(pickle.dumps(exp))  # as a worker process gets it
    assert run_chunk(exp, design_matrix(exp), [0])["status"].tolist() == ["ok"]
    [(params, run)] = seen
    assert run == TargetRun(horizons=(60, 120), window=30) and set(params) == {"n_buyers", *varied}
    # Fingerprinted as when the options travelled among the fixed values, so such a sweep still resumes.
    old = dataclasses.replace(exp, run=None, fixed={"n_buyers": 500, "target_horizons": [60, 120], "target_window": 30})
    assert exp.fingerprint() == old.fingerprint()
    assert dataclasses.replace(exp, run=None).fingerprint() != exp.fingerprint()


#: A known point of the toy model and its priors (those of the shipped targets file).
TRUTH = {"order_rate": 0.22, "buyer_detection": 0.0008, "courier_detection": 0.00012}
PRIORS = {"order_rate": (0.1, 0.4), "buyer_detection": (0.0002, 0.002), "courier_detection": (0.00003, 0.0004)}
TOY = "sim.experiments.calibration:toy_statistics"


def synthetic_targets(path: Path, centres: dict[str, float], priors: dict[str, tuple], spread: float = 1.25) -> Path:
    """A targets file whose fit ranges run from centre / spread to centre x spread."""
    text = ""
    for stat, m in centres.items():
        text += (
            f'[[target]]\nid = "{stat}"\ndescription = "the model at known values"\nrange = [{m / spread!r}, '
            f'{m * spread!r}]\nunit = "-"\nsource = "synthetic"\nreliability = "exact"\nstatistic = "{stat}"\n'
            'role = "fit"\nmissable = "synthetic"\n\n'
        )
    for name, (low, high) in priors.items():
        text += f'[fit.{name}]\nprior = [{low!r}, {high!r}]\nreason = "-"\n'
    path.write_text(text)
    return path


@pytest.fixture
def toy_files(tmp_path, monkeypatch):
    import sim.experiments.calibration as calibration

    monkeypatch.setattr(calibration, "TOY_NOISE", 0.0)
    clean = toy_statistics(TRUTH, 0)  # the toy's statistics at the known point, without noise
    monkeypatch.undo()
    stats = ("national_volume_t", "national_arrests", "national_sale_convictions")
    targets = synthetic_targets(tmp_path / "targets.toml", {s: float(clean[s]) for s in stats}, PRIORS)
    scenario = tmp_path / "city.toml"
    scenario.write_text("[params]\nn_buyers = 1500\n")
    return targets, scenario


def test_emulator_recovers_known_parameters_with_narrower_intervals_than_rejection(tmp_path, toy_files):
    """The toy through the calibration's machinery: at the same 60 runs, over five seeds, the emulator's 90%
    intervals always hold the known values and are narrower on average than rejection ABC's, for every parameter
    (0.42/0.50, 0.28/0.33, 0.18/0.25 of the prior; narrower in 12 of the 15 pairs)."""
    targets, scenario = toy_files
    rows = []
    for seed in range(1, 6):
        plan = CalibrationPlan(targets, budget=60, days=1, seed=seed, check_reps=2, ppc_runs=10, compare=True,
                               model=TOY, out=tmp_path / f"cal{seed}")  # fmt: skip
        result = calibrate(scenario, plan)
        rows.append(result.comparison.assign(truth=[TRUTH[p] for p in result.comparison["parameter"]]))
    table = pd.concat(rows)
    assert ((table["q05"] <= table["truth"]) & (table["truth"] <= table["q95"])).all(), table
    widths = table.groupby("parameter")[["width_ratio", "rejection_width_ratio"]].mean()
    assert (widths["width_ratio"] < widths["rejection_width_ratio"]).all(), widths
    assert len(result.sample) == 1000 and list(result.sample.columns) == list(TOY_PARAMETERS)
    assert result.waves["runs"].tolist() == [20, 20, 20]
    assert result.runs["wave"].tolist() == [1] * 20 + [2] * 20 + [3] * 20
    assert (result.ppc["share_inside"] > 0.3).all()  # the posterior predicts the targets it was fitted to
    write_calibration(result, tmp_path / "cal5")
    for name in ("posterior.csv", "posterior.json", "ppc.csv", "fitted.toml", "comparison.csv", "figures/ppc.png"):
        assert (tmp_path / "cal5" / name).exists(), name
    report = (tmp_path / "cal5" / "report.md").read_text()
    assert "Against rejection ABC at the same budget" in report and "narrower for" in report
    assert "## Waves" in report and "## Posterior predictive check" in report


def test_same_seed_gives_the_same_posterior_and_a_resume_too(tmp_path, toy_files):
    targets, scenario = toy_files
    how = {"budget": 30, "days": 1, "seed": 9, "check_reps": 2, "ppc_runs": 4, "posterior_size": 200, "model": TOY}
    first = calibrate(scenario, CalibrationPlan(targets, out=tmp_path / "a", **how))
    again = calibrate(scenario, CalibrationPlan(targets, out=tmp_path / "b", **how))
    pd.testing.assert_frame_equal(first.sample, again.sample)
    write_calibration(first, tmp_path / "a")
    write_calibration(again, tmp_path / "b")
    assert (tmp_path / "a" / "posterior.csv").read_bytes() == (tmp_path / "b" / "posterior.csv").read_bytes()
    with pytest.raises(ParameterError, match="--resume"):
        calibrate(scenario, CalibrationPlan(targets, out=tmp_path / "a", **how))  # an earlier one is never mixed in
    for chunk in [*(tmp_path / "a" / "runs" / "wave_2" / "chunks").glob("*.parquet"), *(tmp_path / "a" / "ppc" /
                  "chunks").glob("*.parquet")][1:]:  # fmt: skip
        chunk.unlink()  # as if killed in wave 2: wave 3's points are derived again from the same runs
    for chunk in (tmp_path / "a" / "runs" / "wave_3").glob("chunks/*.parquet"):
        chunk.unlink()
    resumed = calibrate(scenario, CalibrationPlan(targets, out=tmp_path / "a", resume=True, **how))
    pd.testing.assert_frame_equal(resumed.sample, first.sample)
    pd.testing.assert_frame_equal(resumed.runs, first.runs)
    with pytest.raises(ParameterError, match="waves"):
        calibrate(scenario, CalibrationPlan(targets, out=tmp_path / "a", resume=True, **{**how, "waves": 2}))
    other = calibrate(scenario, CalibrationPlan(targets, out=tmp_path / "c", **{**how, "seed": 10}))
    assert not other.sample.equals(first.sample)


@pytest.mark.slow
def test_calibration_recovers_known_parameters_of_the_market(tmp_path):
    """Targets made by the market itself at known values, on a small city: the emulator finds them inside 90%
    intervals under half the prior's width, and gives the same posterior on two processes as on one.

    The three statistics vary little from run to run (0.04-0.07 on the log scale) against their ranges (+-10%),
    but enough that targets centred on three runs sat 5% off the market's mean at the known values (courier pay
    2,202 against 2,093 over twelve seeds), so the centres are means of twelve runs.
    Against rejection ABC at the same 60 runs the emulator is not narrower at every seed: over seeds 1-5 its mean
    interval / prior was 0.30, 0.28, 0.29, 0.36, 0.29 against rejection's 0.36, 0.32, 0.34, 0.34, 0.26, so it
    is not asserted here. Rejection's interval comes from six runs and changes much more from seed to seed (one
    of its fifteen missed the known value; none of the emulator's did).
    """
    city = {"n_buyers": 1500, "n_shops": 3, "n_couriers": 36, "n_labs": 1}
    truth = {"order_rate": 0.25, "reference_price": 20000.0, "courier_pay": 2000.0}
    priors = {"order_rate": (0.1, 0.4), "reference_price": (15000.0, 26000.0), "courier_pay": (1200.0, 3000.0)}
    days = 365
    scenario = tmp_path / "city.toml"
    scenario.write_text("[params]\n" + "".join(f"{k} = {v}\n" for k, v in city.items()))
    runs = [simulate({**city, **truth}, seed, days) for seed in range(101, 113)]  # the mean, not one seed's luck
    stats = ("national_volume_t", "price_per_gram", "courier_pay")
    centres = {stat: float(np.mean([r[stat] for r in runs])) for stat in stats}
    targets = synthetic_targets(tmp_path / "targets.toml", centres, priors, spread=1.1)
    how = {"budget": 60, "days": days, "seed": 5, "check_reps": 2, "ppc_runs": 10}
    result = calibrate(scenario, CalibrationPlan(targets, compare=True, out=tmp_path / "cal", **how), Execution(2))
    post = result.posterior.set_index("parameter")
    for name, value in truth.items():
        assert post.loc[name, "q05"] <= value <= post.loc[name, "q95"], (name, value, post.loc[name].to_dict())
    assert post["width_ratio"].max() < 0.5  # every parameter identified
    assert set(result.comparison["parameter"]) == set(truth)  # the comparison is reported, not asserted: see above
    write_calibration(result, tmp_path / "cal")
    assert (tmp_path / "cal" / "manifest.json").exists() and (tmp_path / "cal" / "figures" / "ppc.png").exists()
    fitted = (tmp_path / "cal" / "fitted.toml").read_text()
    assert f"order_rate = {result.fitted['order_rate']!r}" in fitted
    alone = calibrate(scenario, CalibrationPlan(targets, out=tmp_path / "one", **how))  # in this process: the same
    pd.testing.assert_frame_equal(alone.sample, result.sample)


@pytest.mark.slow
def test_klad_calibrate_writes_its_outputs_and_resumes(tmp_path):
    import subprocess
    import sys

    scenario = tmp_path / "city.toml"
    scenario.write_text("[params]\nn_buyers = 1500\nn_shops = 3\nn_couriers = 36\nn_labs = 1\n")
    out = tmp_path / "cal"
    args = [sys.executable, "-m", "sim", "calibrate", "--scenario", str(scenario), "--budget", "12",
            "--days", "60", "--check-reps", "2", "--ppc-runs", "3", "--posterior-size", "50", "--workers", "2",
            "--out", str(out), "--quiet"]  # fmt: skip
    res = subprocess.run(args, capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 0, res.stderr
    assert "about" in res.stdout.splitlines()[0] and "min" in res.stdout.splitlines()[0]  # the expected time, first
    files = ("fitted.toml", "posterior.csv", "posterior.json", "runs.parquet", "ppc.csv", "fit.csv", "report.md",
             "manifest.json", "figures/posterior.png", "figures/pairs.png", "figures/ppc.png")  # fmt: skip
    for name in files:
        assert (out / name).exists(), name
    assert len(pd.read_csv(out / "posterior.csv")) == 50
    first = pd.read_parquet(out / "runs.parquet")
    again = subprocess.run(args, capture_output=True, text=True, cwd=ROOT)
    assert again.returncode == 2 and "--resume" in again.stderr  # an earlier calibration is never mixed in silently
    resumed = subprocess.run([*args, "--resume"], capture_output=True, text=True, cwd=ROOT)
    assert resumed.returncode == 0, resumed.stderr
    pd.testing.assert_frame_equal(pd.read_parquet(out / "runs.parquet"), first)  # nothing rerun, same result
    rejection = subprocess.run([*args[:-2], str(tmp_path / "rej"), "--method", "rejection", "--quiet"],
                               capture_output=True, text=True, cwd=ROOT)  # fmt: skip
    assert rejection.returncode == 0, rejection.stderr
    assert len(pd.read_csv(tmp_path / "rej" / "posterior.csv")) == 2  # the closest 10% of 12, at least two
    bad = subprocess.run([*args[:4], "--accept", "0"], capture_output=True, text=True, cwd=ROOT)
    assert bad.returncode == 2 and "--accept must be in (0, 1]" in bad.stderr


def test_a_joint_calibration_fits_the_worlds_uncertainties_over_their_registry_priors():
    from sim.experiments.calibration import first_wave, prior_candidates, summarise_posterior
    from sim.params import REGISTRY

    targets = load_targets(TARGETS)
    assert targets.fit_scales["courier_detection"] == "log"  # the registry's prior, not a range typed in the file
    assert targets.fit_params["courier_detection"] == (REGISTRY["courier_detection"].prior.low,
                                                       REGISTRY["courier_detection"].prior.high)  # fmt: skip
    joint = targets.jointly(["mirror_retention", "ad_reach", "order_rate"], "a test")
    assert list(joint.fit_params)[-2:] == ["mirror_retention", "ad_reach"] and len(joint.fit_params) == 7
    assert joint.fit_scales["ad_reach"] == "log" and "a test" in joint.fit_reasons["ad_reach"]
    with pytest.raises(ParameterError, match="no prior"):
        targets.jointly(["candidate_exit_rate"], "a test")
    points = np.array(first_wave(joint, 400, 1))
    ad = points[:, list(joint.fit_params).index("ad_reach")]
    low, high = joint.fit_params["ad_reach"]
    assert np.median(ad) == pytest.approx((low * high) ** 0.5, rel=0.1)  # log-uniform: the geometric middle
    strata = np.floor(np.log(ad / low) / np.log(high / low) * 400)
    assert len(set(strata)) == 400  # a Latin hypercube on the log scale
    from sim.experiments.calibration import plain_design

    assert plain_design(joint, 400, 1)["points"] == first_wave(joint, 400, 1)  # rejection ABC's too
    assert plain_design(load_targets(TARGETS).jointly(["order_rate"], "x"), 10, 1)["design"] in ("latin", "points")
    candidates = prior_candidates(joint.fit_params, 4096, 2, joint.fit_scales)
    assert np.median(candidates[:, -1]) == pytest.approx((low * high) ** 0.5, rel=0.05)
    # a width ratio on the prior's own scale: a sample from the prior itself is not "identified"
    sample = pd.DataFrame(candidates, columns=list(joint.fit_params))
    ratios = summarise_posterior(sample, joint.fit_params, joint.fit_scales).set_index("parameter")["width_ratio"]
    assert ratios.between(0.85, 0.95).all(), ratios


@pytest.mark.slow
def test_a_joint_calibration_says_what_the_targets_identify_and_what_stays_at_its_prior(tmp_path, toy_files):
    """The toy sees three parameters; two more calibrated with them leave the targets untouched, so their
    posterior is their prior (width ratio near 0.9, 'not identified') while the three narrow as alone."""
    targets, scenario = toy_files
    plan = CalibrationPlan(
        targets,
        budget=60,
        days=1,
        seed=2,
        check_reps=2,
        ppc_runs=4,
        model=TOY,
        out=tmp_path / "joint",
        jointly=("mirror_retention", "ad_reach"),
        jointly_why="a test",
    )
    result = calibrate(scenario, plan)
    ratios = result.posterior.set_index("parameter")["width_ratio"]
    assert list(result.sample.columns) == [*TOY_PARAMETERS, "mirror_retention", "ad_reach"]
    assert ratios[["mirror_retention", "ad_reach"]].between(0.8, 0.95).all(), ratios
    assert (ratios[list(TOY_PARAMETERS)] < 0.7).all(), ratios
    write_calibration(result, tmp_path / "joint")
    report = (tmp_path / "joint" / "report.md").read_text()
    assert "not identified" in report and "a test" in report
