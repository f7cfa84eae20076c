"""The benchmarks run (on a few days: their timings are read by people, not by tests)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
@pytest.mark.parametrize(
    "script, args",
    [
        ("bench_speed.py", ["--days", "5", "--repeats", "1", "--no-tracemalloc", "--boltzmann-budget", "1"]),
        ("bench_growth.py", ["--years", "2"]),
        ("bench_against.py", ["--against", "HEAD", "--rounds", "1", "--repeats", "1", "--days", "5"]),
    ],
)
def test_a_benchmark_runs_and_writes_its_figures(script, args, tmp_path):
    out = tmp_path / "figures.json"
    res = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), *args, "--json", str(out)],
                         capture_output=True, text=True, cwd=ROOT)  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert json.loads(out.read_text())  # the figures a person compares
