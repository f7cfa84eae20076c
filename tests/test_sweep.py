"""Sweeps: SALib designs and indices, resume after SIGKILL, Dask, bad experiment files."""

import contextlib
import dataclasses
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from sim.experiments.execute import Execution
from sim.experiments.sensitivity import indices
from sim.experiments.sweep import (
    Design,
    SweepPlan,
    SweepResult,
    design_matrix,
    load_experiment,
    run_seed,
    run_sweep,
)
from sim.io.provenance import fingerprint
from sim.params import ParameterError

ROOT = Path(__file__).resolve().parent.parent
PI = 3.141592653589793

KLAD = """
name = "small klad sweep"
design = "{design}"
samples = {samples}
replications = 2
days = 25
window = 20   # a short test run: the last 20 of 25 days, no burn-in
burn_in = 0
force = true
seed = 5
chunk_size = 2
outputs = ["grams_sold", "arrests_courier"]

[uncertainties]
price_elasticity = [0.3, 1.0]

[levers]
severity_multiplier = [0.5, 2.0]

[fixed]
n_buyers = 500
n_shops = 2
n_couriers = 14
n_labs = 1
"""


def write(tmp_path, text, name="exp.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def klad(*args):
    return subprocess.run([sys.executable, "-m", "sim", *args], capture_output=True, text=True, cwd=ROOT)


def test_ishigami_indices_match_analytic_values(tmp_path):
    exp = load_experiment(ROOT / "experiments" / "ishigami.toml")
    result = run_sweep(exp, SweepPlan(tmp_path / "out"), Execution(2))
    table = result.analysis.indices.set_index(["parameter", "index"])["value"]
    analytic = {("x1", "S1"): 0.3139, ("x2", "S1"): 0.4424, ("x3", "S1"): 0.0,
                ("x1", "ST"): 0.5576, ("x2", "ST"): 0.4424, ("x3", "ST"): 0.2437}  # fmt: skip
    for key, value in analytic.items():
        assert table[key] == pytest.approx(value, abs=0.05), key


def test_ishigami_ranks_with_enough_samples_and_says_when_it_cannot(tmp_path):
    from dataclasses import replace

    from sim.experiments.sensitivity import ranking_problems

    exp = load_experiment(ROOT / "experiments" / "ishigami.toml")
    result = run_sweep(exp, SweepPlan(tmp_path / "out"), Execution(2))
    runs, table = result.runs, result.analysis.indices
    # ST: x1 0.56 > x2 0.44 > x3 0.24. At 1,024 base samples x2 and x3 separate; x1 and x2 (0.12 apart) do not.
    assert result.analysis.ranking == {"y": ["the intervals of ST(x1) and ST(x2) overlap"]}
    steps = result.analysis.convergence
    assert sorted(steps["samples"].unique())[0] == 8 and steps["samples"].max() == exp.samples
    last = steps[steps["samples"] == exp.samples].set_index(["parameter", "index"])["value"]
    pd.testing.assert_series_equal(last, table.set_index(["parameter", "index"])["value"], check_names=False)
    # The same sweep's first 8 base samples: too few to rank, and said so.
    few = replace(exp, samples=8)
    small = runs[runs["point"] < len(design_matrix(few))]
    problems = ranking_problems(few, indices(few, small))["y"]
    assert any("fewer than the 64" in p for p in problems)


def test_seeds_depend_only_on_experiment_seed_and_run_index():
    assert run_seed(5, 3) == run_seed(5, 3)
    assert len({run_seed(5, i) for i in range(100)}) == 100
    assert run_seed(5, 3) != run_seed(6, 3)


@pytest.mark.slow
def test_klad_sweep_morris_writes_everything(tmp_path):
    path = write(tmp_path, KLAD.format(design="morris", samples=3))
    res = klad("sweep", str(path), "--out", str(tmp_path / "out"), "--workers", "2", "--quiet")
    assert res.returncode == 0, res.stderr
    runs = pd.read_parquet(tmp_path / "out" / "runs.parquet")
    assert len(runs) == 3 * 3 * 2 and (runs["status"] == "ok").all()
    ind = pd.read_csv(tmp_path / "out" / "indices.csv")
    assert {"mu_star", "sigma"} <= set(ind["index"])
    report = (tmp_path / "out" / "report.md").read_text()
    assert "seed noise" in report
    for name in ("indices.png", "scatter.png"):
        assert (tmp_path / "out" / "figures" / name).stat().st_size > 5_000


@pytest.mark.slow
def test_killed_sweep_resumes_to_the_uninterrupted_result(tmp_path):
    path = write(tmp_path, KLAD.format(design="latin", samples=12))
    full = tmp_path / "full"
    assert klad("sweep", str(path), "--out", str(full), "--workers", "1", "--quiet").returncode == 0
    killed = tmp_path / "killed"
    cmd = [sys.executable, "-m", "sim", "sweep", str(path), "--out", str(killed), "--workers", "2", "--quiet"]
    proc = subprocess.Popen(cmd, cwd=ROOT, start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline and len(list((killed / "chunks").glob("*.parquet"))) < 3:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    finished = len(list((killed / "chunks").glob("*.parquet")))
    assert 0 < finished < 12  # really interrupted part-way
    assert klad("sweep", str(path), "--out", str(killed), "--quiet").returncode == 2  # refuses without --resume
    res = klad("sweep", str(path), "--out", str(killed), "--resume", "--quiet")
    assert res.returncode == 0, res.stderr
    a = pd.read_parquet(full / "runs.parquet")
    b = pd.read_parquet(killed / "runs.parquet")
    pd.testing.assert_frame_equal(a, b)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def dask_cluster(tmp_path, nworkers: int, pythonpath: list[Path]):
    """A real `dask scheduler` and `dask worker` on 127.0.0.1; yields (address, env) and stops both."""
    port = free_port()
    dask = Path(sys.executable).parent / "dask"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(str(p) for p in pythonpath)}
    scheduler = subprocess.Popen([str(dask), "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                  "--dashboard-address", "127.0.0.1:0"], env=env, cwd=tmp_path,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    worker = subprocess.Popen([str(dask), "worker", f"tcp://127.0.0.1:{port}", "--nworkers", str(nworkers),
                               "--nthreads", "1", "--host", "127.0.0.1", "--dashboard-address", "127.0.0.1:0"],
                              env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        yield f"tcp://127.0.0.1:{port}", env
    finally:
        for proc in (worker, scheduler):
            proc.terminate()
            proc.wait(timeout=30)


def sweep_on_cluster(path, out, address, env):
    """`klad sweep --scheduler`, retried while the scheduler is not yet listening."""
    res = None
    for _ in range(30):
        res = subprocess.run([sys.executable, "-m", "sim", "sweep", str(path), "--out", str(out),
                              "--scheduler", address, "--quiet"], capture_output=True, text=True, cwd=ROOT,
                             env=env)  # fmt: skip
        if "cannot reach" not in res.stderr:
            break
        time.sleep(1)
    return res


@pytest.mark.slow
@pytest.mark.e2e
def test_dask_cluster_gives_the_local_result(tmp_path):
    path = write(tmp_path, KLAD.format(design="latin", samples=4))
    local = tmp_path / "local"
    assert klad("sweep", str(path), "--out", str(local), "--workers", "1", "--quiet").returncode == 0
    with dask_cluster(tmp_path, 2, [ROOT]) as (address, env):
        out = tmp_path / "dask"
        res = sweep_on_cluster(path, out, address, env)
        assert res.returncode == 0, res.stderr
        pd.testing.assert_frame_equal(pd.read_parquet(local / "runs.parquet"), pd.read_parquet(out / "runs.parquet"))
        # klad run goes through the same executor: the same replications on the cluster as on local processes.
        scenario = tmp_path / "city.toml"
        scenario.write_text(
            "window = 20\nburn_in = 0\n[params]\nn_buyers = 600\nn_shops = 2\nn_couriers = 16\nn_labs = 1\n"
        )
        runs = {}
        for where, option in (("local", ["--workers", "2"]), ("dask", ["--scheduler", address])):
            command = [sys.executable, "-m", "sim", "run", str(scenario), "--reps", "3", "--days", "30", "--force",
                       "--quiet", "--out", str(tmp_path / f"run_{where}"), *option]  # fmt: skip
            res = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env)
            assert res.returncode == 0, res.stderr
            assert "Dask" in res.stderr if where == "dask" else "2 local processes" in res.stderr
            runs[where] = pd.read_parquet(tmp_path / f"run_{where}" / "daily.parquet")
        pd.testing.assert_frame_equal(runs["local"], runs["dask"])
        # And klad hypotheses: the same arm runs, and so the same verdicts, on the cluster as on local processes.
        folder = tmp_path / "hyp"
        (folder / "scen").mkdir(parents=True)
        (folder / "scen" / "city.toml").write_text(scenario.read_text())  # (every .toml of the folder is a hypothesis)
        (folder / "D.toml").write_text(HYPOTHESIS)
        verdicts = {}
        for where, option in (("local", ["--workers", "2"]), ("dask", ["--scheduler", address])):
            command = [sys.executable, "-m", "sim", "hypotheses", "--folder", str(folder), "--quiet",
                       "--out", str(tmp_path / f"hyp_{where}"), *option]  # fmt: skip
            res = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env)
            assert res.returncode == 0, res.stderr
            verdicts[where] = pd.read_csv(tmp_path / f"hyp_{where}" / "results.csv")
        pd.testing.assert_frame_equal(verdicts["local"], verdicts["dask"])
        assert len(verdicts["dask"]) == 1 and verdicts["dask"]["hypothesis"].iloc[0] == "D"


