"""A search for the policies that do most with a budget: NSGA-II over levers, every evaluation through ``execute``.

An optimisation file (``experiments/optimize.toml``, docs/optimize.md) names
the *decision variables* (levers, each with a range inside the registry's), a
*budget* (the yearly public cost of ``sim.experiments.costs`` must stay at or
under it), the *objectives* (all minimised: the volume sold, its median over
the evaluated worlds and its worst tenth, prisoner-years, the cost), the
*worlds* each policy is evaluated in (replications, optionally uncertainties
drawn from a worlds CSV), the days, the policy's start day, and the
algorithm's population, generations and seed.

A policy is one setting of the decision variables, switched on at the policy
start day; each is run in every world with the same seeds as every other
policy (common random numbers), so two policies differ by their levers, not
by their luck. Its per-run outcomes are yearly rates over the days the policy
is in force. pymoo's NSGA-II proposes policies generation by generation
(ask), ``execute`` runs them (one job per policy, its result written to disk
the moment it finishes), and their objectives and budget slack go back to the
algorithm (tell). The algorithm's random numbers come from the file's seed
through ``numpy.random.SeedSequence``, so a killed search resumed in the same
folder asks for the same policies again and finds their results on disk.

The front is the set of feasible policies (within the budget) that no other
evaluated policy dominates, over every generation. Today's allocation (the
scenario's lever values) is evaluated in the same worlds, and its *regret* is
how far the front lies beyond it (``regret``).

``model = "toy"`` replaces the market by ZDT1, a test function whose front is
known (f2 = 1 - sqrt(f1)), with f1 as its "cost": the same code path, checked
against the truth (tests/test_optimize.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.experiments.execute import IN_PROCESS, Execution, execute
from sim.io.config import load_scenario, read_file
from sim.io.files import claimed
from sim.io.provenance import fingerprint, keep_fingerprint
from sim.io.schema import MAX_DAYS, MAX_SEED, Schema, choice, number, of, text, whole
from sim.params import LEVER, REGISTRY, SHARES, Fault, ParameterError, shown

MODELS = ("klad", "toy")
#: Each model's per-run outcomes, with their units (all are minimised).
OUTCOMES: dict[str, dict[str, str]] = {
    "klad": {"grams_sold": "g/year", "prisoner_years": "prisoner-years/year", "cost_kzt": "KZT/year"},
    "toy": {"f1": "", "f2": "", "cost_kzt": "(f1)"},
}
#: How an objective sums up an outcome over the evaluated worlds (every world's every replication).
STATS = {"mean": "mean", "median": "median", "worst_tenth": "90th percentile (the worst tenth)"}
#: An objective or a failed policy's value: the algorithm sees it as very bad, never as a number to learn from.
FAILED = 1e30
#: An optimisation file's keys (docs/optimize.md).
OPTIMIZE: Schema = {
    "name": text(None), "model": choice(MODELS, "klad"), "scenario": text(None, longest=4096),
    "params": of("table", {}), "variables": of("table"), "today": of("table", {}), "budget_kzt": number(),
    "objectives": of("names"), "days": whole(1, MAX_DAYS, 730), "policy_start_day": whole(1, MAX_DAYS, None),
    "replications": whole(1, 1000, 2), "worlds_file": text(None, longest=4096), "worlds": whole(1, 1000, 1),
    "seed": whole(0, MAX_SEED, 20251), "algorithm": of("table", {}),
}  # fmt: skip
#: The ``[algorithm]`` table: NSGA-II's population and generations.
ALGORITHM: Schema = {"population": whole(4, 10_000, 24), "generations": whole(1, 10_000, 10)}


@dataclass(frozen=True)
class Optimisation:
    """A validated optimisation file: what is searched, under which budget, judged how and in which worlds."""

    path: Path
    name: str
    model: str
    base: dict[str, Any]  # klad: the scenario's parameters (its policy included), the file's [params] on top
    variables: dict[str, tuple[float, float]]  # lever -> (low, high)
    today: dict[str, float]  # the variables' values today: the allocation whose regret is reported
    budget: float  # KZT a year
    objectives: tuple[str, ...]  # "<outcome>" or "<outcome>_<stat>"
    days: int
    start: int  # the policy's first day
    replications: int
    worlds: tuple[dict[str, Any], ...]  # uncertainty values of each world ({} = the scenario's own)
    seed: int
    population: int
    generations: int

    def fingerprint(self) -> dict[str, Any]:
        """What decides the results: a resumed search must have the same."""
        return fingerprint(work="optimize", model=self.model, base=self.base, variables=self.variables,
                           today=self.today, budget=self.budget, objectives=self.objectives, days=self.days,
                           start=self.start, replications=self.replications, worlds=self.worlds, seed=self.seed,
                           population=self.population, generations=self.generations)  # fmt: skip

    @property
    def runs_per_policy(self) -> int:
        """Model runs per evaluated policy: every world, every replication."""
        return len(self.worlds) * self.replications

    @property
    def policies(self) -> int:
        """Policies the search evaluates at most: every generation's population, and today's."""
        return self.population * self.generations + 1

    def run_seed(self, world: int, rep: int) -> int:
        """The seed of replication ``rep`` in world ``world``: the same for every policy (common random numbers)."""
        return int(np.random.SeedSequence(self.seed, spawn_key=(1, world, rep)).generate_state(1)[0])

    def algorithm_seed(self) -> int:
        """NSGA-II's seed, a stream of the file's seed apart from the runs'."""
        return int(np.random.SeedSequence(self.seed, spawn_key=(0,)).generate_state(1)[0])


