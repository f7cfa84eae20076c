"""The classroom demo: the klad market of a small city, live in the browser.

``DemoMarket`` is the market a class watches (``klad demo``; the page itself is
``sim.app.demo.page``). It adds to ``KladMarket`` only what watching needs:

- a small city (``DEMO_CITY``), so that a day takes a few milliseconds;
- marks on the city map: stashes lying in each district, the couriers at work
  today, and the street arrests of the last week (``MapMark``);
- a snapshot of every storefront (open, found, blocked, its mirrors);
- levers that act *now* (``set_lever``) and three policy shocks
  (``block_largest_storefronts``, ``raise_penalties``, ``start_crackdown``),
  each noted in ``events`` so that the charts can mark it.

Everything the market does is still ``KladMarket.step``; parameter values go
through the registry (``sim.params``), so a value out of range cannot enter.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from pathlib import Path
from typing import Any

import numpy as np
from mesa.discrete_space import FixedAgent

#: The demo's city: a fifth of the default one, with the same market per buyer
from sim.io.config import load_scenario
from sim.model.events import happen
from sim.model.market import KladMarket
from sim.model.roles.couriers import Round
from sim.model.roles.shops import Storefront
from sim.model.world.stashes import StashState
from sim.params import REGISTRY, ParameterError, resolve, validate

#: The demo's city: a fifth of the default one, with the same market per buyer
#: (couriers scale with buyers; six shops so that the storefront panel has some).
DEMO_CITY = {"n_buyers": 2_000, "n_shops": 6, "n_couriers": 48, "n_labs": 2}
#: Day the scenario's policy switches on in the demo: the small city settles in about a month.
DEMO_POLICY_DAY = 60
#: Days an arrest stays on the map (arrests are rare in a small city; one day would show almost none).
ARREST_DAYS_SHOWN = 7

#: Levers the lecturer moves while the market runs: registry name -> (label, slider low, high, step).
LIVE_LEVERS: dict[str, tuple[str, float, float, float]] = {
    "severity_multiplier": ("Sentence severity (x prison terms)", 0.0, 5.0, 0.1),
    "detection_multiplier": ("Street detection (x today's)", 0.0, 10.0, 0.1),
    "conviction_probability": ("Conviction probability", 0.0, 1.0, 0.01),
    "block_delay": ("Days to block a found storefront", 0, 365, 1),
    "coordination": ("Coordination between agencies", 0.0, 1.0, 0.01),
    "precursor_interdiction": ("Precursor control (share intercepted)", 0.0, 1.0, 0.01),
    "prevention": ("Prevention (cut in new users)", 0.0, 1.0, 0.01),
}

#: Shocks: storefronts blocked at once, sentence multiplier, crackdown strength and length.
BLOCK_LARGEST = 3
PENALTY_FACTOR = 2.0
CRACKDOWN_FACTOR = 3.0
CRACKDOWN_DAYS = 30

SCENARIO_FOLDER = Path(__file__).resolve().parents[3] / "scenarios"
DEFAULTS = "registry defaults"


def shipped_scenarios(extra: str | Path | None = None) -> dict[str, Path | None]:
    """The scenarios the page offers, by their ``name``: the shipped ones, and ``extra`` first if given.

    Without any scenario file (an installed package has no ``scenarios/``), the
    registry defaults are offered as ``DEFAULTS``.

    Raises:
        ParameterError: if ``extra`` (or a shipped file) cannot be loaded.
    """
    files = [Path(extra).resolve()] if extra else []
    files += sorted(SCENARIO_FOLDER.glob("*.toml"), key=lambda f: (f.stem != "baseline", f.stem))
    found: dict[str, Path | None] = {}
    for file in files:
        name = load_scenario(file)["scenario_name"]
        if name in found:
            if found[name] == file:
                continue
            name = f"{name} ({file.name})"
        found[name] = file
    return found or {DEFAULTS: None}


def demo_params(scenario: str | Path | None, policy_start_day: int = DEMO_POLICY_DAY) -> dict[str, Any]:
    """Parameters of the demo city: the scenario's (or the defaults), in the demo's city, its policy from the day."""
    params = load_scenario(scenario) if scenario is not None else resolve()
    params.pop("scenario_name", None)
    params.update(validate({**DEMO_CITY, "policy_start_day": policy_start_day}, "demo"))
    return params


class MapMark(FixedAgent):
    """A mark on the city map: a pile of stashes, a courier at work, or an arrest.

    Marks belong to the view, not the market: they are redrawn every day from
    the market's state and never act.
    """

    def __init__(self, model: DemoMarket, district: int, kind: str, count: int = 1, spot: float = 0.0):
        super().__init__(model)
        self.kind = kind
        self.count = count
        self.district = district
        x, y = model.district_xy(district)
        # Spread marks within their district so that they do not cover each other.
        self.x = x + (0.0 if kind == "stashes" else 0.36 * np.cos(spot))
        self.y = y + (0.0 if kind == "stashes" else 0.36 * np.sin(spot))
        self.cell = model.grid[(x, y)]


class DemoMarket(KladMarket):
    """The klad market of the demo's small city, with marks, storefront snapshot, live levers and shocks.

    Args:
        preset: a scenario ``name`` from ``scenarios`` (default: the first) or a scenario file. (Not
            ``scenario``: Mesa models have a ``scenario`` of their own, which Mesa's reset passes on.)
        seed: the run's seed.
        policy_start_day: day the scenario's ``[policy]`` levers switch on.
        scenarios: names -> files the ``preset`` is looked up in (default: the shipped ones).
    """

    def __init__(
        self,
        preset: str | None = None,
        seed: int = 1,
        policy_start_day: int = DEMO_POLICY_DAY,
        *,
        scenarios: dict[str, Path | None] | None = None,
    ):
        scenarios = shipped_scenarios() if scenarios is None else scenarios
        preset = next(iter(scenarios)) if preset is None else preset
        if preset in scenarios:
            file = scenarios[preset]
        elif Path(preset).is_file():
            file = Path(preset)
        else:
            raise ParameterError(f"demo: unknown scenario {preset!r}; allowed are {', '.join(scenarios)}")
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ParameterError(f"demo: seed = {seed!r} is invalid: allowed is a whole number of at least 0")
        super().__init__(demo_params(file, policy_start_day), rng=seed)
        self.scenario_name = load_scenario(file)["scenario_name"] if file is not None else DEFAULTS
        self.scenario_policy = dict(self.policy)  # what the scenario changes on its policy day, for the page
        self.seed = seed
        self.grid = self.city.grid  # where Mesa's space renderer looks for the space
        self.lock = threading.RLock()  # the page's buttons, its drawing and the play loop run in different threads
        self.events: list[tuple[int, str]] = []  # (day, what) of every change, for the charts
        self._arrests: deque[tuple[int, np.ndarray]] = deque(maxlen=ARREST_DAYS_SHOWN)
        self._couriers_today: tuple[np.ndarray, np.ndarray] = (np.zeros(0, np.int64), np.zeros(0, np.int64))
        self.marks: list[MapMark] = []
        self._draw_marks()

    # ----------------------------------------------------------------- the day
    def step(self) -> None:
        """One day of the market, then the map and the storefronts are redrawn."""
        with self.lock:
            pending = not self.policy_active and bool(self.policy)
            cracking = bool(self.crackdowns)
            super().step()
            if pending and self.policy_active:
                self.events.append((self.day, f"{self.scenario_name} policy"))
            if cracking and not self.crackdowns:
                self.events.append((self.day, "crackdown ends"))
            self._arrests.append(
                (self.day, np.concatenate([self.arrest_districts["courier"], self.arrest_districts["buyer"]]))
            )
            self._draw_marks()

    def work_couriers(self, hazards: dict) -> Round:
        """As in the market; also notes where each courier at work laid his last stash today."""
        laid = super().work_couriers(hazards)
        couriers, last = np.unique(laid.laid_courier[::-1], return_index=True)
        # A courier keeps his place on the map by his uid (his row may change when the roster is compacted).
        self._couriers_today = (self.couriers.uid[couriers], laid.laid_district[::-1][last])
        return laid

    # ------------------------------------------------------------ levers now
    def set_lever(self, name: str, value: Any, note: bool = True) -> Any:
        """Set a policy lever from the next day on; it replaces the scenario's pending value for it.

        Returns:
            The value now in force (checked and converted by the registry).

        Raises:
            ParameterError: if ``name`` is not a lever or ``value`` is not allowed.
        """
        value = validate({name: value}, "demo", levers_only=True)[name]
        with self.lock:
            happen(self, {"day": self.steps, "action": "set", "params": {name: value}})  # a 'set' event, now
            self.policy.pop(name, None)  # the lecturer's word is the last one
            if note:
                shown = str(value).lower() if isinstance(value, bool | str) else f"{value:g}"
                self._note(f"{name} = {shown}")
        return value

    def block_largest_storefronts(self, n: int = BLOCK_LARGEST) -> dict[str, Any]:
        """The event ``block_storefronts`` of the ``n`` largest open storefronts, on the next day.

        Returns:
            The event, as scheduled.
        """
        with self.lock:
            event = self.schedule({"action": "block_storefronts", "largest": n})
            self._note(f"{n} storefronts blocked")
        return event

    def raise_penalties(self, factor: float = PENALTY_FACTOR) -> float:
        """Multiply prison terms by ``factor`` (within the registry's range) and imprison buyers, from the next day.

        Returns:
            The new severity multiplier.
        """
        top = REGISTRY["severity_multiplier"].high
        severity = self.set_lever("severity_multiplier", min(top, self.p.severity_multiplier * factor), False)
        self.set_lever("buyer_imprisonment", True, False)
        with self.lock:
            self._note(f"penalties x{factor:g}")
        return severity

    def start_crackdown(self, factor: float = CRACKDOWN_FACTOR, days: int = CRACKDOWN_DAYS) -> None:
        """The event ``crackdown``: the police budget times ``factor`` for ``days`` days from the next day.

        A second press while one is on extends it instead of multiplying again.
        """
        with self.lock:
            if self.crackdowns:
                self.crackdowns[-1] = (self.steps + 1 + days, self.crackdowns[-1][1])
            elif not any(e["action"] == "crackdown" for e in self.timeline):
                self.schedule({"action": "crackdown", "police_multiplier": factor, "duration": days})
            self._note(f"crackdown x{factor:g}")

    def _note(self, text: str) -> None:
        """Remember an action on the day it takes effect (the next day run), merging repeats of that day."""
        day = self.steps + 1
        key = text.split(" = ")[0]
        self.events = [(d, t) for d, t in self.events if not (d == day and t.split(" = ")[0] == key)]
        self.events.append((day, text))

    # ------------------------------------------------------------------ view
    @property
    def days_recorded(self) -> int:
        """Days whose metrics the data collector holds."""
        return len(self.datacollector.tables["daily"]["grams_sold"])

    def district_xy(self, district: int) -> tuple[int, int]:
        """Grid cell of a district (see ``City``)."""
        height = self.city.shape[1]
        return int(district) // height, int(district) % height

    def storefronts(self) -> list[dict[str, Any]]:
        """One row per shop in business: its storefront's state, mirrors, orders, couriers and price."""
        shops = self.shops
        working = self.couriers.working_by_shop(len(shops))
        rows = []
        for shop in np.flatnonzero(shops.active):
            state = int(shops.storefront[shop])
            if state == Storefront.OPEN:
                status = "open"
            elif state == Storefront.DETECTED:
                status = f"found: blocked on day {max(int(shops.storefront_day[shop]), self.steps + 1)}"
            else:
                status = f"blocked: mirror on day {max(int(shops.storefront_day[shop]), self.steps + 1)}"
            rows.append(
                {
                    "shop": int(shop) + 1,
                    "state": ("open", "found", "blocked")[state],
                    "status": status,
                    "mirrors": int(shops.mirrors[shop]),
                    "orders": float(shops.orders[shop]),
                    "couriers": int(working[shop]),
                    "price": float(shops.price[shop]),
                    "abroad": bool(shops.abroad[shop]),
                }
            )
        return rows

    def _draw_marks(self) -> None:
        """Replace yesterday's marks: stash piles by district, couriers at work, arrests of the last week."""
        for mark in self.marks:
            mark.remove()
        present = self.stashes.district[self.stashes.state == StashState.PRESENT]
        piles = np.bincount(present, minlength=self.city.n_districts)
        marks = [MapMark(self, d, "stashes", int(piles[d])) for d in np.flatnonzero(piles)]
        couriers, districts = self._couriers_today
        # A courier keeps his place in a district from day to day (the golden angle spreads them).
        marks += [MapMark(self, d, "courier", spot=2.39996 * c) for c, d in zip(couriers, districts, strict=True)]
        for day, arrested in self._arrests:
            if self.steps - day < ARREST_DAYS_SHOWN:
                marks += [MapMark(self, d, "arrest", spot=1.0 + 2.39996 * (day + i)) for i, d in enumerate(arrested)]
        self.marks = marks


def serve(host: str = "127.0.0.1", port: int = 8765, *, open_browser: bool = False) -> None:
    """Serve the demo page (``sim.app.demo.page``) with Solara until interrupted.

    The page's scripts and fonts come from the installed ``solara-assets``, and
    Solara's usage statistics and version check are off: the demo needs no network
    beyond the browser's connection to ``host``.
    """
    os.environ["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] = "False"
    os.environ.setdefault("MPLBACKEND", "Agg")
    from solara.__main__ import run  # imported here: Solara is slow to import and only the demo needs it

    args = ["sim.app.demo.page", "--host", host, "--port", str(port), "--production", "--no-check-version"]
    args += ["--open" if open_browser else "--no-open", "--log-level-uvicorn", "warning", "--no-access-log"]
    run.main(args, prog_name="klad demo", standalone_mode=False)
