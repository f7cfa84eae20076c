"""Empirical targets and the statistics of a run that are compared with them.

A targets file (``scenarios/data/kazakhstan.toml``) lists the figures of the
sources the model can be compared against: each with its accepted range, unit,
source line, a note on its reliability, the *statistic* of a run it is compared
with, and its role: ``fit`` (used by ``klad calibrate``) or ``pattern`` (an
out-of-sample check, never used for fitting). National figures are compared
with city statistics times ``national_scale_factor``.

Each statistic is a small function of a run's daily metrics over a window
that ends at a *horizon* (``STATISTICS``; the file's ``window``, a year, and
``horizons``, years 2 and 5, so that drift shows): most targets are yearly
figures, and rare events (lab raids, operator arrests) need a year to be
counted. The shop-exit statistics need an experiment on the run: at each
horizon a copy of the market loses its largest shops and runs on
(``SHOCK_STATISTICS``, ``simulate``); the run itself goes on untouched.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sim.experiments.execute import IN_PROCESS, Execution
from sim.experiments.replications import mean_ci
from sim.io import schema
from sim.io.config import Scenario, read_file
from sim.io.schema import Schema, choice, number, of, text, whole
from sim.params import REGISTRY, UNCERTAINTY, ParameterError, shown
from sim.timeline import CloseShops

if TYPE_CHECKING:
    from sim.experiments.sweep import Design

ROLES = ("fit", "pattern")

#: Days in the "registration" window of the users-known-to-police proxy.
KNOWN_USER_DAYS = 730
#: Days before the shop exit that set the reference level of sales and price.
SHOCK_BEFORE = 28
#: Days the copy of the market runs on after its largest shops closed.
SHOCK_AFTER = 56
#: Share of the shops in business that the shop-exit experiment closes, largest first (at least one).
EXIT_SHARE = 0.3
#: Days after the exit over which sales are compared with before (weeks 3 and 4).
RECOVERY_DAYS = (15, 28)


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


def failed_order_share(window: pd.DataFrame, params: dict[str, Any]) -> float:
    """Share of orders that ended without a stash: no open storefront, none on file, or not found twice."""
    return _ratio(window["unmet_orders"].sum(), window["orders"].sum())


def courier_conviction_hazard(window: pd.DataFrame, params: dict[str, Any]) -> float:
    """Convictions of couriers a year per courier at work: a courier's yearly risk of prison."""
    return _ratio(window["convictions_courier"].mean() * 365.0, window["active_couriers"].mean())


def sales_after_shop_exit(before: pd.DataFrame, after: pd.DataFrame) -> float:
    """Sales in weeks 3-4 after the largest shops closed, relative to the four weeks before."""
    first, last = RECOVERY_DAYS
    return _ratio(after["transactions"].iloc[first - 1 : last].mean(), before["transactions"].tail(SHOCK_BEFORE).mean())


def price_after_shop_exit(before: pd.DataFrame, after: pd.DataFrame) -> float:
    """The highest weekly mean price in the eight weeks after the largest shops closed, over the price before."""
    weeks = after["price_per_gram"].head(SHOCK_AFTER).groupby(np.arange(min(len(after), SHOCK_AFTER)) // 7).mean()
    return _ratio(weeks.max(), before["price_per_gram"].tail(SHOCK_BEFORE).mean())


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
    Statistic("failed_order_share", "share", failed_order_share),
    Statistic("courier_conviction_hazard", "1/year", courier_conviction_hazard),
]}  # fmt: skip
#: Statistics of the shop-exit experiment (``simulate``): name -> function of the days before and after.
SHOCK_STATISTICS: dict[str, Callable[[pd.DataFrame, pd.DataFrame], float]] = {
    "sales_after_shop_exit": sales_after_shop_exit,
    "price_after_shop_exit": price_after_shop_exit,
}


def statistic_names() -> list[str]:
    """Every statistic a target may name."""
    return [*STATISTICS, *SHOCK_STATISTICS]


