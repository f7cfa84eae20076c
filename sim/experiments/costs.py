"""What a policy costs the state and what the market does to people, year by year, from a run's daily table.

A run's daily table (``sim.experiments.replications.run_one``) says what the
police spent (officer-days), whom they treated, convicted and imprisoned, and
what the market sold and to whom. With the parameters the run was made with,
that is enough to put a price on every lever: officer-days and prisoner-years
at their cost, a level of analytics, coordination or prevention at its yearly
cost, and a lever raised above today's value (street detection, forensics,
custody of suspects, faster blocking, border inspection) at the cost of the raise. The costs
are the registry's ``cost_*`` parameters (docs/costs.md says where each number
comes from); none of them changes the run, so costs can be recomputed under
other prices without running the market again.

``yearly_costs`` gives one row per year of a run (and per replication): the
public cost by item in KZT, the officer-days and prisoner-years by role, and
the harms beside the volume sold (users, new and young users, failed orders
and the money buyers lost on them, people arrested, convicted and in prison by
role). ``cost_effectiveness`` sets an arm's years against its comparison arm's,
replication by replication (runs with the same seed, the project's common
random numbers): the grams averted, the extra cost, and the grams averted per
officer-day and per million KZT.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from sim.experiments.replications import mean_ci
from sim.params import REGISTRY, ParameterError, levers, resolve
from sim.timeline import SetParams, check_events

#: Days in a year of a run: year 1 is days 1-365.
YEAR = 365
#: The roles whose people are arrested, convicted and imprisoned.
ROLES = ("buyer", "courier", "operator", "lab")
#: The daily activities the police budget is split into (``effort_*`` columns, officer-days a day).
ACTIVITIES = ("patrol", "cyber", "investigation", "labs")

#: The public cost items, each with what it pays for.
ITEMS: dict[str, str] = {
    "police": "officer-days of drug-control work (every activity) at cost_officer_day",
    "analytics": "analysts and digital tools: digital_analytics x cost_analytics a year",
    "coordination": "interagency coordination: coordination x cost_coordination a year",
    "prevention": "prevention programmes: the people reached (prevention x prevention_cohort, per 10,000 buyers) "
    "at cost_prevention_person",
    "treatment": "treatment of arrested buyers: buyers_treated at cost_treatment",
    "detection": "street detection technique: detection_multiplier above today's, at cost_detection a year",
    "forensics": "forensic equipment and experts: the days forensic_delay is cut below today's, at cost_forensic_day "
    "a year",
    "custody": "suspects held while they wait for forensics (abscond_rate below today's: the held share of "
    "pending_cases) at cost_prisoner_year",
    "blocking": "a duty team that blocks found storefronts sooner: the days block_delay is cut below today's, at "
    "cost_block_day a year",
    "border": "border and customs inspection: the larger raise of precursor_interdiction and import_interdiction "
    "above today's, at cost_border a year",
    "courts": "prosecution and trial of every conviction at cost_conviction",
    "prison": "prisoner-years of every role at cost_prisoner_year",
}

#: The daily table's columns that the costs and harms are read from.
NEEDED = (
    "day", "grams_sold", "price_per_gram", "active_buyers", "new_buyers", "orders", "unmet_orders",
    "restash_failures", "buyers_treated", "pending_cases", "convictions",
    *(f"effort_{a}" for a in ACTIVITIES), *(f"arrests_{r}" for r in ROLES),
    *(f"convictions_{r}" for r in ROLES), *(f"prisoners_{r}" for r in ROLES),
)  # fmt: skip

#: Each column of ``yearly_costs``: its unit. Amounts are sums over the year's days (a last, partial year has
#: fewer), stocks are at the end of the year or (users) a mean over its days.
UNITS: dict[str, str] = {
    "rep": "replication", "year": "year of the run (days 1-365 are year 1)", "days": "days",
    **{f"{item}_kzt": "KZT/year" for item in ITEMS}, "total_kzt": "KZT/year",
    "officer_days": "officer-days/year",
    **{f"prisoner_years_{r}": "prisoner-years/year" for r in ROLES}, "prisoner_years": "prisoner-years/year",
    "grams_sold": "g/year", "active_users": "users (mean over the year)",
    "young_users": "users aged 17-26 (mean over the year)", "minor_users": "users under 18 (mean over the year)",
    "new_users": "users/year", "buyers_treated": "users/year", "orders": "orders/year",
    "failed_orders": "orders/year", "failed_paid_orders": "orders/year", "money_lost_kzt": "KZT/year",
    **{f"arrests_{r}": "arrests/year" for r in ROLES}, **{f"convictions_{r}": "convictions/year" for r in ROLES},
    **{f"prisoners_{r}": "people (at the end of the year)" for r in ROLES},
}  # fmt: skip


def _today(name: str) -> Any:
    """A lever's value today: its registry default, from which a raise is costed."""
    return REGISTRY[name].default


