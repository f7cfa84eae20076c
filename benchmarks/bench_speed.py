"""Speed and memory benchmark: klad-sim against Mesa's own BoltzmannWealth example.

What is measured
----------------
1. **KladMarket** on the default scenario (``scenarios/baseline.toml``) for
   ``--days`` days (365 by default). Its throughput is counted in *agent-steps*:
   for each day, the number of agents that were active that day (active buyers
   + couriers working or waiting as candidates + active shops + active labs +
   one police agent), summed over all days. These counts come from the model's
   own daily metrics (the DataCollector columns ``active_buyers``,
   ``active_couriers``, ``courier_candidates``, ``active_shops``,
   ``active_labs``).
2. **BoltzmannWealth** (``mesa.examples.basic.boltzmann_wealth_model``), run as
   shipped with Mesa (its DataCollector and DataRecorder included), with as many
   agents as KladMarket's mean active agents per day, on a square grid of about
   one agent per cell (as in Mesa's default, 100 agents on 10 x 10), for the
   same number of steps. Every agent acts every step, so it does ``n * steps``
   agent-steps. If the steps would take longer than ``--boltzmann-budget``
   seconds, the run stops early; the rate is per agent-step, so it stays
   comparable, and the number of steps actually run is printed.

Only ``step``/``run_for`` is timed (``time.perf_counter``); building each model
is timed separately and left out of the rates. KladMarket takes about a second,
so it is run ``--repeats`` times (same seed, same result) and the median time
is used; BoltzmannWealth runs once.

Memory: the process's peak resident set size (``ru_maxrss``) is read right
after the KladMarket run, before BoltzmannWealth runs, so that figure is the
peak of the interpreter + imports + our model. One more, untimed KladMarket run
under ``tracemalloc`` gives the peak of Python and NumPy allocations made by our
model alone (construction + run); arrays that the compiled kernels
(``sim/kernels.py``) allocate come from Numba's own allocator, which
``tracemalloc`` does not see, so ``ru_maxrss`` is the figure to compare with
the target. The end-of-process ``ru_maxrss`` (which
includes BoltzmannWealth) is printed for completeness.

Why
---
The model has to be fast enough for many replications and sensitivity analyses
(SALib) of a city-sized market. The targets are: KladMarket at least
20 x BoltzmannWealth's agent-steps per second, and peak memory under 500 MB.

Usage::

    .venv/bin/python benchmarks/bench_speed.py [--days 365] [--seed 20251] [--repeats 3] [--json PATH]
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import platform
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

import mesa
import numpy as np
from mesa.examples.basic.boltzmann_wealth_model.model import BoltzmannScenario, BoltzmannWealth

import sim

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "baseline.toml"

#: Daily-metric columns whose sum (+1 police) is the number of active agents that day.
ACTIVE_COLUMNS = ("active_buyers", "active_couriers", "courier_candidates", "active_shops", "active_labs")
POLICE_AGENTS = 1

TARGET_RATIO = 20.0
TARGET_PEAK_MB = 500.0
MB = 2**20


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / MB if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB on Linux


def git_revision() -> str:
    """The checked-out commit (``+dirty`` with uncommitted changes), or ``unknown`` outside git."""
    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty=+dirty"], cwd=ROOT, capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return out.stdout.strip()


def baseline_params() -> sim.Scenario:
    """The default scenario, read and checked, as ``KladMarket`` takes it."""
    return sim.load_scenario(SCENARIO)


def run_klad(days: int, seed: int, repeats: int) -> dict[str, Any]:
    """Run KladMarket on the baseline ``repeats`` times; return its agent-steps and median timings.

    The runs are identical (same seed), so agent-steps are the same each time;
    the median wall time damps noise from other processes on the machine.
    """
    setups, times = [], []
    for _ in range(repeats):
        params = baseline_params()
        start = time.perf_counter()
        model = sim.KladMarket(params, rng=seed)
        setups.append(time.perf_counter() - start)

        start = time.perf_counter()
        model.run_for(days)
        times.append(time.perf_counter() - start)

        daily = model.daily().drop(columns="day").tail(days)
        del model
    active = daily[list(ACTIVE_COLUMNS)].sum(axis=1) + POLICE_AGENTS
    agent_steps = int(active.sum())
    seconds = statistics.median(times)
    return {
        "steps": days,
        "repeats": repeats,
        "setup_seconds": statistics.median(setups),
        "seconds": seconds,
        "seconds_each": times,
        "mean_active_agents": float(active.mean()),
        "agent_steps": agent_steps,
        "agent_steps_per_second": agent_steps / seconds,
    }


def traced_klad_peak_mb(days: int, seed: int) -> float:
    """Peak of Python + NumPy allocations while building and running KladMarket (tracemalloc)."""
    params = baseline_params()
    gc.collect()
    tracemalloc.start()
    try:
        model = sim.KladMarket(params, rng=seed)
        model.run_for(days)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    del model
    return peak / MB


def run_boltzmann(n: int, steps: int, seed: int, budget: float) -> dict[str, Any]:
    """Run Mesa's BoltzmannWealth with ``n`` agents for up to ``steps`` steps or ``budget`` seconds."""
    side = max(1, round(math.sqrt(n)))
    start = time.perf_counter()
    model = BoltzmannWealth(BoltzmannScenario(rng=seed, n=n, width=side, height=side))
    setup = time.perf_counter() - start

    done = 0
    start = time.perf_counter()
    while done < steps:
        model.step()
        done += 1
        if time.perf_counter() - start > budget:
            break
    seconds = time.perf_counter() - start

    agent_steps = n * done
    return {
        "n_agents": n,
        "grid": [side, side],
        "steps": done,
        "steps_requested": steps,
        "setup_seconds": setup,
        "seconds": seconds,
        "agent_steps": agent_steps,
        "agent_steps_per_second": agent_steps / seconds,
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=365, help="days (steps) per model run (default 365)")
    parser.add_argument("--seed", type=int, default=20251, help="seed for both models (default 20251)")
    parser.add_argument(
        "--repeats", type=int, default=3, help="KladMarket runs; the median wall time is used (default 3)"
    )
    parser.add_argument("--json", metavar="PATH", help="also write the figures to this JSON file")
    parser.add_argument(
        "--boltzmann-budget", type=float, default=180.0, metavar="SECONDS",
        help="stop BoltzmannWealth early after this many seconds of stepping (default 180)",
    )  # fmt: skip
    parser.add_argument("--no-tracemalloc", action="store_true", help="skip the tracemalloc run of KladMarket")
    args = parser.parse_args(argv)
    if args.days < 1:
        parser.error("--days must be at least 1")
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    if args.seed < 0:
        parser.error("--seed must be non-negative")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    rss_imports = peak_rss_mb()

    klad = run_klad(args.days, args.seed, args.repeats)
    rss_klad = peak_rss_mb()  # before anything else runs: interpreter + imports + our model
    gc.collect()
    traced = None if args.no_tracemalloc else traced_klad_peak_mb(args.days, args.seed)
    gc.collect()

    n = round(klad["mean_active_agents"])
    boltz = run_boltzmann(n, args.days, args.seed, args.boltzmann_budget)
    rss_end = peak_rss_mb()

    ratio = klad["agent_steps_per_second"] / boltz["agent_steps_per_second"]
    w, h = boltz["grid"]
    revision = git_revision()

    print(
        f"klad-sim speed benchmark: {SCENARIO.relative_to(ROOT)}, seed {args.seed}, {args.days} days "
        f"(commit {revision}; Python {platform.python_version()}, Mesa {mesa.__version__}, NumPy {np.__version__})"
    )
    header = ("steps", "agents/step", "agent-steps", "seconds", "agent-steps/s", "setup s")
    print(f"  {'':<16} " + " ".join(f"{h:>{len(h) + 1}}" for h in header))
    for name, r, agents, note in (
        (
            "KladMarket",
            klad,
            f"{klad['mean_active_agents']:,.1f}",
            f"(mean active agents/day; median of {klad['repeats']} runs: "
            + ", ".join(f"{t:.2f}" for t in klad["seconds_each"])
            + " s)",
        ),
        ("BoltzmannWealth", boltz, f"{n:,}", f"({w}x{h} grid)"),
    ):
        print(
            f"  {name:<16} {r['steps']:>6} {agents:>12} {r['agent_steps']:>12,} {r['seconds']:>8.2f} "
            f"{r['agent_steps_per_second']:>14,.0f} {r['setup_seconds']:>8.2f}  {note}"
        )
    if boltz["steps"] < boltz["steps_requested"]:
        print(
            f"  (BoltzmannWealth stopped after {boltz['steps']} of {boltz['steps_requested']} steps: "
            f"time budget {args.boltzmann_budget:g} s; rates are per agent-step, so still comparable)"
        )
    print(f"  Ratio ours / Boltzmann: {ratio:.1f}x  (target >= {TARGET_RATIO:g}x: {_verdict(ratio >= TARGET_RATIO)})")
    print("  Peak memory:")
    print(f"    ru_maxrss after imports, before any run:           {rss_imports:8.1f} MB")
    print(
        f"    ru_maxrss after the KladMarket run (process):      {rss_klad:8.1f} MB  "
        f"(target < {TARGET_PEAK_MB:g} MB: {_verdict(rss_klad < TARGET_PEAK_MB)})"
    )
    if traced is not None:
        print(f"    tracemalloc peak, KladMarket alone (build + run):  {traced:8.1f} MB  (not kernels' arrays)")
    print(f"    ru_maxrss at the end (process, incl. Boltzmann):   {rss_end:8.1f} MB")

    if args.json:
        figures = {
            "scenario": str(SCENARIO.relative_to(ROOT)),
            "seed": args.seed,
            "days": args.days,
            "commit": revision,
            "versions": {"python": platform.python_version(), "mesa": mesa.__version__, "numpy": np.__version__},
            "klad": klad,
            "boltzmann": boltz,
            "ratio": ratio,
            "memory_mb": {
                "ru_maxrss_after_imports": rss_imports,
                "ru_maxrss_after_klad": rss_klad,
                "tracemalloc_peak_klad": traced,
                "ru_maxrss_end": rss_end,
            },
            "targets": {
                "ratio_min": TARGET_RATIO,
                "peak_mb_max": TARGET_PEAK_MB,
                "ratio_met": ratio >= TARGET_RATIO,
                "memory_met": rss_klad < TARGET_PEAK_MB,
            },
        }
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
        print(f"  Figures written to {path}")
    return 0


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


if __name__ == "__main__":
    sys.exit(main())
