"""Empirical targets and the statistics of a run that are compared with them.

A targets file (``scenarios/data/kazakhstan.toml``) lists the figures of the
sources the model can be compared against: each with its accepted range, unit,
source line, a note on its reliability, the *statistic* of a run it is compared
with, and its role: ``fit`` (used by ``klad calibrate``) or ``pattern`` (an
out-of-sample check, never used for fitting). National figures are compared
with city statistics times ``national_scale_factor``.

Each statistic is a small function of a run's daily metrics over its last
simulated year (``STATISTICS``, ``target_window``): most targets are yearly
figures, and rare events (lab raids, operator arrests) need a year to be
counted; one, the sales after a take-down of every storefront, needs the run
continued under that shock (``simulate``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.experiments.execute import IN_PROCESS, Execution
from sim.experiments.replications import mean_ci
from sim.io import schema
from sim.io.config import read_file
from sim.io.schema import Schema, choice, number, of, text
from sim.params import REGISTRY, ParameterError, resolve, shown

ROLES = ("fit", "pattern")

#: Days in the "registration" window of the users-known-to-police proxy.
KNOWN_USER_DAYS = 730
#: Days before the take-down that set the reference level of sales.
TAKEDOWN_BEFORE = 28
#: Days the run continues after the take-down; sales are compared over its last 7.
TAKEDOWN_AFTER = 14


# ------------------------------------------------------------------ statistics
def target_window(days: int, policy_start_day: int | None = None) -> int:
    """Days over which target statistics are taken: the last year, at most half the run, none before a policy."""
    window = max(1, min(365, days // 2))
    if policy_start_day is not None and policy_start_day <= days:
        window = min(window, days - policy_start_day + 1)
    return window


def _ratio(num: float, den: float) -> float:
    return float(num / den) if den > 0 else float("nan")


def _mean(window: pd.DataFrame, *columns: str) -> float:
    return float(window[list(columns)].sum(axis=1).mean())


def national(window: pd.DataFrame, params: dict[str, Any], *columns: str) -> float:
    """Yearly national count: the window's daily mean of ``columns`` (summed) x 365 x ``national_scale_factor``."""
    return _mean(window, *columns) * 365.0 * params["national_scale_factor"]


def stashes_per_batch(window: pd.DataFrame, params: dict[str, Any]) -> float:
    """Stashes a courier takes out on a day he works (laid or seized with him)."""
    return _ratio(window["batch_stashes"].sum(), window["couriers_laying"].sum())


def lab_output_kg_week(window: pd.DataFrame, params: dict[str, Any]) -> float:
    """Kilograms one lab makes in a week: grams produced per active lab x 7."""
    return _ratio(window["grams_produced"].mean() * 7.0, window["active_labs"].mean()) / 1000.0


def shop_turnover_bn(window: pd.DataFrame, params: dict[str, Any]) -> float:
    """Yearly revenue of one shop, bn KZT."""
    return _ratio(window["revenue"].mean() * 365.0, window["active_shops"].mean()) / 1e9


def national_volume_t(window: pd.DataFrame, params: dict[str, Any]) -> float:
    """Tonnes sold a year in the country (city grams sold x 365 x scale factor)."""
    return national(window, params, "grams_sold") / 1e6


def national_arrests(window: pd.DataFrame, params: dict[str, Any]) -> float:
    """Arrests of every role a year in the country; each arrest opens a registered case."""
    return national(window, params, "arrests_buyer", "arrests_courier", "arrests_operator", "arrests_lab")


def national_sale_convictions(window: pd.DataFrame, params: dict[str, Any]) -> float:
    """Convictions of couriers, operators and chemists (sellers) a year in the country."""
    return national(window, params, "convictions_courier", "convictions_operator", "convictions_lab")


def national_storefront_blocks(window: pd.DataFrame, params: dict[str, Any]) -> float:
    """Storefronts blocked a year in the country, counted as mirrors reopened (a block ends in one)."""
    return national(window, params, "mirrors_opened")