@dataclass(frozen=True)
class OptimizePlan:
    """Where a search keeps its evaluations, and whether it continues an earlier search there."""

    out: str | Path
    resume: bool = False


@dataclass
class Found:
    """What a search found: every evaluated policy, the front, and today's allocation against it."""

    optimisation: Optimisation
    evaluations: pd.DataFrame  # one row per policy: generation, policy, variables, objectives, cost, feasible
    front: pd.DataFrame  # the non-dominated feasible policies
    today: pd.Series  # today's allocation's row
    regret: dict[str, Any] = field(default_factory=dict)
    started: str = ""  # when the search began (its manifest's "started")


# ------------------------------------------------------------------ loading
def load_optimisation(path: str | Path) -> Optimisation:
    """Read and check an optimisation file; every problem is a ParameterError naming the file and the key."""
    path, data = read_file(path, "optimisation", OPTIMIZE)
    where = str(path)
    algorithm = _check_table(where, "algorithm", data["algorithm"], ALGORITHM)
    if data["budget_kzt"] <= 0:
        raise ParameterError(f"{where}: 'budget_kzt' = {shown(data['budget_kzt'])} is invalid: allowed is a "
                             "positive number of KZT a year")  # fmt: skip
    model = data["model"]
    variables = {name: _check_variable(where, model, name, spec) for name, spec in data["variables"].items()}
    if not variables:
        raise ParameterError(f"{where}: 'variables' is empty: name at least one lever and its range")
    objectives = tuple(_check_objective(where, model, o) for o in data["objectives"])
    if len(objectives) < 2:
        raise ParameterError(f"{where}: 'objectives' names {len(objectives)}; a front needs at least two")
    base, today = _base(where, path.parent, data, variables)
    start = data["policy_start_day"] or int(base.get("policy_start_day", 1))
    if model == "klad":
        base["policy_start_day"] = start
    worlds = _worlds(where, path.parent, data)
    return Optimisation(path, data["name"] or path.stem, model, base, variables, today, float(data["budget_kzt"]),
                        objectives, data["days"], start, data["replications"], worlds, data["seed"],
                        algorithm["population"], algorithm["generations"])  # fmt: skip


def _check_table(where: str, key: str, value: dict, keys: Schema) -> dict[str, Any]:
    from sim.io import schema

    return schema.check(value, keys, f"{where} [{key}]")


