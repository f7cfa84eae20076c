"""The sources' hypotheses H1-H7 (docs/ODD.md, section 1.1) as experiments with verdicts.

Each file in ``experiments/hypotheses/`` states one hypothesis: its source, the
*arms* it runs (shipped scenarios, or a scenario with extra policy levers), and
its *tests*. A test is one of

- a **contrast**: a linear combination of arms (``"tightened - baseline"``,
  or an interaction such as ``"(both - coord) - (prev - baseline)"``) of a
  metric's final-window mean, computed per replication. All arms of all
  hypotheses share the replication seeds (common random numbers), so the
  effect is paired; its mean and t confidence interval decide (95%, and
  Holm's levels for *not supported*: ``sim.experiments.verdicts``);
- a **level**: one arm's metric (or ratio of metrics) against a threshold;
- a **ranking** of Sobol total indices of two groups of parameters (SALib,
  with its bootstrap confidence intervals).

Each test expects a direction with a *margin*: the smallest change that
matters (relative to an arm's mean, or absolute). One symmetric rule turns
numbers into words for every test (``sim.experiments.verdicts.RULE``): a test
is *supported* when its whole confidence interval lies on the side of the
margin (or threshold) that the claim expects, *not supported* when the whole
interval lies on the other side, and *inconclusive* when it straddles it; a
ranking compares group A's ST interval with group B's in the same way.

Otherwise the test is *inconclusive*. A hypothesis is *supported* when all its
tests are, *not supported* when any is not, and *inconclusive* otherwise. A
test with ``role = "check"`` verifies that an arm changed what it meant to
change (for example that blocking raised blocked storefronts); if a check
fails, the hypothesis is inconclusive whatever its tests say; a test with
``role = "detail"`` is reported and decides nothing (the courier-side and
buyer-side parts of a package, say). Verdicts are computed from the runs here
and in ``sim.experiments.verdicts`` (power, Holm's correction, how many
replications) and nowhere else.

A file's ``[[chain]]`` tables give the mechanisms that decide its verdict, in
order, each with the code that runs it and its source. Its
``[[alternatives]]`` are the structural assumptions the verdict hinges on:
each sets uncertainties (inside the registry's ranges) to the alternative
assumption in every arm, and ``klad hypotheses`` runs the hypothesis again
under each (``Hypothesis.alternative_of``) and reports the verdict and
estimates beside the default's. ``regime`` names targets (of the ``targets``
file) that describe the market's regime rather than what a policy is meant to
change, such as the share of failed orders and the storefronts blocked a year:
every arm is reported as inside them or outside the plausible regime
(``regime_table``).

A file's ``[flip]`` table names, for each verdict, the mechanism that would
give it and a setting of uncertainties (inside the registry's ranges) that
does: ``Hypothesis.under`` applies one to every arm, and a test checks that
the two settings give opposite verdicts.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from sim.experiments.execute import IN_PROCESS, Execution, execute
from sim.experiments.replications import (
    DEFAULT_WINDOW,
    Window,
    check_memory,
    replication_seeds,
    run_forked,
    run_one,
    summary_window,
)
from sim.experiments.sweep import MAX_RUNS, Design, check_design, check_groups
from sim.experiments.verdicts import (
    SETTLED,
    against_margins,
    at_horizons,
    combine,
    effects_over_time,
    judge_all,
    judge_ranking,
    planned,
    trend_per_year,
)
from sim.io import schema
from sim.io.config import load_scenario, read_file
from sim.io.provenance import fingerprint, keep_fingerprint, now
from sim.io.schema import MAX_DAYS, MAX_SEED, Schema, choice, number, of, text, whole
from sim.model.market import METRICS
from sim.params import LEVER, REGISTRY, UNCERTAINTY, Fault, ParameterError, shown, validate

EXPECTS = ("decrease", "increase", "no_decrease", "no_increase", "above", "below", "greater")
VERDICTS = ("supported", "not supported", "inconclusive")
SETTINGS = ("supported", "not_supported")  # the two settings of a [flip] table
ROLES = ("test", "check", "detail")  # a detail is reported (a decomposition, say) and decides nothing
#: A hypothesis file's top-level keys (docs/hypotheses.md).
HYPOTHESIS: Schema = {
    "id": text(longest=20), "title": text(longest=300), "source": text(longest=300),
    "claim": text(longest=2000, lines=True), "days": whole(1, MAX_DAYS, 1095), "replications": whole(2, 10_000, 20),
    "max_replications": whole(2, 10_000, None),
    "seed": whole(0, MAX_SEED, 20251), "quick": of("table", {}), "arms": of("table"), "tests": of("tables", []),
    "sensitivity": of("table", None), "window": whole(1, MAX_DAYS, None), "burn_in": whole(0, MAX_DAYS, None),
    "force": of("flag", None), "main_metric": text(None), "note": text("", longest=3000, lines=True),
    "flip": of("table", None), "chain": of("tables", []), "alternatives": of("tables", []),
    "targets": text(None, longest=4096), "regime": of("any", []),
}  # fmt: skip
#: One ``[[chain]]`` table: a mechanism the verdict rests on.
CHAIN: Schema = {"mechanism": text(longest=1000), "code": text(longest=300), "source": text(longest=500)}
#: One ``[[alternatives]]`` table: a structural assumption, and uncertainties that set its alternative.
ALTERNATIVE: Schema = {
    "name": text(longest=60), "assumption": text(longest=1000), "alternative": text(longest=1000),
    "values": of("table"), "source": text(longest=1000),
}  # fmt: skip
#: ``[quick]``: what a quick run changes (left out: the full run's value).
QUICK: Schema = {
    "days": whole(1, MAX_DAYS, None), "replications": whole(2, 10_000, None), "samples": whole(2, MAX_RUNS, None),
    "max_replications": whole(2, 10_000, None),
    "window": whole(1, MAX_DAYS, None), "burn_in": whole(0, MAX_DAYS, None), "force": of("flag", None),
}  # fmt: skip
#: One ``[[tests]]`` table.
TEST: Schema = {
    "name": text(None), "metric": text(longest=500), "effect": text(None, longest=500), "arm": text(None),
    "expect": choice(EXPECTS[:6]), "margin": number(0, default=0.0), "relative_to": text(None),
    "threshold": number(default=None), "role": choice(ROLES, "test"),
}  # fmt: skip
#: The ``[sensitivity]`` table: a ranking of Sobol total indices of two groups.
SENSITIVITY: Schema = {
    "scenario": text(longest=4096), "samples": whole(2, MAX_RUNS, 256), "output": text("grams_sold"),
    "index": choice(("ST",), "ST"), "groups": of("table"), "levers": of("table", {}),
    "uncertainties": of("table", {}), "expect": text(), "role": choice(ROLES, "test"), "name": text(None),
}  # fmt: skip
#: The ``[flip]`` table: for each verdict, the mechanism that gives it and uncertainties that do.
FLIP: Schema = {
    "supported_when": text(longest=1000), "not_supported_when": text(longest=1000),
    "supported": of("table"), "not_supported": of("table"),
}  # fmt: skip
_NAME = re.compile(r"[A-Za-z_]\w*")


@dataclass
class Criterion:
    """One statistical test of a hypothesis (a criterion its verdict rests on)."""

    name: str
    kind: str  # "contrast", "level" or "ranking"
    expect: str
    metric: str = ""
    effect: str = ""  # contrast: a linear combination of arm names
    arm: str = ""  # level: the arm whose metric is compared with the threshold
    margin: float = 0.0
    relative_to: str = ""  # contrast: margin and estimate relative to this arm's mean ("" = absolute)
    threshold: float = 0.0
    role: str = "test"  # "test" decides; "check" only guards the experiment's validity; "detail" only reports


@dataclass
class Sensitivity:
    """A grouped Sobol analysis whose total indices are ranked."""

    params: dict[str, Any]  # fixed parameters (the base scenario's, levers in force from day 0)
    varied: dict[str, list]
    kinds: dict[str, str]
    groups: dict[str, list[str]]
    samples: int
    quick_samples: int
    output: str
    test: Criterion


@dataclass
class Alternative:
    """A structural assumption a verdict hinges on, and the uncertainties that set its alternative."""

    name: str
    assumption: str  # what the defaults assume
    alternative: str  # what the values below assume instead
    values: dict[str, Any]
    source: str


@dataclass
class Hypothesis:
    """A validated hypothesis file."""

    id: str
    title: str
    source: str
    claim: str
    path: Path
    seed: int
    tables: dict[bool, dict[str, Any]]  # quick? -> days, replications, max_replications, window, burn_in, force
    start: int  # the day the arms' policies start
    arms: dict[str, dict[str, Any]]  # name -> resolved parameters (with their policy)
    arm_sources: dict[str, str]
    tests: list[Criterion]
    main_metric: str
    sensitivity: Sensitivity | None = None
    settings: dict[str, int] = field(default_factory=dict)  # days/replications/samples actually used
    note: str = ""  # how the model reads the claim, where it departs from the source
    flip_text: dict[str, str] = field(default_factory=dict)  # setting -> the mechanism that gives that verdict
    flips: dict[str, dict[str, Any]] = field(default_factory=dict)  # setting -> uncertainties that give it
    setting: str = ""  # the flip setting in force ("" = the registry's and scenarios' values)
    chain: list[dict[str, str]] = field(default_factory=list)  # the mechanisms that decide the verdict
    alternatives: list[Alternative] = field(default_factory=list)
    alternative: str = ""  # the structural alternative in force ("" = the defaults)
    regime: list = field(default_factory=list)  # targets (sim.experiments.targets.Target) every arm is held to

    def use(
        self, quick: bool, *, seed: int | None = None, replications: int | None = None, horizon: int | None = None
    ) -> Hypothesis:
        """Fix the days, replications and samples of a full or a quick run, and the seed.

        ``replications`` replaces the pilot's (the cap stays at least as
        high); ``horizon`` makes the policy act that many days (its start
        day included), with the summary window at the runs' end.
        """
        table = self.tables[quick]
        days = table["days"] if horizon is None else self.start - 1 + horizon  # the policy acts from day start
        if horizon is not None:
            window = DEFAULT_WINDOW if table["window"] is None else table["window"]
            if horizon < window or days > MAX_DAYS:
                raise ParameterError(f"--horizon {horizon}: allowed is from the summary window's {window} days "
                                     f"(of {self.path.name}) to {MAX_DAYS - self.start + 1:,}")  # fmt: skip
        pilot = table["replications"] if replications is None else replications
        self.settings = {
            "days": days,
            "replications": pilot,
            "max_replications": max(pilot, table["max_replications"] or pilot),
        }
        if seed is not None:
            self.seed = seed
        where = f"{self.path} [quick]" if quick else str(self.path)
        if horizon is not None:
            where = f"--horizon {horizon}"
        self.window = summary_window(days, table["window"], table["burn_in"], self.start, force=bool(table["force"]),
                                     where=where)  # fmt: skip
        if self.sensitivity:
            self.settings["samples"] = self.sensitivity.quick_samples if quick else self.sensitivity.samples
        return self

    def under(self, setting: str, extra: dict[str, Any] | None = None) -> Hypothesis:
        """A copy with the uncertainties of a flip setting (``supported`` or ``not_supported``) in every arm.

        ``extra`` adds more parameters to every arm (a smaller city for a test, say); ``setting`` "" applies
        only those.
        """
        import copy

        if setting and setting not in self.flips:
            raise ParameterError(f"{self.path}: no [flip] setting {setting!r}; allowed are {', '.join(SETTINGS)}")
        values = {**(self.flips[setting] if setting else {}), **(extra or {})}
        other = copy.deepcopy(self)
        other.setting = setting
        for params in other.arms.values():
            params.update(values)
        if setting:
            other.arm_sources = {name: f"{label} [{setting}: {_describe(values)}]"
                                 for name, label in self.arm_sources.items()}  # fmt: skip
        if other.sensitivity:
            other.sensitivity.params.update(values)
        return other

    def alternative_of(self, alt: Alternative) -> Hypothesis:
        """A copy under a structural alternative: its values in every arm, no ranking, its own id and runs."""
        other = self.under("", alt.values)
        other.id, other.alternative, other.sensitivity = f"{self.id}-{alt.name}", alt.name, None
        other.tests = [t for t in other.tests if t.kind != "ranking"]
        other.alternatives = []
        other.arm_sources = {name: f"{label} [{alt.name}: {_describe(alt.values)}]"
                             for name, label in self.arm_sources.items()}  # fmt: skip
        return other

    def without_details(self) -> Hypothesis:
        """A copy without its details (tests of role ``detail``, a ranking among them) and the arms only they use.

        The tests and checks that decide the verdict keep their arms, replications and seeds (a replication's
        seed does not depend on which arms run), so they come out the same.
        """
        import copy

        other = copy.copy(self)
        if self.sensitivity is not None and self.sensitivity.test.role == "detail":
            other = other.without_ranking()
        other.tests = [t for t in other.tests if t.role != "detail"]
        used = {name for t in other.tests for name in (*_NAME.findall(t.effect), t.arm, t.relative_to) if name}
        other.arms = {name: params for name, params in self.arms.items() if name in used}
        other.arm_sources = {name: label for name, label in self.arm_sources.items() if name in used}
        return other

    def without_ranking(self) -> Hypothesis:
        """A copy without its ``[sensitivity]`` ranking (the same runs and tests otherwise)."""
        import copy

        other = copy.copy(self)
        other.sensitivity = None
        other.tests = [t for t in self.tests if t.kind != "ranking"]
        other.settings = {k: v for k, v in self.settings.items() if k != "samples"}
        return other


def _describe(values: dict[str, Any]) -> str:
    return ", ".join(f"{k} = {v}" for k, v in values.items())


@dataclass
class Judged:
    """One hypothesis's runs and what they say."""

    daily: dict[str, pd.DataFrame]  # arm -> daily metrics of its replications (with ``rep``)
    results: list[dict[str, Any]]  # one row per test (``sim.experiments.verdicts.judge``)
    verdict: str
    window: Window
    sensitivity: pd.DataFrame | None  # the ranking's Sobol indices
    effects: pd.DataFrame  # each contrast's effect by day since the policy started (``effects_over_time``)
    replications: int  # replications used: the pilot's, or more if a test asked for them
    horizons: pd.DataFrame = field(default_factory=pd.DataFrame)  # every test at 1, 2, 3, 5 years (``at_horizons``)
    trends: dict[str, float] = field(default_factory=dict)  # each contrast's last-year trend (``trend_per_year``)
    regime: pd.DataFrame = field(default_factory=pd.DataFrame)  # each arm against the regime targets