def national_seizures_kg(window: pd.DataFrame, params: dict[str, Any]) -> float:
    """Kilograms seized a year in the country, from every source in the model."""
    return national(window, params, "grams_seized") / 1000.0


def operator_arrest_share(window: pd.DataFrame, params: dict[str, Any]) -> float:
    """Share of arrests of sellers (couriers, operators, chemists) that are operators."""
    sellers = window[["arrests_courier", "arrests_operator", "arrests_lab"]].to_numpy().sum()
    return _ratio(window["arrests_operator"].sum(), sellers)


def blocked_days(window: pd.DataFrame, params: dict[str, Any]) -> float:
    """Mean days a blocked storefront stays blocked (Little's law: blocked stock / mirrors per day)."""
    return _ratio(window["blocked_storefronts"].mean(), window["mirrors_opened"].mean())


def users_known_share(window: pd.DataFrame, params: dict[str, Any]) -> float:
    """Buyer arrests in two years per active user: the police's share of the register of users."""
    return _ratio(window["arrests_buyer"].mean() * KNOWN_USER_DAYS, window["active_buyers"].mean())


def sales_after_takedown(before: pd.DataFrame, after: pd.DataFrame) -> float:
    """Sales in the second week after every storefront was blocked, relative to the four weeks before."""
    return _ratio(after["transactions"].tail(7).mean(), before["transactions"].tail(TAKEDOWN_BEFORE).mean())


@dataclass(frozen=True)
class Statistic:
    """A run statistic that a target can name."""

    name: str
    unit: str
    compute: Callable[[pd.DataFrame, dict[str, Any]], float]


#: Statistics over the final window of a run's daily metrics, by name.
STATISTICS: dict[str, Statistic] = {s.name: s for s in [
    Statistic("price_per_gram", "KZT/g", lambda w, p: float(w["price_per_gram"].mean())),
    Statistic("courier_pay", "KZT/stash", lambda w, p: float(w["courier_pay"].mean())),
    Statistic("stashes_per_batch", "stashes", stashes_per_batch),
    Statistic("lab_output_kg_week", "kg/lab/week", lab_output_kg_week),
    Statistic("shop_turnover_bn", "bn KZT/shop/year", shop_turnover_bn),
    Statistic("national_volume_t", "t/year", national_volume_t),
    Statistic("national_arrests", "arrests/year", national_arrests),
    Statistic("national_sale_convictions", "convictions/year", national_sale_convictions),
    Statistic("national_storefront_blocks", "blocks/year", national_storefront_blocks),
    Statistic("national_seizures_kg", "kg/year", national_seizures_kg),
    Statistic("operator_arrest_share", "share", operator_arrest_share),
    Statistic("blocked_days", "days", blocked_days),
    Statistic("users_known_share", "share", users_known_share),
]}  # fmt: skip
#: Statistics of the take-down experiment (``simulate``), by name.
TAKEDOWN_STATISTICS = {"sales_after_takedown": "share of pre-take-down sales"}


def statistic_names() -> list[str]:
    """Every statistic a target may name."""
    return [*STATISTICS, *TAKEDOWN_STATISTICS]


def window_statistics(daily: pd.DataFrame, params: dict[str, Any], window: int) -> dict[str, float]:
    """Every window statistic of one run's daily metrics over its last ``window`` days."""
    last = daily.tail(window)
    return {name: s.compute(last, params) for name, s in STATISTICS.items()}


# -------------------------------------------------------------------- running
def take_down_storefronts(model) -> int:
    """Block every open storefront today: the police's largest possible one-day strike.

    Open storefronts, and detected ones still awaiting their block, are marked
    detected with the next day as their block day, so the model's own blocking
    and mirror rules take over from there. Returns how many were struck.
    """
    from sim.model.roles.shops import Storefront

    shops = model.shops
    rows = np.flatnonzero(shops.active & (shops.storefront != Storefront.BLOCKED))
    shops.storefront[rows] = Storefront.DETECTED
    shops.storefront_day[rows] = model.steps + 1  # the next step's day: blocked before anyone orders
    return len(rows)


