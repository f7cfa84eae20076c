"""Faults and --resume: a changed experiment is refused, a full disk or a lost worker is one line, nothing is mixed.

Most cases run the ``klad`` entry point in this process on ``tests/data``'s
small models (a sweep of ``y = x``), so each takes well under a second or two.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

import sim.io.files
from sim.app.start import main
from sim.experiments.execute import scheduler_warning
from sim.experiments.sweep import SweepPlan, load_experiment, run_sweep
from sim.io.provenance import FINGERPRINT, differences
from sim.params import ParameterError

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"

SWEEP = """
name = "y = x"
model = "loud_model:model"
design = "latin"
samples = 12
seed = 5
chunk_size = 3
outputs = ["y"]
[uncertainties]
x = [0.0, 1.0]
"""


@pytest.fixture
def models(monkeypatch):
    """The test models importable here and in worker processes."""
    monkeypatch.syspath_prepend(str(DATA))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(DATA), os.environ.get("PYTHONPATH", "")]))


def klad(capsys, *args) -> tuple[int, list[str]]:
    """``klad ARGS`` in this process: the exit code and the lines on stderr."""
    code = main(list(args))
    return code, capsys.readouterr().err.strip().splitlines()


def sweep(tmp_path, capsys, text=SWEEP, *options) -> tuple[int, list[str]]:
    path = tmp_path / "exp.toml"
    path.write_text(text)
    where = [] if "--scheduler" in options else ["--workers", "1"]
    return klad(capsys, "sweep", str(path), "--out", str(tmp_path / "out"), *where, "--quiet", *options)


def swept(tmp_path, text=SWEEP, resume=False) -> pd.DataFrame:
    """The sweep run through the Python API, in this process (quick: no worker process, no figures)."""
    path = tmp_path / "exp.toml"
    path.write_text(text)
    return run_sweep(load_experiment(path), SweepPlan(tmp_path / "out", resume=resume)).runs


def chunks(tmp_path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((tmp_path / "out" / "chunks").glob("*.parquet"))}


# ------------------------------------------------------------------ --resume never mixes two experiments
@pytest.mark.parametrize(
    ("change", "named"),
    [
        (("seed = 5", "seed = 6"), "seed was 5, now 6"),
        (("chunk_size = 3", "chunk_size = 4"), "chunk_size was 3, now 4"),
        (("samples = 12", "samples = 16"), "samples was 12, now 16"),
        (("x = [0.0, 1.0]", "x = [0.0, 2.0]"), "varied.x was [0.0, 1.0], now [0.0, 2.0]"),
        (('outputs = ["y"]', 'outputs = ["y"]\ndays = 30'), "days was 365, now 30"),
        (('design = "latin"', 'design = "grid"'), "design was 'latin', now 'grid'"),
    ],
)
def test_resume_refuses_a_changed_experiment_in_one_line(tmp_path, capsys, models, change, named):
    whole = swept(tmp_path)
    for path in sorted((tmp_path / "out" / "chunks").glob("*.parquet"))[2:]:  # as if killed after two chunks
        path.unlink()
    kept = chunks(tmp_path)
    code, lines = sweep(tmp_path, capsys, SWEEP.replace(*change), "--resume")
    assert code == 2 and len(lines) == 1, lines
    assert "holds a different sweep" in lines[0] and named in lines[0] and "another --out" in lines[0]
    assert chunks(tmp_path) == kept  # untouched
    pd.testing.assert_frame_equal(swept(tmp_path, resume=True), whole)  # the same experiment resumes


def test_a_folder_without_a_fingerprint_is_not_resumed(tmp_path, capsys, models):
    swept(tmp_path)
    (tmp_path / "out" / FINGERPRINT).unlink()
    code, lines = sweep(tmp_path, capsys, SWEEP, "--resume")
    assert code == 2 and len(lines) == 1 and "without a readable fingerprint.json" in lines[0]


def test_every_run_is_checked_present_before_analysis(tmp_path, capsys, models):
    swept(tmp_path)
    first = tmp_path / "out" / "chunks" / "chunk_000000.parquet"
    pd.read_parquet(first).iloc[:2].to_parquet(first)  # a chunk that lost a run
    code, lines = sweep(tmp_path, capsys, SWEEP, "--resume")
    assert code == 1 and len(lines) == 1 and "holds runs [0, 1], not 0-2" in lines[0]


def test_fingerprint_differences_name_what_changed():
    assert differences({"a": 1, "b": {"c": [1, 2]}}, {"a": 1, "b": {"c": [1, 2]}}) == ""
    said = differences({"a": 1, "b": {"c": 2}, "d": 4}, {"a": 2, "b": {"c": 3}, "e": 5})
    assert said.startswith("a was 1, now 2; and 3 more: b.c, d, e")


def test_calibration_resume_refuses_another_budget(tmp_path):
    from sim.experiments.calibration import CalibrationPlan, calibrate

    out = tmp_path / "cal"
    (out / "runs" / "chunks").mkdir(parents=True)
    (out / "runs" / "chunks" / "chunk_000000.parquet").write_bytes(b"")  # a calibration under way
    (out / FINGERPRINT).write_text(json.dumps({"budget": 300}))
    with pytest.raises(ParameterError, match="holds a different calibration \\(budget was 300, now 40;"):
        calibrate(
            ROOT / "scenarios" / "baseline.toml",
            CalibrationPlan(ROOT / "scenarios" / "data" / "kazakhstan.toml", budget=40, out=out, resume=True),
        )


def test_hypotheses_resume_refuses_a_hypothesis_whose_runs_would_change(tmp_path):
    from sim.experiments.hypotheses import fingerprint_of, load_hypothesis
    from sim.experiments.study import HypothesesPlan, run_hypotheses

    h = load_hypothesis(ROOT / "experiments" / "hypotheses" / "H5_blocking.toml").use(quick=True)
    mark = fingerprint_of(h)
    (tmp_path / "fingerprints").mkdir()
    (tmp_path / "fingerprints" / "H5.json").write_text(json.dumps({**mark, "seed": mark["seed"] + 1}))
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "0123456789abcdef0123.parquet").write_bytes(b"")  # runs under way
    with pytest.raises(ParameterError, match=f"hypothesis H5 \\(seed was {mark['seed'] + 1}, now {mark['seed']}\\)"):
        run_hypotheses([h], HypothesesPlan(tmp_path, resume=True))


# ------------------------------------------------------------------ faults as one line
def test_a_full_disk_mid_sweep_is_one_line_and_resume_then_finishes(tmp_path, capsys, models, monkeypatch):
    (tmp_path / "whole").mkdir()
    whole = swept(tmp_path / "whole")
    writes = []
    real = pd.DataFrame.to_parquet

    def full_disk(frame, path, *args, **kwargs):
        writes.append(path)
        if len(writes) == 3:  # the third chunk: half written, then the disk is full
            Path(path).write_bytes(b"PAR1 half a file")
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(frame, path, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_parquet", full_disk)
    code, lines = sweep(tmp_path, capsys)
    assert code == 1 and len(lines) == 1, lines
    assert lines[0].startswith("klad: error: ") and "No space left on device" in lines[0] and "disk is full" in lines[0]
    assert not list((tmp_path / "out").rglob("*.tmp")) and len(chunks(tmp_path)) == 2  # nothing half-written
    monkeypatch.setattr(pd.DataFrame, "to_parquet", real)  # room made
    pd.testing.assert_frame_equal(swept(tmp_path, resume=True), whole)


@pytest.mark.slow
def test_a_real_full_disk_mid_sweep(tmp_path, capsys):
    """The same on a small tmpfs that the sweep fills (needs root and mount; skipped where not allowed)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1100k", "tmpfs", str(disk)], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        text = (ROOT / "experiments" / "ishigami.toml").read_text().replace("chunk_size = 512", "chunk_size = 40")
        (tmp_path / "exp.toml").write_text(text.replace("samples = 1024", "samples = 2048"))
        out = disk / "out"
        code, lines = klad(capsys, "sweep", str(tmp_path / "exp.toml"), "--out", str(out), "--workers", "1", "--quiet")
        assert code == 1 and len(lines) == 1, lines
        assert "No space left on device (the disk is full" in lines[0] and str(out) in lines[0]
        assert not list(out.rglob("*.tmp")) and list(out.glob("chunks/*.parquet"))
        subprocess.run(["mount", "-o", "remount,size=16m", str(disk)], check=True)  # room made
        code, lines = klad(capsys, "sweep", str(tmp_path / "exp.toml"), "--out", str(out), "--resume", "--quiet")
        assert code == 0, lines
        assert len(pd.read_parquet(out / "runs.parquet")) == 2048 * 5
    finally:
        subprocess.run(["umount", str(disk)], check=False)


