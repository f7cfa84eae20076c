"""How a hypothesis's replications become verdicts: estimates, power, a correction for several tests, and more runs.

Every test of a hypothesis is judged from per-replication values (an arm's
final-window mean of a metric, or a linear combination of arms for a
contrast, paired by replication). Besides its estimate and confidence
interval, each row says what the replications could have found:

- ``sd``: the standard deviation of the per-replication effect (paired);
- ``mde``: the *minimal detectable effect*, the smallest true effect that a
  test of this many replications finds with 80% power at its confidence
  level, ``(t(1 - a/2) + t(0.8)) * sd / sqrt(n)``; ``mde_relative`` divides it
  by the reference arm's mean, to be read against the margin;
- ``reps_needed``: the replications at which the CI's half-width would fall
  below half the margin (a decision either way becomes likely), at this ``sd``;
- ``crn_correlation``: for a contrast, the correlation across replications
  between each arm it names and its reference arm (``relative_to``, else the
  last arm named); the lowest is shown. Common random numbers work when it is
  high: the replications' shared noise then cancels in the contrast.

**One rule for both verdicts.** A contrast's claim is judged by where its
whole interval lies against the margin ``m`` (the smallest change that
matters, in the arm's own units): for ``decrease``, *supported* when the
interval lies below ``-m``, *not supported* when it lies above ``-m``,
*inconclusive* when it straddles ``-m``; ``increase`` is the mirror image,
and ``no_decrease``/``no_increase`` swap the first two verdicts of the claim
they negate. A level test is judged the same way against its threshold.
Neither verdict asks less of the evidence than the other, so low power gives
*inconclusive*, never one of them (``RULE`` is the table; docs/ODD.md prints
it and a test checks that the two agree).

**Several tests, one verdict: Holm's correction on both sides.** A
hypothesis is *supported* when all its deciding tests are and *not
supported* when any one is. The ``k`` deciding tests (role ``test``) are
ranked by ``p_decided``, the p-value of the verdict the test reached at 95%
(against its interval's far end: the one-sided test that the effect lies on
the other side of the margin, doubled; 1 when inconclusive), and the
``i``-th smallest keeps its verdict only if its interval at level
``1 - 0.05 / (k - i + 1)`` reaches the same verdict and every test ranked
before it kept its own (Holm's step-down); otherwise it is inconclusive.
On the *not supported* side this bounds the chance of a false verdict at 5%
whatever the number of tests. On the *supported* side an intersection-union
test would need no correction (Berger 1982); we apply it there too, so that
both verdicts carry the same burden. With one deciding test it is the plain
95% interval. Checks and details keep 95%.

**How many replications: two stages.** The file's ``replications`` are a
pilot. Its spread alone fixes how many replications the hypothesis gets
(``planned``): the most that any deciding test asks for (``reps_needed``), at
most ``max_replications``; then every test is judged once, on all of them.
The number depends on the pilot's standard deviations, not on its estimates,
so stopping early on a lucky pilot cannot make a verdict easier (Stein's
two-stage design). *Inconclusive* at the cap means that the cap gave too
little power, and the report says how many replications would decide it.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from sim.experiments.replications import mean_ci

ALPHA = 0.05  # one minus the confidence of a single test
POWER = 0.8  # the power at which the minimal detectable effect is stated
_NAME = re.compile(r"[A-Za-z_]\w*")


# ------------------------------------------------------------------ one test
def metric_values(summary: pd.DataFrame, expr: str) -> pd.Series:
    """A metric expression evaluated per replication (a ratio with a zero denominator is NaN)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        values = summary.eval(expr) if expr not in summary else summary[expr]
    return pd.Series(values, index=summary.index, dtype=float).replace([np.inf, -np.inf], np.nan)