def horizon_column(name: str, horizon: int) -> str:
    """The column of statistic ``name`` taken at day ``horizon`` (``simulate`` with several horizons)."""
    return f"{name}@{horizon}"


def output_names(horizons: tuple[int, ...] | None = None) -> list[str]:
    """Columns of ``simulate``: every statistic at the run's end, or at each of ``horizons``."""
    if not horizons:
        return statistic_names()
    return [horizon_column(name, h) for h in horizons for name in statistic_names()]


def window_statistics(daily: pd.DataFrame, params: dict[str, Any], window: int) -> dict[str, float]:
    """Every window statistic of one run's daily metrics over its last ``window`` days."""
    last = daily.tail(window)
    return {name: s.compute(last, params) for name, s in STATISTICS.items()}


# -------------------------------------------------------------------- running
def close_largest_shops(model, share: float = EXIT_SHARE) -> int:
    """Close the largest ``share`` of the shops in business today (by orders; at least one), as an event would.

    Their operators leave the market (no arrest, so no one learns of a risk);
    their buyers lose the storefront, their couriers the job, their stashes are
    abandoned. Returns how many closed.
    """
    from sim.model.events import happen

    count = max(1, int(round(share * model.shops.count_active())))
    return len(happen(model, {"action": CloseShops.action, "largest": count})["shops"])


def shock_statistics(model, daily: pd.DataFrame) -> dict[str, float]:
    """The shop-exit statistics: close the largest shops of a copy of ``model`` and run the copy on.

    ``model`` itself is left as it was (its random numbers too), so the run
    continues as if the experiment had not been made.
    """
    twin = copy.deepcopy(model)
    close_largest_shops(twin)
    twin.run_for(SHOCK_AFTER)
    after = twin.daily().drop(columns="day").iloc[len(daily) :]
    return {name: compute(daily, after) for name, compute in SHOCK_STATISTICS.items()}


@dataclass(frozen=True)
class TargetRun:
    """When a statistics run (``simulate``) takes its statistics; the options of the run, beside its parameters.

    ``horizons``: the days at which statistics are taken (the last must be the
    run's last day; None: the last day only). ``window``: the days of each
    window (None: ``target_window`` at each horizon).
    """

    horizons: tuple[int, ...] | None = None
    window: int | None = None

    def fingerprint(self) -> dict[str, Any]:
        """The options as a sweep's fingerprint records them among its fixed values (``Experiment.fingerprint``)."""
        mark: dict[str, Any] = {}
        if self.horizons:
            mark["target_horizons"] = list(self.horizons)
        if self.window:
            mark["target_window"] = int(self.window)
        return mark