#: A hypothesis of two arms of a tiny city (scen/city.toml beside it), for the cluster test.
HYPOTHESIS = """
id = "D"
title = "A crackdown cuts sales"
source = "[test]"
claim = "test claim"
days = 40
replications = 2
max_replications = 2
seed = 3
window = 10
force = true
[arms]
base = "scen/city.toml"
hot = { scenario = "scen/city.toml", policy = { detection_multiplier = 6.0 } }
[[tests]]
name = "sales"
effect = "hot - base"
metric = "transactions"
relative_to = "base"
expect = "decrease"
margin = 0.1
"""


@pytest.mark.slow
@pytest.mark.e2e
def test_lost_dask_worker_is_retried(tmp_path):
    marker = tmp_path / "worker_died"
    text = (ROOT / "experiments" / "ishigami.toml").read_text()
    text = text.replace('model = "sim.experiments.sweep:ishigami"', 'model = "dying_model:model"')
    text = text.replace("samples = 1024", "samples = 8").replace("chunk_size = 512", "chunk_size = 4")
    path = write(tmp_path, text + f'\n[fixed]\nmarker = "{marker}"\n')
    with dask_cluster(tmp_path, 1, [ROOT, ROOT / "tests" / "data"]) as (address, env):
        out = tmp_path / "dask"
        res = sweep_on_cluster(path, out, address, env)
        assert res.returncode == 0, res.stderr
        assert marker.exists()  # a worker process really died mid-task
        runs = pd.read_parquet(out / "runs.parquet")
        assert (runs["status"] == "ok").all() and len(runs) == 8 * 5
    # The retried runs equal a local run's (the marker now exists, so nothing dies).
    local = tmp_path / "local"
    res = subprocess.run([sys.executable, "-m", "sim", "sweep", str(path), "--out", str(local), "--workers", "1",
                          "--quiet"], capture_output=True, text=True, cwd=ROOT, env=env)  # fmt: skip
    assert res.returncode == 0, res.stderr
    pd.testing.assert_frame_equal(pd.read_parquet(local / "runs.parquet"), runs)