@dataclass
class Verdicts:
    """What ``run_hypotheses`` found: one row per test, and per hypothesis its runs, results and verdict."""

    hypotheses: list[Hypothesis]
    table: pd.DataFrame  # one row per test: hypothesis, test, estimate, CI, power, verdict, hypothesis_verdict
    details: dict[str, Judged]
    started: str


# ------------------------------------------------------------------ loading
def _check_metric(where: str, expr: str) -> str:
    names = _NAME.findall(expr)
    bad = [n for n in names if n not in METRICS]
    if not names or bad:
        raise ParameterError(f"{where}: metric {shown(expr)}: {shown(bad[0] if bad else expr)} is not a model metric "
                             "(see sim.model.METRICS)")  # fmt: skip
    if not re.fullmatch(r"[\w\s+\-*/().]+", expr):
        raise ParameterError(f"{where}: metric {shown(expr)}: allowed are metric names, numbers, + - * / and brackets")
    return expr


def _scenario(where: str, base: Path, name: str) -> Path:
    """A scenario file named relative to the hypothesis file."""
    path = base / name
    if not path.is_file():
        raise ParameterError(f"{where}: scenario file not found: {shown(name)}")
    return path


def _load_arm(where: str, base: Path, spec: Any) -> tuple[dict[str, Any], str]:
    """An arm: a scenario file, or ``{scenario = FILE, policy = {lever = value}}``."""
    if not isinstance(spec, dict):
        spec = {"scenario": spec}
    spec = schema.check(spec, {"scenario": text(longest=4096), "policy": of("table", {})}, where)
    scenario = load_scenario(_scenario(where, base, spec["scenario"]))
    label = scenario.name
    policy = validate(spec["policy"], f"{where} policy", levers_only=True)
    if policy:
        label += " + " + ", ".join(f"{k} = {v}" for k, v in policy.items())
        try:  # the levers must keep the cross-parameter rules with the rest (budget shares, batch bounds)
            scenario = scenario.replace(policy={**scenario.policy, **policy})
        except ParameterError as exc:
            raise ParameterError(f"{where}: {exc}") from None
    params = scenario.as_dict()
    del params["scenario_name"]
    return params, label


