"""Sweeps and global sensitivity analysis over levers and uncertainties.

An experiment file names a model entry point (a function ``f(params, seed) ->
dict of outputs``; by default the klad market), the varied parameters (kept
apart as ``[uncertainties]`` and ``[levers]``), fixed overrides, a design
(``sobol``, ``morris``, ``fast``, ``latin``, ``grid``), a sample size,
replications per point, days, outputs and a seed. Samples and indices come
from SALib. Run ``j`` (point ``j // reps``, replication ``j % reps``) always
gets the seed ``SeedSequence(seed, spawn_key=(j,))``, so results do not depend
on the executor, the chunking or the order in which chunks finish. Finished
chunks are written to disk at once; ``resume`` skips them. ``run_sweep(exp,
SweepPlan(out), execution)`` returns the runs with their analysis (a
``SweepResult``); ``sim.reporting.sweep`` writes its files.
"""

from __future__ import annotations

import importlib
import inspect
import itertools
import math
import re
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sim.experiments.execute import IN_PROCESS, Execution, execute
from sim.experiments.replications import DEFAULT_WINDOW, Window, check_memory, summary_window
from sim.io.config import read_file
from sim.io.files import claimed
from sim.io.provenance import fingerprint, keep_fingerprint, now
from sim.io.schema import MAX_DAYS, MAX_SEED, Schema, choice, of, text, whole
from sim.model.metrics import METRICS
from sim.params import CROSS_RULES, LEVER, REGISTRY, UNCERTAINTY, Fault, ParameterError, cut, resolve, shown, validate
from sim.timeline import check_events, event_key, event_number, with_event_numbers

if TYPE_CHECKING:
    from sim.experiments.sensitivity import Analysis
    from sim.experiments.targets import TargetRun


class Design(StrEnum):
    """How a sweep places its points; each is the word an experiment file gives as its ``design``.

    ``sobol``, ``morris`` and ``fast`` are SALib's samplers for sensitivity
    indices; ``latin`` (a Latin hypercube) and ``grid`` (every combination of
    the listed levels) only sample the space. ``points`` is a design given as
    its list of points (``Experiment.points``), by a program rather than a
    file: the waves of a calibration, whose points depend on the runs before
    them. Being strings, the members compare, print and serialise as these
    words (in fingerprints and manifests too).
    """

    SOBOL = "sobol"
    MORRIS = "morris"
    FAST = "fast"
    LATIN = "latin"
    GRID = "grid"
    POINTS = "points"


#: The designs an experiment file may name (all but ``points``), as the words the file gives.
DESIGNS = tuple(d.value for d in Design if d is not Design.POINTS)
DEFAULT_MODEL = "sim.experiments.sweep:klad_outputs"
#: Models that run the klad market: their parameters are the registry's, checked like a scenario's.
KLAD_MODELS = (DEFAULT_MODEL, "sim.experiments.targets:simulate")
#: The most runs one sweep may have (samples x runs per sample x replications): about 100 hours of the
#: default city on 100 cores. More is nearly always a typo (samples = 10**12).
MAX_RUNS = 1_000_000
#: An experiment file: see ``load_experiment`` and docs/experiments.md.
EXPERIMENT: Schema = {
    "name": text(None), "model": text(DEFAULT_MODEL), "design": choice(DESIGNS, Design.SOBOL.value),
    "samples": whole(1, MAX_RUNS, 64), "replications": whole(1, MAX_RUNS, 1), "days": whole(1, MAX_DAYS, 365),
    "outputs": of("names", ["grams_sold"]), "seed": whole(0, MAX_SEED, 0), "chunk_size": whole(1, MAX_RUNS, 16),
    "uncertainties": of("table", {}), "levers": of("table", {}), "fixed": of("table", {}),
    "second_order": of("flag", False), "num_levels": whole(2, 1000, 4), "groups": of("table", {}),
    "events": of("tables", []), "window": whole(1, MAX_DAYS, None), "burn_in": whole(0, MAX_DAYS, None),
    "force": of("flag", False),
}  # fmt: skip
_MODEL = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*")