def test_grouped_sobol_indices_match_analytic_values(tmp_path):
    # Ishigami with groups a = {x1, x3}, b = {x2}: x2 does not interact, so ST(b) = S1(x2) and ST(a) = 1 - S1(x2).
    text = (ROOT / "experiments" / "ishigami.toml").read_text() + '\n[groups]\na = ["x1", "x3"]\nb = ["x2"]\n'
    exp = load_experiment(write(tmp_path, text))
    assert exp.factors == ["a", "b"]
    result = run_sweep(exp, SweepPlan(tmp_path / "out"))
    assert len(result.runs) == 1024 * 4  # N (G + 2) runs for G = 2 groups
    st = result.analysis.indices.query("index == 'ST'").set_index("parameter")["value"]
    assert st["a"] == pytest.approx(0.558, abs=0.05)
    assert st["b"] == pytest.approx(0.442, abs=0.05)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (("price_elasticity = [0.3, 1.0]", "no_such_thing = [0.3, 1.0]"), ["unknown parameter 'no_such_thing'"]),
        (("price_elasticity = [0.3, 1.0]", "price_elasticity = [0.3, 9.0]"), ["price_elasticity", "9.0", "[0, 3]"]),
        (('design = "morris"', 'design = "magic"'), ["design", "'magic'", "sobol"]),
        (("[levers]\nseverity_multiplier", "[uncertainties2]\nseverity_multiplier"), ["unknown key 'uncertainties2'"]),
        (("[uncertainties]\nprice_elasticity", "[levers]\nprice_elasticity"), ["is a uncertainty"]),
        (
            ("[fixed]", '[groups]\na = ["price_elasticity"]\nb = ["severity_multiplier"]\n[fixed]'),
            ["design 'sobol' only"],
        ),
    ],
)
def test_bad_experiment_files_one_line_exit_2(tmp_path, change, words):
    text = KLAD.format(design="morris", samples=2)
    text = text.replace("[levers]\nseverity_multiplier = [0.5, 2.0]\n", "") if "is a uncertainty" in words[0] else text
    path = write(tmp_path, text.replace(*change))
    res = klad("sweep", str(path), "--out", str(tmp_path / "out"), "--quiet")
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr
    for word in words:
        assert word in res.stderr.strip().splitlines()[-1]
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
@pytest.mark.e2e
def test_unreachable_scheduler(tmp_path):
    path = write(tmp_path, KLAD.format(design="morris", samples=2))
    res = klad("sweep", str(path), "--scheduler", f"tcp://127.0.0.1:{free_port()}", "--out", str(tmp_path / "o"))
    assert res.returncode == 2 and "cannot reach the Dask scheduler" in res.stderr and "Traceback" not in res.stderr