def _load_test(where: str, spec: Any, arms: dict) -> Criterion:
    spec = schema.check(spec, TEST, where)
    expect, role, margin = spec["expect"], spec["role"], spec["margin"]
    metric = _check_metric(where, spec["metric"])
    name = spec["name"] or metric
    if expect in ("above", "below"):
        arm = spec["arm"]
        if arm not in arms:
            raise ParameterError(f"{where}: arm {shown(arm)} is not in [arms] ({', '.join(arms)})")
        if spec["threshold"] is None:
            raise ParameterError(f"{where}: a level test needs a numeric 'threshold'")
        return Criterion(name, "level", expect, metric=metric, arm=arm, threshold=spec["threshold"], role=role)
    effect = spec["effect"]
    if effect is None:
        raise ParameterError(f"{where}: 'effect' is missing (a sum or difference of arms)")
    bad = [n for n in _NAME.findall(effect) if n not in arms]
    if bad or not re.fullmatch(r"[\w\s+\-*().0-9]+", effect):
        raise ParameterError(f"{where}: effect {shown(effect)}: {shown(bad[0] if bad else effect)} is not an arm; "
                             f"write a sum/difference of arms ({', '.join(arms)})")  # fmt: skip
    relative_to = spec["relative_to"] or ""
    if relative_to and relative_to not in arms:
        raise ParameterError(f"{where}: relative_to = {shown(relative_to)} is not an arm ({', '.join(arms)})")
    return Criterion(name, "contrast", expect, metric=metric, effect=effect, margin=margin,
                relative_to=relative_to, role=role)  # fmt: skip


