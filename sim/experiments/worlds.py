"""The hypotheses across plausible worlds: the share of worlds per verdict, and what decides it.

A verdict at the registry's defaults is one point of a space of uncertain
mechanisms. ``experiments/worlds.toml`` names the uncertainties that the
hypotheses' ``[flip]`` tables show to matter, each with a range, and the
calibration's posterior sample (``posterior``, written by ``klad calibrate``);
``draw`` places ``N`` worlds in that space: the fitted parameters are a
posterior draw each (values the empirical targets allow, found with the other
parameters at the scenario's values), the others a Latin hypercube over their
ranges (``scipy.stats.qmc``, seeded; no target identifies them). A parameter
in both takes the posterior's values, not the range's. Then ``run_worlds``
runs every hypothesis in every world (the same arms and tests, with the
world's values in every arm, ``replications`` each) through the one runner,
``run_hypotheses``. ``decisive`` then fits a
shallow classification tree (scikit-learn) of the verdict on the world's
values and reads its leaves as rules: "not supported where
discount_factor_mean > 0.62 (9 of 10 worlds)". This is scenario discovery in
the sense of Bryant & Lempert (2010), with CART in place of PRIM.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.experiments.execute import IN_PROCESS, Execution
from sim.experiments.hypotheses import Hypothesis, run_hypotheses
from sim.io import schema
from sim.io.config import read_file
from sim.io.schema import MAX_SEED, Schema, choice, of, text, whole
from sim.params import REGISTRY, ParameterError, shown

#: ``experiments/worlds.toml``'s keys.
WORLDS: Schema = {
    "seed": whole(0, MAX_SEED, 20252), "replications": whole(2, 1000, 4), "uncertainties": of("table"),
    "posterior": text(None, longest=1000),
}  # fmt: skip
UNCERTAINTY: Schema = {"range": of("any"), "scale": choice(("linear", "log"), "linear")}
#: Leaves of the tree with fewer worlds than this name no rule.
MIN_LEAF = 4


@dataclass
class Worlds:
    """A validated worlds file: the uncertainties' ranges and how each world is run."""

    path: Path
    seed: int
    replications: int
    ranges: dict[str, tuple[Any, Any]]
    log: set[str]
    posterior: pd.DataFrame | None = None  # the calibration's posterior sample: one row per draw, fitted parameters
    posterior_path: Path | None = None

    @property
    def names(self) -> list[str]:
        """Every parameter that varies between worlds: the posterior's, then the hypercube's."""
        fitted = [] if self.posterior is None else list(self.posterior.columns)
        return [*fitted, *(n for n in self.ranges if n not in fitted)]


@dataclass
class WorldVerdicts:
    """What ``run_worlds`` found: each world's values and each hypothesis's verdict there."""

    worlds: pd.DataFrame  # one row per world: ``world`` and the value of every uncertainty
    verdicts: pd.DataFrame  # one row per world and hypothesis: ``world``, ``hypothesis``, ``verdict``
    rules: dict[str, list[str]]  # hypothesis -> the rules that decide its verdict
    replications: int
    fitted: list[str] = field(default_factory=list)  # the parameters drawn from the calibration's posterior
    posterior: str = ""  # its file


def load_worlds(path: str | Path) -> Worlds:
    """Read and validate a worlds file; a ParameterError names the file and key."""
    path, data = read_file(path, "worlds", WORLDS)
    where = str(path)
    ranges, log = {}, set()
    if not data["uncertainties"]:
        raise ParameterError(f"{where}: give [uncertainties]: name = {{ range = [low, high] }}")
    for name, spec in data["uncertainties"].items():
        key = f"{where} [uncertainties] {name}"
        if name not in REGISTRY:
            raise ParameterError(f"{key}: unknown parameter {shown(name)} (see `klad params`)")
        if REGISTRY[name].kind != "uncertainty":
            raise ParameterError(f"{key}: {name} is a {REGISTRY[name].kind}; worlds vary only uncertainties")
        if not isinstance(spec, dict):
            raise ParameterError(f'{key}: give {{ range = [low, high], scale = "linear" or "log" }}')
        spec = schema.check(spec, UNCERTAINTY, key)
        bounds = spec["range"]
        if not isinstance(bounds, list) or len(bounds) != 2:
            raise ParameterError(f"{key}: range must be [low, high]")
        low, high = (REGISTRY[name].check(v, key) for v in bounds)
        if not low < high:
            raise ParameterError(f"{key}: range must have low < high, not [{low}, {high}]")
        if spec["scale"] == "log":
            if low <= 0:
                raise ParameterError(f"{key}: a log scale needs a range above 0, not from {low}")
            log.add(name)
        ranges[name] = (low, high)
    posterior_path, posterior = None, None
    if data["posterior"]:
        posterior_path = (path.parent / data["posterior"]).resolve()  # relative to the worlds file
        posterior = load_posterior(posterior_path, f"{where}: posterior")
    return Worlds(path, data["seed"], data["replications"], ranges, log, posterior, posterior_path)


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
        if name not in REGISTRY or REGISTRY[name].kind != "uncertainty":
            raise ParameterError(f"{where}: {path}: column {shown(name)} is not an uncertainty (see `klad params`)")
        if not pd.api.types.is_numeric_dtype(sample[name]):
            raise ParameterError(f"{where}: {path}: column {name} holds non-numbers")
        for value in (sample[name].min(), sample[name].max()):
            REGISTRY[name].check(float(value), f"{where}: {path}: column {name}")
    return sample.reset_index(drop=True)