@dataclass
class Experiment:
    """A validated experiment file."""

    name: str
    model: str
    design: Design  # a word of ``Design`` is taken too, and made a ``Design``
    samples: int
    replications: int
    days: int
    outputs: list[str]
    seed: int
    varied: dict[str, list]  # name -> [low, high] (or levels for grid)
    kinds: dict[str, str]  # name -> "uncertainty" or "lever"
    fixed: dict[str, Any] = field(default_factory=dict)
    chunk_size: int = 16
    second_order: bool = False
    num_levels: int = 4
    groups: dict[str, str] = field(default_factory=dict)  # parameter -> group, for Sobol indices of groups
    events: list[dict[str, Any]] = field(default_factory=list)  # timed events (sim.timeline); their numbers can vary
    window: Window | None = None  # the klad model's summary window (None for another model)
    points: list[list[float]] = field(default_factory=list)  # design ``points``'s points, one list per point
    run: TargetRun | None = None  # when a statistics model takes its statistics, given to it beside the parameters

    def __post_init__(self) -> None:
        self.design = Design(self.design)

    @property
    def problem(self) -> dict:
        """The SALib problem dict (with ``groups`` when the parameters are grouped)."""
        names = list(self.varied)
        problem = {"num_vars": len(names), "names": names, "bounds": [self.varied[n][:2] for n in names]}
        if self.groups:
            problem["groups"] = [self.groups[n] for n in names]
        return problem

    @property
    def factors(self) -> list[str]:
        """What the indices are computed for: the groups if any, else the parameters."""
        return list(dict.fromkeys(self.groups[n] for n in self.varied)) if self.groups else list(self.varied)

    @property
    def runs(self) -> int:
        """How many runs the experiment has: its design's points times its replications (without sampling)."""
        n, d = self.samples, len(self.factors)
        points = {Design.SOBOL: n * ((2 * d if self.second_order else d) + 2), Design.MORRIS: n * (d + 1),
                  Design.FAST: n * d, Design.LATIN: n, Design.GRID: math.prod(len(v) for v in self.varied.values()),
                  Design.POINTS: len(self.points)}  # fmt: skip
        return points[self.design] * self.replications

    def fingerprint(self) -> dict[str, Any]:
        """What decides the experiment's runs (``sim.io.provenance.fingerprint``): everything but its name.

        ``points`` only when there are some, so the fingerprints of the other designs are as they were. A
        statistics run's options (``run``) are recorded among the fixed values, as ``target_horizons`` and
        ``target_window``, so a sweep written when they travelled with the parameters still resumes.
        """
        what = {k: v for k, v in vars(self).items() if k not in ("name", "run") and (k != "points" or v)}
        if self.run is not None:
            what["fixed"] = {**self.fixed, **self.run.fingerprint()}
        return fingerprint(**what)


def load_experiment(path: str | Path) -> Experiment:
    """Read and validate an experiment TOML file; raise ParameterError naming file and key.

    Every key is checked (``EXPERIMENT``), then the varied parameters and
    their bounds, the design's minimum size and the number of runs, and the
    fixed values with the cross-parameter rules at every corner of the bounds
    (the memory a run needs is checked once it is known where the runs go:
    ``check_design`` with an execution). The model is imported last, once all
    else is known to be right, since importing it runs its code.
    """
    path, data = read_file(path, "experiment", EXPERIMENT)
    where = str(path)
    model, design = data["model"], Design(data["design"])
    if not _MODEL.fullmatch(model):
        raise ParameterError(f"{where}: model = {shown(model)} is invalid: allowed is 'package.module:function'")
    klad = model in KLAD_MODELS
    varied, kinds = {}, {}
    for table, kind in (("uncertainties", UNCERTAINTY), ("levers", LEVER)):
        for name, spec in data[table].items():
            if name in varied:
                raise ParameterError(f"{where}: '{name}' is under both [uncertainties] and [levers]")
            varied[name] = _check_varied(f"{where} [{table}] {name}", name, spec, design, kind if klad else None)
            kinds[name] = kind
    if not varied:
        raise ParameterError(f"{where}: nothing is varied: give [uncertainties] and/or [levers]")
    fixed, events = data["fixed"], check_events(data["events"], where)
    both = [name for name in varied if name in fixed]
    if both:
        raise ParameterError(f"{where}: '{both[0]}' is both varied and [fixed]")
    window = None
    if klad:
        fixed = validate(fixed, f"{where} [fixed]")
        for name in varied:
            if event_number(name):
                event_key(events, name, f"{where} [{'levers' if kinds[name] == LEVER else 'uncertainties'}]")
        window = _sweep_window(where, data, fixed, varied)
        for out in data["outputs"]:
            if out not in METRICS:
                raise ParameterError(f"{where}: output {shown(out)} is not a model metric (see sim.model.METRICS)")
    exp = Experiment(
        name=data["name"] or path.stem, model=model, design=design, samples=data["samples"],
        replications=data["replications"], days=data["days"], outputs=data["outputs"], seed=data["seed"],
        varied=varied, kinds=kinds, fixed=fixed, chunk_size=data["chunk_size"], second_order=data["second_order"],
        num_levels=data["num_levels"], groups=check_groups(where, data["groups"], varied, design), events=events,
        window=window,
    )  # fmt: skip
    check_design(exp, where)
    _entry_point(model, where)
    return exp