def simulate(params: dict[str, Any], seed: int, days: int = 730) -> dict[str, float]:
    """Run the model and return every statistic a target can name (a sweep model entry point).

    The run lasts ``days``; window statistics use its last year
    (``target_window``). Then every storefront is taken down and the run
    continues ``TAKEDOWN_AFTER`` days for ``sales_after_takedown``; those days
    do not enter the other statistics.
    """
    from sim.model.market import KladMarket

    params = {k: _typed(k, v) for k, v in params.items() if k != "scenario_name"}
    model = KladMarket(params, rng=seed)
    model.run_for(days)
    daily = model.daily().drop(columns="day")
    resolved = resolve(params)
    policy_day = resolved["policy_start_day"] if resolved["policy"] else None
    out = window_statistics(daily, resolved, target_window(days, policy_day))
    take_down_storefronts(model)
    model.run_for(TAKEDOWN_AFTER)
    after = model.daily().drop(columns="day").iloc[days:]
    out["sales_after_takedown"] = sales_after_takedown(daily, after)
    return out


def _typed(name: str, value: Any) -> Any:
    """Sampled values arrive as floats; integer parameters are rounded."""
    if name in REGISTRY and REGISTRY[name].type is int and isinstance(value, float):
        return int(round(value))
    return value


# -------------------------------------------------------------------- targets
@dataclass(frozen=True)
class Target:
    """One empirical figure and the run statistic it is compared with."""

    id: str
    description: str
    low: float
    high: float
    unit: str
    source: str
    reliability: str
    statistic: str
    role: str
    value: float | None = None

    def contains(self, x: float) -> bool:
        """Whether ``x`` lies in the accepted range."""
        return bool(self.low <= x <= self.high)

    def outcome(self, mean: float, ci_low: float, ci_high: float) -> str:
        """``inside`` the range (the whole 95% CI), ``outside`` it (the whole CI), or ``straddles`` a bound.

        Without a CI (one replication) the mean decides between inside and outside.
        """
        if math.isnan(ci_low) or math.isnan(ci_high):
            return "inside" if self.contains(mean) else "outside"
        if self.low <= ci_low and ci_high <= self.high:
            return "inside"
        if ci_high < self.low or ci_low > self.high:
            return "outside"
        return "straddles"

    def z(self, x: float) -> float:
        """Distance of ``x`` from the range's (geometric) centre, in half-widths on a log scale.

        0 at the centre, +-1 at the ends of the range; infinite if ``x`` is not positive.
        """
        if not x > 0:
            return math.inf
        centre = math.sqrt(self.low * self.high)
        return math.log(x / centre) / (0.5 * math.log(self.high / self.low))

    def range_text(self) -> str:
        """The accepted range in words."""
        lo = f"{self.low:,.4g}"
        if math.isinf(self.high):
            return f">= {lo}"
        if self.low == 0:
            return f"<= {self.high:,.4g}"
        return f"{lo} to {self.high:,.4g}"


@dataclass
class Targets:
    """A validated targets file."""

    path: Path
    targets: list[Target]
    fit_params: dict[str, tuple[float, float]]  # fitted parameter -> prior bounds
    fit_reasons: dict[str, str]
    not_compared: list[dict[str, str]]

    def by_role(self, role: str) -> list[Target]:
        """The targets with this role."""
        return [t for t in self.targets if t.role == role]


