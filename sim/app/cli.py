"""The ``klad`` command line: a thin layer over the Python API."""

from __future__ import annotations

import argparse
import errno
import ipaddress
import os
import socket
import sys
from dataclasses import asdict
from pathlib import Path

from sim import __version__
from sim.app.interrupts import caused_by_interrupt
from sim.experiments.calibration import METHODS, Method
from sim.experiments.execute import Execution, scheduler_warning
from sim.experiments.scenarios import RunPlan, prepare_comparison, prepare_run
from sim.io.config import Scenario, load_scenario
from sim.io.files import check_writable, claimed, write_json
from sim.io.provenance import WRITTEN_BY, check_replaceable, fingerprint
from sim.io.schema import MAX_DAYS, MAX_SEED
from sim.params import REGISTRY, Fault, ParameterError, check_records, cut
from sim.reporting.docs import parameter_table
from sim.reporting.scenarios import comparison_lines, headline_lines, write_comparison, write_scenario

#: Exit codes (docs/reference.md, "Exit codes"): 0 done, 1 failed (a target, every run, or a fault stopped the
#: work), 2 bad input, 3 some runs failed, 130 interrupted (sim.app.interrupts).
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_SOME_FAILED = 3


def _whole(name: str, minimum: int, maximum: int | None = None):
    """An argparse type: a whole number of at least ``minimum`` (and at most ``maximum``), with a one-line error."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a whole number, got {cut(repr(text))}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{name} must be at least {minimum}, got {value}")
        if maximum is not None and value > maximum:
            raise argparse.ArgumentTypeError(f"{name} must be at most {maximum:,}, got {value:,}")
        return value

    return parse


def cmd_run(args: argparse.Namespace) -> int:
    """Run a scenario's replications, write results, a report and figures, print the table."""
    out = _out(args, Path("results") / Path(args.scenario).stem)
    scenario = load_scenario(args.scenario)
    execution, plan = _execution(args), _plan(args)
    ready = prepare_run(scenario, plan, execution)  # whatever would refuse the runs is said before any run
    _warn_if_policy_never_starts(scenario, args.days)
    mark = fingerprint(work="run", scenario=scenario.as_dict(), plan=asdict(plan))
    check_replaceable(out, mark, overwrite=args.overwrite, work="run")
    with claimed(out):
        _announce("run", f"{scenario.name}: {args.reps} replication(s) of {args.days:,} days", execution)
        result = ready.run()
        write_scenario(result, out)
        write_json(mark, out / WRITTEN_BY)
    print(f"\n{result.name}: means over {result.window.describe(args.days)}; {args.reps} replication(s), 95% CI")
    print("\n".join(headline_lines(result.table)))
    records = "".join(f", {name}.parquet" for name in result.records)
    print(f"\nresults: {out}/ (report.md, summary.parquet, daily.parquet, costs.parquet{records}, manifest.json, "
          "figures/)")  # fmt: skip
    return 0


def _announce(command: str, what: str, execution: Execution) -> None:
    """One line on stderr as the runs start: what runs, and where."""
    where = f"the Dask cluster at {execution.scheduler}" if execution.scheduler else (
        f"{execution.workers} local process{'es' if execution.workers > 1 else ''}")  # fmt: skip
    print(f"klad {command}: {what} on {where}", file=sys.stderr, flush=True)


def _warn_if_policy_never_starts(scenario: Scenario, days: int) -> None:
    start = scenario.params.policy_start_day
    if scenario.policy and start > days:
        print(
            f"klad: warning: the policy starts on day {start}, after the last day ({days}); "
            "the run shows the market without it",
            file=sys.stderr,
        )