def _load_sensitivity(where: str, base: Path, spec: Any) -> Sensitivity:
    spec = schema.check(spec, SENSITIVITY, where)
    params = load_scenario(_scenario(where, base, spec["scenario"])).as_dict()
    params.pop("scenario_name")
    params.update(params.pop("policy"))  # in force from day 0
    varied, kinds = {}, {}
    for table, kind in (("uncertainties", UNCERTAINTY), ("levers", LEVER)):
        for name, bounds in spec[table].items():
            key = f"{where} {table} {name}"
            if name not in REGISTRY:
                raise ParameterError(f"{key}: unknown parameter {shown(name)} (see `klad params`)")
            if not isinstance(bounds, list) or len(bounds) != 2:
                raise ParameterError(f"{key}: give [low, high] bounds with low < high")
            bounds = [REGISTRY[name].check(value, key) for value in bounds]
            if not bounds[0] < bounds[1]:
                raise ParameterError(f"{key}: give [low, high] bounds with low < high")
            varied[name], kinds[name] = bounds, kind
    groups = spec["groups"]
    if len(groups) != 2:
        raise ParameterError(f"{where}: 'groups' must name exactly two groups of varied parameters")
    check_groups(where, groups, varied, Design.SOBOL)
    expect = spec["expect"]
    wanted = re.fullmatch(r"\s*(\w+)\s*>\s*(\w+)\s*", expect)
    if not wanted or set(wanted.groups()) != set(groups):
        names = ", ".join(groups)
        raise ParameterError(f"{where}: expect = {shown(expect)}: write 'A > B' with the two group names ({names})")
    output = spec["output"]
    if output not in METRICS:
        raise ParameterError(f"{where}: output must be one model metric, not {shown(output)}")
    test = Criterion(spec["name"] or f"ST of {expect.strip()} for {output}", "ranking", "greater", metric=output,
                effect=f"{wanted.group(1)} > {wanted.group(2)}", role=spec["role"])  # fmt: skip
    return Sensitivity(params, varied, kinds, groups, spec["samples"], spec["samples"], output, test)


def _load_flip(where: str, spec: Any) -> tuple[dict[str, str], dict[str, dict[str, Any]]]:
    """``[flip]``: for each verdict, the mechanism that gives it and uncertainties (in their ranges) that do."""
    spec = schema.check(spec, FLIP, where)
    words = {setting: spec[f"{setting}_when"] for setting in SETTINGS}
    values = {}
    for setting in SETTINGS:
        table = spec[setting]
        if not table:
            raise ParameterError(f"{where}: give '{setting}' as a table of uncertainty = value")
        for name in table:
            if name not in REGISTRY:
                raise ParameterError(f"{where} {setting}: unknown parameter {shown(name)} (see `klad params`)")
            if REGISTRY[name].kind == LEVER:
                raise ParameterError(f"{where} {setting}: '{name}' is a policy lever; a flip changes only what we "
                                     "do not know (uncertainties), never the policy under test")  # fmt: skip
        values[setting] = validate(table, f"{where} {setting}")
    return words, values


