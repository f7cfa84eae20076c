"""The classroom exercises of docs/teaching.md on the demo city: what each change does against the grey run, seeds 1-10.

Each exercise is what a lecturer does on the page: a new run, 60 days for the
market to settle, one change, and 90 days more; it is run here through the
page's own runs (``session.Runs``), so its twin (the grey run) is the page's.
Each claim of an exercise names a metric, the days it is read over and the
direction docs/teaching.md gives it; ``summary`` gives every claim's median and
range over the seeds, how many seeds go that way, and whether the claim holds.
The numbers of docs/teaching.md come from ``python -m sim.app.demo.exercises``, which prints
the table; a test checks that every claim still holds, so that the text cannot
drift from the model when the model's mechanisms change. The page's exercise
picker makes a run ready as ``staging`` says: seed 1, the change made on day 60.
"""

from __future__ import annotations

import argparse
import copy
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import pandas as pd

from sim.app.demo.market import DemoMarket, shipped_scenarios
from sim.app.demo.session import Runs, Settings, Staging
from sim.app.demo.story import LOOK_FOR, SHOCKS

#: Seeds of the numbers in docs/teaching.md and of the test.
SEEDS = tuple(range(1, 11))
#: The day of the change (after it, the change acts from the next day on) and the last day run.
CHANGE_DAY = 60
LAST_DAY = 150
#: A "flat" claim holds when the median change is within this share; "down" and "up" need the median that way
#: and more than half of the seeds (``MAJORITY``).
FLAT = 0.05
MAJORITY = 0.6


class Claim(NamedTuple):
    """A direction docs/teaching.md gives a metric over some days, against the grey run of the same seed."""

    words: str
    metric: str
    first: int  # days read, both included
    last: int
    direction: str  # "down", "up" or "flat"
    relative: bool = True  # the change as a share of the grey run's; else the difference in the sum (arrests)


class Exercise(NamedTuple):
    """A change a lecturer makes on day ``CHANGE_DAY``, and the claims docs/teaching.md makes about it."""

    key: str
    title: str
    change: Callable[[DemoMarket], object]
    claims: tuple[Claim, ...]


def _set(**levers: float) -> Callable[[DemoMarket], None]:
    def change(market: DemoMarket) -> None:
        for name, value in levers.items():
            market.set_lever(name, value)

    return change


WEEK = (CHANGE_DAY + 1, CHANGE_DAY + 7)
MONTH = (CHANGE_DAY + 1, CHANGE_DAY + 30)
LATE = (LAST_DAY - 29, LAST_DAY)

EXERCISES: tuple[Exercise, ...] = (
    Exercise("severity", "Prison terms x5 (the slider)", _set(severity_multiplier=5.0), (
        Claim("couriers at work, days 121-150", "active_couriers", *LATE, "flat"),
        Claim("drugs sold, days 121-150", "grams_sold", *LATE, "flat"),
    )),
    Exercise("penalties", SHOCKS["penalties"].label, SHOCKS["penalties"].act, (
        Claim("drugs sold, first week", "grams_sold", *WEEK, "flat"),
        Claim("drugs sold, days 121-150", "grams_sold", *LATE, "down"),
        Claim("couriers at work, first week", "active_couriers", *WEEK, "flat"),
        Claim("couriers at work, days 121-150", "active_couriers", *LATE, "down"),
        Claim("retail price, days 121-150", "price_per_gram", *LATE, "flat"),
    )),
    Exercise("certainty", "Street detection x3 and conviction chance 90% (the sliders)",
             _set(detection_multiplier=3.0, conviction_probability=0.9), (
        Claim("courier arrests, first 30 days (more arrests)", "arrests_courier", *MONTH, "up", relative=False),
        Claim("couriers at work, days 121-150", "active_couriers", *LATE, "down"),
        Claim("courier pay, days 121-150", "courier_pay", *LATE, "up"),
        Claim("retail price, days 121-150", "price_per_gram", *LATE, "up"),
    )),
    Exercise("block", SHOCKS["block"].label, SHOCKS["block"].act, (
        Claim("drugs sold, first week", "grams_sold", *WEEK, "down"),
        Claim("mirrors opened, first 30 days (more mirrors)", "mirrors_opened", *MONTH, "up", relative=False),
        Claim("drugs sold, days 121-150", "grams_sold", *LATE, "flat"),
    )),
    Exercise("crackdown", SHOCKS["crackdown"].label, SHOCKS["crackdown"].act, (
        Claim("buyer arrests, the 30 days (more arrests)", "arrests_buyer", *MONTH, "up", relative=False),
        Claim("courier arrests, the 30 days (more arrests)", "arrests_courier", *MONTH, "up", relative=False),
        Claim("drugs sold, the 30 days", "grams_sold", *MONTH, "down"),
        Claim("drugs sold, days 121-150", "grams_sold", *LATE, "flat"),
    )),
)  # fmt: skip