def judge(test, summary: dict[str, pd.DataFrame], level: float = 1 - ALPHA) -> dict[str, Any]:
    """Estimate a contrast or level test (a ``Criterion``) from the arms' per-replication values, with its verdict.

    Args:
        test: the criterion.
        summary: each arm's final-window means, one row per replication (the same replications in every arm).
        level: the confidence level of the interval that decides.
    """
    per_arm = pd.DataFrame({arm: metric_values(frame, test.metric) for arm, frame in summary.items()})
    if test.kind == "level":
        values = per_arm[test.arm].dropna()
        mean, low, high = mean_ci(values, level)
        verdict = level_verdict(test.expect, low, high, test.threshold)
        row = _row(test, f"{test.arm}", mean, low, high, float("nan"), test.threshold, verdict, len(values))
        power = _power(values, level, test.threshold, abs(mean - test.threshold), 1.0)
        return {**row, **power, "level": level}
    effect = per_arm.eval(test.effect).dropna()
    mean, low, high = mean_ci(effect, level)
    scale = abs(float(per_arm[test.relative_to].mean())) if test.relative_to else 1.0
    if test.relative_to and scale == 0:
        scale = float("nan")
    rel = mean / scale if test.relative_to else float("nan")
    margin = test.margin * scale
    verdict = contrast_verdict(test.expect, mean, low, high, margin)
    row = _row(test, test.effect, mean, low, high, rel, margin, verdict, len(effect))
    row["reference"] = scale if test.relative_to else float("nan")  # the reference arm's mean (its size)
    wanted = margin / 2 if margin > 0 else abs(mean)  # the half-width that decides (no margin: the estimate's size)
    bound = -margin if test.expect in ("decrease", "no_decrease") else margin
    power = _power(effect, level, bound, wanted, scale if test.relative_to else 1.0)
    return {**row, **power, "crn_correlation": crn_correlation(per_arm, test), "level": level}


def _row(test, comparison, mean, low, high, rel, bound, verdict, n) -> dict[str, Any]:
    return {
        "test": test.name, "role": test.role, "kind": test.kind, "metric": test.metric, "comparison": comparison,
        "expect": test.expect, "estimate": mean, "ci_low": low, "ci_high": high, "relative": rel,
        "margin_or_threshold": bound, "relative_to": test.relative_to, "n": n, "verdict": verdict,
    }  # fmt: skip


def _power(values: pd.Series, level: float, bound: float, half_width: float, scale: float) -> dict[str, Any]:
    """``p_decided`` (module docstring), the effect's SD, the minimal detectable effect and the replications needed.

    ``p_decided`` is the two-sided t test's p-value against ``bound`` (the margin the rule reads, or a level's
    threshold): the interval at level ``L`` lies wholly on the estimate's side of ``bound`` exactly when
    ``p_decided <= 1 - L``.
    """
    n = len(values)
    nan = float("nan")
    if n < 2:
        return {"p_decided": nan, "sd": nan, "mde": nan, "mde_relative": nan, "reps_needed": math.nan}
    sd = float(values.std(ddof=1))
    mean = float(values.mean())
    if mean == bound:
        p = 1.0
    elif sd == 0.0:
        p = 0.0
    else:
        p = float(2 * stats.t.sf(abs(mean - bound) / (sd / math.sqrt(n)), n - 1))
    mde = (stats.t.ppf(1 - (1 - level) / 2, n - 1) + stats.t.ppf(POWER, n - 1)) * sd / math.sqrt(n)
    return {
        "p_decided": p, "sd": sd, "mde": float(mde), "mde_relative": float(mde / scale) if scale else nan,
        "reps_needed": replications_for(sd, half_width, level),
    }  # fmt: skip


def replications_for(sd: float, half_width: float, level: float = 1 - ALPHA, most: int = 100_000) -> float:
    """The fewest replications whose t interval at ``level`` has a half-width below ``half_width`` (inf: none)."""
    if not (sd > 0 and half_width > 0) or math.isnan(sd) or math.isnan(half_width):
        return 2.0 if sd == 0 else float("inf")
    n = max(2, math.ceil((stats.norm.ppf(1 - (1 - level) / 2) * sd / half_width) ** 2))  # the normal guess, then up
    while n <= most and stats.t.ppf(1 - (1 - level) / 2, n - 1) * sd / math.sqrt(n) >= half_width:
        n += 1
    return float(n) if n <= most else float("inf")


def crn_correlation(per_arm: pd.DataFrame, test) -> float:
    """The lowest correlation across replications between an arm of the contrast and its reference arm."""
    arms = list(dict.fromkeys(_NAME.findall(test.effect)))
    reference = test.relative_to or arms[-1]
    others = [arm for arm in arms if arm != reference]
    values = []
    for arm in others:
        pair = per_arm[[arm, reference]].dropna()
        if len(pair) > 2 and pair[arm].std() > 0 and pair[reference].std() > 0:
            values.append(float(np.corrcoef(pair[arm], pair[reference])[0, 1]))
    return min(values) if values else float("nan")