def levers_in_force(params: dict[str, Any], days: int) -> pd.DataFrame:
    """The numeric levers in force on each day ``1..days`` of a run made with ``params``.

    As the market switches them (``KladMarket.switch_on_policy``, ``sim.model.events``): the scenario's
    values, its ``policy`` from ``policy_start_day`` on, and each ``set`` event's from its day on (after the
    policy on the same day). Levers moved during a run by hand (the demo) are not in ``params`` and not here.
    """
    full = resolve(params)
    policy = full.pop("policy")
    names = [n for n in levers() if REGISTRY[n].type in (int, float)]
    table = pd.DataFrame({"day": np.arange(1, days + 1)})
    for name in names:
        table[name] = float(full[name])
    events = check_events(full.get("events", []), "events") if full.get("events") else []
    changes = [(full["policy_start_day"], 0, policy)]
    changes += [(event["day"], 1, event["params"]) for event in events if event["action"] == SetParams.action]
    for day, _, values in sorted(changes, key=lambda change: (max(change[0], 1), change[1])):
        for name, value in values.items():
            if name in names:
                table.loc[table["day"] >= day, name] = float(value)
    return table


def daily_costs(daily: pd.DataFrame, params: dict[str, Any]) -> pd.DataFrame:
    """Each day's public cost by item (``<item>_kzt``, KZT), in the rows of ``daily``.

    Args:
        daily: a run's daily table (``run_one``), or several replications' with a ``rep`` column.
        params: the parameters the run was made with (as given to ``run_one``: a ``policy`` and ``events``
            allowed); the ``cost_*`` parameters among them price the items.

    Raises:
        ParameterError: if ``daily`` lacks a column the costs are read from.
    """
    missing = [c for c in NEEDED if c not in daily.columns]
    if missing:
        raise ParameterError(f"the daily table lacks {', '.join(missing)}: give a run's daily table (run_one)")
    p = resolve(params)
    lever = levers_in_force(params, int(daily["day"].max())).set_index("day").loc[daily["day"]]
    lever.index = daily.index
    year = float(YEAR)
    officer_days = sum(daily[f"effort_{a}"] for a in ACTIVITIES)
    held = 0.0 if _today("abscond_rate") <= 0 else (1.0 - lever["abscond_rate"] / _today("abscond_rate")).clip(0.0)
    raise_border = np.maximum(
        lever["precursor_interdiction"] - _today("precursor_interdiction"),
        lever["import_interdiction"] - _today("import_interdiction"),
    ).clip(0.0)
    reached = lever["prevention"] * p["prevention_cohort"] * p["n_buyers"] / 10_000
    items = {
        "police": officer_days * p["cost_officer_day"],
        "analytics": lever["digital_analytics"] * p["cost_analytics"] / year,
        "coordination": lever["coordination"] * p["cost_coordination"] / year,
        "prevention": reached * p["cost_prevention_person"] / year,
        "treatment": daily["buyers_treated"] * p["cost_treatment"],
        "detection": (lever["detection_multiplier"] - _today("detection_multiplier")).clip(0.0)
        * p["cost_detection"] / year,
        "forensics": (_today("forensic_delay") - lever["forensic_delay"]).clip(0.0) * p["cost_forensic_day"] / year,
        "custody": daily["pending_cases"] * held * p["cost_prisoner_year"] / year,
        "blocking": (_today("block_delay") - lever["block_delay"]).clip(0.0) * p["cost_block_day"] / year,
        "border": raise_border * p["cost_border"] / year,
        "courts": daily["convictions"] * p["cost_conviction"],
        "prison": sum(daily[f"prisoners_{r}"] for r in ROLES) * p["cost_prisoner_year"] / year,
    }  # fmt: skip
    return pd.DataFrame({f"{item}_kzt": np.asarray(cost, dtype=float) for item, cost in items.items()},
                        index=daily.index)  # fmt: skip