def _load_alternatives(where: str, specs: list) -> list[Alternative]:
    """``[[alternatives]]``: structural assumptions, each with uncertainties (in their ranges) for its alternative."""
    out, seen = [], set()
    for i, spec in enumerate(specs):
        at = f"{where} alternatives[{i}]"
        spec = schema.check(spec, ALTERNATIVE, at)
        if not _NAME.fullmatch(spec["name"]) or spec["name"] in seen:
            raise ParameterError(f"{at}: name {shown(spec['name'])} must be a plain name (letters, digits, _), "
                                 "used once")  # fmt: skip
        seen.add(spec["name"])
        if not spec["values"]:
            raise ParameterError(f"{at}: give 'values' as a table of uncertainty = value")
        for name in spec["values"]:
            if name not in REGISTRY:
                raise ParameterError(f"{at} values: unknown parameter {shown(name)} (see `klad params`)")
            if REGISTRY[name].kind == LEVER:
                raise ParameterError(f"{at} values: '{name}' is a policy lever; an alternative changes only "
                                     "what we do not know (uncertainties), never the policy under test")  # fmt: skip
        values = validate(spec["values"], f"{at} values")
        out.append(Alternative(spec["name"], spec["assumption"], spec["alternative"], values, spec["source"]))
    return out


def _load_regime(where: str, base: Path, targets: str | None, ids: Any) -> list:
    """The targets named by ``regime``, read from the ``targets`` file (named relative to the hypothesis file)."""
    from sim.experiments.targets import load_targets

    if not ids:
        return []
    if not isinstance(ids, list) or not all(isinstance(x, str) for x in ids):
        raise ParameterError(f"{where}: regime must be a list of target ids, not {shown(ids)}")
    if targets is None:
        raise ParameterError(f"{where}: regime names targets; give 'targets' = the targets file")
    path = base / targets
    if not path.is_file():
        raise ParameterError(f"{where}: targets file not found: {shown(targets)}")
    known = {t.id: t for t in load_targets(path).targets}
    missing = [x for x in ids if x not in known]
    if missing:
        raise ParameterError(f"{where} regime: {shown(missing[0])} is not a target of {targets} "
                             f"({', '.join(known)})")  # fmt: skip
    return [known[x] for x in ids]


def load_hypothesis(path: str | Path) -> Hypothesis:
    """Read and validate a hypothesis file; raise ParameterError naming the file and key.

    Everything a run would need is checked here, before any run: every key
    (``HYPOTHESIS``, ``QUICK``, ``TEST``, ``SENSITIVITY``), the arms'
    scenarios with the cross-parameter rules, the summary windows, and the
    ranking's Sobol design at both its sample sizes.
    """
    path, data = read_file(path, "hypothesis", HYPOTHESIS)
    where = str(path)
    base = path.parent
    arms, sources = {}, {}
    if not data["arms"]:
        raise ParameterError(f"{where}: give [arms]: name = scenario file")
    for name, spec in data["arms"].items():
        if not _NAME.fullmatch(name):
            raise ParameterError(f"{where} [arms]: {shown(name)} must be a plain name (letters, digits, _)")
        arms[name], sources[name] = _load_arm(f"{where} [arms] {name}", base, spec)
    tests = [_load_test(f"{where} tests[{i}]", t, arms) for i, t in enumerate(data["tests"])]
    sensitivity = None
    if data["sensitivity"] is not None:
        sensitivity = _load_sensitivity(f"{where} [sensitivity]", base, data["sensitivity"])
    if not tests and not sensitivity:
        raise ParameterError(f"{where}: give at least one [[tests]] or a [sensitivity] ranking")
    quick = schema.check(data["quick"], QUICK, f"{where} [quick]")
    full = {key: data[key] for key in ("days", "replications", "max_replications", "window", "burn_in", "force")}
    quick = {**full, **{key: value for key, value in quick.items() if value is not None}}
    for label, table in (("", full), (" [quick]", quick)):
        if table["max_replications"] is not None and table["max_replications"] < table["replications"]:
            raise ParameterError(
                f"{where}{label}: max_replications = {table['max_replications']} is below "
                f"replications = {table['replications']} (the pilot); give at least as many"
            )
    start = min(p["policy_start_day"] for p in arms.values())
    main_metric = data["main_metric"] or (tests[0].metric if tests else "grams_sold")
    if main_metric not in METRICS:
        raise ParameterError(f"{where}: main_metric must be one model metric, not {shown(main_metric)}")
    hyp = Hypothesis(
        id=data["id"], title=data["title"], source=data["source"], claim=data["claim"], path=path, seed=data["seed"],
        tables={False: full, True: quick}, start=start, arms=arms,
        arm_sources=sources, tests=tests, main_metric=main_metric, sensitivity=sensitivity, note=data["note"],
    )  # fmt: skip
    if data["flip"] is not None:
        hyp.flip_text, hyp.flips = _load_flip(f"{where} [flip]", data["flip"])
    hyp.chain = [schema.check(c, CHAIN, f"{where} chain[{i}]") for i, c in enumerate(data["chain"])]
    hyp.alternatives = _load_alternatives(where, data["alternatives"])
    hyp.regime = _load_regime(where, base, data["targets"], data["regime"])
    if sensitivity:
        sensitivity.quick_samples = quick.get("samples") or sensitivity.samples
    for is_quick in (False, True):  # both summary windows fit their runs
        hyp.use(is_quick)
        if sensitivity:
            check_design(sensitivity_experiment(hyp), f"{where} [sensitivity]")
    return hyp.use(quick=False)


def load_all(folder: str | Path) -> list[Hypothesis]:
    """Every hypothesis file in a folder, in file-name order."""
    files = sorted(Path(folder).glob("*.toml"))
    if not files:
        raise ParameterError(f"{folder}: no hypothesis files (*.toml)")
    return [load_hypothesis(f) for f in files]