#: The rule of every contrast: where the whole interval lies against the margin ``m`` (a claim's verdict).
RULE: dict[str, dict[str, str]] = {
    "decrease": {"below -m": "supported", "above -m": "not supported", "straddles -m": "inconclusive"},
    "increase": {"above +m": "supported", "below +m": "not supported", "straddles +m": "inconclusive"},
    "no_decrease": {"above -m": "supported", "below -m": "not supported", "straddles -m": "inconclusive"},
    "no_increase": {"below +m": "supported", "above +m": "not supported", "straddles +m": "inconclusive"},
}


def interval_side(low: float, high: float, bound: float) -> str:
    """Where the interval ``[low, high]`` lies against ``bound``: "below", "above" or "straddles"."""
    if high < bound:
        return "below"
    if low > bound:
        return "above"
    return "straddles"


def contrast_verdict(expect: str, mean: float, low: float, high: float, margin: float) -> str:
    """A contrast's verdict by ``RULE``: the whole interval past the margin, on its near side, or across it.

    ``mean`` is not used by the rule (it is kept so the call reads as the estimate with its interval).
    """
    if any(math.isnan(x) for x in (mean, low, high, margin)):
        return "inconclusive"
    sign = "-m" if expect in ("decrease", "no_decrease") else "+m"
    bound = -margin if sign == "-m" else margin
    return RULE[expect][f"{interval_side(low, high, bound)} {sign}"]


def level_verdict(expect: str, low: float, high: float, threshold: float) -> str:
    """``above``/``below``: supported when the whole CI is beyond the threshold, not supported on its wrong side."""
    if math.isnan(low) or math.isnan(high):
        return "inconclusive"
    if expect == "below":
        low, high, threshold = -high, -low, -threshold
    if low > threshold:
        return "supported"
    if high < threshold:
        return "not supported"
    return "inconclusive"


def judge_ranking(test, table: pd.DataFrame, problems: list[str] | tuple = ()) -> dict[str, Any]:
    """Group A's total Sobol index against group B's, by their bootstrap confidence intervals.

    ``problems`` are the reasons the indices cannot rank at all
    (``sim.experiments.sensitivity.ranking_problems``: too few samples, an
    index that is no share of variance); with any but overlapping intervals
    the test is inconclusive and says "not a ranking".
    """
    first, second = (g.strip() for g in test.effect.split(">"))
    st = table[(table["index"] == "ST") & (table["output"] == test.metric)].set_index("parameter")
    fatal = [p for p in problems if "overlap" not in p]
    if first not in st.index or second not in st.index:
        verdict, a, b = "inconclusive", None, None
    elif fatal:
        verdict, a, b = "inconclusive", st.loc[first], st.loc[second]
    else:
        a, b = st.loc[first], st.loc[second]
        if a["ci_low"] > b["ci_high"]:
            verdict = "supported"
        elif a["ci_high"] < b["ci_low"]:
            verdict = "not supported"
        else:
            verdict = "inconclusive"
    row = _row(test, f"ST({first}) - ST({second})", float("nan"), float("nan"), float("nan"), float("nan"),
               float("nan"), verdict, 0)  # fmt: skip
    if a is not None and b is not None:
        row.update(estimate=float(a["value"] - b["value"]), ci_low=float(a["ci_low"] - b["ci_high"]),
                   ci_high=float(a["ci_high"] - b["ci_low"]))  # fmt: skip
        row["detail"] = (f"ST({first}) = {a['value']:.3f} ± {a['conf']:.3f}; "
                         f"ST({second}) = {b['value']:.3f} ± {b['conf']:.3f}")  # fmt: skip
    if fatal:
        row["detail"] = "not a ranking: " + "; ".join(fatal) + (f" ({row['detail']})" if "detail" in row else "")
    return row


