"""The klad command: results on disk, one-line errors with exit code 2, nothing half-written."""

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import sim
from tests.conftest import interruptible

ROOT = Path(__file__).resolve().parent.parent


def klad(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "sim", *args], capture_output=True, text=True, cwd=cwd)


def small_scenario(tmp_path):
    path = tmp_path / "small.toml"
    path.write_text(
        f'extends = "{ROOT / "scenarios" / "baseline.toml"}"\n'
        "window = 10\nburn_in = 0\n"  # tests run a few weeks: a short window (so --force), no burn-in
        "[params]\nn_buyers = 800\nn_shops = 2\nn_couriers = 20\nn_labs = 1\n"
        "policy_start_day = 10\n[policy]\nseverity_multiplier = 2.0\n"
    )
    return path


@pytest.mark.slow
def test_run_writes_results_and_figure(tmp_path):
    out = tmp_path / "out"
    res = klad(
        "run", str(small_scenario(tmp_path)), "--days", "30", "--reps", "2", "--force", "--quiet", "--out", str(out)
    )
    assert res.returncode == 0, res.stderr
    assert "grams_sold" in res.stdout and "metric" in res.stdout.split("grams_sold")[0]  # under a header
    daily = pd.read_parquet(out / "daily.parquet")
    assert len(daily) == 60 and set(daily["rep"]) == {0, 1}
    assert len(pd.read_parquet(out / "summary.parquet")) == 2
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["parameters"]["policy"] == {"severity_multiplier": 2.0}
    assert "| metric | unit | mean | 95% CI |" in (out / "report.md").read_text()  # every table has its units
    png = (out / "figures" / "timeseries.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000


@pytest.mark.slow
@pytest.mark.parametrize(
    ("text", "args", "words"),
    [
        ("[params]\nn_buyers = -5\n", [], ["n_buyers", "-5", "allowed"]),
        ("[params]\nwhatever = 1\n", [], ["unknown parameter 'whatever'"]),
        ("[params\n", [], ["TOML syntax error"]),
        ('extends = "bad.toml"\n', [], ["cycle"]),
        ("", ["--reps", "-1"], ["--reps must be at least 1"]),
        ("", ["--days", "0"], ["--days must be at least 1"]),
    ],
)
def test_bad_input_one_line_exit_2_nothing_written(tmp_path, text, args, words):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    out = tmp_path / "out"
    res = klad("run", str(path), *args, "--out", str(out), "--quiet")
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert "Traceback" not in res.stderr
    for word in words:
        assert word in lines[-1]
    assert not out.exists()


def test_extends_is_read_against_the_file_and_a_miss_says_how_to_fix_it(tmp_path):
    mine = tmp_path / "mine.toml"
    mine.write_text('extends = "baseline.toml"\n[policy]\nseverity_multiplier = 2.0\n')
    res = klad("run", str(mine), "--days", "5", "--out", str(tmp_path / "o"))
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert "relative to the folder of the file" in res.stderr
    assert f'extends = "{ROOT / "scenarios" / "baseline.toml"}"' in res.stderr
    (tmp_path / "baseline.toml").write_text('name = "mine"\n')
    assert sim.load_scenario(mine).name == "mine"  # found beside the file, as it says


def test_params_shows_the_values_a_scenario_runs_with():
    res = klad("params", "--scenario", str(ROOT / "scenarios" / "tightened_penalties.toml"))
    assert res.returncode == 0, res.stderr
    rows = {line.split()[0]: line for line in res.stdout.splitlines()[2:]}
    fitted = sim.load_scenario(ROOT / "scenarios" / "baseline.toml").params.order_rate
    assert "*" in rows["order_rate"] and str(fitted) in rows["order_rate"].split()  # the calibrated value, not 0.2
    assert rows["severity_multiplier"].split()[3:5] == ["1.0", "1.5"]  # in force from day 0, then the policy's
    assert "*" not in rows["n_buyers"]
    plain = klad("params")
    assert plain.stdout.split()[:3] == ["name", "kind", "default"]
    assert "--scenario" in plain.stderr  # the defaults are not what the baseline runs: it says where those are


@pytest.mark.slow
def test_results_of_another_run_are_not_replaced_without_overwrite(tmp_path):
    scenario, out = str(small_scenario(tmp_path)), tmp_path / "out"
    run = ("run", scenario, "--days", "12", "--force", "--quiet", "--out", str(out))
    assert klad(*run, "--reps", "2").returncode == 0
    written = (out / "daily.parquet").stat().st_mtime_ns
    assert klad(*run, "--reps", "2").returncode == 0  # the same run again: the same results
    res = klad(*run, "--reps", "1")
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert "another run (plan.reps was 2, now 1)" in res.stderr and "--overwrite" in res.stderr
    assert (out / "daily.parquet").stat().st_mtime_ns >= written and len(pd.read_parquet(out / "daily.parquet")) == 24
    assert klad(*run, "--reps", "1", "--overwrite").returncode == 0
    assert len(pd.read_parquet(out / "daily.parquet")) == 12


def test_missing_scenario_file(tmp_path):
    res = klad("run", str(tmp_path / "nope.toml"), "--out", str(tmp_path / "o"))
    assert res.returncode == 2 and "not found" in res.stderr and "Traceback" not in res.stderr


def test_params_markdown_lists_every_parameter():
    from sim.params import REGISTRY

    res = klad("params", "--markdown")
    assert res.returncode == 0
    for name in REGISTRY:
        assert f"`{name}`" in res.stdout


@pytest.mark.slow
def test_identical_files_whatever_the_number_of_workers(tmp_path):
    scenario = str(small_scenario(tmp_path))
    for workers in ("1", "2"):
        res = klad(
            "run",
            scenario,
            "--days",
            "25",
            "--reps",
            "3",
            "--workers",
            workers,
            "--force",
            "--quiet",
            "--out",
            str(tmp_path / workers),
        )
        assert res.returncode == 0, res.stderr
    for name in ("daily.parquet", "summary.parquet", "report.md", "figures/timeseries.png"):
        assert (tmp_path / "1" / name).read_bytes() == (tmp_path / "2" / name).read_bytes(), name


@pytest.mark.slow
def test_compare_common_random_numbers_and_paired_changes(tmp_path):
    base = small_scenario(tmp_path)
    other = tmp_path / "other.toml"
    other.write_text('extends = "small.toml"\n[policy]\ndetection_multiplier = 3.0\n')
    out = tmp_path / "cmp"
    res = klad("compare", str(base), str(other), "--days", "30", "--reps", "3", "--force", "--quiet", "--out", str(out))
    assert res.returncode == 0, res.stderr
    table = pd.read_parquet(out / "comparison.parquet")
    assert set(table["scenario"]) == {"small", "other"}
    first = table[table["scenario"] == "small"]
    assert (first["diff"] == 0).all()  # the reference against itself
    daily = pd.read_parquet(out / "daily.parquet")
    # Common random numbers: identical up to the policy start (day 10), then they differ.
    a = daily[(daily.scenario == "small") & (daily.day < 10)].drop(columns="scenario").reset_index(drop=True)
    b = daily[(daily.scenario == "other") & (daily.day < 10)].drop(columns="scenario").reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)
    assert "change" in (out / "report.md").read_text()
    assert (out / "figures" / "comparison.png").stat().st_size > 10_000
    lines = res.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.split()[:2] == ["scenario", "metric"])
    assert lines[header].split()[2:4] == ["mean", "change"] and lines[header + 1].split()[0] == "other"