# ------------------------------------------------------------------ running
@dataclass(frozen=True)
class ArmRun:
    """One replication of one arm: identified by its parameters, days, seed and replication."""

    params_json: str
    days: int
    seed: int
    rep: int

    @property
    def key(self) -> str:
        """A stable file name for the run."""
        text = f"{self.params_json}|{self.days}|{self.seed}|{self.rep}"
        return hashlib.sha256(text.encode()).hexdigest()[:20]

    def trunk(self) -> tuple[str, dict[str, Any]]:
        """The run's parameters without its policy (what arms forked from one warm-up share), and its policy."""
        params = json.loads(self.params_json)
        policy = params.pop("policy", {}) or {}
        return _arm_json(params), policy


def _arm_json(params: dict[str, Any]) -> str:
    return json.dumps(params, sort_keys=True, default=str)


def arm_runs(trunk_json: str, policies_json: str, days: int, seed: int, rep: int) -> list[pd.DataFrame]:
    """Replication ``rep`` of arms that differ only by their policy, forked from one warm-up (``run_forked``)."""
    seq = replication_seeds(seed, rep + 1)[rep]
    frames = run_forked(json.loads(trunk_json), json.loads(policies_json), days, seq)
    for daily in frames:
        daily.insert(0, "rep", rep)
    return frames


def fork_jobs(runs: list[ArmRun], paths: list[Path]) -> tuple[list, list[list[Path]], list[int]]:
    """The runs not yet on disk as jobs: one per warm-up (arms' parameters but their policy, days, seed, rep).

    Returns the jobs (``arm_runs``), each one's files, and each one's size in runs.
    """
    groups: dict[tuple, list[tuple[dict, Path]]] = {}
    for run, path in zip(runs, paths, strict=True):
        if path.exists():
            continue
        trunk, policy = run.trunk()
        groups.setdefault((trunk, run.days, run.seed, run.rep), []).append((policy, path))
    jobs, files, sizes = [], [], []
    for (trunk, days, seed, rep), arms in groups.items():
        jobs.append((arm_runs, (trunk, json.dumps([policy for policy, _ in arms], sort_keys=True), days, seed, rep)))
        files.append([path for _, path in arms])
        sizes.append(len(arms))
    return jobs, files, sizes


def plan(hyps: list[Hypothesis], reps: dict[str, int] | None = None) -> dict[ArmRun, None]:
    """Every distinct arm replication the hypotheses need (shared arms run once): ``reps`` each, or the pilot's."""
    runs: dict[ArmRun, None] = {}
    for h in hyps:
        for params in h.arms.values():
            for rep in range((reps or {}).get(h.id, h.settings["replications"])):
                runs[ArmRun(_arm_json(params), h.settings["days"], h.seed, rep)] = None
    return runs


def sensitivity_experiment(h: Hypothesis):
    """The hypothesis's ranking as a grouped Sobol sweep (``sim.sweep.Experiment``)."""
    from sim.experiments.sweep import DEFAULT_MODEL, Experiment

    s = h.sensitivity
    if s is None:
        raise ValueError(f"{h.id} has no [sensitivity] table: no ranking to run")
    fixed = {k: v for k, v in s.params.items() if k not in s.varied}
    fixed["policy_start_day"] = 0  # the varied levers act from day 0; outputs are the final window's means
    groups = {name: group for group, names in s.groups.items() for name in names}
    return Experiment(
        name=f"{h.id} ranking", model=DEFAULT_MODEL, design=Design.SOBOL, samples=h.settings["samples"], replications=1,
        days=h.settings["days"], outputs=[s.output], seed=h.seed, varied=s.varied, kinds=s.kinds, fixed=fixed,
        chunk_size=8, groups=groups, window=Window(h.window.days, 0),
    )  # fmt: skip


def seconds_per_run_day(n_buyers: int = 10_000) -> float:
    """Measure this machine's cost of one model day (a 30-day run of the default city).

    A run of a small city over the same 30 days first loads the compiled
    rules, whose first call in a process takes a second or more (and, on a
    fresh clone, compiles them): a rule first called on a later day (a
    release from prison, a compaction of a roster) would otherwise count as
    model time.
    """
    run_one({"n_buyers": 1000}, 30, 1)
    start = time.perf_counter()
    run_one({"n_buyers": n_buyers}, 30, 1)
    return (time.perf_counter() - start) / 30


def expected_seconds(
    hyps: list[Hypothesis], workers: int, per_day: float, reps: dict[str, int] | None = None
) -> tuple[int, float]:
    """Number of model runs to do and the expected wall time on ``workers`` processes.

    ``reps`` replications per hypothesis (default: the pilot's). Arms that
    differ only by their policy share one warm-up (``fork_jobs``), paid once.
    """
    runs = plan(hyps, reps)
    n, days = len(runs), 0
    trunks: set[tuple] = set()
    for run in runs:
        trunk_json, _ = run.trunk()
        warm_up = min(run.days, max(0, json.loads(trunk_json).get("policy_start_day", 0) - 1))
        trunk = (trunk_json, run.days, run.seed, run.rep)
        days += run.days - warm_up + (0 if trunk in trunks else warm_up)
        trunks.add(trunk)
    for h in hyps:
        if h.sensitivity:
            from sim.experiments.sweep import design_matrix

            k = len(design_matrix(sensitivity_experiment(h)))
            n, days = n + k, days + k * h.settings["days"]
    return n, days * per_day / max(1, workers) / 0.9  # ~90% parallel efficiency


