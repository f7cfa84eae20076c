"""A city-year of this checkout against another commit's, measured interleaved on this machine.

What is measured
----------------
The time of a default city-year (``scenarios/baseline.toml``, 365 days, one
seed) in this checkout and in a commit given by ``--against`` (a detached git
worktree of it, made in a temporary folder and removed afterwards). Each
measurement is a fresh Python process that imports the package of its own
tree, runs a short warm-up (the compiled rules load, or compile on a first
run, untimed) and then ``--repeats`` city-years, and prints the median. The
two trees take turns, ``--rounds`` times each (this checkout first in odd
rounds, the other in even ones), so that a machine that gets busier or
quieter during the benchmark weighs on both alike. The result is the ratio of
the medians in each round and over all rounds: quote the ratio, not the
times, which move with the machine.

Usage::

    .venv/bin/python benchmarks/bench_against.py --against a36f5be [--rounds 3] [--repeats 5] [--days 365]
        [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import signal
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: Run in each tree's own process: the median seconds of ``repeats`` default city-years after a warm-up.
MEASURE = """
import statistics, sys, time
sys.path.insert(0, {root!r})
import sim
scenario = sim.load_scenario({root!r} + "/scenarios/baseline.toml")
sim.KladMarket(scenario, rng=1).run_for(20)  # the compiled rules load (or compile) here, untimed
times = []
for _ in range({repeats}):
    model = sim.KladMarket(scenario, rng={seed})
    start = time.perf_counter()
    model.run_for({days})
    times.append(time.perf_counter() - start)
print(statistics.median(times))
"""


def city_year(root: Path, repeats: int, seed: int, days: int = 365) -> float:
    """Median seconds of a default city-year in the tree at ``root`` (a fresh process of this interpreter)."""
    code = MEASURE.format(root=str(root), repeats=repeats, seed=seed, days=days)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd=root)
    if done.returncode != 0:
        raise SystemExit(f"bench_against: the run in {root} failed:\n{done.stderr[-2000:]}")
    return float(done.stdout.strip().splitlines()[-1])


def measure(other: Path, rounds: int, repeats: int, seed: int, days: int = 365) -> dict:
    """Alternate the two trees ``rounds`` times; the medians and their ratios (this checkout / the other)."""
    for root in (ROOT, other):  # a first run of each tree compiles (or loads) all its rules: not timed
        city_year(root, 1, seed, days)
    here, there = [], []
    for r in range(rounds):
        pair = [(here, ROOT), (there, other)]
        for times, root in pair if r % 2 == 0 else pair[::-1]:
            times.append(city_year(root, repeats, seed, days))
        print(f"  round {r + 1}: this checkout {here[-1]:.3f} s, the other {there[-1]:.3f} s, "
              f"ratio {here[-1] / there[-1]:.3f}", flush=True)  # fmt: skip
    ratios = [a / b for a, b in zip(here, there, strict=True)]
    return {"this checkout": here, "other": there, "ratios": ratios,
            "ratio of medians": statistics.median(here) / statistics.median(there)}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--against", required=True, help="the commit to compare with (any git revision)")
    parser.add_argument("--rounds", type=int, default=3, help="turns of each tree (default 3)")
    parser.add_argument("--repeats", type=int, default=5, help="city-years per turn; their median counts (default 5)")
    parser.add_argument("--seed", type=int, default=20251)
    parser.add_argument("--days", type=int, default=365, help="days of each run (default 365: a city-year)")
    parser.add_argument("--json", metavar="PATH", help="also write the figures to this JSON file")
    args = parser.parse_args()
    rev = subprocess.run(["git", "rev-parse", "--short", args.against], capture_output=True, text=True, cwd=ROOT)
    if rev.returncode != 0:
        print(f"bench_against: --against: {args.against!r} is not a commit of this repository", file=sys.stderr)
        return 2
    commit = rev.stdout.strip()
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a killed benchmark still removes its worktree
    subprocess.run(["git", "worktree", "prune"], cwd=ROOT, check=False)  # and one left by a hard kill goes
    with tempfile.TemporaryDirectory() as tmp:
        other = Path(tmp) / "tree"
        subprocess.run(["git", "worktree", "add", "--detach", "-q", str(other), commit], cwd=ROOT, check=True)
        try:
            print(f"a default city-year: this checkout ({head.stdout.strip()}) against {commit}, "
                  f"{args.rounds} rounds of {args.repeats}", flush=True)  # fmt: skip
            found = measure(other, args.rounds, args.repeats, args.seed, args.days)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(other)], cwd=ROOT, check=False)
            subprocess.run(["git", "worktree", "prune"], cwd=ROOT, check=False)
    print(f"ratio of the medians (this checkout / {commit}): {found['ratio of medians']:.3f}; "
          f"per round {', '.join(f'{r:.3f}' for r in found['ratios'])}")  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps({"against": commit, "head": head.stdout.strip(), **found}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
