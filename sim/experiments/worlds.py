"""The hypotheses across plausible worlds: each effect's spread, the share of worlds per verdict, and why.

A verdict at the defaults (the calibrated baseline) is one point of what we do not know.
``experiments/worlds.toml`` names the uncertainties that vary between worlds
(each over its prior in ``sim/registry.toml``: a range and shape from what is
known, with its reason) and the joint calibration's posterior sample
(``posterior``, written by ``klad calibrate --worlds``), and a targets file.

1. ``draw`` places ``N`` candidate worlds: the posterior's parameters are
   ``N`` of its draws (values that the fitted targets allow, found with the
   other uncertainties varying too); an uncertainty the posterior lacks
   comes from a Latin hypercube over its prior (``scipy.stats.qmc``, seeded).
2. ``check_worlds`` runs each candidate's baseline once to the targets file's
   last horizon and judges every fitted target at every horizon. A world
   outside any of them is not plausible: it is dropped, and counted.
3. ``run_worlds`` runs every hypothesis in every plausible world (the same
   arms and tests, the world's values in every arm, ``replications`` paired
   replications each) through the one runner, ``judge_hypotheses``.
4. Each deciding test and check is read through an emulator of its effect
   over the worlds' parameters (``sim.experiments.emulate``): its coverage
   out of sample, the effect's median and 80% interval across the plausible
   worlds, each world's verdict from the emulator's interval by the same rule
   as at the defaults, Sobol indices of the effect, and scenario discovery
   that must beat guessing the commoner outcome. A hypothesis's verdict in a
   world combines its tests' there (``combine``), and the share of worlds per
   verdict is counted over the plausible worlds.

With fewer than ``MIN_EMULATED`` plausible worlds there is no emulator: each
world's verdict is its replications' own, and the report says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sim.experiments.execute import IN_PROCESS, Execution
from sim.experiments.hypotheses import Hypothesis, judge_hypotheses
from sim.experiments.sweep import Design
from sim.io import schema
from sim.io.config import Scenario, load_scenario, read_file, scenario_of
from sim.io.schema import MAX_SEED, Schema, choice, of, text, whole
from sim.params import REGISTRY, UNCERTAINTY, ParameterError, shown

if TYPE_CHECKING:
    from sim.experiments.emulate import EffectReport

#: ``experiments/worlds.toml``'s keys.
WORLDS: Schema = {
    "seed": whole(0, MAX_SEED, 20252), "replications": whole(2, 1000, 2), "uncertainties": of("any"),
    "posterior": text(None, longest=1000), "targets": text(None, longest=1000),
    "scenario": text("../scenarios/baseline.toml", longest=1000), "years_after_policy": whole(1, 50, 2),
}  # fmt: skip
#: One ``[uncertainties] name = { range, scale }`` table of a worlds file.
RANGE: Schema = {"range": of("any"), "scale": choice(("linear", "log"), "linear")}
#: Fewest plausible worlds an emulator is fitted to; with fewer, each world's verdict is its own replications'.
MIN_EMULATED = 10


@dataclass
class Worlds:
    """A validated worlds file: the uncertainties' ranges and how each world is run and checked."""

    path: Path
    seed: int
    replications: int
    ranges: dict[str, tuple[Any, Any]]
    log: set[str]
    posterior: pd.DataFrame | None = None  # the calibration's posterior sample: one row per draw
    posterior_path: Path | None = None
    targets_path: Path | None = None  # the targets every world's baseline is checked against
    scenario_path: Path | None = None  # the baseline scenario of that check
    scenario: Scenario | None = None  # that scenario, read and checked with the worlds file
    overridden: set[str] = field(default_factory=set)  # uncertainties whose range the file sets, not the registry
    years: int = 2  # how long the policy acts in every world's runs (the effect is read at the end)

    @property
    def names(self) -> list[str]:
        """Every parameter that varies between worlds: the posterior's, then the hypercube's."""
        fitted = [] if self.posterior is None else list(self.posterior.columns)
        return [*fitted, *(n for n in self.ranges if n not in fitted)]

    def bounds(self, table: pd.DataFrame | None = None) -> dict[str, tuple[float, float]]:
        """Each varied parameter's bounds: its range, widened to the posterior's and ``table``'s values."""
        out = {}
        for name in self.names:
            low, high = self.ranges.get(name, (math.inf, -math.inf))
            for frame in (self.posterior, table):
                if frame is not None and name in frame:
                    low, high = min(low, float(frame[name].min())), max(high, float(frame[name].max()))
            out[name] = (float(low), float(high)) if high > low else (float(low), float(low) + 1e-12)
        return out