def _check_variable(where: str, model: str, name: str, spec: Any) -> tuple[float, float]:
    """A decision variable: ``lever = [low, high]``, inside the registry's range (the toy's: [0, 1])."""
    key = f"{where}: variables.{name}"
    if not (isinstance(spec, list) and len(spec) == 2 and all(_number(v) for v in spec) and spec[0] < spec[1]):
        raise ParameterError(f"{key} = {shown(spec)} is invalid: allowed is [low, high] with low < high")
    low, high = float(spec[0]), float(spec[1])
    if model == "toy":
        if not (name.startswith("x") and name[1:].isdigit()) or low < 0 or high > 1:
            raise ParameterError(f"{key}: the toy's variables are x1, x2, ... in [0, 1]")
        return low, high
    param = REGISTRY.get(name)
    if param is None or param.kind != LEVER:
        raise ParameterError(f"{key}: {shown(name)} is not a policy lever (see `klad params`)")
    if name in SHARES or param.type not in (int, float):
        raise ParameterError(f"{key}: {name} cannot be a decision variable (only numeric levers; the budget shares "
                             "must sum to 1)")  # fmt: skip
    allowed_low, allowed_high = param.bounds
    if low < allowed_low or high > allowed_high:
        raise ParameterError(f"{key} = [{low:g}, {high:g}] is outside the registry's range [{allowed_low:g}, "
                             f"{allowed_high:g}]")  # fmt: skip
    return low, high


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _check_objective(where: str, model: str, name: str) -> str:
    """``<outcome>`` (its mean) or ``<outcome>_<stat>``, of the model's outcomes."""
    outcome, stat = split_objective(name)
    if outcome not in OUTCOMES[model] or stat not in STATS:
        allowed = ", ".join(f"{o}[_{'|_'.join(s for s in STATS if s != 'mean')}]" for o in OUTCOMES[model])
        raise ParameterError(f"{where}: 'objectives': {shown(name)} is not an objective of model {model}; allowed "
                             f"are {allowed}")  # fmt: skip
    return name


def split_objective(name: str) -> tuple[str, str]:
    """An objective's outcome and statistic: ``grams_sold_worst_tenth`` -> (``grams_sold``, ``worst_tenth``)."""
    for stat in STATS:
        if name.endswith(f"_{stat}"):
            return name[: -len(stat) - 1], stat
    return name, "mean"


def _base(where: str, folder: Path, data: dict, variables: dict) -> tuple[dict[str, Any], dict[str, float]]:
    """The base parameters (klad: the scenario and the file's [params]) and today's value of each variable."""
    if data["model"] == "toy":
        today = {n: (lo + hi) / 2 for n, (lo, hi) in variables.items()}
        base: dict[str, Any] = {}
    else:
        if data["scenario"] is None:
            raise ParameterError(f"{where}: 'scenario' is missing (the city, and today's allocation)")
        scenario = load_scenario(folder / data["scenario"])
        try:
            scenario = scenario.replace(**data["params"]) if data["params"] else scenario
        except ParameterError as exc:
            raise ParameterError(f"{where}: 'params': {exc}") from None
        base = scenario.as_dict()
        del base["scenario_name"]
        in_force = {**base, **base["policy"]}
        today = {n: float(in_force[n]) for n in variables}
    for name, value in data["today"].items():
        if name not in variables or not _number(value):
            raise ParameterError(f"{where}: 'today': {shown(name)} = {shown(value)} is not a variable's value")
        today[name] = float(value)
    return base, today