def test_wrong_type_in_scenario(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('[params]\nn_buyers = "many"\n')
    res = klad("run", str(path), "--out", str(tmp_path / "o"), "--quiet")
    assert res.returncode == 2 and "n_buyers" in res.stderr and "an integer" in res.stderr
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("workers", ["1", "2"])
def test_interrupted_run_leaves_no_half_written_file_and_rerun_completes(tmp_path, workers):
    import signal

    scenario = str(small_scenario(tmp_path))
    out = tmp_path / "out"
    args = [sys.executable, "-m", "sim", "run", scenario, "--days", "5000", "--reps", "2", "--force", "--quiet"]
    proc = subprocess.Popen(
        [*args, "--workers", workers, "--out", str(out)], cwd=ROOT, stderr=subprocess.PIPE, text=True,
        preexec_fn=interruptible,
    )  # fmt: skip
    started = proc.stderr.readline()  # the runs have started: the command says so before it simulates
    assert started.startswith("klad run: "), started
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert not out.exists() or not any(p.is_file() for p in out.rglob("*"))
    res = klad("run", scenario, "--days", "20", "--force", "--reps", "2", "--quiet", "--out", str(out))
    assert res.returncode == 0
    assert len(pd.read_parquet(out / "daily.parquet")) == 40


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="watches the libraries load in /proc (Linux)")
def test_ctrl_c_while_the_libraries_load_exits_130_without_a_traceback(tmp_path):
    """The interrupt lands while ``klad`` loads its libraries (NumPy is mapped, the model is not yet)."""
    import signal

    proc = subprocess.Popen([sys.executable, "-m", "sim", "params"], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=interruptible)  # fmt: skip
    maps = Path(f"/proc/{proc.pid}/maps")
    while proc.poll() is None:  # wait for the condition: klad's imports have reached NumPy's compiled core
        try:
            if "_multiarray_umath" in maps.read_text():
                break
        except OSError:
            break
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    if out:  # the command finished before the signal: nothing to judge (the signal came too late)
        pytest.skip("the command ran to its end before the interrupt")
    assert proc.returncode == 130, err
    assert "Traceback" not in err and err.strip().splitlines() == [
        "klad: interrupted; finished files were written whole, nothing else"
    ]