@dataclass
class WorldVerdicts:
    """What ``run_worlds`` found."""

    worlds: pd.DataFrame  # one row per candidate world: ``world``, every uncertainty, ``plausible``, ``outside``
    verdicts: pd.DataFrame  # one row per plausible world and hypothesis: ``verdict`` (emulated), ``own_verdict``
    effects: pd.DataFrame  # one row per plausible world and test: its estimate, the emulator's mean, sd and verdict
    reports: dict[str, list[Any]]  # hypothesis -> an ``EffectReport`` per deciding test and check
    replications: int
    fitted: list[str] = field(default_factory=list)  # the parameters drawn from the calibration's posterior
    posterior: str = ""  # its file
    targets: str = ""  # the targets file of the check ("" = the worlds were not checked)
    emulated: bool = True  # False: too few plausible worlds, each world's verdict is its own
    years: int = 2  # how long the policy acted in the worlds' runs
    overridden: list[str] = field(default_factory=list)  # uncertainties drawn over the file's range, not the prior

    @property
    def plausible(self) -> pd.DataFrame:
        """The candidate worlds that passed the check."""
        return self.worlds[self.worlds["plausible"]]

    @property
    def rules(self) -> dict[str, list[str]]:
        """Per hypothesis, what decides each of its tests across worlds (scenario discovery), in words."""
        return {hid: [f"{r.name}: " + "; ".join(r.discovery.lines()) for r in reports]
                for hid, reports in self.reports.items()}  # fmt: skip


def load_worlds(path: str | Path, *, read_posterior: bool = True) -> Worlds:
    """Read and validate a worlds file; a ParameterError names the file and key.

    ``read_posterior`` False leaves its posterior unread (a joint calibration is about to write it).
    """
    path, data = read_file(path, "worlds", WORLDS)
    where = str(path)
    ranges, log, overridden = {}, set(), set()
    spec_of = data["uncertainties"]
    if isinstance(spec_of, list):
        if not all(isinstance(n, str) for n in spec_of):
            raise ParameterError(f"{where}: uncertainties must be a list of parameter names")
        spec_of = dict.fromkeys(spec_of)
    if not isinstance(spec_of, dict) or not spec_of:
        raise ParameterError(f'{where}: give uncertainties = ["name", ...] (each over its registry prior), or '
                             "[uncertainties]: name = { range = [low, high] }")  # fmt: skip
    for name, spec in spec_of.items():
        key = f"{where} [uncertainties] {name}"
        if name not in REGISTRY:
            raise ParameterError(f"{key}: unknown parameter {shown(name)} (see `klad params`)")
        p = REGISTRY[name]
        if p.kind != UNCERTAINTY:
            raise ParameterError(f"{key}: {name} is a {p.kind}; worlds vary only uncertainties")
        if spec is None:
            if p.prior is None:
                raise ParameterError(f"{key}: {name} has no prior in sim/registry.toml; give it a range here")
            ranges[name] = (p.check(p.prior.low, key), p.check(p.prior.high, key))
            if p.prior.scale == "log":
                log.add(name)
            continue
        if not isinstance(spec, dict):
            raise ParameterError(f'{key}: give {{ range = [low, high], scale = "linear" or "log" }}')
        spec = schema.check(spec, RANGE, key)
        bounds = spec["range"]
        if not isinstance(bounds, list) or len(bounds) != 2:
            raise ParameterError(f"{key}: range must be [low, high]")
        low, high = (p.check(v, key) for v in bounds)
        if not low < high:
            raise ParameterError(f"{key}: range must have low < high, not [{low}, {high}]")
        if spec["scale"] == "log":
            if low <= 0:
                raise ParameterError(f"{key}: a log scale needs a range above 0, not from {low}")
            log.add(name)
        ranges[name] = (low, high)
        overridden.add(name)
    posterior_path, posterior = None, None
    if data["posterior"] and read_posterior:
        posterior_path = (path.parent / data["posterior"]).resolve()  # relative to the worlds file
        posterior = load_posterior(posterior_path, f"{where}: posterior")
    targets_path = scenario_path = None
    scenario: Scenario | None = None
    if data["targets"]:
        from sim.experiments.targets import load_targets

        targets_path = (path.parent / data["targets"]).resolve()
        if not targets_path.is_file():
            raise ParameterError(f"{where}: targets: no file {targets_path}")
        load_targets(targets_path)  # a bad targets file is named now, not after the worlds are drawn
        scenario_path = (path.parent / data["scenario"]).resolve()
        scenario = load_scenario(scenario_path)
    return Worlds(path, data["seed"], data["replications"], ranges, log, posterior, posterior_path, targets_path,
                  scenario_path, scenario, overridden, data["years_after_policy"])  # fmt: skip