def _worlds(where: str, folder: Path, data: dict) -> tuple[dict[str, Any], ...]:
    """The worlds: the scenario's own, or the first ``worlds`` of a worlds CSV (uncertainties only).

    The CSV is a run's ``worlds.csv`` (``klad hypotheses --worlds``: its plausible worlds, in order) or a
    calibration's posterior sample (every row).
    """
    if data["worlds_file"] is None:
        if data["worlds"] > 1:
            raise ParameterError(f"{where}: 'worlds' = {data['worlds']} needs a 'worlds_file' to draw them from")
        return ({},)
    if data["model"] == "toy":
        raise ParameterError(f"{where}: 'worlds_file': the toy has no worlds")
    from sim.experiments.worlds import plausible_worlds

    sample = plausible_worlds(folder / data["worlds_file"], f"{where}: 'worlds_file'")
    if len(sample) < data["worlds"]:
        raise ParameterError(f"{where}: 'worlds' = {data['worlds']}, but the worlds file has {len(sample)} rows")
    rows = sample.head(data["worlds"]).to_dict("records")
    worlds = []
    for row in rows:
        world = {k: round(v) if REGISTRY[k].type is int else float(v) for k, v in row.items()}
        worlds.append(world)
    return tuple(worlds)


# ------------------------------------------------------------------ evaluating
def policy_values(opt: Optimisation, x: np.ndarray) -> dict[str, Any]:
    """The decision variables' values of a point (whole-number levers rounded, as the model reads them)."""
    values: dict[str, Any] = {}
    for name, value in zip(opt.variables, x, strict=True):
        whole_number = opt.model == "klad" and REGISTRY[name].type is int
        values[name] = round(float(value)) if whole_number else float(value)
    return values


def run_outcomes(opt: Optimisation, values: dict[str, Any], world: int, seed: int) -> dict[str, float]:
    """One run's outcomes: yearly rates over the days the policy is in force (the toy: ZDT1)."""
    if opt.model == "toy":
        x = np.array([values[n] for n in opt.variables])
        g = 1.0 + 9.0 * float(np.mean(x[1:])) if len(x) > 1 else 1.0
        f1 = float(x[0])
        return {"f1": f1, "f2": g * (1.0 - math.sqrt(f1 / g)), "cost_kzt": f1}
    from sim.experiments.costs import ROLES, daily_costs
    from sim.experiments.replications import run_one

    params = {**opt.base, **opt.worlds[world], "policy": {**opt.base["policy"], **values}}
    daily = run_one(params, opt.days, seed)
    costs = daily_costs(daily, params)
    policy_days = daily["day"] >= opt.start
    n = int(policy_days.sum())
    if n == 0:
        raise Fault(f"{opt.path}: the policy starts on day {opt.start}, after the last day ({opt.days})")
    per_year = 365.0 / n
    prisoners = sum(daily.loc[policy_days, f"prisoners_{r}"].sum() for r in ROLES)
    return {
        "grams_sold": float(daily.loc[policy_days, "grams_sold"].sum()) * per_year,
        "prisoner_years": float(prisoners) / n,  # prisoners held on a mean day: prisoner-years a year
        "cost_kzt": float(costs.loc[policy_days].sum(axis=1).sum()) * per_year,
    }


def evaluate_policy(opt: Optimisation, generation: int, policy: int, x: np.ndarray) -> pd.DataFrame:
    """A policy's runs in every world, one row each: its variables, outcomes and status (a job for ``execute``)."""
    values = policy_values(opt, x)
    rows = []
    for world in range(len(opt.worlds)):
        for rep in range(opt.replications):
            seed = opt.run_seed(world, rep)
            asked = {f"x_{n}": float(v) for n, v in zip(opt.variables, x, strict=True)}  # as asked, to check a resume
            row: dict[str, Any] = {"generation": generation, "policy": policy, "world": world, "rep": rep,
                                   "seed": seed, **asked}  # fmt: skip
            try:
                row.update(run_outcomes(opt, values, world, seed), status="ok", error="")
            except (Exception, SystemExit) as exc:  # noqa: BLE001 - a failed run is data: the policy counts as bad
                row.update({o: float("nan") for o in OUTCOMES[opt.model]}, status="failed",
                           error=f"{type(exc).__name__}: {exc}"[:500])  # fmt: skip
            rows.append(row)
    return pd.DataFrame(rows)