#: A targets file's top-level keys.
TARGETS: Schema = {"target": of("tables"), "fit": of("table", {}), "not_compared": of("tables", [])}
#: One ``[[target]]``.
TARGET: Schema = {
    "id": text(longest=100), "description": text(longest=2000), "value": number(default=None), "range": of("any"),
    "unit": text(), "source": text(longest=2000), "reliability": text(longest=10_000, lines=True),
    "statistic": choice(tuple(statistic_names())), "role": choice(ROLES),
}  # fmt: skip
#: One ``[fit.<parameter>]``: its prior and why it is fitted.
FIT: Schema = {"prior": of("any"), "reason": text(longest=2000, lines=True)}
#: One ``[[not_compared]]``: a figure of the sources that no run statistic can be compared with, and why.
NOT_COMPARED: Schema = {"figure": text(longest=2000), "source": text(longest=2000), "reason": text(longest=4000)}


def load_targets(path: str | Path) -> Targets:
    """Read and check a targets file; raise ParameterError naming the file and key."""
    path, data = read_file(path, "targets", TARGETS)
    if not data["target"]:
        raise ParameterError(f"{path}: no targets: give [[target]] tables")
    targets, seen = [], set()
    for i, row in enumerate(data["target"]):
        target = _check_target(path, i, row)
        if target.id in seen:
            raise ParameterError(f"{path}: [[target]] #{i + 1}: id '{target.id}' is used twice")
        seen.add(target.id)
        targets.append(target)
    fit_params, reasons = _check_fit(path, data["fit"])
    if fit_params and not any(t.role == "fit" for t in targets):
        raise ParameterError(f"{path}: [fit] names parameters but no target has role = 'fit'")
    not_compared = [schema.check(row, NOT_COMPARED, f"{path}: [[not_compared]] #{i + 1}")
                    for i, row in enumerate(data["not_compared"])]  # fmt: skip
    return Targets(path, targets, fit_params, reasons, not_compared)


def _check_target(path: Path, i: int, row: dict) -> Target:
    where = f"{path}: target '{row['id']}'" if isinstance(row.get("id"), str) else f"{path}: [[target]] #{i + 1}"
    row = schema.check(row, TARGET, where)
    low, high = _bounds(row["range"], f"{where}: range", finite=row["role"] == "fit")
    if row["role"] == "fit" and low <= 0:
        raise ParameterError(f"{where}: a 'fit' target needs a finite range above 0, got {shown(row['range'])}")
    return Target(
        id=row["id"], description=row["description"], low=low, high=high, unit=row["unit"], source=row["source"],
        reliability=row["reliability"], statistic=row["statistic"], role=row["role"], value=row["value"],
    )  # fmt: skip


def _bounds(bounds: Any, where: str, *, finite: bool) -> tuple[float, float]:
    """``[low, high]`` as numbers with low < high, finite if ``finite`` (else either end may be infinite)."""
    numbers = isinstance(bounds, list) and len(bounds) == 2 and all(
        isinstance(b, int | float) and not isinstance(b, bool) and not math.isnan(b) for b in bounds)  # fmt: skip
    if not numbers or not bounds[0] < bounds[1] or (finite and not all(map(math.isfinite, bounds))):
        kind = "finite numbers" if finite else "numbers"
        raise ParameterError(f"{where} = {shown(bounds)} is invalid: allowed is [low, high], {kind} with low < high")
    return float(bounds[0]), float(bounds[1])


def _check_fit(path: Path, fit: dict) -> tuple[dict[str, tuple[float, float]], dict[str, str]]:
    bounds, reasons = {}, {}
    for name, spec in fit.items():
        where = f"{path}: [fit.{name}]"
        if name not in REGISTRY:
            raise ParameterError(f"{where}: unknown parameter {shown(name)} (see `klad params`)")
        p = REGISTRY[name]
        if p.kind != "uncertainty" or p.type is not float:
            raise ParameterError(f"{where}: only numeric uncertainties can be fitted; '{name}' is a {p.kind}")
        spec = schema.check(spec, FIT, where)
        low, high = _bounds(spec["prior"], f"{where}: prior", finite=True)
        bounds[name] = (p.check(low, where), p.check(high, where))
        reasons[name] = spec["reason"]
    return bounds, reasons