def _sweep_window(where: str, data: dict, fixed: dict, varied: dict) -> Window:
    """The klad model's summary window in a sweep: ``window``, ``burn_in`` and ``force`` keys, checked.

    The default burn-in is the policy start day, the latest one if it is varied.
    """
    start = max(varied["policy_start_day"]) if "policy_start_day" in varied else fixed.get(
        "policy_start_day", REGISTRY["policy_start_day"].default)  # fmt: skip
    return summary_window(data["days"], data["window"], data["burn_in"], int(start), force=data["force"], where=where)


def check_design(exp: Experiment, where: str, execution: Execution | None = None) -> None:
    """Refuse a design too small for its method, too many runs, and klad markets that cannot run at some corner.

    At every corner of the bounds (``corners``), the klad market's parameters
    must keep the cross-parameter rules, and, with an ``execution``, its runs
    must fit in memory (``check_memory``). SALib's minimums: FAST needs more than 64 samples (4 M^2, M = 4); Morris
    at least 2 trajectories and an even number of levels; Sobol a power of 2
    (the balance of Sobol' points) and, with groups, at least two groups.
    """
    n = exp.samples
    need = {Design.FAST: (n > 64, "more than 64 samples (SALib's 4 M^2, M = 4)"),
            Design.MORRIS: (n >= 2 and exp.num_levels % 2 == 0, "at least 2 samples and an even num_levels"),
            Design.SOBOL: (n >= 2 and n & (n - 1) == 0, "samples a power of 2 (2, 4, ..., 512, 1024 ...)")}  # fmt: skip
    fits, minimum = need.get(exp.design, (True, ""))
    if not fits:
        raise ParameterError(f"{where}: design '{exp.design}' with samples = {n} (num_levels = {exp.num_levels}): "
                             f"{exp.design} needs {minimum}")  # fmt: skip
    if exp.groups and len(exp.factors) < 2:
        raise ParameterError(f"{where} [groups]: give at least two groups (one group has no index to compare)")
    if exp.runs > MAX_RUNS:
        raise ParameterError(f"{where}: design '{exp.design}' with samples = {n:,} over {len(exp.factors)} "
                             f"parameters and {exp.replications:,} replication(s) is {exp.runs:,} runs; at most "
                             f"{MAX_RUNS:,} are allowed")  # fmt: skip
    if exp.model in KLAD_MODELS:
        cities = []
        for corner in corners(exp.varied, CORNER_PARAMS):
            try:
                cities.append(resolve({**exp.fixed, **corner}))
            except ParameterError as exc:
                at = f"at the corner {corner} of the bounds" if corner else "[fixed]"
                raise ParameterError(f"{where}: {at}: {exc}") from None
        if execution is not None:
            copies = 2 if exp.model == KLAD_MODELS[1] else 1  # the statistics' shop-exit experiment runs on a copy
            check_memory(cities, exp.days, execution, exp.runs, where, copies=copies)


#: Parameters whose worst values a sweep's corners are checked at: those of the cross-parameter rules and the
#: size of the city (which sets the memory a run needs).
CORNER_PARAMS = (*CROSS_RULES, "n_buyers", "candidate_pool", "candidate_inflow", "candidate_exit_rate", "n_couriers")