def objectives_of(opt: Optimisation, runs: pd.DataFrame) -> tuple[np.ndarray, float]:
    """A policy's objective values and its mean yearly cost, from its runs (``FAILED`` if any run failed)."""
    if (runs["status"] != "ok").any():
        return np.full(len(opt.objectives), FAILED), FAILED
    values = []
    for name in opt.objectives:
        outcome, stat = split_objective(name)
        column = runs[outcome].to_numpy(dtype=float)
        if stat == "worst_tenth":  # all objectives are minimised: the worst tenth of the worlds is the top tenth
            values.append(float(np.quantile(column, 0.9)))
        else:
            values.append(float(np.median(column) if stat == "median" else np.mean(column)))
    return np.array(values, dtype=float), float(runs["cost_kzt"].mean())


def evaluation_path(out: Path, generation: int, policy: int) -> Path:
    """Where a policy's runs are kept (generation 0 is today's allocation)."""
    return out / "evaluations" / f"g{generation:04d}_p{policy:04d}.parquet"


def _evaluate(opt: Optimisation, out: Path, generation: int, xs: np.ndarray, execution: Execution) -> list:
    """Run the policies ``xs`` of one generation (those not yet on disk) and read back every one's runs."""
    paths = [evaluation_path(out, generation, i) for i in range(len(xs))]
    jobs = [(evaluate_policy, (opt, generation, i, x)) for i, x in enumerate(xs)]
    label = "today's allocation" if generation == 0 else f"generation {generation}/{opt.generations}"
    execute(jobs, paths=paths, sizes=[opt.runs_per_policy] * len(xs), execution=execution, desc=label)
    frames = []
    for path, x in zip(paths, xs, strict=True):
        frame = pd.read_parquet(path)
        asked = np.asarray(x, dtype=float)
        kept = frame.iloc[0][[f"x_{n}" for n in opt.variables]].to_numpy(dtype=float)
        if not np.array_equal(asked, kept):  # a resumed search must ask for the same policies again
            raise Fault(f"{path}: holds another policy than the search asks for now; use another --out")
        frames.append(frame)
    return frames


def search(opt: Optimisation, plan: OptimizePlan, execution: Execution = IN_PROCESS) -> Found:
    """Run NSGA-II (ask and tell) over the file's variables, every evaluation through ``execute``; find the front.

    Today's allocation is evaluated first (generation 0), then ``generations`` populations. Each policy's
    runs are written to ``out/evaluations`` the moment they finish; ``resume`` continues the same search.
    """
    from pymoo.algorithms.moo.nsga2 import NSGA2
    from pymoo.core.evaluator import Evaluator
    from pymoo.core.problem import Problem
    from pymoo.problems.static import StaticProblem

    from sim.io.provenance import now

    started = now()
    out = Path(plan.out)
    low = np.array([lo for lo, _ in opt.variables.values()])
    high = np.array([hi for _, hi in opt.variables.values()])
    problem = Problem(n_var=len(low), n_obj=len(opt.objectives), n_ieq_constr=1, xl=low, xu=high)
    algorithm = NSGA2(pop_size=opt.population, seed=opt.algorithm_seed())
    algorithm.setup(problem, termination=("n_gen", opt.generations))
    rows: list[dict[str, Any]] = []
    with claimed(out):
        begun = any((out / "evaluations").glob("*.parquet"))
        keep_fingerprint(out, opt.fingerprint(), resume=plan.resume, begun=begun, work="optimisation")
        today_x = np.array([[opt.today[n] for n in opt.variables]])
        rows += _rows(opt, _evaluate(opt, out, 0, today_x, execution))
        for generation in range(1, opt.generations + 1):
            pop = algorithm.ask()
            frames = _evaluate(opt, out, generation, pop.get("X"), execution)
            new = _rows(opt, frames)
            rows += new
            objectives = np.array([[r[o] for o in opt.objectives] for r in new])
            slack = np.array([[r["cost_kzt"] - opt.budget] for r in new])  # <= 0: within the budget
            Evaluator().eval(StaticProblem(problem, F=objectives, G=slack), pop)
            algorithm.tell(infills=pop)
    evaluations = pd.DataFrame(rows)
    today = evaluations.iloc[0]
    front = pareto_front(opt, evaluations.iloc[1:])
    return Found(opt, evaluations, front, today, regret(opt, front, today), started)