def simulate(params: dict[str, Any], seed: int, days: int = 730, run: TargetRun | None = None) -> dict[str, float]:
    """Run the model and return every statistic a target can name (a sweep model entry point).

    The run lasts ``days``; ``run`` says at which days and over which windows
    the statistics are taken (default: at the last day, over
    ``target_window``). At each horizon the window statistics are computed
    over the days that end there and the shop-exit experiment is run on a copy
    of the market (``shock_statistics``). Returns the statistics at the run's
    end by name, and at every horizon as ``horizon_column(name, day)``.
    """
    from sim.model.market import KladMarket

    run = run or TargetRun()
    params = {k: _typed(k, v) for k, v in params.items() if k != "scenario_name"}
    horizons = sorted(int(h) for h in run.horizons or [days])
    window_days = run.window
    if horizons[-1] != days:
        raise ValueError(f"the last target horizon ({horizons[-1]}) must be the run's last day ({days})")
    scenario = Scenario.of(params)  # checked once, here; the model takes it as it is
    resolved = scenario.params.as_dict()
    policy_day = scenario.params.policy_start_day if scenario.policy else None
    model = KladMarket(scenario, rng=seed)
    out: dict[str, float] = {}
    for horizon in horizons:
        model.run_for(horizon - model.steps)
        daily = model.daily().drop(columns="day")
        window = min(int(window_days), horizon) if window_days else target_window(horizon, policy_day)
        if policy_day is not None and policy_day <= horizon:  # no day before the policy, whatever the window
            window = min(window, horizon - policy_day + 1)
        stats = window_statistics(daily, resolved, window)
        stats.update(shock_statistics(model, daily))
        out.update({horizon_column(name, horizon): value for name, value in stats.items()})
    return {**out, **stats}


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
    missable: str = ""  # why the model could miss it (it is neither an input nor implied by one)
    not_fitted: str = ""  # patterns: why the figure was kept out of the calibration

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
    window: int = 365  # days of each statistic's window
    horizons: tuple[int, ...] = (730,)  # days at which validation takes the statistics; the first is fitted
    fit_scales: dict[str, str] = field(default_factory=dict)  # fitted parameter -> "log" where its prior is log-uniform

    def jointly(self, names: list[str], why: str) -> Targets:
        """These targets with ``names`` fitted too, each over its registry prior (a joint calibration)."""
        params, reasons, scales = dict(self.fit_params), dict(self.fit_reasons), dict(self.fit_scales)
        for name in names:
            if name in params:
                continue
            p = REGISTRY.get(name)
            if p is None or p.prior is None:
                raise ParameterError(f"{why}: {shown(name)} has no prior in sim/registry.toml; a joint "
                                     "calibration varies only uncertainties with one")  # fmt: skip
            params[name] = (p.prior.low, p.prior.high)
            reasons[name] = f"calibrated jointly ({why}); prior: {p.prior.source}"
            scales[name] = p.prior.scale
        return dataclasses.replace(self, fit_params=params, fit_reasons=reasons, fit_scales=scales)

    def by_role(self, role: str) -> list[Target]:
        """The targets with this role."""
        return [t for t in self.targets if t.role == role]


#: A targets file's top-level keys.
TARGETS: Schema = {
    "window": whole(28, 3650, 365), "horizons": of("any", [730]), "target": of("tables"), "fit": of("table", {}),
    "not_compared": of("tables", []),
}  # fmt: skip
#: One ``[[target]]``.
TARGET: Schema = {
    "id": text(longest=100), "description": text(longest=2000), "value": number(default=None), "range": of("any"),
    "unit": text(), "source": text(longest=2000), "reliability": text(longest=10_000, lines=True),
    "statistic": choice(tuple(statistic_names())), "role": choice(ROLES),
    "missable": text(longest=4000, lines=True), "not_fitted": text(None, longest=4000, lines=True),
}  # fmt: skip
#: One ``[fit.<parameter>]``: its prior and why it is fitted.
FIT: Schema = {"prior": of("any", None), "reason": text(longest=2000, lines=True)}
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
    fit_params, reasons, scales = _check_fit(path, data["fit"])
    if fit_params and not any(t.role == "fit" for t in targets):
        raise ParameterError(f"{path}: [fit] names parameters but no target has role = 'fit'")
    not_compared = [schema.check(row, NOT_COMPARED, f"{path}: [[not_compared]] #{i + 1}")
                    for i, row in enumerate(data["not_compared"])]  # fmt: skip
    horizons = _horizons(path, data["horizons"], data["window"])
    return Targets(path, targets, fit_params, reasons, not_compared, data["window"], horizons, scales)


def _horizons(path: Path, horizons: Any, window: int) -> tuple[int, ...]:
    """``horizons``: one to four increasing whole days, each at least twice the window."""
    whole_days = isinstance(horizons, list) and all(isinstance(h, int) and not isinstance(h, bool) for h in horizons)
    if not whole_days or not 1 <= len(horizons) <= 4 or horizons != sorted(set(horizons)):
        raise ParameterError(f"{path}: horizons = {shown(horizons)} is invalid: allowed is a list of one to four "
                             "increasing whole numbers of days, e.g. [730, 1825]")  # fmt: skip
    if horizons[0] < 2 * window or horizons[-1] > 36500:
        raise ParameterError(
            f"{path}: horizons = {shown(horizons)} is invalid: allowed are days from twice "
            f"the window ({2 * window}) to 36500, so that a warm-up as long precedes each window"
        )
    return tuple(horizons)