def judge_hypotheses(
    hyps: list[Hypothesis],
    out: str | Path,
    *,
    execution: Execution = IN_PROCESS,
    resume: bool = False,
    keep_daily: bool = True,
) -> Verdicts:
    """Run every arm replication and ranking sweep not yet on disk, and judge each test.

    With ``keep_daily`` False the arms' daily frames and effects over time
    are not kept (hundreds of hypotheses across worlds would not fit in memory).

    Finished runs are kept in ``out/runs`` and ``out/sensitivity`` as they
    finish; ``resume`` after an interruption only does what is missing. Each
    hypothesis's fingerprint (what decides its runs: ``fingerprint``) is kept
    in ``out/fingerprints``, and a resumed hypothesis whose runs would differ
    is refused in one line naming what changed (its tests may change freely).
    ``sim.reporting.hypotheses`` writes the report.

    Raises:
        ParameterError: before any run, if ``out`` holds runs and ``resume`` is not given, or another hypothesis.
        Fault: if a finished run is missing when all should be there.
    """
    from sim.experiments.sweep import SweepPlan, run_sweep

    started = now()
    out = Path(out)
    begun = any((out / "runs").glob("*.parquet"))
    if begun and not resume:
        raise ParameterError(f"{out}: holds earlier runs; pass --resume to continue them, or another --out")
    for h in hyps:
        check_memory(list(h.arms.values()), h.settings["days"], execution, len(plan([h])), f"{h.path} [arms]",
                     copies=2)  # fmt: skip
    for h in hyps:
        keep_fingerprint(out / "fingerprints", fingerprint_of(h), resume=True, name=f"{h.id}.json",
                         begun=begun and (out / "fingerprints" / f"{h.id}.json").exists(),
                         work=f"hypothesis {h.id}")  # fmt: skip
    # Two stages (sim.experiments.verdicts): the pilot's spreads fix the replications, then one judgement on all.
    pilot = {h.id: h.settings["replications"] for h in hyps}
    means: RunMeans = {}  # (run, window) -> the run's final-window means, read once for every hypothesis it serves
    _run_arms(hyps, pilot, out, execution)
    on_pilot = {h.id: _judge_arms(out, h, pilot[h.id], means) for h in hyps}
    reps = {h.id: planned(on_pilot[h.id], pilot[h.id], h.settings["max_replications"]) for h in hyps}
    if reps != pilot:
        _run_arms(hyps, reps, out, execution)
    judged = {h.id: ({name: _read_arm(out, h, params, reps[h.id]) for name, params in h.arms.items()}
                     if keep_daily else {},
                     on_pilot[h.id] if reps[h.id] == pilot[h.id] else _judge_arms(out, h, reps[h.id], means))
              for h in hyps}  # fmt: skip
    rows, details = [], {}
    for h in hyps:
        daily, results = judged[h.id]
        window = h.window
        sens_table = None
        if h.sensitivity:
            analysis = run_sweep(sensitivity_experiment(h), SweepPlan(out / "sensitivity" / h.id, resume=True),
                                 execution).analysis  # fmt: skip
            sens_table = analysis.indices
            problems = analysis.ranking.get(h.sensitivity.output, [])
            results.append(judge_ranking(h.sensitivity.test, sens_table, problems))
        verdict = combine(results)
        effects = effects_over_time(h.tests, daily, h.start) if keep_daily else pd.DataFrame()
        horizons = at_horizons(h.tests, daily, h.start, window.days, h.settings["days"]) if keep_daily else \
            pd.DataFrame()  # fmt: skip
        trends = trend_per_year(effects) if len(effects) else {}
        for r in results:
            if r["kind"] == "contrast":
                r.update({f"margin {k}": v for k, v in against_margins(r).items()})
                r["trend_per_year"] = trends.get(r["test"], float("nan"))
                trend = r["trend_per_year"]
                r["settled"] = None if math.isnan(trend) else bool(abs(trend) <= SETTLED)
        regime = regime_table(h, _arm_means(out, h, reps[h.id], means))
        details[h.id] = Judged(daily, results, verdict, window, sens_table, effects, reps[h.id], horizons, trends,
                               regime)  # fmt: skip
        rows += [{"hypothesis": h.id, **r, "hypothesis_verdict": verdict} for r in results]
    return Verdicts(hyps, pd.DataFrame(rows), details, started)


def fingerprint_of(h: Hypothesis) -> dict[str, Any]:
    """What decides a hypothesis's runs: its days, seed, arms, summary window and ranking.

    Not how many replications: replication ``i`` is the same run whatever
    their number (its seed is the ``i``-th child of the hypothesis's
    ``SeedSequence``, its file named by ``ArmRun.key``), so a resume with
    more (``--reps``) runs only the new ones, and one with fewer reads the first.
    """
    ranking = None
    if h.sensitivity:
        ranking = {k: v for k, v in vars(sensitivity_experiment(h)).items() if k != "name"}
    settings = {k: v for k, v in h.settings.items() if k not in ("replications", "max_replications")}
    return fingerprint(**settings, seed=h.seed, arms=h.arms, window=h.window, sensitivity=ranking)


def _run_arms(hyps: list[Hypothesis], reps: dict[str, int], out: Path, execution: Execution) -> None:
    """Run the arm replications not yet on disk, arms of one warm-up forked from it (``fork_jobs``)."""
    runs = list(plan(hyps, reps))
    jobs, files, sizes = fork_jobs(runs, [out / "runs" / f"{r.key}.parquet" for r in runs])
    execute(jobs, paths=files, sizes=sizes, execution=execution, desc="arm runs")