def test_every_shipped_scenario_runs(tmp_path):
    from sim.experiments.execute import IN_PROCESS
    from sim.experiments.scenarios import run_scenario

    small = {"n_buyers": 600, "n_shops": 2, "n_couriers": 16, "n_labs": 1, "policy_start_day": 8}
    for path in sorted((ROOT / "scenarios").glob("*.toml")):
        from sim.io.config import load_scenario

        scenario = load_scenario(path).replace(**small)
        result = run_scenario(scenario, execution=IN_PROCESS, reps=2, days=20, seed=3, window=10, force=True)
        assert len(result.daily) == 40, path.name
        assert result.daily["grams_sold"].sum() > 0, path.name


@pytest.mark.slow
def test_more_bad_input_is_one_line(tmp_path):
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00 not text")
    res = klad("run", str(binary), "--out", str(tmp_path / "o"))
    assert res.returncode == 2 and "not a UTF-8 text file" in res.stderr and "Traceback" not in res.stderr

    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    res = klad("run", str(ROOT / "scenarios" / "baseline.toml"), "--out", str(blocker / "sub"), "--days", "5")
    assert res.returncode == 2 and "is not a folder" in res.stderr

    res = klad("run", str(ROOT / "scenarios" / "baseline.toml"), "--reps", "many")
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1

    shares = tmp_path / "shares.toml"
    shares.write_text("[params]\nshare_patrol = 0.9\nshare_cyber = 0.5\n")
    res = klad("run", str(shares), "--out", str(tmp_path / "o"))
    assert res.returncode == 2 and str(shares) in res.stderr and "add up to" in res.stderr

    named = tmp_path / "named.toml"
    named.write_text("name = 3\n")
    res = klad("run", str(named), "--out", str(tmp_path / "o"))
    assert res.returncode == 2 and "'name'" in res.stderr
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_output_files_are_readable_by_others(tmp_path):
    out = tmp_path / "out"
    assert klad("run", str(small_scenario(tmp_path)), "--days", "12", "--reps", "1", "--force", "--quiet", "--out",
                str(out)).returncode == 0  # fmt: skip
    assert (out / "daily.parquet").stat().st_mode & 0o044