def cmd_compare(args: argparse.Namespace) -> int:
    """Run scenarios with common random numbers and compare them with the first."""
    default = "compare_" + "_vs_".join(Path(s).stem for s in args.scenarios)
    out = _out(args, Path("results") / default)
    scenarios = [load_scenario(scenario) for scenario in args.scenarios]
    execution, plan = _execution(args), _plan(args)
    ready = prepare_comparison(scenarios, plan, execution)  # refused before any run
    for scenario in scenarios:
        _warn_if_policy_never_starts(scenario, args.days)
    mark = fingerprint(work="compare", scenarios=[s.as_dict() for s in scenarios], plan=asdict(plan))
    check_replaceable(out, mark, overwrite=args.overwrite, work="comparison")
    with claimed(out):
        _announce("compare", f"{len(args.scenarios)} scenarios x {args.reps} replication(s) of {args.days:,} days",
                  execution)  # fmt: skip
        comparison = ready.run()
        write_comparison(comparison, out)
        write_json(mark, out / WRITTEN_BY)
    table, first = comparison.table, comparison.names[0]
    print(f"\nchange against {first}, paired by replication (p: paired t-test)")
    print("\n".join(comparison_lines(table, first)))
    print(f"\nresults: {out}/ (report.md, comparison.parquet, daily.parquet, costs.parquet, "
          "cost_effectiveness.parquet, manifest.json, figures/)")  # fmt: skip
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    """Run (or resume) a sweep and analyse it."""
    from sim.experiments.sweep import SweepPlan, check_design, load_experiment, run_sweep
    from sim.reporting.sweep import write_sweep

    out = _out(args, Path("results") / "sweeps" / Path(args.experiment).stem)
    if args.retry_failed and not args.resume:
        raise ParameterError("--retry-failed goes with --resume (it runs again the failed runs of an earlier sweep)")
    exp, execution = load_experiment(args.experiment), _execution(args)
    check_design(exp, args.experiment, execution)  # memory, before the output folder is made
    with claimed(out):
        result = run_sweep(exp, SweepPlan(out, resume=args.resume, retry_failed=args.retry_failed), execution)
        table = write_sweep(result, out, str(args.experiment))
    runs, failed = result.runs, result.failed
    print(f"{len(runs)} runs ({len(failed)} failed); results: {out}/ (runs.parquet, indices.csv, report.md, figures/)")
    if not table.empty:
        print(table.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    if len(failed):
        first = failed.iloc[0]
        every = "every run" if len(failed) == len(runs) else f"{len(failed)} of {len(runs)} runs"
        print(f"klad: {every} failed; the first (run {first['run']}): {first['error']}; "
              f"`klad sweep --resume --retry-failed` runs them again", file=sys.stderr)  # fmt: skip
        return EXIT_FAILED if len(failed) == len(runs) else EXIT_SOME_FAILED
    return 0


#: Browser sessions the demo serves at once unless told otherwise: one market each, on a laptop's few cores.
DEMO_SESSIONS = 4


def cmd_demo(args: argparse.Namespace) -> int:
    """Serve the classroom demo in the browser until Ctrl-C.

    The demo runs a market for anyone who opens the page, so it serves this
    machine only unless ``--host`` names another address and ``--yes-public``
    says that is meant; at most ``--max-sessions`` browser sessions run at once
    (others wait for a free one).
    """
    if not _loopback_host(args.host):
        if not args.yes_public:
            raise ParameterError(
                f"--host {args.host}: anyone who can reach this address could use the demo (and this "
                "machine's cores); add --yes-public to serve it there, on a network you trust"
            )
        print(f"klad: warning: --host {args.host}: the demo is open to anyone who can reach this address, "
              f"{args.max_sessions} session(s) at a time", file=sys.stderr, flush=True)  # fmt: skip
    if args.scenario:
        load_scenario(args.scenario)  # a bad file fails here, in one line, before the server starts
        os.environ["KLAD_DEMO_SCENARIO"] = str(Path(args.scenario).resolve())
    os.environ["SOLARA_KERNEL_MAX_COUNT"] = str(args.max_sessions)  # Solara's cap on pages running at once
    try:
        with socket.create_server((args.host, args.port)):
            pass
    except OSError as exc:
        reason = exc.strerror or exc
        raise ParameterError(f"--host {args.host} --port {args.port}: cannot serve there ({reason})") from None
    from sim.app.demo.market import serve

    display = os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or sys.platform in ("darwin", "win32")
    print(f"klad demo: serving http://{args.host}:{args.port}/ (Ctrl-C stops it)", flush=True)
    serve(args.host, args.port, open_browser=bool(display) and not args.no_browser)
    return 0


def _loopback_host(host: str) -> bool:
    """Whether ``host`` serves this machine only."""
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _port(text: str) -> int:
    port = _whole("--port", 1)(text)
    if port > 65535:
        raise argparse.ArgumentTypeError(f"--port must be at most 65535, got {port}")
    return port


def _share(name: str):
    """An argparse type: a number in (0, 1], with a one-line error naming the option."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a number, got {text!r}") from None
        if not 0.0 < value <= 1.0:
            raise argparse.ArgumentTypeError(f"{name} must be in (0, 1], got {value:g}")
        return value

    return parse


def cmd_calibrate(args: argparse.Namespace) -> int:
    """Fit the uncertain parameters to the empirical targets (emulator or rejection ABC) and write the report."""
    from sim.experiments.calibration import CalibrationPlan, calibrate
    from sim.experiments.targets import load_targets, seconds_per_run
    from sim.reporting.calibration import write_calibration

    out = _out(args, Path("results") / "calibration")
    jointly, why = None, ""
    if args.worlds:  # every uncertainty of the worlds file, each over its registry prior, beside [fit]
        from sim.experiments.worlds import load_worlds

        names = load_worlds(args.worlds, read_posterior=False).names
        jointly, why = names, f"an uncertainty of the worlds in {args.worlds}"
    execution = _execution(args)
    workers = execution.workers
    method = Method(args.method)  # one of the parser's choices
    compare = args.compare and method == Method.EMULATOR
    runs = args.budget * (2 if compare else 1) + args.ppc_runs + args.check_reps
    days = args.days or load_targets(args.targets).horizons[0]
    scenario = load_scenario(args.scenario)
    minutes = seconds_per_run(days, scenario.params.n_buyers) * runs / workers / 60
    where = f"on the Dask cluster at {args.scheduler}" if args.scheduler else f"on {workers} local processes"
    if method == Method.EMULATOR:
        from sim.experiments.calibration import fit_seconds, wave_sizes

        targets = load_targets(args.targets)
        dims = len(targets.fit_params) + len(set(jointly or ()) - set(targets.fit_params))
        minutes += fit_seconds(wave_sizes(args.budget, args.waves), dims, len(targets.by_role("fit"))) / 60
    print(f"klad calibrate: {runs} runs of {days} days {where}, and the emulator's fits; about {minutes:.0f} min "
          "on this project's 2-core machine (1 worker per core, unloaded)", flush=True)  # fmt: skip
    with claimed(out):
        plan = CalibrationPlan(
            args.targets, method=method, budget=args.budget, waves=args.waves, share=args.accept,
            posterior_size=args.posterior_size, ppc_runs=args.ppc_runs, check_reps=args.check_reps, days=args.days,
            seed=args.seed, out=out, resume=args.resume, compare=compare, jointly=tuple(jointly or ()),
            jointly_why=why,
        )  # fmt: skip
        result = calibrate(scenario, plan, execution)
        write_calibration(result, out)
    print("\n".join(calibration_summary(result, method, args.ppc_runs, args.check_reps)))
    print(f"\nresults: {out}/ (posterior.csv, fitted.toml, report.md, runs.parquet, ppc.csv, fit.csv, figures/, "
          "manifest.json)")  # fmt: skip
    return 0


def calibration_summary(result, method: Method, ppc_runs: int, check_reps: int) -> list[str]:
    """What ``klad calibrate`` prints at the end: the posterior, the predictive check and the fit, each a table."""
    from sim.reporting.calibration import param_unit

    how = (f"{int(result.runs['accepted'].sum())} of {len(result.runs)} runs accepted" if method == Method.REJECTION
           else f"{len(result.sample)} draws; {len(result.runs)} runs in {len(result.waves)} waves")  # fmt: skip
    lines = [
        f"\nposterior ({method}: {how}):",
        f"  {'parameter':<22} {'unit':<18} {'median':>10}  {'90% interval':<24} {'prior':<24} interval/prior",
    ]
    for row in result.posterior.itertuples():
        lines.append(
            f"  {row.parameter:<22} {param_unit(row.parameter):<18} {row.median:>10.4g}  "
            f"{f'[{row.q05:.4g}, {row.q95:.4g}]':<24} {f'[{row.prior_low:.4g}, {row.prior_high:.4g}]':<24} "
            f"{row.width_ratio:.2f}"
        )
    lines += [
        f"\nposterior predictive check ({ppc_runs} runs at posterior draws):",
        f"  {'target':<30} {'role':<8} {'inside':>6}  {'5-95% of runs':<24} {'target range':<24} unit",
    ]
    for row in result.ppc.itertuples():
        lines.append(
            f"  {row.target:<30} {row.role:<8} {row.share_inside:>6.0%}  "
            f"{f'[{row.q05:.4g}, {row.q95:.4g}]':<24} {f'[{row.low:.4g}, {row.high:.4g}]':<24} {row.unit}"
        )
    lines += [
        f"\nfit at the fitted point ({check_reps} replications):",
        f"  {'target':<30} {'role':<8} {'mean':>11}  {'target range':<24} {'result':<10} unit",
    ]
    for row in result.fit_table.itertuples():
        lines.append(
            f"  {row.target:<30} {row.role:<8} {row.mean:>11.4g}  {f'[{row.low:.4g}, {row.high:.4g}]':<24} "
            f"{row.outcome if row.passed else 'OUTSIDE':<10} {row.unit}"
        )
    return lines


def cmd_validate(args: argparse.Namespace) -> int:
    """Run a scenario and judge it against every target; exit code 1 if any target fails."""
    from sim.experiments.validation import ValidationPlan, validate
    from sim.reporting.validation import lines, write_validation

    out = _out(args, Path("results") / "validation")
    plan = ValidationPlan(args.targets, reps=args.reps, days=args.days, seed=args.seed)
    result = validate(load_scenario(args.scenario), plan, _execution(args))
    with claimed(out):
        write_validation(result, out)
    at = ", ".join(f"{h:,}" for h in result.horizons)
    print(f"\n{args.scenario}: {args.reps} replication(s) of {result.days:,} days, judged at day {at}; mean over "
          "replications, 95% CI")  # fmt: skip
    for title, rows in lines(result):
        print(f"\n{title}")
        print("\n".join(rows))
    named = result.table["target"] + " (year " + (result.table["horizon"] / 365).map("{:.3g}".format) + ")"
    failed = named[~result.table["passed"]].tolist()
    straddle = named[result.table["outcome"] == "straddles"].tolist()
    note = f" ({len(straddle)} straddle a bound: {', '.join(straddle)})" if straddle and not failed else ""
    print(f"\n{'all targets pass' + note if not failed else 'FAILED: ' + ', '.join(failed)}; report: {out}/report.md")
    return 0 if not failed else EXIT_FAILED


def cmd_hypotheses(args: argparse.Namespace) -> int:
    """Run the hypothesis experiments H1-H7 and write their report."""
    from sim.experiments.hypotheses import expected_seconds, load_all, seconds_per_run_day
    from sim.experiments.study import HypothesesPlan, run_hypotheses
    from sim.experiments.worlds import in_world
    from sim.reporting.hypotheses import write_report

    hyps = [h.use(args.quick, seed=args.seed, replications=args.reps, horizon=args.horizon)
            for h in load_all(args.folder)]  # fmt: skip
    if args.only:
        wanted = {x.strip() for x in args.only.split(",")}
        unknown = wanted - {h.id for h in hyps}
        if unknown:
            raise ParameterError(f"--only: no hypothesis {sorted(unknown)[0]} in {args.folder}")
        hyps = [h for h in hyps if h.id in wanted]
    if args.setting:
        missing = [h.id for h in hyps if args.setting not in h.flips]
        if missing:
            raise ParameterError(f"--setting {args.setting}: {missing[0]} has no [flip] table")
        hyps = [h.under(args.setting) for h in hyps]
    worlds = None
    if args.worlds:  # checked before anything is measured or run
        from sim.experiments.worlds import load_worlds, need_sklearn

        worlds = load_worlds(args.worlds_file)
        need_sklearn()
    default = ("hypotheses_quick" if args.quick else "hypotheses") + (f"_{args.setting}" if args.setting else "")
    out = _out(args, Path("results") / default)
    execution = _execution(args)
    workers = execution.workers
    per_day = seconds_per_run_day()
    variants = [] if args.no_alternatives else [h.alternative_of(a) for h in hyps for a in h.alternatives]
    runs, seconds = expected_seconds(hyps + variants, 1 if args.scheduler else workers, per_day)
    _, most = expected_seconds(hyps + variants, 1 if args.scheduler else workers, per_day,
                               {h.id: h.settings["max_replications"] for h in hyps + variants})  # fmt: skip
    where = "core-time on the cluster" if args.scheduler else f"on {workers} local worker(s)"
    cap = f", up to {most / 60:.0f} min if every test needs its most replications" if most > seconds * 1.01 else ""
    under = f" (and {len(variants)} structural alternatives)" if variants else ""
    print(f"klad: {len(hyps)} hypotheses{under}, {runs} model runs; expected time about {seconds / 60:.0f} min {where}"
          f"{cap} ({per_day * 1000:.1f} ms per model day measured here)", file=sys.stderr, flush=True)  # fmt: skip
    if worlds is not None:
        from sim.experiments.worlds import check_seconds

        in_one = [in_world(h.without_details(), 0, {}, worlds.replications, worlds.years) for h in hyps]
        _, extra = expected_seconds(in_one, 1 if args.scheduler else workers, per_day)
        check = check_seconds(worlds, args.worlds, 1 if args.scheduler else workers)
        print(f"klad: then {args.worlds} candidate worlds: about {check / 60:.0f} min to check each against the "
              f"targets, and up to {args.worlds * extra / 60:.0f} min for {worlds.replications} replications of "
              "every hypothesis in those that pass", file=sys.stderr, flush=True)  # fmt: skip
    plan = HypothesesPlan(out, resume=args.resume, alternatives=not args.no_alternatives,
                          worlds=args.worlds or 0, worlds_file=worlds)  # fmt: skip
    with claimed(out):
        result = run_hypotheses(hyps, plan, execution)
        write_report(result, out)
    print("\n".join(verdict_summary(hyps, result)))
    print(f"\nresults: {out}/ (report.md, results.csv, figures/, manifest.json)")
    return 0


def cmd_optimize(args: argparse.Namespace) -> int:
    """Search the policies that do most within a budget (NSGA-II), and write the front and today's regret."""
    from sim.experiments.hypotheses import seconds_per_run_day
    from sim.experiments.optimize import OptimizePlan, expected_seconds, load_optimisation, search
    from sim.reporting.optimize import summary, write_report

    opt = load_optimisation(args.file)
    out = _out(args, Path("results") / "optimize" / Path(args.file).stem)
    execution = _execution(args)
    workers = 1 if args.scheduler else execution.workers
    per_day = 0.0 if opt.model == "toy" else seconds_per_run_day(int(opt.base.get("n_buyers", 10_000)))
    runs, seconds = expected_seconds(opt, workers, per_day)
    where = "core-time on the cluster" if args.scheduler else f"on {workers} local worker(s)"
    print(f"klad: {opt.policies} policies x {opt.runs_per_policy} run(s), {runs} model runs at most; expected time "
          f"about {seconds / 60:.0f} min {where}", file=sys.stderr, flush=True)  # fmt: skip
    with claimed(out):
        found = search(opt, OptimizePlan(out, resume=args.resume), execution)
        written = write_report(found, out)
    print("\n".join(summary(found)))
    print(f"\nresults: {out}/ ({', '.join(written)})")
    return 0


def verdict_summary(hyps: list, result) -> list[str]:
    """What ``klad hypotheses`` prints at the end: each hypothesis's verdict, and under each alternative."""
    verdicts, alternatives, across = result.verdicts, result.alternatives, result.across
    table = verdicts.table
    worlds = " (share of plausible worlds per verdict)" if across is not None else ""
    lines = ["", f"  id   verdict        hypothesis{worlds}"]
    if alternatives is not None:
        lines.append("       verdict        under a structural alternative")
    for h in hyps:
        verdict = table.loc[table["hypothesis"] == h.id, "hypothesis_verdict"].iloc[0]
        share = ""
        if across is not None:
            from sim.experiments.worlds import shares

            row = shares(across.verdicts).loc[h.id]
            share = f" (worlds: {row['supported']:.0%} supported, {row['not supported']:.0%} not)"
        lines.append(f"  {h.id:<4} {verdict:<14} {h.title}{share}")
        if alternatives is not None:
            for a in h.alternatives:
                lines.append(f"       {alternatives.details[f'{h.id}-{a.name}'].verdict:<14} under {a.name}")
    return lines


def cmd_params(args: argparse.Namespace) -> int:
    """Print the parameter registry, or with ``--scenario`` the values a scenario runs with."""
    if args.markdown:
        print(parameter_table())
        return 0
    if args.scenario is None:
        print("the registry's defaults; a scenario may set others (the baseline runs the values fitted to the "
              "targets): klad params --scenario FILE shows those in force", file=sys.stderr)  # fmt: skip
        print(f"{'name':<28} {'kind':<12} {'default':<12} {'unit':<22} {'allowed':<34} prior")
        for p in REGISTRY.values():
            prior = p.prior.shown() if p.prior else ""
            print(f"{p.name:<28} {p.kind:<12} {p.default!s:<12} {p.unit:<22} {p.allowed():<34} {prior}".rstrip())
        return 0
    scenario = load_scenario(args.scenario)
    policy, values = scenario.policy, scenario.params.as_dict()
    print(f"{scenario.name} ({args.scenario}): the values in force from day 0, and those its policy sets "
          f"from day {scenario.params.policy_start_day}; * where either is not the registry's default")  # fmt: skip
    print(f"{'name':<28} {'kind':<12} {'in force':<12} {'policy':<12} {'unit':<22} allowed")
    for p in REGISTRY.values():
        value, lever = values[p.name], policy.get(p.name, "")
        mark = "*" if value != p.default or (p.name in policy and lever != p.default) else " "
        print(f"{p.name:<27}{mark} {p.kind:<12} {value!s:<12} {lever!s:<12} {p.unit:<22} {p.allowed()}")
    return 0


def _window_options(parser: argparse.ArgumentParser, record: bool = False) -> None:
    """``--window``, ``--burn-in`` and ``--force`` (and ``--record``)."""
    parser.add_argument("--window", type=_whole("--window", 1), help="days summarised at the end of each run "
                        "(default: the scenario's window, else 90)")  # fmt: skip
    parser.add_argument("--burn-in", type=_whole("--burn-in", 0), help="days at the start that no summary may "
                        "include (default: the scenario's burn_in, else its policy_start_day)")  # fmt: skip
    parser.add_argument("--force", action="store_true", help="accept a window under 30 days or inside the burn-in")
    if record:
        parser.add_argument("--record", type=_records, default=(), help="records to keep beside daily.parquet, "
                            "comma-separated: shops, purchases, couriers")  # fmt: skip


def _records(text: str) -> tuple[str, ...]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    try:
        return check_records(names, "--record")
    except ParameterError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _plan(args: argparse.Namespace) -> RunPlan:
    """How ``klad run`` / ``klad compare`` run their scenarios."""
    return RunPlan(args.reps, args.days, args.seed, args.window, args.burn_in, args.force,
                   getattr(args, "record", ()))  # fmt: skip


def _runs_options(
    parser: argparse.ArgumentParser, reps: int | None = 10, min_reps: int = 1, days: str | None = None
) -> None:
    """``--reps`` (unless ``reps`` is None), ``--days`` (default 730, or None described by ``days``) and ``--seed``."""
    if reps is not None:
        parser.add_argument("--reps", type=_whole("--reps", min_reps), default=reps,
                            help=f"replications (default {reps})")  # fmt: skip
    parser.add_argument("--days", type=_whole("--days", 1, MAX_DAYS), default=None if days else 730,
                        help=f"days per run (default {days or 730})")  # fmt: skip
    parser.add_argument("--seed", type=_whole("--seed", 0), default=20251, help="root seed (default 20251)")


def _output_options(parser: argparse.ArgumentParser, default_out: str, resume: str | None = None) -> None:
    """``--workers`` or ``--scheduler``, ``--out``, ``--resume`` (if ``resume`` says what it does), ``--quiet``."""
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--workers", type=_whole("--workers", 1), default=None, help="local processes (default all)")
    where.add_argument("--scheduler", help="Dask scheduler address, e.g. tcp://127.0.0.1:8786")
    parser.add_argument("--out", help=f"output folder (default {default_out})")
    if resume:
        parser.add_argument("--resume", action="store_true", help=resume)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def _execution(args: argparse.Namespace) -> Execution:
    """Where the command's runs go: ``--scheduler``, or ``--workers`` local processes (default every core).

    A scheduler that is neither on this machine nor reached over TLS is warned about (``scheduler_warning``).
    """
    if args.scheduler:
        warning = scheduler_warning(args.scheduler)
        if warning:
            print(f"klad: warning: {warning}", file=sys.stderr, flush=True)
        return Execution(1, args.scheduler, not args.quiet)
    return Execution.local(args.workers, not args.quiet)


def _out(args: argparse.Namespace, default: Path) -> Path:
    """The command's output folder (``--out``, else ``default``), checked to be writable before any work."""
    out = default if args.out is None else Path(args.out)
    check_writable("" if args.out is not None and not args.out.strip() else out)
    return out


#: Shared defaults of calibrate and validate.
SCENARIO_DEFAULT = "scenarios/baseline.toml"
TARGETS_DEFAULT = "scenarios/data/kazakhstan.toml"


#: The subparsers of ``klad``: ``build_parser`` adds each command with one ``_add_<command>`` below.
type Commands = argparse._SubParsersAction[_OneLineParser]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``klad``: one subcommand per workflow, in the order ``klad --help`` lists them."""
    parser = _OneLineParser(prog="klad", description="klad-sim: the contactless drug market model")
    parser.add_argument("--version", action="version", version=f"klad-sim {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_OneLineParser)
    for add in (_add_run, _add_compare, _add_sweep, _add_demo, _add_calibrate, _add_validate, _add_hypotheses,
                _add_optimize, _add_params):  # fmt: skip
        add(sub)
    return parser


def _add_run(sub: Commands) -> None:
    """``klad run``: one scenario's replications."""
    run = sub.add_parser("run", help="run a scenario's replications and write results")
    run.add_argument("scenario", help="scenario TOML file")
    _runs_options(run)
    _window_options(run, record=True)
    _output_options(run, "results/<scenario file name>")
    run.add_argument("--overwrite", action="store_true", help="replace the results another run left in --out")
    run.set_defaults(func=cmd_run)


def _add_compare(sub: Commands) -> None:
    """``klad compare``: scenarios with common random numbers, against the first."""
    compare = sub.add_parser("compare", help="compare scenarios with common random numbers")
    compare.add_argument("scenarios", nargs="+", help="scenario TOML files; the first is the reference")
    _runs_options(compare)
    _window_options(compare)
    _output_options(compare, "results/compare_<A>_vs_<B>...")
    compare.add_argument("--overwrite", action="store_true", help="replace the results another comparison left in "
                         "--out")  # fmt: skip
    compare.set_defaults(func=cmd_compare)


def _add_sweep(sub: Commands) -> None:
    """``klad sweep``: an experiment file's sensitivity analysis or sweep."""
    sweep = sub.add_parser("sweep", help="run a sensitivity analysis / sweep from an experiment file")
    sweep.add_argument("experiment", help="experiment TOML file")
    _output_options(sweep, "results/sweeps/<experiment file name>", resume="skip the runs already on disk")
    sweep.add_argument("--retry-failed", action="store_true", help="with --resume: run the failed runs again")
    sweep.set_defaults(func=cmd_sweep)


def _add_demo(sub: Commands) -> None:
    """``klad demo``: the classroom demo, and who may reach it."""
    demo = sub.add_parser("demo", help="serve the classroom demo in the browser")
    demo.add_argument("--scenario", help="scenario TOML file to offer first (the shipped ones are offered too)")
    demo.add_argument("--host", default="127.0.0.1", help="address to serve on (default 127.0.0.1: this machine only)")
    demo.add_argument("--port", type=_port, default=8765, help="port (default 8765)")
    demo.add_argument("--no-browser", action="store_true", help="do not open a browser page")
    demo.add_argument("--yes-public", action="store_true", help="serve a --host that others can reach (a network "
                      "you trust: the demo has no login)")  # fmt: skip
    demo.add_argument("--max-sessions", type=_whole("--max-sessions", 1, 1000), default=DEMO_SESSIONS,
                      help=f"browser sessions served at once; others wait (default {DEMO_SESSIONS})")  # fmt: skip
    demo.set_defaults(func=cmd_demo)


def _add_calibrate(sub: Commands) -> None:
    """``klad calibrate``: the method and its budget, the sizes of the checks, and what is fitted to what."""
    calibrate = sub.add_parser("calibrate", help="fit uncertain parameters to the empirical targets (ABC)")
    calibrate.add_argument(
        "--method",
        choices=METHODS,
        default=Method.EMULATOR.value,
        help="emulator: Gaussian-process emulator in waves (default); rejection: rejection ABC",
    )
    calibrate.add_argument("--budget", type=_whole("--budget", 10), default=300, help="runs (default 300)")
    calibrate.add_argument(
        "--waves", type=_whole("--waves", 1, 20), default=3, help="emulator: waves the budget is split into (default 3)"
    )
    _runs_options(calibrate, reps=None, days="the targets file's first horizon, 730 for Kazakhstan")
    calibrate.add_argument(
        "--accept", type=_share("--accept"), default=0.1, help="rejection: share of runs kept (default 0.1)"
    )
    calibrate.add_argument(
        "--worlds", default=None, metavar="FILE", help="calibrate jointly: also fit every uncertainty of this worlds "
        "file (e.g. experiments/worlds.toml), each over its registry prior; its posterior.csv is what the worlds "
        "are then drawn from",
    )  # fmt: skip
    calibrate.add_argument(
        "--posterior-size",
        type=_whole("--posterior-size", 10, 1_000_000),
        default=1000,
        help="emulator: draws in posterior.csv (default 1000)",
    )
    calibrate.add_argument(
        "--ppc-runs",
        type=_whole("--ppc-runs", 2, 10_000),
        default=20,
        help="runs at posterior draws for the posterior predictive check (default 20)",
    )
    calibrate.add_argument(
        "--compare",
        action="store_true",
        help="emulator: also run rejection ABC at the same budget and compare the intervals",
    )
    calibrate.add_argument("--check-reps", type=_whole("--check-reps", 2), default=4,
                           help="replications at the fitted point (default 4)")  # fmt: skip
    calibrate.add_argument("--scenario", default=SCENARIO_DEFAULT, help="values of the other parameters")
    _targets_option(calibrate)
    _output_options(calibrate, "results/calibration", resume="continue an interrupted calibration")
    calibrate.set_defaults(func=cmd_calibrate)


def _add_validate(sub: Commands) -> None:
    """``klad validate``: a scenario judged against every target."""
    validate = sub.add_parser("validate", help="run a scenario and judge it against the empirical targets")
    validate.add_argument("--scenario", default=SCENARIO_DEFAULT, help="scenario (default the baseline)")
    _targets_option(validate)
    _runs_options(
        validate,
        min_reps=2,
        days="the targets file's horizons, years 2 and 5 for Kazakhstan; --days N judges at day N only",
    )
    _output_options(validate, "results/validation")
    validate.set_defaults(func=cmd_validate)


def _targets_option(parser: argparse.ArgumentParser) -> None:
    """``--targets``, the empirical targets file of calibrate and validate."""
    parser.add_argument("--targets", default=TARGETS_DEFAULT, help=f"targets file (default {TARGETS_DEFAULT})")


def _add_hypotheses(sub: Commands) -> None:
    """``klad hypotheses``: which hypotheses, how many runs, and whether across worlds or under a flip setting."""
    hyp = sub.add_parser("hypotheses", help="test the sources' hypotheses H1-H7 and write a report with verdicts")
    hyp.add_argument("--quick", action="store_true", help="fewer replications and days (under 10 min on 2 cores)")
    hyp.add_argument("--folder", default="experiments/hypotheses", help="hypothesis files (default %(default)s)")
    hyp.add_argument("--only", help="comma-separated hypothesis ids, e.g. H2,H5")
    hyp.add_argument("--seed", type=_whole("--seed", 0, MAX_SEED), help="root seed of every hypothesis (default: "
                     "each file's)")  # fmt: skip
    hyp.add_argument(
        "--reps",
        type=_whole("--reps", 2, 10_000),
        help="pilot replications of every hypothesis "
        "(default: each file's); more are added where a test needs them, up to its max_replications",
    )
    hyp.add_argument("--worlds", type=_whole("--worlds", 0, 10_000), default=0, help="also draw N candidate "
                     "worlds (the posterior sample of --worlds-file for the parameters it holds, the others over "
                     "their registry priors), keep those whose baseline passes every fitted target, run every "
                     "hypothesis in them, and report the effects and the share of worlds per verdict through an "
                     "emulator (default 0: none)")  # fmt: skip
    hyp.add_argument("--worlds-file", default="experiments/worlds.toml", help="the worlds' uncertainties, "
                     "posterior sample and targets (default %(default)s)")  # fmt: skip
    hyp.add_argument("--horizon", type=_whole("--horizon", 1, MAX_DAYS), help="days the runs go on after the "
                     "policy starts; the verdict is read at their end (default: each file's days)")  # fmt: skip
    hyp.add_argument("--no-alternatives", action="store_true", help="skip the runs under each file's structural "
                     "[[alternatives]] (the report's table of verdicts under each is then left out)")  # fmt: skip
    hyp.add_argument(
        "--setting",
        choices=("supported", "not_supported"),
        help="run under the uncertainties of each file's [flip] table that should give this verdict",
    )
    _output_options(hyp, "results/hypotheses, or results/hypotheses_quick",
                    resume="reuse the runs already in the output folder")  # fmt: skip
    hyp.set_defaults(func=cmd_hypotheses)


def _add_optimize(sub: Commands) -> None:
    """``klad optimize``: an optimisation file's search for the policies that do most within its budget."""
    optimize = sub.add_parser("optimize", help="search the levers for the policies that do most within a budget")
    optimize.add_argument("file", help="optimisation TOML file (e.g. experiments/optimize.toml)")
    _output_options(optimize, "results/optimize/<file name>", resume="continue the search already in --out")
    optimize.set_defaults(func=cmd_optimize)


def _add_params(sub: Commands) -> None:
    """``klad params``: the parameter registry, or a scenario's values."""
    params = sub.add_parser("params", help="list every parameter with unit, range and kind")
    params.add_argument("--markdown", action="store_true", help="print the Markdown table used in docs/ODD.md")
    params.add_argument("--scenario", help="a scenario file: show the values it runs with (from day 0 and from "
                        "its policy start) beside each parameter's kind, unit and range")  # fmt: skip
    params.set_defaults(func=cmd_params)


class _OneLineParser(argparse.ArgumentParser):
    """Usage errors in one line (with a pointer to --help) and exit code 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``klad`` console script; returns the exit code (docs/reference.md, "Exit codes").

    Whatever goes wrong ends in one line on stderr: bad input (exit 2), or a
    fault that stopped the work (exit 1): a full or read-only disk, no memory
    left, a worker process lost, a model that exits. ``KLAD_DEBUG=1`` shows the
    traceback of an unexpected error (a bug) instead.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except BaseException as exc:
        if caused_by_interrupt(exc):
            raise
        if isinstance(exc, ParameterError):
            return _fail(str(exc), EXIT_BAD_INPUT)
        line = fault_line(exc)
        if line is None and os.environ.get("KLAD_DEBUG"):
            raise
        return _fail(line or f"an unexpected error, a bug: {type(exc).__name__}: {exc} (KLAD_DEBUG=1 shows where)",
                     EXIT_FAILED)  # fmt: skip


def fault_line(exc: BaseException) -> str | None:
    """A fault that stopped the work, in words (None for anything else)."""
    if isinstance(exc, Fault):
        return str(exc)
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename else ""
        full = " (the disk is full: make room, then run again; finished files are whole)" if exc.errno in (
            errno.ENOSPC, errno.EDQUOT) else ""  # fmt: skip
        return f"{where}{exc.strerror or exc}{full}"
    if isinstance(exc, MemoryError):
        return f"out of memory ({exc or 'MemoryError'}): use fewer --workers or a smaller city"
    if isinstance(exc, RecursionError):
        return f"a recursion too deep ({exc})"
    if isinstance(exc, SystemExit):
        return f"a model or library ended the command (exit status {exc.code})"
    return None


#: The longest error line: a message quoting someone else's long error is cut in the middle.
LONGEST_LINE = 1000


def _fail(message: str, code: int) -> int:
    """Print ``message`` as one line on stderr; return ``code``."""
    line = " ".join(message.split())
    if len(line) > LONGEST_LINE:
        line = f"{line[: LONGEST_LINE - 200]} ... {line[-150:]}"
    print(f"klad: error: {line}", file=sys.stderr)
    return code