def _rows(opt: Optimisation, frames: list[pd.DataFrame]) -> list[dict[str, Any]]:
    """One row per policy: its generation, number, variables (as run), objectives, cost and feasibility."""
    rows = []
    for frame in frames:
        first = frame.iloc[0]
        x = first[[f"x_{n}" for n in opt.variables]].to_numpy(dtype=float)
        objectives, cost = objectives_of(opt, frame)
        failed = int((frame["status"] != "ok").sum())
        rows.append({"generation": int(first["generation"]), "policy": int(first["policy"]),
                     **policy_values(opt, x), **dict(zip(opt.objectives, objectives.tolist(), strict=True)),
                     "cost_kzt": cost, "feasible": bool(cost <= opt.budget and not failed),
                     "failed_runs": failed})  # fmt: skip
    return rows


def pareto_front(opt: Optimisation, evaluations: pd.DataFrame) -> pd.DataFrame:
    """The feasible policies that no other feasible policy dominates (duplicates kept once), by the first objective."""
    from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

    feasible = evaluations[evaluations["feasible"]].drop_duplicates(subset=list(opt.objectives))
    if feasible.empty:
        return feasible.reset_index(drop=True)
    best = NonDominatedSorting().do(feasible[list(opt.objectives)].to_numpy(dtype=float),
                                    only_non_dominated_front=True)  # fmt: skip
    return feasible.iloc[best].sort_values(list(opt.objectives)).reset_index(drop=True)


def regret(opt: Optimisation, front: pd.DataFrame, today: pd.Series) -> dict[str, Any]:
    """How far the front lies beyond today's allocation, in objectives normalised by the front's range.

    For each front point q, today's shortfall in objective k is (today_k - q_k) / range_k, range_k being the
    spread of objective k over the front and today (1 where it is nil). The regret is the largest
    improvement one front point gives in every objective at once, max(0, max over q of min over k of the
    shortfall): 0 when no front point is better in every objective, 0.1 when one is better by a tenth of the
    range in each. The point that gives it is named with its shortfalls in the objectives' own units.
    """
    names = list(opt.objectives)
    result: dict[str, Any] = {"today": {n: float(today[n]) for n in (*opt.variables, *names, "cost_kzt")},
                              "today_within_budget": bool(today["feasible"]), "front_points": len(front)}  # fmt: skip
    if front.empty:
        return {**result, "regret": None, "closest": None}
    points = front[names].to_numpy(dtype=float)
    mine = today[names].to_numpy(dtype=float)
    everything = np.vstack([points, mine])
    spread = everything.max(axis=0) - everything.min(axis=0)
    spread[spread <= 0] = 1.0
    shortfall = (mine - points) / spread  # > 0: the front point is better (all objectives are minimised)
    uniform = shortfall.min(axis=1)
    best = int(np.argmax(uniform))
    closest = {"front_point": best, **{n: float(front.iloc[best][n]) for n in opt.variables},
               **{f"shortfall_{n}": float(mine[k] - points[best, k]) for k, n in enumerate(names)}}  # fmt: skip
    dominating = int(np.sum(np.all(points <= mine, axis=1) & np.any(points < mine, axis=1)))
    return {**result, "regret": max(0.0, float(uniform[best])), "dominated_by": dominating, "closest": closest}


# ------------------------------------------------------------------ time
def expected_seconds(opt: Optimisation, workers: int, per_day: float) -> tuple[int, float]:
    """Model runs the search makes at most, and the expected wall time on ``workers`` processes."""
    runs = opt.policies * opt.runs_per_policy
    if opt.model == "toy":
        return runs, 0.0
    return runs, runs * opt.days * per_day / max(1, min(workers, opt.population)) / 0.9  # ~90% parallel efficiency