def test_an_interrupt_inside_compiled_code_still_counts_as_an_interrupt():
    """Ctrl-C while a kernel boxes its result arrives as a SystemError whose context is the KeyboardInterrupt."""
    from sim.app.interrupts import caused_by_interrupt as _caused_by_interrupt

    try:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            raise SystemError("returned a result with an exception set")  # noqa: B904 - as Numba raises it
    except SystemError as exc:
        assert _caused_by_interrupt(exc)
    assert not _caused_by_interrupt(SystemError("a real error"))


def test_calibrate_prints_its_tables_under_header_rows(tmp_path):
    from sim.app.cli import calibration_summary
    from sim.experiments.calibration import CalibrationPlan, calibrate, toy_statistics

    clean = toy_statistics({"order_rate": 0.22, "buyer_detection": 0.0008, "courier_detection": 0.00012}, 0)
    m = float(clean["national_arrests"])
    (tmp_path / "targets.toml").write_text(
        f'[[target]]\nid = "arrests"\ndescription = "the toy"\nrange = [{m / 1.25!r}, {m * 1.25!r}]\nunit = "arrests"\n'
        'source = "synthetic"\nreliability = "exact"\nstatistic = "national_arrests"\nrole = "fit"\n'
        'missable = "synthetic"\n\n[fit.order_rate]\nprior = [0.1, 0.4]\nreason = "-"\n'
    )
    (tmp_path / "city.toml").write_text("[params]\nn_buyers = 1500\n")
    plan = CalibrationPlan(tmp_path / "targets.toml", budget=20, days=1, seed=4, check_reps=2, ppc_runs=3,
                           posterior_size=50, model="sim.experiments.calibration:toy_statistics",
                           out=tmp_path / "cal")  # fmt: skip
    lines = calibration_summary(calibrate(tmp_path / "city.toml", plan), "emulator", 3, 2)
    for title, header in (("posterior (", "parameter"), ("posterior predictive check", "target"),
                          ("fit at the fitted point", "target")):  # fmt: skip
        at = next(i for i, line in enumerate(lines) if line.strip().startswith(title))
        assert lines[at + 1].split()[0] == header, lines[at : at + 3]  # the header row, then the rows
        assert "unit" in lines[at + 1].split(), lines[at + 1]
    from sim.params import REGISTRY

    row = next(line for line in lines if line.split()[:1] == ["order_rate"])
    assert row.split()[1] == REGISTRY["order_rate"].unit  # under the header's unit column


def test_hypotheses_prints_its_verdicts_under_a_header_row():
    from types import SimpleNamespace

    from sim.app.cli import verdict_summary

    table = pd.DataFrame({"hypothesis": ["H1", "H2"], "hypothesis_verdict": ["supported", "inconclusive"]})
    hyps = [SimpleNamespace(id="H1", title="one", alternatives=[SimpleNamespace(name="other")]),
            SimpleNamespace(id="H2", title="two", alternatives=[])]  # fmt: skip
    alternatives = SimpleNamespace(details={"H1-other": SimpleNamespace(verdict="not supported")})
    result = SimpleNamespace(verdicts=SimpleNamespace(table=table), alternatives=alternatives, across=None)
    lines = verdict_summary(hyps, result)
    assert lines[1].split() == ["id", "verdict", "hypothesis"]
    assert lines[2].split()[:2] == ["verdict", "under"]
    assert lines[3].split() == ["H1", "supported", "one"] and lines[4].split() == ["not", "supported", "under", "other"]
    assert lines[5].split() == ["H2", "inconclusive", "two"]