#: Columns of a calibration's sample that are not parameters (which run, its seed, its distance or weight).
BOOKKEEPING = ("run", "seed", "distance", "accepted", "weight", "wave", "point")


def load_posterior(path: Path, where: str) -> pd.DataFrame:
    """A calibration's posterior sample (``posterior.csv``): numeric columns named after uncertainties, in range."""
    try:
        sample = pd.read_csv(path, comment="#")
    except FileNotFoundError:
        raise ParameterError(f"{where}: no file {path} (write one with `klad calibrate`)") from None
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise ParameterError(f"{where}: {path} is not a readable CSV: {exc}") from None
    sample = sample.drop(columns=[c for c in BOOKKEEPING if c in sample.columns])
    if sample.empty or sample.isna().any().any():
        raise ParameterError(f"{where}: {path} needs rows of values without gaps")
    for name in sample.columns:
        if name not in REGISTRY or REGISTRY[name].kind != UNCERTAINTY:
            raise ParameterError(f"{where}: {path}: column {shown(name)} is not an uncertainty (see `klad params`)")
        if not pd.api.types.is_numeric_dtype(sample[name]):
            raise ParameterError(f"{where}: {path}: column {name} holds non-numbers")
        whole = REGISTRY[name].type is int  # a calibration samples whole numbers as reals; a run rounds them
        for value in (sample[name].min(), sample[name].max()):
            REGISTRY[name].check(round(float(value)) if whole else float(value), f"{where}: {path}: column {name}")
    return sample.reset_index(drop=True)


def plausible_worlds(path: Path, where: str) -> pd.DataFrame:
    """The plausible worlds of a run's ``worlds.csv`` (``klad hypotheses --worlds``): their uncertainties' values.

    A table without a ``plausible`` column is read as a posterior sample (``load_posterior``): every row a world.
    """
    try:
        header = pd.read_csv(path, comment="#", nrows=0)
    except FileNotFoundError:
        raise ParameterError(f"{where}: no file {path}") from None
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise ParameterError(f"{where}: {path} is not a readable CSV: {exc}") from None
    if "plausible" not in header.columns:
        return load_posterior(path, where)
    table = pd.read_csv(path, comment="#")
    kept = table[table["plausible"].astype(bool)]
    names = [c for c in table.columns if c in REGISTRY and REGISTRY[c].kind == UNCERTAINTY]
    if kept.empty or not names:
        raise ParameterError(f"{where}: {path} holds no plausible world with uncertainties' values")
    for name in names:
        whole = REGISTRY[name].type is int
        for value in (kept[name].min(), kept[name].max()):
            REGISTRY[name].check(round(float(value)) if whole else float(value), f"{where}: {path}: column {name}")
    return kept[names].reset_index(drop=True)


def draw(worlds: Worlds, n: int) -> pd.DataFrame:
    """``n`` candidate worlds; a ``world`` column 0..n-1.

    The posterior's parameters take the values of ``n`` draws of its sample
    (without replacement while it has enough rows; seeded), the other
    uncertainties a Latin hypercube over their ranges (uniform, or uniform on
    a log scale; whole numbers floored, each drawn as often).
    """
    from scipy.stats import qmc

    from sim.params import Prior

    rng = np.random.default_rng(worlds.seed)
    fitted = [] if worlds.posterior is None else list(worlds.posterior.columns)
    names = [name for name in worlds.ranges if name not in fitted]
    unit = qmc.LatinHypercube(d=max(1, len(names)), seed=rng).random(n)
    table = {"world": np.arange(n)}
    if fitted:
        sample = worlds.posterior
        assert sample is not None  # only a posterior has fitted parameters
        rows = np.random.default_rng([worlds.seed, 1]).choice(len(sample), n, replace=n > len(sample))
        for name in fitted:
            values = sample[name].to_numpy()[rows]
            table[name] = values.round().astype(int) if REGISTRY[name].type is int else values.astype(float)
    for j, name in enumerate(names):
        low, high = worlds.ranges[name]
        prior = Prior(low, high, "log" if name in worlds.log else "linear", "")
        table[name] = prior.from_unit(unit[:, j], whole=REGISTRY[name].type is int)
    return pd.DataFrame(table)