def corners(varied: dict[str, list], names: tuple[str, ...]) -> list[dict[str, Any]]:
    """Every corner of the bounds of the varied ``names`` (levels' ends for a grid); one empty corner if none."""
    ends = {name: (min(varied[name]), max(varied[name])) for name in names if name in varied}
    return [dict(zip(ends, corner, strict=True)) for corner in itertools.product(*ends.values())]


def check_groups(where: str, table: Any, varied: dict, design: Design) -> dict[str, str]:
    """``[groups]`` (group -> parameter names) as parameter -> group; every varied parameter in one group."""
    if not table:
        return {}
    if design != Design.SOBOL:
        raise ParameterError(f"{where} [groups]: groups work with design 'sobol' only, not '{design}'")
    if not isinstance(table, dict):
        raise ParameterError(f"{where}: 'groups' must be a table of group = [parameter names]")
    groups = {}
    for group, names in table.items():
        if not isinstance(names, list) or not names:
            raise ParameterError(f"{where} [groups] {group}: give a list of varied parameter names")
        for name in names:
            if not isinstance(name, str) or name not in varied:
                raise ParameterError(f"{where} [groups] {group}: {shown(name)} is not a varied parameter")
            if name in groups:
                raise ParameterError(f"{where} [groups]: '{name}' is in two groups")
            groups[name] = group
    missing = [n for n in varied if n not in groups]
    if missing:
        raise ParameterError(f"{where} [groups]: '{missing[0]}' is varied but in no group")
    return groups


def _check_varied(where: str, name: str, spec: Any, design: Design, kind: str | None) -> list:
    """A varied parameter's bounds (or a grid's levels), as finite numbers with low < high.

    For the klad market (``kind`` given), the parameter must be a numeric one
    of that kind, and the bounds within its allowed range.
    """
    p = REGISTRY.get(name) if kind is not None and not event_number(name) else None
    if kind is not None and not event_number(name):  # an event's number is checked by load_experiment
        if p is None:
            raise ParameterError(f"{where}: unknown parameter {shown(name)} (see `klad params`)")
        if (p.kind == LEVER) != (kind == LEVER):
            right = "levers" if p.kind == LEVER else "uncertainties"
            raise ParameterError(f"{where}: '{name}' is a {p.kind}; put it under [{right}]")
        if p.type not in (int, float):
            raise ParameterError(f"{where}: '{name}' is {p.allowed()}, not a number: it cannot be varied (set it in "
                                 "[fixed], or sweep scenarios with klad compare)")  # fmt: skip
    grid = design == Design.GRID
    numbers = isinstance(spec, list) and all(
        isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in spec)  # fmt: skip
    if not numbers or (len(spec) != 2 or not spec[0] < spec[1] if not grid else len(set(spec)) < 2):
        want = "a list of at least two different levels" if grid else "[low, high] bounds with low < high"
        raise ParameterError(f"{where} = {shown(spec)} is invalid: give {want}, as finite numbers")
    if p is not None:
        for value in spec:
            p.check(value, where)  # out of the registry's allowed range -> clear error
    return spec


def _entry_point(spec: str, where: str = "") -> Callable:
    """The model function named ``package.module:function``, checked to take ``(params, seed, days=...)``.

    Importing it runs the module's code: experiment files are trusted like scripts (docs/reference.md, "Trust and
    security").
    """
    module, _, func = spec.partition(":")
    try:
        model = getattr(importlib.import_module(module), func)
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - any failure of someone else's module is bad input
        reason = "not found" if isinstance(exc, ImportError | AttributeError) else f"{type(exc).__name__}: {exc}"
        raise ParameterError(f"{where}: model = {spec!r} cannot be imported ({cut(reason)}); want "
                             "'package.module:function'") from None  # fmt: skip
    try:
        inspect.signature(model).bind({}, 0, days=1)
    except TypeError:
        raise ParameterError(f"{where}: model = {spec!r} is not a function f(params, seed, days)") from None
    except ValueError:
        pass  # a compiled function without a signature: taken on trust
    return model