def draw(worlds: Worlds, n: int) -> pd.DataFrame:
    """``n`` worlds; a ``world`` column 0..n-1.

    The posterior's parameters take the values of ``n`` draws of its sample
    (without replacement while it has enough rows; seeded), the other
    uncertainties a Latin hypercube over their ranges (integers rounded).
    """
    from scipy.stats import qmc

    rng = np.random.default_rng(worlds.seed)
    fitted = [] if worlds.posterior is None else list(worlds.posterior.columns)
    names = [name for name in worlds.ranges if name not in fitted]
    unit = qmc.LatinHypercube(d=max(1, len(names)), seed=rng).random(n)
    table = {"world": np.arange(n)}
    if fitted:
        sample = worlds.posterior
        rows = np.random.default_rng([worlds.seed, 1]).choice(len(sample), n, replace=n > len(sample))
        for name in fitted:
            values = sample[name].to_numpy()[rows]
            table[name] = values.round().astype(int) if REGISTRY[name].type is int else values.astype(float)
    for j, name in enumerate(names):
        low, high = worlds.ranges[name]
        whole = REGISTRY[name].type is int
        top = high + 1 if whole else high  # a whole number's range runs to the next one, so each is drawn as often
        if name in worlds.log:
            values = np.exp(np.log(low) + unit[:, j] * (np.log(top) - np.log(low)))
        else:
            values = low + unit[:, j] * (top - low)
        if whole:
            values = np.minimum(np.floor(values), high).astype(int)
        table[name] = values
    return pd.DataFrame(table)


def in_world(h: Hypothesis, k: int, values: dict[str, Any], replications: int) -> Hypothesis:
    """Hypothesis ``h`` in world ``k``: the world's values in every arm, ``replications`` of them, no ranking."""
    world = h.under("", {name: _plain(v) for name, v in values.items()})
    world.id = f"{h.id}@{k}"
    world.sensitivity = None  # a Sobol ranking per world would cost more than all the rest
    world.settings = {**world.settings, "replications": replications, "max_replications": replications}
    return world


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def run_worlds(
    hyps: list[Hypothesis],
    worlds: Worlds,
    n: int,
    out: str | Path,
    *,
    execution: Execution = IN_PROCESS,
    resume: bool = False,
) -> WorldVerdicts:
    """Run every hypothesis in ``n`` worlds (``draw``) and find what decides each verdict (``decisive``).

    The runs go to ``out`` (resumable as ``run_hypotheses``'s); arms that are
    the same in several hypotheses of a world run once.
    """
    table = draw(worlds, n)
    names = worlds.names
    copies = [in_world(h, int(row["world"]), {k: row[k] for k in names}, worlds.replications)
              for _, row in table.iterrows() for h in hyps]  # fmt: skip
    found = run_hypotheses(copies, out, execution=execution, resume=resume, keep_daily=False)
    rows = []
    for h in copies:
        hid, world = h.id.split("@")
        rows.append({"world": int(world), "hypothesis": hid, "verdict": found.details[h.id].verdict})
    verdicts = pd.DataFrame(rows)
    rules = {h.id: decisive(table, verdicts[verdicts["hypothesis"] == h.id], names) for h in hyps}
    fitted = [] if worlds.posterior is None else list(worlds.posterior.columns)
    return WorldVerdicts(table, verdicts, rules, worlds.replications, fitted, _shown(worlds.posterior_path))


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
    """A one-line error now, not after hours of runs, if scikit-learn (for ``decisive``) is missing."""
    try:
        import sklearn  # noqa: F401
    except ImportError:
        raise ParameterError("--worlds needs scikit-learn: pip install scikit-learn") from None


def decisive(table: pd.DataFrame, verdicts: pd.DataFrame, names: list[str], depth: int = 2) -> list[str]:
    """Rules that decide a hypothesis's verdict across worlds: the leaves of a shallow classification tree.

    A tree of depth ``depth`` (scikit-learn's CART, leaves of at least
    ``MIN_LEAF`` worlds) is fitted to the verdicts on the worlds' values; each
    leaf becomes "VERDICT where CONDITIONS (k of m worlds)", the largest leaves
    first. A hypothesis with one verdict in every world has no rule to find.
    """
    from sklearn.tree import DecisionTreeClassifier

    data = table.merge(verdicts, on="world")
    if data["verdict"].nunique() < 2:
        only = data["verdict"].iloc[0] if len(data) else "none"
        return [f"{only} in every world"]
    x, y = data[names].to_numpy(dtype=float), data["verdict"].to_numpy()
    tree = DecisionTreeClassifier(max_depth=depth, min_samples_leaf=MIN_LEAF, random_state=0).fit(x, y)
    t = tree.tree_
    rules = []

    def walk(node: int, conditions: list[str]) -> None:
        if t.children_left[node] == -1:
            counts = t.value[node][0] * t.n_node_samples[node] / max(t.value[node][0].sum(), 1e-12)
            best = int(np.argmax(counts))
            k, m = int(round(counts[best])), int(t.n_node_samples[node])
            where = " and ".join(conditions) if conditions else "everywhere"
            rules.append((m, f"{tree.classes_[best]} where {where} ({k} of {m} worlds)"))
            return
        name, cut = names[t.feature[node]], t.threshold[node]
        walk(t.children_left[node], [*conditions, f"{name} <= {_cut(cut)}"])
        walk(t.children_right[node], [*conditions, f"{name} > {_cut(cut)}"])

    walk(0, [])
    return [rule for _, rule in sorted(rules, key=lambda r: -r[0])]


def _cut(value: float) -> str:
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    digits = max(0, 2 - int(math.floor(math.log10(abs(value)))))
    return f"{value:.{digits}f}"