def check_worlds(
    table: pd.DataFrame, worlds: Worlds, out: str | Path, *, execution: Execution = IN_PROCESS, resume: bool = False
) -> pd.DataFrame:
    """Each candidate world's baseline, run once to the targets' last horizon and judged at every horizon.

    Returns ``table`` with ``plausible`` (inside every fitted target at every
    horizon) and ``outside`` (the targets missed, as "target@day"), and each
    fitted target's statistic at each horizon. Without a targets file every
    world is kept, unchecked (``outside`` says so).
    """
    from sim.experiments.targets import horizon_column, load_targets, run_statistics

    if worlds.targets_path is None:
        return table.assign(plausible=True, outside="not checked")
    targets = load_targets(worlds.targets_path)
    params = scenario_of(worlds.scenario or worlds.scenario_path).as_dict()
    names = worlds.names
    bounds = worlds.bounds(table)
    horizons = targets.horizons
    runs = run_statistics(params, {n: list(bounds[n]) for n in names}, design=Design.POINTS, samples=len(table),
                          reps=1, days=horizons[-1], seed=worlds.seed, out=out, execution=execution, resume=resume,
                          horizons=horizons, window=min(targets.window, horizons[0] // 2),
                          points=table[names].to_numpy(dtype=float).tolist())  # fmt: skip
    runs = runs.sort_values("run" if "run" in runs else runs.columns[0]).reset_index(drop=True)
    result = table.copy()
    missed: list[list[str]] = [[] for _ in range(len(table))]
    for t in targets.by_role("fit"):
        for day in horizons:
            column = horizon_column(t.statistic, day)
            values = runs[column].to_numpy(dtype=float) if column in runs else np.full(len(table), np.nan)
            result[column] = values
            for i, value in enumerate(values):
                if not (np.isfinite(value) and t.contains(value)):
                    missed[i].append(f"{t.id}@{day}")
    failed = (runs["status"] != "ok").to_numpy() if "status" in runs else np.zeros(len(table), bool)
    result["plausible"] = [not m and not f for m, f in zip(missed, failed, strict=True)]
    result["outside"] = ["run failed" if f else ", ".join(m) for m, f in zip(missed, failed, strict=True)]
    return result


def check_seconds(worlds: Worlds, n: int, workers: int) -> float:
    """Expected wall time of ``check_worlds`` for ``n`` worlds on ``workers`` processes (0 without targets)."""
    from sim.experiments.targets import load_targets, seconds_per_run

    if worlds.targets_path is None:
        return 0.0
    horizons = load_targets(worlds.targets_path).horizons
    buyers = scenario_of(worlds.scenario or worlds.scenario_path).params.n_buyers
    return n * seconds_per_run(horizons[-1], buyers, len(horizons)) / max(1, workers) / 0.9


def in_world(h: Hypothesis, k: int, values: dict[str, Any], replications: int, years: int | None = None) -> Hypothesis:
    """Hypothesis ``h`` in world ``k``: the world's values in every arm, ``replications`` of them, no ranking.

    ``years`` makes the policy act that many years (the runs end then); None keeps ``h``'s days.
    """
    world = h.under("", {name: _plain(v) for name, v in values.items()})
    world.id = f"{h.id}@{k}"
    world.sensitivity = None  # a Sobol ranking per world would cost more than all the rest
    days = world.settings["days"] if years is None else min(world.settings["days"], h.start - 1 + 365 * years)
    if days - world.window.days < h.start - 1:
        days = world.settings["days"]  # too short for the window after the policy: keep the hypothesis's own
    world.settings = {**world.settings, "days": days, "replications": replications, "max_replications": replications}
    return world


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def effect_of(row: dict[str, Any], test: Any) -> tuple[float, str, float]:
    """A test's effect as the emulator learns it, with the claim and margin the rule reads it by.

    A relative contrast is a share of its reference arm (its margin too); a
    level test is the distance of the level from its threshold, read as an
    increase (``above``) or a decrease (``below``) past a margin of 0.
    """
    if row["kind"] == "level":
        expect = "increase" if row["expect"] == "above" else "decrease"
        return float(row["estimate"] - test.threshold), expect, 0.0
    effect = row["relative"] if test.relative_to else row["estimate"]
    return float(effect), row["expect"], float(test.margin)


def _standard_error(row: dict[str, Any], test: Any) -> float:
    """The standard error of one world's estimate, from its own replications, in the units of ``effect_of``."""
    n, sd = row.get("n", 0), row.get("sd", float("nan"))
    if not n or n < 2 or not math.isfinite(sd):
        return float("nan")
    se = sd / math.sqrt(n)
    if test.kind == "contrast" and test.relative_to:
        reference = row.get("reference", float("nan"))
        return se / abs(reference) if reference and math.isfinite(reference) else float("nan")
    return se


def run_worlds(
    hyps: list[Hypothesis],
    worlds: Worlds,
    n: int,
    out: str | Path,
    *,
    execution: Execution = IN_PROCESS,
    resume: bool = False,
) -> WorldVerdicts:
    """Draw ``n`` candidate worlds, keep the plausible ones, run every hypothesis there and read the effects.

    The runs go to ``out`` (``check`` and the hypotheses' runs; resumable as
    ``judge_hypotheses``'s); arms that are the same in several hypotheses of a
    world run once. A world reads only the tests and checks that decide a
    verdict, so the details and the arms only they use are not run there
    (``Hypothesis.without_details``: the deciding tests come out the same).
    """
    out = Path(out)
    hyps = [h.without_details() for h in hyps]
    table = check_worlds(draw(worlds, n), worlds, out / "check", execution=execution, resume=resume)
    kept = table[table["plausible"]].reset_index(drop=True)
    effects, verdicts = _judge_in_worlds(hyps, kept, worlds, out, execution, resume)
    emulated = len(kept) >= MIN_EMULATED
    reports = _emulate_effects(hyps, effects, kept, worlds) if emulated else {h.id: [] for h in hyps}
    verdicts = _combine_tests(verdicts, effects)
    fitted = [] if worlds.posterior is None else list(worlds.posterior.columns)
    return WorldVerdicts(table, verdicts, effects, reports, worlds.replications, fitted,
                         _shown(worlds.posterior_path), _shown(worlds.targets_path), emulated,
                         worlds.years, sorted(worlds.overridden))  # fmt: skip


#: Columns of ``WorldVerdicts.effects`` as each world's runs give them (the emulator's ``mean``, ``sd`` and
#: ``verdict`` follow).
EFFECT_COLUMNS = ["world", "hypothesis", "test", "role", "relative", "offset", "effect", "se", "expect", "margin",
                  "own_verdict"]  # fmt: skip


def _judge_in_worlds(
    hyps: list[Hypothesis], kept: pd.DataFrame, worlds: Worlds, out: Path, execution: Execution, resume: bool
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every hypothesis judged in every plausible world: each deciding test's effect there, and its own verdict.

    Returns the effects (one row per world and test; each world's verdict is
    its own until an emulator reads it) and the verdicts (one row per world
    and hypothesis).
    """
    names = worlds.names
    copies = [in_world(h, int(row["world"]), {k: row[k] for k in names}, worlds.replications, worlds.years)
              for _, row in kept.iterrows() for h in hyps]  # fmt: skip
    found = judge_hypotheses(copies, out, execution=execution, resume=resume, keep_daily=False) if copies else None
    effect_rows, own = [], []
    for h in copies:
        hid, world = h.id.split("@")
        assert found is not None  # a world's copies were run
        judged = found.details[h.id]
        own.append({"world": int(world), "hypothesis": hid, "own_verdict": judged.verdict})
        effect_rows += _effects_in_world(h, judged.results, int(world), hid)
    effects = pd.DataFrame(effect_rows, columns=EFFECT_COLUMNS)
    effects["mean"], effects["sd"], effects["verdict"] = np.nan, np.nan, effects["own_verdict"]
    return effects, pd.DataFrame(own, columns=["world", "hypothesis", "own_verdict"])


def _effects_in_world(h: Hypothesis, results: list[dict[str, Any]], world: int, hid: str) -> list[dict[str, Any]]:
    """The effect of each deciding test and check (a contrast or a level) of hypothesis ``hid`` in one world."""
    criteria = {t.name: t for t in h.tests}
    rows = []
    for r in results:
        if r["role"] in ("test", "check") and r["kind"] in ("contrast", "level"):
            test = criteria[r["test"]]
            effect, expect, margin = effect_of(r, test)
            rows.append({"world": world, "hypothesis": hid, "test": r["test"], "role": r["role"],
                         "relative": bool(test.kind == "contrast" and test.relative_to),
                         "offset": test.threshold if test.kind == "level" else 0.0,
                         "se": _standard_error(r, test),
                         "effect": effect, "expect": expect, "margin": margin,
                         "own_verdict": r["verdict"]})  # fmt: skip
    return rows


def _emulate_effects(
    hyps: list[Hypothesis], effects: pd.DataFrame, kept: pd.DataFrame, worlds: Worlds
) -> dict[str, list[Any]]:
    """Each test's effect read through an emulator over the worlds' parameters: per hypothesis, its reports.

    Writes each world's emulated ``mean``, ``sd`` and ``verdict`` into ``effects``;
    a test with an effect in fewer than ``MIN_EMULATED`` worlds is left to their own verdicts.
    """
    reports: dict[str, list[Any]] = {h.id: [] for h in hyps}
    groups = list(effects.groupby(["hypothesis", "test"], sort=False))
    seeds = np.random.SeedSequence([worlds.seed, 3]).generate_state(max(1, len(groups)))
    for k, ((hid, test), rows) in enumerate(groups):
        rows = rows.sort_values("world")
        if rows["effect"].notna().sum() < MIN_EMULATED:  # a ratio with no denominator in most worlds, say
            continue  # its worlds keep their own verdicts
        report = _effect_report(test, rows, kept, worlds, int(seeds[k]))
        reports[hid].append(report)
        effects.loc[rows.index, "verdict"] = report.verdicts
        effects.loc[rows.index, "mean"], effects.loc[rows.index, "sd"] = report.means, report.sds
    return reports


def _effect_report(test: str, rows: pd.DataFrame, kept: pd.DataFrame, worlds: Worlds, seed: int) -> EffectReport:
    """One test's ``EffectReport``: its effect in each world (``rows``) emulated over the worlds' parameters."""
    from sim.experiments.emulate import effect_report

    names = worlds.names
    run = kept.set_index("world").loc[rows["world"].to_numpy(), names].reset_index()
    floor = float(np.nanmedian(rows["se"].to_numpy(dtype=float) ** 2)) if rows["se"].notna().any() else 0.0
    report = effect_report(test, run, rows["effect"].to_numpy(), run, names, rows["expect"].iloc[0],
                           float(rows["margin"].iloc[0]), seed, worlds.bounds(kept), floor)  # fmt: skip
    report.role, report.relative = rows["role"].iloc[0], bool(rows["relative"].iloc[0])
    report.offset = float(rows["offset"].iloc[0])
    return report


def _combine_tests(verdicts: pd.DataFrame, effects: pd.DataFrame) -> pd.DataFrame:
    """Each hypothesis's verdict in each world, its tests' there combined; its own where it has no contrast."""
    from sim.experiments.verdicts import combine

    combined = []
    for (world, hid), rows in effects.groupby(["world", "hypothesis"]):
        combined.append(
            {
                "world": world,
                "hypothesis": hid,
                "verdict": combine([{"role": r.role, "verdict": r.verdict} for r in rows.itertuples()]),
            }
        )
    if combined:
        verdicts = verdicts.merge(pd.DataFrame(combined), on=["world", "hypothesis"], how="left")
    else:
        verdicts["verdict"] = pd.Series(dtype=str)
    verdicts["verdict"] = verdicts["verdict"].fillna(verdicts["own_verdict"])  # a hypothesis with no contrast
    return verdicts


def _shown(path: Path | None) -> str:
    """A path as a report shows it: relative to the working folder when inside it."""
    if path is None:
        return ""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def shares(verdicts: pd.DataFrame) -> pd.DataFrame:
    """Per hypothesis, the share of worlds with each verdict (columns in ``VERDICTS`` order) and the worlds."""
    from sim.experiments.hypotheses import VERDICTS

    counts = pd.crosstab(verdicts["hypothesis"], verdicts["verdict"]).reindex(columns=list(VERDICTS), fill_value=0)
    result = counts.div(counts.sum(axis=1), axis=0)
    result["worlds"] = counts.sum(axis=1)
    return result


def need_sklearn() -> None:
    """A one-line error now, not after hours of runs, if scikit-learn (for the emulators) is missing."""
    try:
        import sklearn  # noqa: F401
    except ImportError:
        raise ParameterError("--worlds needs scikit-learn: pip install scikit-learn") from None