def exercise_name(number: int) -> str:
    """What the page's picker calls exercise ``number`` (1 is the first): "Exercise 3: certainty"."""
    return f"Exercise {number}: {EXERCISES[number - 1].key}"


def staging(number: int, seed: int = SEEDS[0]) -> Staging:
    """Exercise ``number`` (1 is the first, as the README numbers them) as the page's picker makes it ready.

    The run ``run_exercises`` makes of it for ``seed``: a new run of the baseline (the first shipped scenario),
    run to ``CHANGE_DAY``, the exercise's change on the coloured run; playing stops on ``LAST_DAY``.
    """
    if not 1 <= number <= len(EXERCISES):
        raise ValueError(f"exercise {number}: the exercises are 1-{len(EXERCISES)}")
    exercise = EXERCISES[number - 1]
    first = next(iter(shipped_scenarios().values()))  # the scenario of Runs(Settings(seed=...), None, ...)
    settings = Settings(str(first) if first is not None else None, seed)
    look_for = SHOCKS[exercise.key].look_for if exercise.key in SHOCKS else LOOK_FOR.get(exercise.key, "")
    return Staging(exercise_name(number), settings, CHANGE_DAY, exercise.change, LAST_DAY, look_for)


def run_exercises(seeds: tuple[int, ...] = SEEDS) -> pd.DataFrame:
    """Every claim's change against the grey run, one row per exercise, claim and seed.

    Runs of one seed share their first ``CHANGE_DAY`` days (copied, as the page copies its twin).
    """
    rows = []
    for seed in seeds:
        settled = Runs(Settings(seed=seed), None, two=False)
        for _ in range(CHANGE_DAY):
            settled.step()
        for exercise in EXERCISES:
            runs = copy.deepcopy(settled)
            runs.change("A", exercise.change)
            for _ in range(LAST_DAY - CHANGE_DAY):
                runs.step()
            changed, grey = runs.a.daily(), runs.unchanged().daily()
            for claim in exercise.claims:
                days = slice(claim.first - 1, claim.last)
                mine, theirs = changed[claim.metric].iloc[days], grey[claim.metric].iloc[days]
                if claim.relative:
                    value = mine.mean() / theirs.mean() - 1.0 if theirs.mean() > 0 else 0.0
                else:
                    value = float(mine.sum() - theirs.sum())
                rows.append({"exercise": exercise.key, "claim": claim.words, "seed": seed, "value": value})
    return pd.DataFrame(rows)


def summary(results: pd.DataFrame) -> pd.DataFrame:
    """Per exercise and claim: the direction claimed, the median and range over the seeds, and whether it holds.

    ``seeds_that_way`` counts the seeds that went the claimed way (for "flat": within ``FLAT``).
    """
    rows = []
    for exercise in EXERCISES:
        for claim in exercise.claims:
            values = results.loc[(results.exercise == exercise.key) & (results.claim == claim.words), "value"]
            values = values.to_numpy(dtype=float)
            median = float(np.median(values))
            if claim.direction == "flat":
                that_way = int(np.sum(np.abs(values) < FLAT))
                holds = abs(median) < FLAT
            else:
                sign = 1.0 if claim.direction == "up" else -1.0
                that_way = int(np.sum(sign * values > 0))
                holds = sign * median > 0 and that_way >= MAJORITY * len(values)
            rows.append({
                "exercise": exercise.key, "claim": claim.words, "direction": claim.direction,
                "relative": claim.relative, "median": median, "low": float(values.min()), "high": float(values.max()),
                "seeds_that_way": that_way, "seeds": len(values), "holds": bool(holds),
            })  # fmt: skip
    return pd.DataFrame(rows)


def markdown(table: pd.DataFrame) -> str:
    """The summary as docs/teaching.md shows it: changes against the grey run in percent (arrests, mirrors: counts)."""

    def show(value: float, relative: bool) -> str:
        return f"{value:+.0%}" if relative else f"{value:+.0f}"

    lines = [
        "| exercise | against the grey run | claimed | median | range | seeds that way |",
        "|---|---|---|---:|---:|---:|",
    ]
    for row in table.itertuples():
        where = "within 5%" if row.direction == "flat" else row.direction
        lines.append(
            f"| {row.exercise} | {row.claim} | {where} | {show(row.median, row.relative)} | "
            f"{show(row.low, row.relative)} to {show(row.high, row.relative)} | {row.seeds_that_way} of {row.seeds} |"
            + ("" if row.holds else " **does not hold**")
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Print the exercises' table for docs/teaching.md (``python -m sim.app.demo.exercises``)."""
    parser = argparse.ArgumentParser(description="the classroom exercises of docs/teaching.md on the demo city")
    parser.add_argument("--seeds", type=int, default=len(SEEDS), help="seeds 1..N (default %(default)s)")
    args = parser.parse_args(argv)
    print(markdown(summary(run_exercises(tuple(range(1, args.seeds + 1))))))


if __name__ == "__main__":
    main()
