"""Sweeps and global sensitivity analysis over levers and uncertainties.

An experiment file names a model entry point (a function ``f(params, seed) ->
dict of outputs``; by default the klad market), the varied parameters (kept
apart as ``[uncertainties]`` and ``[levers]``), fixed overrides, a design
(``sobol``, ``morris``, ``fast``, ``latin``, ``grid``), a sample size,
replications per point, days, outputs and a seed. Samples and indices come
from SALib. Run ``j`` (point ``j // reps``, replication ``j % reps``) always
gets the seed ``SeedSequence(seed, spawn_key=(j,))``, so results do not depend
on the executor, the chunking or the order in which chunks finish. Finished
chunks are written to disk at once; ``resume`` skips them.
"""

from __future__ import annotations

import importlib
import itertools
import math
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.experiments.execute import IN_PROCESS, Execution, execute
from sim.experiments.replications import DEFAULT_WINDOW, Window, summary_window
from sim.io.config import int_setting, read_file
from sim.params import LEVER, REGISTRY, ParameterError, validate
from sim.timeline import check_events, event_key, event_number, with_event_numbers

DESIGNS = ("sobol", "morris", "fast", "latin", "grid")
DEFAULT_MODEL = "sim.experiments.sweep:klad_outputs"
_KEYS = {"name", "model", "design", "samples", "replications", "days", "outputs", "seed", "chunk_size",
         "uncertainties", "levers", "fixed", "second_order", "num_levels", "groups", "events", "window", "burn_in",
         "force"}  # fmt: skip


@dataclass
class Experiment:
    """A validated experiment file."""

    name: str
    model: str
    design: str
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


def load_experiment(path: str | Path) -> Experiment:
    """Read and validate an experiment TOML file; raise ParameterError naming file and key."""
    path, data = read_file(path, "experiment", _KEYS)
    where = str(path)
    design = data.get("design", "sobol")
    if design not in DESIGNS:
        raise ParameterError(f"{where}: design = {design!r} is unknown; allowed are {', '.join(DESIGNS)}")
    model = data.get("model", DEFAULT_MODEL)
    ints = {key: int_setting(where, data, key, default, low)
            for key, default, low in (("samples", 64, 1), ("replications", 1, 1), ("days", 365, 1), ("seed", 0, 0),
                                      ("chunk_size", 16, 1), ("num_levels", 4, 2))}  # fmt: skip
    varied, kinds = {}, {}
    for table, kind in (("uncertainties", "uncertainty"), ("levers", LEVER)):
        for name, spec in data.get(table, {}).items():
            varied[name] = _check_varied(where, table, name, spec, design, model, kind)
            kinds[name] = kind
    if not varied:
        raise ParameterError(f"{where}: nothing is varied: give [uncertainties] and/or [levers]")
    fixed = data.get("fixed", {})
    events = check_events(data.get("events", []), where)
    window = None
    if model == DEFAULT_MODEL:
        fixed = validate(fixed, f"{where} [fixed]")
        for name in varied:
            if event_number(name):
                event_key(events, name, f"{where} [{'levers' if kinds[name] == LEVER else 'uncertainties'}]")
        window = _sweep_window(where, data, ints["days"], fixed, varied)
    outputs = data.get("outputs", ["grams_sold"])
    if model == DEFAULT_MODEL:
        from sim.model.market import METRICS

        for out in outputs:
            if out not in METRICS:
                raise ParameterError(f"{where}: output '{out}' is not a model metric (see sim.model.METRICS)")
    _entry_point(model, where)
    groups = check_groups(where, data.get("groups", {}), varied, design)
    return Experiment(
        name=data.get("name", path.stem), model=model, design=design, samples=ints["samples"],
        replications=ints["replications"], days=ints["days"], outputs=list(outputs), seed=ints["seed"],
        varied=varied, kinds=kinds, fixed=fixed, chunk_size=ints["chunk_size"],
        second_order=bool(data.get("second_order", False)), num_levels=ints["num_levels"], groups=groups,
        events=events, window=window,
    )  # fmt: skip


def _sweep_window(where: str, data: dict, days: int, fixed: dict, varied: dict) -> Window:
    """The klad model's summary window in a sweep: ``window``, ``burn_in`` and ``force`` keys, checked.

    The default burn-in is the policy start day, the latest one if it is varied.
    """
    start = max(varied["policy_start_day"]) if "policy_start_day" in varied else fixed.get(
        "policy_start_day", REGISTRY["policy_start_day"].default)  # fmt: skip
    window = int_setting(where, data, "window", None, 1) if "window" in data else None
    burn_in = int_setting(where, data, "burn_in", None, 0) if "burn_in" in data else None
    force = data.get("force", False)
    if not isinstance(force, bool):
        raise ParameterError(f"{where}: force = {force!r} is invalid: allowed is true or false")
    return summary_window(days, window, burn_in, int(start), force=force, where=where)


