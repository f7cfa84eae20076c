"""The ``klad`` command line: a thin layer over the Python API."""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from . import __version__
from .docs import parameter_table
from .model import METRICS, KladMarket
from .output import write_json, write_parquet
from .params import REGISTRY, ParameterError, load_scenario
from .plots import plot_timeseries
from .runner import HEADLINE, final_window, replication_seeds, summarise


def _positive(name: str):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a whole number, got {text!r}") from None
        if value < 1:
            raise argparse.ArgumentTypeError(f"{name} must be at least 1, got {value}")
        return value

    return parse


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"seed must be a non-negative whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"seed must be a non-negative whole number, got {value}")
    return value


def cmd_run(args: argparse.Namespace) -> int:
    """Run a scenario's replications, write results and a figure, print a summary."""
    params = load_scenario(args.scenario)
    name = params.pop("scenario_name")
    out = Path(args.out) if args.out else Path("results") / Path(args.scenario).stem
    seeds = replication_seeds(args.seed, args.reps)
    started = dt.datetime.now(dt.UTC).isoformat()
    frames = []
    with tqdm(total=args.reps * args.days, desc=f"{name}", unit="day", disable=args.quiet) as bar:
        for rep, seed in enumerate(seeds):
            model = KladMarket(params, rng=np.random.default_rng(seed))
            for _ in range(args.days):
                model.step()
                bar.update()
            daily = model.datacollector.get_model_vars_dataframe().reset_index(drop=True)
            daily.insert(0, "day", np.arange(1, args.days + 1))
            daily.insert(0, "rep", rep)
            frames.append(daily)
    daily = pd.concat(frames, ignore_index=True)
    window = final_window(args.days)
    summary = daily.groupby("rep")[list(METRICS)].apply(lambda d: summarise(d, window)).reset_index()
    summary.insert(1, "seed_entropy", [str(s.entropy) for s in seeds])
    summary.insert(2, "seed_spawn_key", [str(s.spawn_key) for s in seeds])

    write_parquet(daily, out / "daily.parquet")
    write_parquet(summary, out / "summary.parquet")
    plot_timeseries(daily, out / "figures" / "timeseries.png", name, params["policy_start_day"])
    write_json(
        {
            "scenario": name,
            "scenario_file": str(args.scenario),
            "parameters": params,
            "seed": args.seed,
            "replications": args.reps,
            "days": args.days,
            "final_window_days": window,
            "versions": _versions(),
            "command": sys.argv,
            "started": started,
            "finished": dt.datetime.now(dt.UTC).isoformat(),
        },
        out / "manifest.json",
    )
    print(_summary_table(summary, name, window))
    print(f"\nresults: {out}/ (daily.parquet, summary.parquet, manifest.json, figures/timeseries.png)")
    return 0


def _summary_table(summary: pd.DataFrame, name: str, window: int) -> str:
    lines = [f"{name}: means over the last {window} days ({len(summary)} replication(s))", ""]
    for metric in HEADLINE:
        values = summary[metric]
        spread = f"  (sd {values.std(ddof=1):.3g})" if len(values) > 1 else ""
        lines.append(f"  {metric:<22} {values.mean():>14.4g}{spread}")
    return "\n".join(lines)


def _versions() -> dict[str, str]:
    from importlib.metadata import version

    packages = {name: version(name) for name in ("mesa", "numpy", "pandas", "SALib", "scipy")}
    return {"klad-sim": __version__, "python": platform.python_version(), **packages}


def cmd_params(args: argparse.Namespace) -> int:
    """Print the parameter registry."""
    if args.markdown:
        print(parameter_table())
        return 0
    for p in REGISTRY.values():
        print(f"{p.name:<28} {p.kind:<12} {p.default!s:<12} {p.unit:<22} {p.allowed()}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``klad``."""
    parser = argparse.ArgumentParser(prog="klad", description="klad-sim: the contactless drug market model")
    parser.add_argument("--version", action="version", version=f"klad-sim {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run a scenario's replications and write results")
    run.add_argument("scenario", help="scenario TOML file")
    run.add_argument("--reps", type=_positive("--reps"), default=1, help="replications (default 1)")
    run.add_argument("--days", type=_positive("--days"), default=365, help="days per run (default 365)")
    run.add_argument("--seed", type=_seed, default=20251, help="root seed (default 20251)")
    run.add_argument("--out", help="output folder (default results/<scenario file name>)")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.set_defaults(func=cmd_run)

    params = sub.add_parser("params", help="list every parameter with unit, range and kind")
    params.add_argument("--markdown", action="store_true", help="print the Markdown table used in docs/ODD.md")
    params.set_defaults(func=cmd_params)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``klad`` console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)  # argparse itself exits 2 with one line on bad usage
    try:
        return args.func(args)
    except ParameterError as exc:
        print(f"klad: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("klad: interrupted; finished files were written whole, nothing else", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