def effects_over_time(tests: list, daily: dict[str, pd.DataFrame], start: int, smooth: int = 30) -> pd.DataFrame:
    """Each contrast's effect, day by day since the policy started: estimate and 95% CI over replications.

    Each arm's metric is first averaged over the ``smooth`` days up to each
    day, per replication; the contrast is then taken per replication (paired)
    and, for a test ``relative_to`` an arm, divided by that arm's mean that
    day. One row per test and day from ``start``: ``test``, ``day``,
    ``days_since_policy``, ``estimate``, ``ci_low``, ``ci_high``, ``relative``
    (whether the values are shares of the reference arm) and ``correlation``:
    that day, the correlation across replications of the contrast's first two
    arms' ``smooth``-day means (its common random numbers at work; NaN for one
    arm). It is high
    just after the policy and falls as events that happen in one arm only
    (raids, exits, blocks) add variance that no shared random number can
    pair.
    """
    rows = []
    for test in tests:
        if test.kind != "contrast":
            continue
        per_arm = {}
        for arm in dict.fromkeys(_NAME.findall(test.effect + " " + test.relative_to)):
            frame = daily[arm]
            values = metric_values(frame.set_index(["rep", "day"]), test.metric).unstack("rep")
            per_arm[arm] = values.rolling(smooth, min_periods=1).mean()
        days = per_arm[next(iter(per_arm))].index
        panel = pd.concat(per_arm, axis=1)  # columns: (arm, rep)
        effect = pd.DataFrame({rep: pd.DataFrame({arm: panel[arm][rep] for arm in per_arm}).eval(test.effect)
                               for rep in panel[next(iter(per_arm))].columns})  # fmt: skip
        if test.relative_to:
            effect = effect.div(panel[test.relative_to].mean(axis=1).abs().replace(0, np.nan), axis=0)
        arms = list(per_arm)
        correlation = panel[arms[0]].corrwith(panel[arms[1]], axis=1) if len(arms) > 1 else \
            pd.Series(np.nan, index=days)  # fmt: skip
        n = effect.notna().sum(axis=1)
        mean = effect.mean(axis=1)
        half = stats.t.ppf(0.975, (n - 1).clip(lower=1)) * effect.std(axis=1, ddof=1) / np.sqrt(n.clip(lower=1))
        after = days >= start
        rows.append(pd.DataFrame({
            "test": test.name, "day": days[after], "days_since_policy": days[after] - start,
            "estimate": mean[after].to_numpy(), "ci_low": (mean - half)[after].to_numpy(),
            "ci_high": (mean + half)[after].to_numpy(), "relative": bool(test.relative_to),
            "correlation": correlation[after].to_numpy(),
        }))  # fmt: skip
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()


# ------------------------------------------------------------------ a hypothesis's tests
def holm_levels(p_values: list[float], alpha: float = ALPHA) -> list[float]:
    """Holm's confidence level for each of ``k`` tests: the ``i``-th smallest p-value gets ``1 - alpha / (k - i + 1)``.

    A NaN p-value (a test that could not be estimated) ranks last.
    """
    k = len(p_values)
    order = sorted(range(k), key=lambda j: (math.isnan(p_values[j]), p_values[j]))
    levels = [1 - alpha] * k
    for rank, j in enumerate(order):
        levels[j] = 1 - alpha / (k - rank)
    return levels


def judge_all(tests: list, summary: dict[str, pd.DataFrame]) -> list[dict[str, Any]]:
    """Every contrast and level test of a hypothesis at 95%; the deciding ones at Holm's levels (module doc)."""
    results = [judge(t, summary) for t in tests]
    deciding = [i for i, t in enumerate(tests) if t.role == "test" and t.kind != "ranking"]
    levels = holm_levels([results[i]["p_decided"] for i in deciding])
    for i, level in zip(deciding, levels, strict=True):
        results[i]["holm_level"] = level
    broken = False  # Holm's step-down: once one test does not clear its level, none after it may decide
    for i in sorted(deciding, key=lambda j: (math.isnan(results[j]["p_decided"]), results[j]["p_decided"])):
        row, level = results[i], results[i]["holm_level"]
        cleared = not broken and row["p_decided"] <= 1 - level
        if row["verdict"] != "inconclusive" and not (cleared and judge(tests[i], summary, level)["verdict"]
                                                     == row["verdict"]):  # fmt: skip
            row["note"] = f"Holm: {row['verdict']} at 95%, but not at its level of {100 * level:.1f}%"
            row["verdict"] = "inconclusive"
        broken = not cleared
    return results


def planned(results: list[dict[str, Any]], pilot: int, cap: int) -> int:
    """Replications a hypothesis gets after its pilot: the most that a deciding test asks for, within ``cap``.

    It depends on the pilot's spreads (``reps_needed``), not on its verdicts or estimates (but for a test with
    no margin, whose half-width must fall below the estimate's size).
    """
    want = pilot
    for row in results:
        if row["role"] == "test" and row["kind"] != "ranking":
            asked = row.get("reps_needed", float("nan"))
            if not math.isnan(asked):
                want = max(want, min(cap, int(asked) if math.isfinite(asked) else cap))
    return want