def test_failed_runs_are_recorded_not_fatal(tmp_path, monkeypatch):
    text = KLAD.format(design="latin", samples=3).replace("n_labs = 1", "n_labs = 1\n")
    exp = load_experiment(write(tmp_path, text))
    import sim.experiments.sweep

    def broken(params, seed, days):
        raise RuntimeError("model exploded")

    monkeypatch.setattr(sim.experiments.sweep, "_entry_point", lambda spec, where="": broken)
    runs = run_sweep(exp, SweepPlan(tmp_path / "out")).runs
    assert (runs["status"] == "failed").all() and runs["error"].str.contains("model exploded").all()


def test_bad_model_entry_point(tmp_path):
    with pytest.raises(ParameterError, match="cannot be imported"):
        load_experiment(write(tmp_path, 'model = "nowhere:f"\n[uncertainties]\nx = [0, 1]\n'))


ISHIGAMI_SMALL = """
name = "small ishigami"
model = "sim.experiments.sweep:ishigami"
design = "{design}"
samples = {samples}
seed = 3
outputs = ["y"]

[uncertainties]
x1 = [-3.14, 3.14]
x2 = [-3.14, 3.14]
x3 = [-3.14, 3.14]
"""


def test_a_design_is_read_as_a_design_and_fingerprinted_as_its_word(tmp_path):
    exp = load_experiment(write(tmp_path, ISHIGAMI_SMALL.format(design="morris", samples=4)))
    assert exp.design is Design.MORRIS and exp.design == "morris" and f"{exp.design}" == "morris"
    assert dataclasses.replace(exp, design="morris").design is Design.MORRIS  # a program may give the word
    assert exp.fingerprint()["design"] == "morris"
    # Results on disk were fingerprinted with the word: the member writes the same JSON.
    assert json.dumps(fingerprint(design=Design.MORRIS, d={Design.SOBOL: [Design.GRID]})) == json.dumps(
        fingerprint(design="morris", d={"sobol": ["grid"]})
    )


def linked_figures(report: str) -> list[str]:
    return re.findall(r"!\[[^\]]*\]\(([^)]+)\)", report)


def test_sweep_without_indices_says_why_and_links_only_figures_it_wrote(tmp_path):
    from sim.reporting.sweep import write_analysis

    exp = load_experiment(write(tmp_path, ISHIGAMI_SMALL.format(design="latin", samples=4)))
    out = tmp_path / "out"
    table = write_analysis(run_sweep(exp, SweepPlan(out)), out)
    report = (out / "report.md").read_text()
    assert table.empty and not (out / "figures" / "indices.png").exists()
    assert "a `latin` design samples the parameters' space but gives no sensitivity indices" in report
    assert "| output | parameter |" not in report  # no empty table
    assert linked_figures(report) == ["figures/scatter.png"]
    assert all((out / link).exists() for link in linked_figures(report))