# ------------------------------------------------------------------ designs
def design_matrix(exp: Experiment) -> np.ndarray:
    """The sample points (one row per point, one column per varied parameter), from SALib."""
    from SALib.sample import fast_sampler, latin, morris, sobol

    problem, n = exp.problem, exp.samples
    if exp.design == Design.SOBOL:
        return sobol.sample(problem, n, calc_second_order=exp.second_order, seed=exp.seed)
    if exp.design == Design.MORRIS:
        return morris.sample(problem, n, num_levels=exp.num_levels, seed=exp.seed)
    if exp.design == Design.FAST:
        return fast_sampler.sample(problem, n, seed=exp.seed)
    if exp.design == Design.LATIN:
        return latin.sample(problem, n, seed=exp.seed)
    if exp.design == Design.POINTS:
        return np.array(exp.points, dtype=float).reshape(len(exp.points), len(exp.varied))
    return np.array(list(itertools.product(*exp.varied.values())), dtype=float)


def run_seed(root: int, run: int) -> int:
    """The seed of run ``run``: depends only on the experiment seed and the run's index."""
    return int(np.random.SeedSequence(root, spawn_key=(run,)).generate_state(1)[0])


def point_values(exp: Experiment, row: np.ndarray) -> dict[str, Any]:
    """The varied values of one sample point as the model gets them (whole-number parameters rounded)."""
    values = {}
    for name, value in zip(exp.varied, row, strict=True):
        value = float(value) if isinstance(value, np.floating) else value
        if exp.model == DEFAULT_MODEL:
            kind = event_key(exp.events, name, "").kind if event_number(name) else REGISTRY[name].type
            value = int(round(value)) if kind is int else value
        values[name] = value
    return values


def point_params(exp: Experiment, row: np.ndarray) -> dict[str, Any]:
    """Parameters of one sample point: fixed values, then the varied ones, and the events.

    A varied event number (``events.0.day``) goes into its event; the klad
    model also gets the sweep's summary window.
    """
    values = point_values(exp, row)
    numbers = {name: value for name, value in values.items() if exp.model == DEFAULT_MODEL and event_number(name)}
    params = {**exp.fixed, **{name: value for name, value in values.items() if name not in numbers}}
    if exp.events:
        params["events"] = with_event_numbers(exp.events, numbers)
    if exp.window is not None:
        params["window"], params["burn_in"] = exp.window.days, exp.window.burn_in
    return params


# ------------------------------------------------------------------ models
def klad_outputs(params: dict[str, Any], seed: int, days: int = 365) -> dict[str, float]:
    """The klad market as a sweep model: every metric's mean over the summary window.

    The window is ``params``' ``window`` (checked when the experiment was
    loaded), else the last ``DEFAULT_WINDOW`` days.
    """
    from sim.experiments.replications import run_one

    daily = run_one(params, days, seed)
    return daily.drop(columns="day").tail(params.get("window", min(days, DEFAULT_WINDOW))).mean().to_dict()


def ishigami(params: dict[str, Any], seed: int, days: int = 0) -> dict[str, float]:
    """The Ishigami function (a = 7, b = 0.1), whose Sobol indices are known analytically.

    Used to check the whole sweep pipeline; ``seed`` and ``days`` are ignored.
    """
    x1, x2, x3 = params["x1"], params["x2"], params["x3"]
    return {"y": math.sin(x1) + 7.0 * math.sin(x2) ** 2 + 0.1 * x3**4 * math.sin(x1)}


# ------------------------------------------------------------------ running
def run_chunk(exp: Experiment, rows: np.ndarray, runs: list[int]) -> pd.DataFrame:
    """Run some runs of the experiment; a run that raises is recorded as failed with its error."""
    model = _entry_point(exp.model)
    options = {"run": exp.run} if exp.run is not None else {}  # a statistics model's options, apart from params
    records = []
    for run in runs:
        point, rep = divmod(run, exp.replications)
        params = point_params(exp, rows[point])
        seed = run_seed(exp.seed, run)
        record = {"run": run, "point": point, "rep": rep, "seed": seed, **point_values(exp, rows[point])}
        try:
            out = model(params, seed, days=exp.days, **options)
            record.update({o: float(out[o]) for o in exp.outputs})
            record.update(status="ok", error="")
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - a failed run (even one that exits) is data
            record.update({o: float("nan") for o in exp.outputs})
            record.update(status="failed", error=f"{type(exc).__name__}: {exc}"[:500])
            record["traceback"] = traceback.format_exc(limit=3)[-2000:]
        records.append(record)
    frame = pd.DataFrame(records)
    if "traceback" not in frame:
        frame["traceback"] = ""
    return frame.fillna({"traceback": ""})