def _check_target(path: Path, i: int, row: dict) -> Target:
    where = f"{path}: target '{row['id']}'" if isinstance(row.get("id"), str) else f"{path}: [[target]] #{i + 1}"
    row = schema.check(row, TARGET, where)
    low, high = _bounds(row["range"], f"{where}: range", finite=row["role"] == "fit")
    if row["role"] == "fit" and low <= 0:
        raise ParameterError(f"{where}: a 'fit' target needs a finite range above 0, got {shown(row['range'])}")
    if not row["missable"].strip():
        raise ParameterError(f"{where}: missable is empty: say why the model could miss this figure")
    not_fitted = (row["not_fitted"] or "").strip()
    if row["role"] == "pattern" and not not_fitted:
        raise ParameterError(f"{where}: a 'pattern' needs not_fitted: why the figure was kept out of the calibration")
    if row["role"] == "fit" and not_fitted:
        raise ParameterError(f"{where}: not_fitted is for patterns; this target has role = 'fit'")
    return Target(
        id=row["id"], description=row["description"], low=low, high=high, unit=row["unit"], source=row["source"],
        reliability=row["reliability"], statistic=row["statistic"], role=row["role"], value=row["value"],
        missable=row["missable"].strip(), not_fitted=not_fitted,
    )  # fmt: skip


def _bounds(bounds: Any, where: str, *, finite: bool) -> tuple[float, float]:
    """``[low, high]`` as numbers with low < high, finite if ``finite`` (else either end may be infinite)."""
    numbers = isinstance(bounds, list) and len(bounds) == 2 and all(
        isinstance(b, int | float) and not isinstance(b, bool) and not math.isnan(b) for b in bounds)  # fmt: skip
    if not numbers or not bounds[0] < bounds[1] or (finite and not all(map(math.isfinite, bounds))):
        kind = "finite numbers" if finite else "numbers"
        raise ParameterError(f"{where} = {shown(bounds)} is invalid: allowed is [low, high], {kind} with low < high")
    return float(bounds[0]), float(bounds[1])


def _check_fit(path: Path, fit: dict) -> tuple[dict[str, tuple[float, float]], dict[str, str], dict[str, str]]:
    """Each ``[fit.<parameter>]``: its prior (the file's ``prior``, uniform; else the registry's) and reason."""
    bounds, reasons, scales = {}, {}, {}
    for name, spec in fit.items():
        where = f"{path}: [fit.{name}]"
        if name not in REGISTRY:
            raise ParameterError(f"{where}: unknown parameter {shown(name)} (see `klad params`)")
        p = REGISTRY[name]
        if p.kind != UNCERTAINTY or p.type not in (int, float):
            raise ParameterError(f"{where}: only numeric uncertainties can be fitted; '{name}' is a {p.kind}")
        spec = schema.check(spec, FIT, where)
        if spec["prior"] is None:
            if p.prior is None:
                raise ParameterError(f"{where}: no prior: give prior = [low, high], or one in sim/registry.toml")
            bounds[name], scales[name] = (p.prior.low, p.prior.high), p.prior.scale
        else:
            low, high = _bounds(spec["prior"], f"{where}: prior", finite=True)
            bounds[name], scales[name] = (p.check(low, where), p.check(high, where)), "linear"
        reasons[name] = spec["reason"]
    return bounds, reasons, scales


# --------------------------------------------------------- many runs at once
#: The sweep model entry point that computes every statistic of a run.
STATISTICS_MODEL = "sim.experiments.targets:simulate"


