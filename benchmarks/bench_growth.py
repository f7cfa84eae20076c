"""Does a day's cost follow the living market, or its history?

Runs the baseline scenario (``scenarios/baseline.toml``) for six years in one
process and times every day (``time.perf_counter`` around ``step``). Prints the
median time of a day in each year, the ratio of year 6 to year 2, and the rows
in the couriers' and buyers' arrays at the end of each year next to the agents
still in the market. Departed agents' rows are dropped from the arrays
(``Roster.tidy``), so the ratio should stay at or below the target of 1.25.

Medians, not means: a day of a busy machine is slow for reasons of its own.

Usage::

    .venv/bin/python benchmarks/bench_growth.py [--years 6] [--seed 20251] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import sim
from sim.io.config import load_scenario

ROOT = Path(__file__).resolve().parent.parent
TARGET_RATIO = 1.25


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--years", type=int, default=6, help="years to run (default 6; year 2 is compared with the last)"
    )
    parser.add_argument("--seed", type=int, default=20251)
    parser.add_argument("--json", metavar="PATH", help="also write the figures to this JSON file")
    args = parser.parse_args(argv)

    params = load_scenario(ROOT / "scenarios" / "baseline.toml")
    sim.KladMarket({"n_buyers": 1000}, rng=1).run_for(2)  # load the compiled rules first
    model = sim.KladMarket(params, rng=args.seed)
    rows = []
    for year in range(1, args.years + 1):
        times = []
        for _ in range(365):
            start = time.perf_counter()
            model.step()
            times.append(time.perf_counter() - start)
        couriers, buyers = model.couriers, model.buyers
        rows.append({
            "year": year, "median_ms": 1000 * statistics.median(times),
            "courier_rows": len(couriers), "couriers_in_market": int((~couriers.departed()).sum()),
            "buyer_rows": len(buyers), "buyers_in_market": int((~buyers.departed()).sum()),
        })  # fmt: skip
    print(f"{'year':>4} {'ms/day':>8} {'courier rows':>13} {'in market':>10} {'buyer rows':>11} {'in market':>10}")
    for r in rows:
        print(f"{r['year']:>4} {r['median_ms']:>8.2f} {r['courier_rows']:>13,} {r['couriers_in_market']:>10,} "
              f"{r['buyer_rows']:>11,} {r['buyers_in_market']:>10,}")  # fmt: skip
    ratio = rows[-1]["median_ms"] / rows[1]["median_ms"]
    verdict = "meets" if ratio <= TARGET_RATIO else "MISSES"
    print(f"\nyear {args.years} / year 2: {ratio:.2f} ({verdict} the target of at most {TARGET_RATIO})")
    if args.json:
        Path(args.json).write_text(json.dumps({"years": rows, "ratio": ratio, "target": TARGET_RATIO}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