def yearly_costs(daily: pd.DataFrame, params: dict[str, Any]) -> pd.DataFrame:
    """One row per year of the run (and per replication): public cost by item, prisoner-years and harms.

    Columns (``UNITS`` gives each one's unit): ``rep`` (if ``daily`` has it), ``year``, ``days``, the cost of
    each item of ``ITEMS`` (``police_kzt`` ...) and their ``total_kzt``; ``officer_days``; ``prisoner_years``
    by role and in all; and the harms: ``grams_sold``, ``active_users`` with the ``young_users`` (17-26) and
    ``minor_users`` among them ([000 L367]), ``new_users``, ``buyers_treated``, ``orders``, ``failed_orders``
    (orders that got no stash), ``failed_paid_orders`` (prepaid, and the stash not found twice) and the
    ``money_lost_kzt`` buyers paid for them (at the day's price), and people arrested, convicted and in prison
    by role.

    Args:
        daily: a run's daily table (``run_one``), or several replications' with a ``rep`` column.
        params: the parameters the run was made with (see ``daily_costs``).
    """
    p = resolve(params)
    costs = daily_costs(daily, params)
    frame = pd.concat([daily, costs], axis=1)
    frame["year"] = (frame["day"] - 1) // YEAR + 1
    frame["officer_days"] = sum(frame[f"effort_{a}"] for a in ACTIVITIES)
    frame["money_lost_kzt"] = frame["restash_failures"] * p["stash_grams"] * frame["price_per_gram"]
    keys = ["rep", "year"] if "rep" in frame.columns else ["year"]
    groups = frame.groupby(keys, sort=True)
    summed = {
        **{f"{item}_kzt": f"{item}_kzt" for item in ITEMS}, "officer_days": "officer_days",
        "grams_sold": "grams_sold", "new_users": "new_buyers", "buyers_treated": "buyers_treated",
        "orders": "orders", "failed_orders": "unmet_orders", "failed_paid_orders": "restash_failures",
        "money_lost_kzt": "money_lost_kzt", **{f"arrests_{r}": f"arrests_{r}" for r in ROLES},
        **{f"convictions_{r}": f"convictions_{r}" for r in ROLES},
    }  # fmt: skip
    table = groups.size().rename("days").to_frame()
    for column, source in summed.items():
        table[column] = groups[source].sum().astype(float)
    table["total_kzt"] = table[[f"{item}_kzt" for item in ITEMS]].sum(axis=1)
    for r in ROLES:
        table[f"prisoner_years_{r}"] = groups[f"prisoners_{r}"].sum() / YEAR
    table["prisoner_years"] = table[[f"prisoner_years_{r}" for r in ROLES]].sum(axis=1)
    users = groups["active_buyers"].mean()
    table["active_users"] = users
    table["young_users"] = users * p["young_user_share"]
    table["minor_users"] = users * p["minor_user_share"]
    for r in ROLES:
        table[f"prisoners_{r}"] = groups[f"prisoners_{r}"].last().astype(float)
    return table.reset_index()[[c for c in UNITS if c in keys or c not in ("rep", "year")]]


def cost_effectiveness(arm: pd.DataFrame, comparison: pd.DataFrame) -> pd.DataFrame:
    """An arm's years against its comparison arm's: grams averted, extra cost, and grams per officer-day and per KZT.

    Both tables are ``yearly_costs`` of runs with the same seeds (replication ``r`` of each from the same
    seed: common random numbers), so each replication of the arm is set against its own twin, year by year.

    Returns one row per year: ``days`` (of the run in that year), ``pairs`` (replications paired), the means
    over them of ``grams_averted``
    (comparison minus arm; with its 95% confidence interval), ``extra_officer_days``, ``extra_kzt`` (with its
    interval) and the extra cost of each item (``extra_<item>_kzt``), the ``prisoner_years_added`` of each
    role and in all, the ``users_averted`` and ``new_users_averted``; and ``grams_per_officer_day`` and
    ``grams_per_million_kzt``, the mean grams averted over the mean extra officer-days or millions of KZT
    (a ratio of means, steadier than a mean of ratios). A ratio is left empty (NaN) where the arm spends no
    more than its comparison: a policy that averts grams at no extra cost is not a matter of price.

    Raises:
        ParameterError: if the two tables share no replication and year, or one has replications the other lacks.
    """
    keys = ["rep", "year"] if "rep" in arm.columns and "rep" in comparison.columns else ["year"]
    if "rep" in keys and set(arm["rep"]) != set(comparison["rep"]):
        raise ParameterError("the arm and its comparison have different replications: run both with the same seeds")
    pairs = arm.merge(comparison, on=keys, suffixes=("", "_comparison"))
    if pairs.empty:
        raise ParameterError("the arm and its comparison share no year: give yearly_costs of runs of the same days")

    def change(column: str) -> pd.Series:
        return pairs[column] - pairs[f"{column}_comparison"]

    days = pairs["days"]
    per_pair = pd.DataFrame({"year": pairs["year"], "grams_averted": -change("grams_sold")})
    per_pair["extra_officer_days"] = change("officer_days")
    per_pair["extra_kzt"] = change("total_kzt")
    for item in ITEMS:
        per_pair[f"extra_{item}_kzt"] = change(f"{item}_kzt")
    for r in ROLES:
        per_pair[f"prisoner_years_added_{r}"] = change(f"prisoner_years_{r}")
    per_pair["prisoner_years_added"] = change("prisoner_years")
    per_pair["users_averted"] = -change("active_users")
    per_pair["new_users_averted"] = -change("new_users")
    rows = []
    for year, group in per_pair.groupby("year", sort=True):
        row: dict[str, Any] = {"year": year, "days": int(days[group.index].max()), "pairs": len(group)}
        for column in per_pair.columns.drop("year"):
            row[column] = float(group[column].mean())
        for column in ("grams_averted", "extra_kzt"):
            _, row[f"{column}_ci_low"], row[f"{column}_ci_high"] = mean_ci(group[column])
        row["grams_per_officer_day"] = _per(row["grams_averted"], row["extra_officer_days"])
        row["grams_per_million_kzt"] = _per(row["grams_averted"], row["extra_kzt"] / 1e6)
        rows.append(row)
    return pd.DataFrame(rows)


