"""Wall time of a Sobol analysis of the default city, and the speed-up from 1 to 2 workers.

What is measured
----------------
``benchmarks/sobol_8.toml``: 8 parameters, second-order Sobol design from
SALib, ``samples`` base samples (512 by default: 9,216 runs of 365 days of
the 10,000-buyer city), run with ``sim.sweep.run_sweep`` and analysed with
``sim.reporting.sweep.write_analysis`` exactly as ``klad sweep`` does.

1. The whole analysis with ``--workers`` processes (2 by default): wall time
   from the first run to the written indices.
2. The speed-up: the first ``--speedup-samples`` base samples' design (a
   smaller Sobol design of the same experiment) run once with 1 worker and once
   with 2, one after the other in this process; the ratio of the two wall times.

Usage::

    .venv/bin/python benchmarks/bench_sobol.py [--samples 512] [--speedup-samples 16] [--workers 2] [--json PATH]

Each part writes into a fresh temporary folder; nothing is resumed.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sim.experiments.execute import Execution  # noqa: E402
from sim.experiments.sweep import SweepPlan, design_matrix, load_experiment, run_sweep  # noqa: E402
from sim.reporting.sweep import write_analysis  # noqa: E402

EXPERIMENT = ROOT / "benchmarks" / "sobol_8.toml"


def timed_sweep(exp, workers: int, progress: bool) -> tuple[float, int]:
    """Run and analyse the sweep in a fresh folder; return (wall seconds, runs)."""
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        result = run_sweep(exp, SweepPlan(Path(tmp)), Execution(workers, None, progress))
        write_analysis(result, Path(tmp))
        return time.perf_counter() - start, len(result.runs)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=512, help="base samples of the timed analysis (default 512)")
    parser.add_argument("--speedup-samples", type=int, default=16, help="base samples of the 1-vs-2-worker design")
    parser.add_argument("--workers", type=int, default=2, help="workers for the timed analysis (default 2)")
    parser.add_argument("--skip-full", action="store_true", help="measure only the 1-vs-2-worker speed-up")
    parser.add_argument("--json", metavar="PATH", help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    exp = load_experiment(EXPERIMENT)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT)
    result = {"commit": commit.stdout.strip(), "python": platform.python_version(), "machine": platform.machine()}

    small = dataclasses.replace(exp, samples=args.speedup_samples)
    one, n_small = timed_sweep(small, 1, progress=True)
    two, _ = timed_sweep(small, 2, progress=True)
    result.update(speedup_runs=n_small, one_worker_s=round(one, 1), two_workers_s=round(two, 1),
                  speedup=round(one / two, 2), seconds_per_run_1_worker=round(one / n_small, 3))  # fmt: skip
    print(f"speed-up design: {n_small} runs; 1 worker {one:.0f} s, 2 workers {two:.0f} s: speed-up {one / two:.2f}")

    full = dataclasses.replace(exp, samples=args.samples)
    n_full = len(design_matrix(full))
    result["full_runs"] = n_full
    if args.skip_full:
        projected = n_full * two / n_small
        result["projected_full_min_2_workers"] = round(projected / 60, 1)
        print(f"full design ({n_full} runs) not run; at the 2-worker rate above it would take {projected / 60:.0f} min")
    else:
        wall, n = timed_sweep(full, args.workers, progress=True)
        result.update(full_wall_min=round(wall / 60, 1), full_workers=args.workers)
        print(f"Sobol analysis: {n} runs, {len(full.varied)} parameters, {args.workers} workers: {wall / 60:.1f} min")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