def run_statistics(
    fixed: dict[str, Any],
    varied: dict[str, list[float]],
    *,
    design: Design,
    samples: int,
    reps: int,
    days: int,
    seed: int,
    out: str | Path,
    execution: Execution = IN_PROCESS,
    resume: bool = False,
    horizons: tuple[int, ...] | None = None,
    window: int | None = None,
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
    (``sweep.run_seed``). Statistics are taken at the run's last day, or at
    each of ``horizons`` (columns ``horizon_column``; the last must be
    ``days``), over windows of ``window`` days (default ``target_window``).
    ``model`` is another sweep model entry point that returns every statistic
    (a toy with known parameters, to test the calibration).
    """
    from sim.experiments.sweep import Design, Experiment, sweep_runs

    fixed = {k: v for k, v in fixed.items() if k != "scenario_name" and k not in varied}
    run = TargetRun(tuple(horizons) if horizons else None, int(window) if window else None)
    points = [list(map(float, point)) for point in points or []]
    count = {Design.GRID: math.prod(len(v) for v in varied.values()), Design.POINTS: len(points)}.get(design, samples)
    total = count * reps
    exp = Experiment(
        name="statistics", model=model, design=design, samples=samples, replications=reps, days=days,
        outputs=output_names(horizons), seed=seed, varied=varied, kinds=dict.fromkeys(varied, UNCERTAINTY),
        fixed=fixed, chunk_size=max(1, min(16, total // (4 * max(1, execution.workers)))), points=points,
        run=run if run.horizons or run.window else None,
    )  # fmt: skip
    return sweep_runs(exp, out, execution=execution, resume=resume)


def fit_table(
    check: pd.DataFrame,
    targets: Targets,
    runs: pd.DataFrame | None = None,
    horizons: tuple[int, ...] | None = None,
) -> pd.DataFrame:
    """Each target (at each of ``horizons``): accepted range, mean and 95% CI over the check runs, how the CI lies.

    ``outcome`` is ``Target.outcome``, or ``outside`` when a replication lacks
    the statistic (``missing`` counts them); a target ``passed`` unless it is
    outside. Without ``horizons`` the runs' plain statistic
    columns are judged (``horizon`` is then empty).
    """
    rows = []
    for horizon in horizons or (None,):
        for t in targets.targets:
            column = t.statistic if horizon is None else horizon_column(t.statistic, horizon)
            mean, low, high = mean_ci(check[column])
            # A replication without the statistic (no sales at all, say) has missed the figure.
            missing = int(check[column].isna().sum())
            outcome = "outside" if missing else t.outcome(mean, low, high)
            row = {
                "target": t.id, "role": t.role, "horizon": horizon, "statistic": t.statistic, "unit": t.unit,
                "low": t.low, "high": t.high, "mean": mean, "ci_low": low, "ci_high": high, "missing": missing,
                "outcome": outcome, "passed": outcome != "outside",
            }  # fmt: skip
            if runs is not None:
                row["accepted_median"] = float(runs.loc[runs["accepted"], t.statistic].median())
            rows.append(row)
    return pd.DataFrame(rows)


def replicate(
    params: dict[str, Any],
    targets: Targets,
    runs: pd.DataFrame | None = None,
    horizons: tuple[int, ...] | None = None,
    **how: Any,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Replications of one parameter set, judged against every target (``fit_table``).

    ``how`` is ``run_statistics``'s ``reps``, ``days``, ``seed``, ``out``,
    ``execution``, ``resume`` and ``window``; ``horizons`` as there. Returns
    the runs, and the table; no target passes when a run failed. ``runs`` (a
    calibration's) adds each target's median over the accepted runs.
    """
    point = {"policy_start_day": [params["policy_start_day"]]}  # a grid of one point
    from sim.experiments.sweep import Design

    check = run_statistics(params, point, design=Design.GRID, samples=1, horizons=horizons, **how)
    table = fit_table(check[check["status"] == "ok"], targets, runs, horizons)
    table["passed"] &= bool((check["status"] == "ok").all())
    return check, table


def seconds_per_run(days: int, n_buyers: int, horizons: int = 1) -> float:
    """Rough wall time of one ``simulate`` run on one core of this project's 2-core machine."""
    return (days + horizons * SHOCK_AFTER) * (2.3e-3 + 1.9e-7 * n_buyers)