# --------------------------------------------------------- many runs at once
#: The sweep model entry point that computes every statistic of a run.
STATISTICS_MODEL = "sim.experiments.targets:simulate"


def run_statistics(
    fixed: dict[str, Any],
    varied: dict[str, list[float]],
    *,
    design: str,
    samples: int,
    reps: int,
    days: int,
    seed: int,
    out: str | Path,
    execution: Execution = IN_PROCESS,
    resume: bool = False,
    model: str = STATISTICS_MODEL,
    points: list[list[float]] | None = None,
) -> pd.DataFrame:
    """Run ``simulate`` at the points of a design through the sweep machinery; one row per run.

    ``design`` is a sweep design: ``latin`` samples ``samples`` points within
    the ``varied`` bounds; ``grid`` takes the product of the listed levels (one
    level each gives a single point); ``points`` runs the given ``points``
    (one list of values per point, in the order of ``varied``, whose bounds
    they lie in). Runs go in resumable chunks under ``out``, wherever
    ``execution`` says; run ``j`` always gets the same seed
    (``sweep.run_seed``). ``model`` is another sweep model entry point that
    returns every statistic (a toy with known parameters, to test the calibration).
    """
    from sim.experiments.sweep import Experiment, run_sweep

    fixed = {k: v for k, v in fixed.items() if k != "scenario_name" and k not in varied}
    points = [list(map(float, point)) for point in points or []]
    count = {"grid": math.prod(len(v) for v in varied.values()), "points": len(points)}.get(design, samples)
    total = count * reps
    exp = Experiment(
        name="statistics", model=model, design=design, samples=samples, replications=reps, days=days,
        outputs=statistic_names(), seed=seed, varied=varied, kinds=dict.fromkeys(varied, "uncertainty"),
        fixed=fixed, chunk_size=max(1, min(16, total // (4 * max(1, execution.workers)))), points=points,
    )  # fmt: skip
    return run_sweep(exp, out, execution=execution, resume=resume)


def fit_table(check: pd.DataFrame, targets: Targets, runs: pd.DataFrame | None = None) -> pd.DataFrame:
    """Each target: accepted range, simulated mean and 95% CI over the check runs, and how the CI lies.

    ``outcome`` is ``Target.outcome``; a target ``passed`` unless its whole CI lies outside the range.
    """
    rows = []
    for t in targets.targets:
        mean, low, high = mean_ci(check[t.statistic])
        row = {
            "target": t.id, "role": t.role, "statistic": t.statistic, "unit": t.unit, "low": t.low, "high": t.high,
            "mean": mean, "ci_low": low, "ci_high": high, "outcome": (outcome := t.outcome(mean, low, high)),
            "passed": outcome != "outside",
        }  # fmt: skip
        if runs is not None:
            row["accepted_median"] = float(runs.loc[runs["accepted"], t.statistic].median())
        rows.append(row)
    return pd.DataFrame(rows)


def replicate(
    params: dict[str, Any], targets: Targets, runs: pd.DataFrame | None = None, **how: Any
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Replications of one parameter set, judged against every target (``fit_table``).

    ``how`` is ``run_statistics``'s ``reps``, ``days``, ``seed``, ``out``,
    ``execution`` and ``resume``. Returns the runs, and the table; no target
    passes when a run failed. ``runs`` (a calibration's) adds each target's
    median over the accepted runs.
    """
    point = {"policy_start_day": [params["policy_start_day"]]}  # a grid of one point
    check = run_statistics(params, point, design="grid", samples=1, **how)
    table = fit_table(check[check["status"] == "ok"], targets, runs)
    table["passed"] &= bool((check["status"] == "ok").all())
    return check, table


def seconds_per_run(days: int, n_buyers: int) -> float:
    """Rough wall time of one ``simulate`` run on one core of this project's 2-core machine."""
    return (days + TAKEDOWN_AFTER) * (2.3e-3 + 1.9e-7 * n_buyers)