def check_groups(where: str, table: Any, varied: dict, design: str) -> dict[str, str]:
    """``[groups]`` (group -> parameter names) as parameter -> group; every varied parameter in one group."""
    if not table:
        return {}
    if design != "sobol":
        raise ParameterError(f"{where} [groups]: groups work with design 'sobol' only, not {design!r}")
    if not isinstance(table, dict):
        raise ParameterError(f"{where}: 'groups' must be a table of group = [parameter names]")
    groups = {}
    for group, names in table.items():
        if not isinstance(names, list) or not names:
            raise ParameterError(f"{where} [groups] {group}: give a list of varied parameter names")
        for name in names:
            if name not in varied:
                raise ParameterError(f"{where} [groups] {group}: '{name}' is not a varied parameter")
            if name in groups:
                raise ParameterError(f"{where} [groups]: '{name}' is in two groups")
            groups[name] = group
    missing = [n for n in varied if n not in groups]
    if missing:
        raise ParameterError(f"{where} [groups]: '{missing[0]}' is varied but in no group")
    return groups


def _check_varied(where, table, name, spec, design, model, kind) -> list:
    key = f"{where} [{table}] {name}"
    if not isinstance(spec, list) or len(spec) < 2:
        raise ParameterError(f"{key}: give [low, high] bounds (or a list of levels for design 'grid')")
    if model != DEFAULT_MODEL:
        return spec
    if event_number(name):  # an event's number, checked against the file's events by load_experiment
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in spec) or (
            design != "grid" and not (len(spec) == 2 and spec[0] < spec[1])
        ):
            raise ParameterError(f"{key}: bounds {spec!r} must be two numbers, low < high")
        return spec
    if name not in REGISTRY:
        raise ParameterError(f"{key}: unknown parameter '{name}' (see `klad params`)")
    p = REGISTRY[name]
    if (p.kind == LEVER) != (kind == LEVER):
        right = "levers" if p.kind == LEVER else "uncertainties"
        raise ParameterError(f"{key}: '{name}' is a {p.kind}; put it under [{right}]")
    if design != "grid":
        if len(spec) != 2 or p.type not in (int, float) or not spec[0] < spec[1]:
            raise ParameterError(f"{key}: bounds {spec!r} must be two numbers, low < high")
    for value in spec:
        p.check(value, key)  # out of the registry's allowed range -> clear error
    return spec


def _entry_point(spec: str, where: str = "") -> Callable:
    module, _, func = spec.partition(":")
    try:
        return getattr(importlib.import_module(module), func)
    except (ImportError, AttributeError, ValueError):
        raise ParameterError(f"{where}: model = {spec!r} cannot be imported (want 'package.module:function')") from None


# ------------------------------------------------------------------ designs
def design_matrix(exp: Experiment) -> np.ndarray:
    """The sample points (one row per point, one column per varied parameter), from SALib."""
    from SALib.sample import fast_sampler, latin, morris, sobol

    problem, n = exp.problem, exp.samples
    if exp.design == "sobol":
        return sobol.sample(problem, n, calc_second_order=exp.second_order, seed=exp.seed)
    if exp.design == "morris":
        return morris.sample(problem, n, num_levels=exp.num_levels, seed=exp.seed)
    if exp.design == "fast":
        return fast_sampler.sample(problem, n, seed=exp.seed)
    if exp.design == "latin":
        return latin.sample(problem, n, seed=exp.seed)
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
    records = []
    for run in runs:
        point, rep = divmod(run, exp.replications)
        params = point_params(exp, rows[point])
        seed = run_seed(exp.seed, run)
        record = {"run": run, "point": point, "rep": rep, "seed": seed, **point_values(exp, rows[point])}
        try:
            out = model(params, seed, days=exp.days)
            record.update({o: float(out[o]) for o in exp.outputs})
            record.update(status="ok", error="")
        except Exception as exc:  # noqa: BLE001 - a failed run is data, not a crash
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


def run_sweep(
    exp: Experiment,
    out: str | Path,
    *,
    execution: Execution = IN_PROCESS,
    resume: bool = False,
    retry_failed: bool = False,
) -> pd.DataFrame:
    """Run every run of the experiment not yet on disk and return all runs in run order.

    Each finished chunk is written atomically as soon as it arrives, so a sweep
    killed at any moment loses at most the chunks in flight. With
    ``retry_failed`` (and ``resume``), the chunks on disk that hold a failed
    run are run again.
    """
    out = Path(out)
    rows = design_matrix(exp)
    total = len(rows) * exp.replications
    chunks = [list(range(s, min(s + exp.chunk_size, total))) for s in range(0, total, exp.chunk_size)]
    paths = [chunk_path(out, i) for i in range(len(chunks))]
    if any(p.exists() for p in paths) and not resume:
        raise ParameterError(f"{out}: holds an earlier sweep's results; pass --resume to continue it, or another --out")
    if retry_failed:
        for path in paths:
            if path.exists() and (pd.read_parquet(path, columns=["status"])["status"] != "ok").any():
                path.unlink()
    jobs = [(run_chunk, (exp, rows, chunk)) for chunk in chunks]
    execute(jobs, paths=paths, sizes=[len(c) for c in chunks], execution=execution)
    frames = [pd.read_parquet(p) for p in paths]
    return pd.concat(frames, ignore_index=True).sort_values("run").reset_index(drop=True)