def arms_against(arms: dict[str, dict[str, Any]], daily: dict[str, pd.DataFrame], reference: str) -> pd.DataFrame:
    """Each arm of a study against its ``reference`` arm, year by year (``cost_effectiveness``).

    ``arms`` holds each arm's parameters (as run: a ``policy`` allowed), ``daily`` its replications' daily
    tables (with ``rep``; the same seeds in every arm). Returns ``cost_effectiveness``'s rows with an ``arm``
    column first; the reference arm has none. Arms differ in their levers, so set side by side these rows
    compare them at equal cost: by the grams each averts per extra million KZT, and per extra officer-day.
    """
    base = yearly_costs(daily[reference], arms[reference])
    rows = [cost_effectiveness(yearly_costs(daily[arm], params), base).assign(arm=arm)
            for arm, params in arms.items() if arm != reference and arm in daily]  # fmt: skip
    if not rows:
        return pd.DataFrame(columns=["arm", "year"])
    table = pd.concat(rows, ignore_index=True)
    return table[["arm", *table.columns.drop("arm")]]


def _per(averted: float, extra: float) -> float:
    """Grams averted per unit of extra spending; NaN where nothing more is spent."""
    return averted / extra if extra > 0 else float("nan")


#: What a run's report shows of its yearly costs and harms, in this order (every column stays in ``costs.parquet``).
SHOWN = (
    "total_kzt", *(f"{item}_kzt" for item in ITEMS), "officer_days", *(f"prisoner_years_{r}" for r in ROLES),
    "prisoner_years", "grams_sold", "active_users", "young_users", "new_users", "failed_orders",
    "money_lost_kzt",
)  # fmt: skip
#: What a comparison's report shows of each arm against the first, in this order.
SHOWN_AGAINST = (
    "grams_averted", "extra_kzt", "extra_officer_days", *(f"prisoner_years_added_{r}" for r in ROLES),
    "prisoner_years_added", "users_averted", "new_users_averted", "grams_per_officer_day", "grams_per_million_kzt",
)  # fmt: skip
#: The units of ``cost_effectiveness``'s columns.
UNITS_AGAINST: dict[str, str] = {
    "grams_averted": "g/year", "extra_kzt": "KZT/year", "extra_officer_days": "officer-days/year",
    **{f"prisoner_years_added_{r}": "prisoner-years/year" for r in ROLES},
    "prisoner_years_added": "prisoner-years/year",
    "users_averted": "users (mean over the year)", "new_users_averted": "users/year",
    "grams_per_officer_day": "g per extra officer-day", "grams_per_million_kzt": "g per extra million KZT",
}  # fmt: skip


def yearly_means(costs: pd.DataFrame) -> pd.DataFrame:
    """``yearly_costs`` of several replications as one row per year and column: mean and 95% t interval.

    Columns: ``year``, ``days``, ``column``, ``unit``, ``mean``, ``ci_low``, ``ci_high`` (empty with one
    replication). Amounts, money and people cannot be negative, so an interval is cut at 0.
    """
    rows = []
    for year, group in costs.groupby("year", sort=True):
        for column in SHOWN:
            mean, low, high = mean_ci(group[column])
            rows.append({"year": int(year), "days": int(group["days"].max()), "column": column,
                         "unit": UNITS[column], "mean": mean, "ci_low": max(low, 0.0) if low == low else low,
                         "ci_high": high})  # fmt: skip
    return pd.DataFrame(rows, columns=["year", "days", "column", "unit", "mean", "ci_low", "ci_high"])