#: (a run's key, window days) -> the run's final-window means, read once for every hypothesis it serves.
RunMeans = dict[tuple[str, int], pd.DataFrame]


def _judge_arms(out: Path, h: Hypothesis, reps: int, means: RunMeans) -> list[dict[str, Any]]:
    """The contrast and level tests judged on ``reps`` replications of each arm (their final-window means)."""
    return judge_all(h.tests, _arm_means(out, h, reps, means))


def regime_table(h: Hypothesis, summary: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Each arm against each of the hypothesis's regime targets, over the final window of its replications.

    One row per arm and target: the statistic's mean and 95% t interval across
    replications, and its ``outcome`` as validation reads one (``Target.outcome``:
    inside, straddles, or outside the range). An arm whose interval lies wholly
    outside a regime target runs a market the sources do not describe (more
    failed orders than buyers accept, more blocks than the authorities make),
    and its verdict is read as outside the plausible regime.
    """
    from sim.experiments.replications import mean_ci
    from sim.experiments.targets import STATISTICS

    rows = []
    for name, frame in summary.items():
        for t in h.regime:
            compute = STATISTICS[t.statistic].compute
            values = pd.Series([compute(frame.loc[[rep]], h.arms[name]) for rep in frame.index])
            mean, low, high = mean_ci(values)
            rows.append({"arm": name, "target": t.id, "unit": t.unit, "low": t.low, "high": t.high, "mean": mean,
                         "ci_low": low, "ci_high": high, "outcome": t.outcome(mean, low, high)})  # fmt: skip
    return pd.DataFrame(rows, columns=["arm", "target", "unit", "low", "high", "mean", "ci_low", "ci_high", "outcome"])


def regime_rows(verdicts: Verdicts) -> pd.DataFrame:
    """Every hypothesis's arms against its regime targets (``regime_table``), one table."""
    frames = [verdicts.details[h.id].regime.assign(hypothesis=h.id) for h in verdicts.hypotheses]
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=["hypothesis", "arm", "target", "unit", "low", "high", "mean", "ci_low",
                                     "ci_high", "outcome"])  # fmt: skip
    table = pd.concat(frames, ignore_index=True)
    return table[["hypothesis", *[c for c in table.columns if c != "hypothesis"]]]


def alternatives_table(verdicts: Verdicts, alternatives: Verdicts) -> pd.DataFrame:
    """One row per test under the defaults and under each structural alternative."""
    rows = []
    for h in verdicts.hypotheses:
        runs = [("defaults", "", verdicts.details[h.id])]
        for alt in h.alternatives:
            key = f"{h.id}-{alt.name}"
            if key in alternatives.details:
                runs.append((alt.name, alt.alternative, alternatives.details[key]))
        for name, words, judged in runs:
            for r in judged.results:
                if r["role"] == "test":
                    rows.append({
                        "hypothesis": h.id, "alternative": name, "assumes": words, "test": r["test"],
                        "estimate": r["estimate"], "relative": r.get("relative", float("nan")),
                        "ci_low": r["ci_low"], "ci_high": r["ci_high"], "verdict": r["verdict"],
                        "hypothesis_verdict": judged.verdict, "replications": judged.replications,
                        "outside_regime": outside_words(judged.regime),
                    })  # fmt: skip
    return pd.DataFrame(rows)


def outside_words(regime: pd.DataFrame) -> str:
    """The arms whose interval lies wholly outside a regime target, as words ("" when every arm is inside)."""
    return "; ".join(f"{arm} ({', '.join(targets)})" for arm, targets in outside_regime(regime).items())


def outside_regime(regime: pd.DataFrame) -> dict[str, list[str]]:
    """Arm -> the regime targets its interval lies wholly outside (arms inside every one left out)."""
    if regime.empty:
        return {}
    out = regime[regime["outcome"] == "outside"]
    return {arm: list(group["target"]) for arm, group in out.groupby("arm", sort=False)}


def _arm_means(out: Path, h: Hypothesis, reps: int, means: RunMeans) -> dict[str, pd.DataFrame]:
    """Arm -> the final-window means of its first ``reps`` replications (read once, kept in ``means``)."""
    summary: dict[str, pd.DataFrame] = {}
    for name, params in h.arms.items():
        text, frames = _arm_json(params), []
        for rep in range(reps):
            key = ArmRun(text, h.settings["days"], h.seed, rep).key
            if (key, h.window.days) not in means:
                means[key, h.window.days] = _window_means(_read_run(out, h, key, rep), h.window.days)
            frames.append(means[key, h.window.days])
        summary[name] = pd.concat(frames).sort_index()
    return summary


def _read_run(out: Path, h: Hypothesis, key: str, rep: int) -> pd.DataFrame:
    path = out / "runs" / f"{key}.parquet"
    if not path.is_file():
        raise Fault(f"{path}: replication {rep} of an arm of {h.id} is missing; --resume runs it again")
    return pd.read_parquet(path)


def _read_arm(out: Path, h: Hypothesis, params: dict[str, Any], reps: int) -> pd.DataFrame:
    """The daily metrics of an arm's replications, each checked to be on disk before any test uses them."""
    text = _arm_json(params)
    frames = [_read_run(out, h, ArmRun(text, h.settings["days"], h.seed, rep).key, rep) for rep in range(reps)]
    return pd.concat(frames, ignore_index=True)


def _window_means(daily: pd.DataFrame, window: int) -> pd.DataFrame:
    last = daily[daily["day"] > daily["day"].max() - window]
    return last.groupby("rep")[list(METRICS)].mean().sort_index()