def test_sweep_with_failed_points_says_which_outputs_have_no_indices(tmp_path, monkeypatch):
    import sim.experiments.sweep
    from sim.experiments.sweep import ishigami
    from sim.reporting.sweep import write_analysis

    def fragile(params, seed, days):
        if params["x1"] > 2.5:
            raise RuntimeError("model exploded")
        return ishigami(params, seed, days)

    exp = load_experiment(write(tmp_path, ISHIGAMI_SMALL.format(design="morris", samples=4)))
    monkeypatch.setattr(sim.experiments.sweep, "_entry_point", lambda spec, where="": fragile)
    out = tmp_path / "out"
    result = run_sweep(exp, SweepPlan(out))
    runs = result.runs
    failed = runs.loc[runs["status"] != "ok", "point"].nunique()
    assert 0 < failed < len(runs)
    table = write_analysis(result, out)
    report = (out / "report.md").read_text()
    assert table.empty and f"No indices for `y` ({failed} of {len(runs)} points)" in report
    assert "![indices]" not in report and all((out / link).exists() for link in linked_figures(report))


def test_a_separate_interval_ranks_however_wide_and_overlapping_ones_do_not():
    from sim.experiments.sensitivity import overlaps

    # Morris mu* (in the output's units): a's interval 66-74 is far above the others', so a is ranked first; b's
    # and c's (6-14, 8-17) overlap each other, so neither is ranked against the other. sigma has no interval.
    rows = [("y", "a", "mu_star", 70.0, 4.0), ("y", "b", "mu_star", 10.0, 4.0), ("y", "c", "mu_star", 12.5, 4.5),
            ("y", "a", "sigma", 9.0, float("nan")), ("z", "a", "mu_star", 0.02, 0.2), ("z", "b", "mu_star", 0.5, 0.01),
            ("z", "c", "mu_star", 0.1, 0.01)]  # fmt: skip
    table = pd.DataFrame(rows, columns=["output", "parameter", "index", "value", "conf"])
    table["ci_low"], table["ci_high"] = table["value"] - table["conf"], table["value"] + table["conf"]
    # In z, c's narrow interval lies inside a's wide one: they overlap although c does not overlap its rank
    # neighbour b, and a wide interval (a's +/-0.2) is ranked against b's because they do not meet.
    assert overlaps(table).tolist() == [[], ["c"], ["b"], None, ["c"], [], ["a"]]


def test_report_flags_only_overlapping_intervals(tmp_path):
    from sim.experiments.sensitivity import Analysis, overlaps
    from sim.reporting.sweep import report

    exp = load_experiment(write(tmp_path, ISHIGAMI_SMALL.format(design="morris", samples=4)))
    runs = pd.DataFrame({"run": range(16), "point": range(16), "rep": 0, "status": "ok", "y": 1.0})
    rows = [("y", "x1", "mu_star", 70.0, 4.0), ("y", "x2", "mu_star", 10.0, 4.0), ("y", "x3", "mu_star", 12.5, 4.5)]
    table = pd.DataFrame(rows, columns=["output", "parameter", "index", "value", "conf"])
    table["ci_low"], table["ci_high"] = table["value"] - table["conf"], table["value"] + table["conf"]
    analysis = Analysis(table, overlaps(table), pd.DataFrame(), None, {}, {}, {})
    text = report(SweepResult(exp, SweepPlan(tmp_path), runs, analysis), tmp_path)
    lines = {line.split("|")[2].strip(): line for line in text.splitlines() if line.startswith("| y |")}
    assert lines["x1"].endswith("| 66.000 to 74.000 |")  # ranked: its interval meets no other
    assert "(overlaps x3)" in lines["x2"] and "(overlaps x2)" in lines["x3"]
    assert "too wide" not in text and "![indices]" not in text  # no figure was written under tmp_path


def test_small_sensitivity_analysis_varies_uncertainties_within_their_priors():
    from sim.params import REGISTRY

    exp = load_experiment(ROOT / "experiments" / "sensitivity_small.toml")
    # what experiments/README.md says of it: six uncertainties, 2,000 buyers, 224 runs of 300 days
    assert exp.design == "morris" and len(exp.varied) == 6 and exp.fixed["n_buyers"] == 2000
    assert exp.runs == 224 and exp.days == 300
    for name, (low, high) in exp.varied.items():
        prior = REGISTRY[name].prior
        assert exp.kinds[name] == "uncertainty" and prior is not None, name
        assert prior.low <= low < high <= prior.high, name