def combine(results: list[dict[str, Any]]) -> str:
    """A hypothesis's verdict from its tests': supported if all deciding tests are, not supported if one is not.

    A check that is not supported makes it inconclusive whatever the tests say; details decide nothing.
    """
    if any(r["role"] == "check" and r["verdict"] != "supported" for r in results):
        return "inconclusive"
    tests = [r["verdict"] for r in results if r["role"] == "test"]
    if tests and all(v == "supported" for v in tests):
        return "supported"
    if "not supported" in tests:
        return "not supported"
    return "inconclusive"


# ------------------------------------------------------------------ margins and horizons
#: Multiples of a test's margin at which its verdict is shown (the margin is an assumption; so is its size).
MARGIN_STEPS = (0.0, 0.5, 1.0, 1.5, 2.0)
#: Years after the policy starts at which every test is judged again, when the runs last that long.
HORIZON_YEARS = (1, 2, 3, 5)
#: A lasting effect is *settled* when its last year's trend is within this share of the reference arm a year.
SETTLED = 0.03


def against_margins(row: dict[str, Any]) -> dict[str, Any]:
    """A contrast's verdict at each of ``MARGIN_STEPS`` times its margin, on the same interval.

    Also where the verdict changes: the claim is *supported* for margins on one side of ``switch_low``,
    *not supported* beyond ``switch_high`` (or the reverse for a negated claim), in the margin's units (a share
    of the reference arm for a relative test).
    """
    margin, low, high, mean = row["margin_or_threshold"], row["ci_low"], row["ci_high"], row["estimate"]
    scale = row.get("reference", float("nan")) if row.get("relative_to") else 1.0
    out: dict[str, Any] = {
        f"{step:g}m": contrast_verdict(row["expect"], mean, low, high, step * margin) for step in MARGIN_STEPS
    }
    ends = sorted((-high, -low) if row["expect"] in ("decrease", "no_decrease") else (low, high))
    usable = bool(scale) and math.isfinite(scale)  # a reference arm of mean 0 has no shares
    out["switch_low"], out["switch_high"] = (max(0.0, e / abs(scale)) if usable else float("nan") for e in ends)
    return out


def window_summary(daily: dict[str, pd.DataFrame], end: int, window: int) -> dict[str, pd.DataFrame]:
    """Each arm's per-replication means over the ``window`` days ending at day ``end``."""
    summary = {}
    for arm, frame in daily.items():
        part = frame[(frame["day"] > end - window) & (frame["day"] <= end)]
        metrics = [c for c in part.columns if c not in ("rep", "day")]
        summary[arm] = part.groupby("rep")[metrics].mean().sort_index()
    return summary


def at_horizons(tests: list, daily: dict[str, pd.DataFrame], start: int, window: int, days: int) -> pd.DataFrame:
    """Every test judged again over the window ending 1, 2, 3 and 5 years after the policy (those the runs reach).

    One row per horizon and test: ``years``, ``day``, the test's estimate, interval, share of the reference and
    verdict (Holm as at the end), and the hypothesis's verdict there.
    """
    rows = []
    for years in HORIZON_YEARS:
        end = start - 1 + 365 * years
        if end > days or end - window < start - 1:
            continue
        results = judge_all(tests, window_summary(daily, end, window))
        verdict = combine(results)
        rows += [{"years": years, "day": end, "test": r["test"], "role": r["role"], "estimate": r["estimate"],
                  "ci_low": r["ci_low"], "ci_high": r["ci_high"], "relative": r["relative"], "verdict": r["verdict"],
                  "hypothesis_verdict": verdict} for r in results]  # fmt: skip
    return pd.DataFrame(rows)


def trend_per_year(effects: pd.DataFrame, days: int = 365) -> dict[str, float]:
    """Each contrast's trend over its last ``days`` days, per year: a share of the reference arm (relative).

    From ``effects_over_time``: a least-squares line through the daily estimate. A contrast that is not
    relative to an arm has no reference: its slope is divided by the size of its last estimate instead.
    *Settled* means within ``SETTLED`` either way; NaN when fewer than 30 days are left to fit.
    """
    out = {}
    for test, rows in effects.groupby("test", sort=False):
        last = rows[rows["day"] > rows["day"].max() - days].dropna(subset=["estimate"])
        if len(last) < 30:
            out[test] = float("nan")
            continue
        slope = float(np.polyfit(last["day"] / 365.0, last["estimate"], 1)[0])
        if not bool(last["relative"].iloc[0]):
            size = abs(float(last["estimate"].iloc[-1]))
            slope = slope / size if size else float("nan")
        out[test] = slope
    return out