def chunk_path(out: Path, index: int) -> Path:
    """Where a finished chunk is stored."""
    return out / "chunks" / f"chunk_{index:06d}.parquet"


@dataclass(frozen=True)
class SweepPlan:
    """Where a sweep keeps its runs and whether it continues an earlier sweep there.

    Finished chunks and the experiment's fingerprint are written under
    ``out``; ``resume`` continues the same experiment, and ``retry_failed``
    (with ``resume``) runs again the chunks on disk that hold a failed run.
    """

    out: str | Path
    resume: bool = False
    retry_failed: bool = False


@dataclass
class SweepResult:
    """What a sweep produced: every run in run order, and what they say of the parameters (``Analysis``)."""

    experiment: Experiment
    plan: SweepPlan
    runs: pd.DataFrame
    analysis: Analysis
    started: str = field(default_factory=now)

    @property
    def failed(self) -> pd.DataFrame:
        """The runs that failed."""
        return self.runs[self.runs["status"] != "ok"]


def run_sweep(
    exp: Experiment, plan: SweepPlan | None = None, execution: Execution = IN_PROCESS, **settings: Any
) -> SweepResult:
    """Run every run of the experiment not yet on disk, and analyse them all (``sensitivity.analyse``).

    ``plan`` is a ``SweepPlan`` (or its fields as keywords: ``out=...,
    resume=True``); ``execution`` says where the runs go (``sweep_runs``).
    """
    from sim.experiments.sensitivity import analyse

    started = now()
    plan = plan or SweepPlan(**settings)
    runs = sweep_runs(exp, plan.out, execution=execution, resume=plan.resume, retry_failed=plan.retry_failed)
    return SweepResult(exp, plan, runs, analyse(exp, runs), started)


def sweep_runs(
    exp: Experiment,
    out: str | Path,
    *,
    execution: Execution = IN_PROCESS,
    resume: bool = False,
    retry_failed: bool = False,
) -> pd.DataFrame:
    """Run every run of the experiment not yet on disk and return all runs in run order (no analysis).

    Each finished chunk is written atomically as soon as it arrives, so a sweep
    killed at any moment loses at most the chunks in flight. The experiment's
    fingerprint is written first: ``resume`` continues only the same
    experiment, and refuses another in one line naming what changed. With
    ``retry_failed`` (and ``resume``), the chunks on disk that hold a failed
    run are run again.

    Raises:
        ParameterError: before anything is written, if the design cannot run or ``out`` holds another sweep.
        Fault: if a finished run is missing when all should be there.
    """
    out = Path(out)
    check_design(exp, str(out), execution)
    rows = design_matrix(exp)
    total = len(rows) * exp.replications
    chunks = [list(range(s, min(s + exp.chunk_size, total))) for s in range(0, total, exp.chunk_size)]
    paths = [chunk_path(out, i) for i in range(len(chunks))]
    with claimed(out):
        keep_fingerprint(out, exp.fingerprint(), resume=resume, begun=any((out / "chunks").glob("*.parquet")),
                         work="sweep")  # fmt: skip
        if retry_failed:
            for path in paths:
                if path.exists() and (pd.read_parquet(path, columns=["status"])["status"] != "ok").any():
                    path.unlink()
        jobs = [(run_chunk, (exp, rows, chunk)) for chunk in chunks]
        execute(jobs, paths=paths, sizes=[len(c) for c in chunks], execution=execution)
        frames = [_read_chunk(path, chunk) for path, chunk in zip(paths, chunks, strict=True)]
    return pd.concat(frames, ignore_index=True).sort_values("run").reset_index(drop=True)


def _read_chunk(path: Path, runs: list[int]) -> pd.DataFrame:
    """A finished chunk, checked to hold exactly its runs before any analysis uses it."""
    try:
        frame = pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        raise Fault(f"{path}: a finished chunk is missing or unreadable ({cut(str(exc))}); delete it and --resume "
                    "to run it again") from None  # fmt: skip
    if frame["run"].tolist() != runs:
        raise Fault(f"{path}: holds runs {cut(str(frame['run'].tolist()))}, not {runs[0]}-{runs[-1]}; delete it and "
                    "--resume to run them again")  # fmt: skip
    return frame