def test_out_is_checked_before_any_work(tmp_path, capsys, models, monkeypatch):
    code, lines = sweep(tmp_path, capsys, SWEEP, "--out", "")
    assert code == 2 and lines == ["klad: error: --out is empty: give a folder"]
    monkeypatch.setattr(sim.io.files.os, "access", lambda path, mode: False)  # as a read-only disk answers
    code, lines = sweep(tmp_path, capsys)
    assert code == 2 and len(lines) == 1 and "cannot write in" in lines[0]
    monkeypatch.undo()
    monkeypatch.syspath_prepend(str(DATA))

    class Full:
        f_bavail, f_frsize = 3, 4096

    monkeypatch.setattr(sim.io.files.os, "statvfs", lambda path: Full)
    code, lines = sweep(tmp_path, capsys)
    assert code == 2 and len(lines) == 1 and "its disk is full (12,288 bytes free" in lines[0]
    assert not (tmp_path / "out").exists()


def test_stale_temporary_files_are_removed(tmp_path, models):
    swept(tmp_path)
    stale = tmp_path / "out" / "chunks" / ".chunk_000001.parquet.k2j4h5g6.tmp"
    stale.write_bytes(b"half")
    swept(tmp_path, resume=True)
    assert not stale.exists()


def test_a_folder_in_use_by_another_command_is_refused(tmp_path, capsys, models):
    out = tmp_path / "out"
    holder = subprocess.Popen([sys.executable, "-c", "import sys; from sim.io.files import claimed\n"
                               f"with claimed({str(out)!r}):\n print('held', flush=True); sys.stdin.read()"],
                              cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        code, lines = sweep(tmp_path, capsys)
        assert code == 2 and len(lines) == 1 and "another klad command is writing there now" in lines[0]
    finally:
        holder.communicate("")


@pytest.mark.slow
def test_a_model_that_calls_sys_exit_fails_its_runs_only(tmp_path, capsys, models):
    code, lines = sweep(tmp_path, capsys, SWEEP.replace("loud_model:model", "faulty_model:calls_exit"))
    assert code == 3 and len(lines) == 1 and "SystemExit: 3" in lines[0]
    runs = pd.read_parquet(tmp_path / "out" / "runs.parquet")
    assert set(runs["status"]) == {"ok", "failed"} and (runs.loc[runs["x"] > 0.5, "status"] == "failed").all()


@pytest.mark.slow
def test_a_model_that_ends_its_process_is_one_line(tmp_path, capsys, models):
    code, lines = sweep(tmp_path, capsys, SWEEP.replace("loud_model:model", "faulty_model:ends_process"))
    assert code == 1 and len(lines) == 1 and "a worker process died" in lines[0] and "--resume" in lines[0]


@pytest.mark.slow
def test_the_pool_ends_when_the_command_is_killed(tmp_path):
    pids = tmp_path / "pids"
    pids.mkdir()
    text = SWEEP.replace("loud_model:model", "faulty_model:hangs") + f'[fixed]\npids = "{pids}"\n'
    (tmp_path / "exp.toml").write_text(text)
    env = {**os.environ, "PYTHONPATH": str(DATA)}
    command = [sys.executable, "-m", "sim", "sweep", str(tmp_path / "exp.toml"), "--out", str(tmp_path / "out"),
               "--workers", "2", "--quiet"]  # fmt: skip
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while len(list(pids.iterdir())) < 2 and time.monotonic() < deadline:  # both workers are in a run
        time.sleep(0.05)
    workers = [int(p.name) for p in pids.iterdir()]
    assert len(workers) == 2
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 30
    while any(Path(f"/proc/{pid}").exists() for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    alive = [pid for pid in workers if Path(f"/proc/{pid}").exists()]
    for pid in alive:
        os.kill(pid, signal.SIGKILL)
    assert not alive, "pool workers outlived the command"


# ------------------------------------------------------------------ Dask and the demo
@pytest.mark.parametrize("address", ["not a url", "http://127.0.0.1:8786", "tcp://127.0.0.1:99999", "tcp://:8786"])
def test_a_bad_scheduler_address_is_one_line(tmp_path, capsys, models, address):
    code, lines = sweep(tmp_path, capsys, SWEEP, "--scheduler", address)
    assert code == 2 and len(lines) == 1 and "is not a Dask address" in lines[0], lines
    assert not (tmp_path / "out").exists()


def test_scheduler_warning_unless_loopback_or_tls():
    for safe in (
        "tcp://127.0.0.1:8786",
        "127.0.0.1:8786",
        "tcp://localhost:8786",
        "tcp://[::1]:8786",
        "tls://10.1.2.3:8786",
    ):
        assert scheduler_warning(safe) is None, safe
    warning = scheduler_warning("tcp://10.1.2.3:8786")
    assert "tls://" in warning and "Trust and security" in warning


def test_demo_on_a_public_host_needs_yes_public_and_caps_sessions(capsys, monkeypatch):
    import sim.app.demo.market

    served = []
    monkeypatch.setattr(sim.app.demo.market, "serve", lambda host, port, open_browser: served.append(host))
    monkeypatch.delenv("SOLARA_KERNEL_MAX_COUNT", raising=False)
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = str(probe.getsockname()[1])  # free now, for the demo's own check
    code, lines = klad(capsys, "demo", "--host", "0.0.0.0", "--port", port, "--no-browser")
    assert code == 2 and len(lines) == 1 and "--yes-public" in lines[0] and not served
    code, lines = klad(capsys, "demo", "--host", "0.0.0.0", "--port", port, "--no-browser", "--yes-public",
                       "--max-sessions", "3")  # fmt: skip
    assert code == 0 and served == ["0.0.0.0"]
    assert lines == ["klad: warning: --host 0.0.0.0: the demo is open to anyone who can reach this address, "
                     "3 session(s) at a time"]  # fmt: skip
    assert os.environ["SOLARA_KERNEL_MAX_COUNT"] == "3"


def test_the_docs_say_what_the_code_does():
    from sim.app import cli, start
    from sim.experiments.sweep import MAX_RUNS
    from sim.io.config import MAX_EXTENDS, MAX_FILE_BYTES

    reference = (ROOT / "docs" / "reference.md").read_text(encoding="utf-8")
    table = reference[reference.index("## Exit codes") :].split("\n\n")[1]
    codes = {int(line.split("|")[1]) for line in table.splitlines()[2:]}
    assert codes == {0, cli.EXIT_FAILED, cli.EXIT_BAD_INPUT, cli.EXIT_SOME_FAILED, start.INTERRUPTED}
    security = reference[reference.index("## Trust and security") :].split("\n## ")[0]
    demo = cli.build_parser()._subparsers._group_actions[0].choices["demo"]
    options = {o for action in demo._actions for o in action.option_strings}
    for said in ("--yes-public", "--max-sessions", f"(default {cli.DEMO_SESSIONS})", "tls://", "Security(",
                 "--host 127.0.0.1", "treat them like scripts", "`extends` may read any file"):  # fmt: skip
        assert said in security, said
    assert {"--yes-public", "--max-sessions"} <= options
    assert MAX_FILE_BYTES == 1 << 20 and "at most 1 MiB" in reference
    assert f"at most {MAX_EXTENDS} files" in reference
    assert f"at most {MAX_RUNS:,} runs" in (ROOT / "docs" / "experiments.md").read_text(encoding="utf-8")


def test_what_careful_reading_still_accepts(tmp_path):
    from sim.io.config import load_scenario

    base = tmp_path / "base.toml"
    base.write_bytes(
        b"\xef\xbb\xbf" + b'name = "with a BOM"\ndescription = """two\nlines"""\n[params]\nn_buyers = 900\n'
    )
    (tmp_path / "link.toml").symlink_to(base)
    child = tmp_path / "child.toml"
    child.write_text('extends = "link.toml"\n[policy]\nseverity_multiplier = 2.0\n')
    scenario = load_scenario(child)
    assert scenario.params.n_buyers == 900 and scenario.policy == {"severity_multiplier": 2.0}
    assert scenario.name == "child" and load_scenario(base).name == "with a BOM"
