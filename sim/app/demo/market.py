"""The classroom demo: the klad market of a small city, live in the browser.

``DemoMarket`` is the market a class watches (``klad demo``; the page itself is
``sim.app.demo.page``). It adds to ``KladMarket`` only what watching needs:

- a small city (``DEMO_CITY``), so that a day takes about a millisecond;
- what the city map shows: stashes lying in each district, the couriers at
  work today and the street arrests of the last week (``map_marks``);
- a snapshot of every storefront (open, found and still open, blocked; its
  mirrors), and the shops in each state on every day;
- levers that act *now* (``set_lever``) and three policy shocks
  (``block_largest_storefronts``, ``raise_penalties``, ``start_crackdown``),
  each noted in plain words in ``events`` so that the charts can mark it.

Everything the market does is still ``KladMarket.step``; parameter values go
through the registry (``sim.params``), so a value out of range cannot enter.
A ``DemoMarket`` is driven by one thread at a time (``sim.app.demo.session``).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import warnings
from collections import deque
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from sim.io.config import Scenario, load_scenario, scenario_of
from sim.model.market import KladMarket
from sim.model.roles.shops import Storefront
from sim.params import REGISTRY, ParameterError, resolve, validate
from sim.timeline import BlockStorefronts, Crackdown, SetParams

#: The demo's city: a fifth of the default one, with the same market per buyer
#: (couriers scale with buyers; six shops so that the storefront panel has some).
DEMO_CITY = {"n_buyers": 2_000, "n_shops": 6, "n_couriers": 48, "n_labs": 2}
#: Day the scenario's policy switches on in the demo: the small city settles in about a month.
DEMO_POLICY_DAY = 60
#: Days an arrest stays on the map (arrests are rare in a small city; one day would show almost none).
ARREST_DAYS_SHOWN = 7
#: Couriers and arrests sit around their district's centre at this distance (in districts), each turned by the
#: golden angle (radians) from the last, so that they seldom cover each other.
MARK_RADIUS = 0.36
GOLDEN_ANGLE = 2.39996


class Lever(NamedTuple):
    """A policy lever as the page shows it: in words a class understands, never by its parameter name.

    Its slider snaps to ``stops``, round values from the lowest the registry allows to the highest (and
    today's value, the registry's default, among them), so that a class reads "x1.5", never "x4.2".
    """

    label: str  # above its slider
    stops: tuple[float, ...]  # the values the slider offers, in order: the registry's low first, its high last
    note: str  # what the list of changes says, formatted with the value
    shown: str = "x{:g}"  # how the slider shows a value
    percent: bool = False  # a share or a chance, shown as a percentage

    @property
    def low(self) -> float:
        """The lowest value the slider offers (the registry's lowest)."""
        return self.stops[0]

    @property
    def high(self) -> float:
        """The highest value the slider offers (the registry's highest)."""
        return self.stops[-1]

    def show(self, value: float) -> str:
        """The value as the slider shows it ("x1.5", "90%", "14 days")."""
        return f"{value:.0%}" if self.percent else self.shown.format(value)

    def nearest(self, value: float) -> int:
        """The slider's position (the index of a stop) nearest to ``value``."""
        return int(np.argmin([abs(stop - value) for stop in self.stops]))


def _steps(low: float, high: float, step: float, *extra: float) -> tuple[float, ...]:
    """Stops from ``low`` to ``high`` every ``step``, with ``extra`` values among them (rounded to 1e-9)."""
    count = round((high - low) / step)
    return tuple(sorted({round(low + i * step, 9) for i in range(count + 1)} | {float(x) for x in extra}))


#: Levers the lecturer moves while the market runs: registry name -> how the page shows it.
LIVE_LEVERS: dict[str, Lever] = {
    "severity_multiplier": Lever("Prison terms (x what the law says)", _steps(0.0, 5.0, 0.5), "prison terms x{:g}"),
    "detection_multiplier": Lever(
        "Street patrols spot couriers and stashes (x today's rate)",
        (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 7.0, 10.0), "street detection x{:g}",
    ),
    "conviction_probability": Lever(
        "Chance that a case ends in a conviction", _steps(0.0, 1.0, 0.1, 0.67), "conviction chance {:.0%}",
        percent=True,
    ),
    "block_delay": Lever(
        "Days to block a storefront once it is found", (0, 1, 2, 3, 5, 7, 10, 14, 21, 30, 45, 60, 90, 180, 365),
        "storefronts blocked after {:g} days", shown="{:g} days",
    ),
    "coordination": Lever(
        "Agencies share their leads", _steps(0.0, 1.0, 0.1), "agencies share {:.0%} of leads", percent=True
    ),
    "precursor_interdiction": Lever(
        "Lab chemicals stopped at the border", _steps(0.0, 1.0, 0.1, 0.05), "{:.0%} of lab chemicals stopped",
        percent=True,
    ),
    "prevention": Lever(
        "Prevention: fewer people start using", _steps(0.0, 1.0, 0.1), "prevention: {:.0%} fewer start", percent=True
    ),
}  # fmt: skip
#: The one yes/no lever: buyers go to prison instead of paying a fine.
BUYER_PRISON = "buyer_imprisonment"
BUYER_PRISON_LABEL = "Prison for buyers (instead of a fine)"

#: The states of a shop's storefront, as the page says them: every shop in business is in exactly one. A found
#: storefront still sells until it is blocked (after the blocking delay); a blocked one comes back as a mirror.
STOREFRONT_STATES: dict[str, str] = {"open": "open", "found": "found and still open", "blocked": "blocked"}

#: Shocks: storefronts blocked at once, sentence multiplier, crackdown strength and length.
BLOCK_LARGEST = 3
PENALTY_FACTOR = 2.0
CRACKDOWN_FACTOR = 3.0
CRACKDOWN_DAYS = 30

SCENARIO_FOLDER = Path(__file__).resolve().parents[3] / "scenarios"
DEFAULTS = "registry defaults"


def lever_note(name: str, value: Any) -> str:
    """A lever's new value in plain words, as the charts and the list of changes say it."""
    if name == BUYER_PRISON:
        return "prison for buyers" if value else "fines for buyers"
    if name in LIVE_LEVERS:
        return LIVE_LEVERS[name].note.format(value)
    return REGISTRY[name].doc.rstrip(".").lower() + f": {value}"  # a lever the page has no slider for


class Mark(NamedTuple):
    """Something that happened to the market on a day, for the charts and the list of changes."""

    day: int  # the first day it acts on
    text: str
    change: bool = True  # a change of policy (the lecturer's or the scenario's), not its end
    lever: str | None = None  # the lever moved, if one was: a second move on the same day replaces the first


class MapMarks(NamedTuple):
    """Where the city map puts its marks today: grid coordinates (x, y), and each stash pile's size."""

    stashes: np.ndarray  # (n, 2)
    stash_counts: np.ndarray  # (n,)
    couriers: np.ndarray  # (n, 2)
    arrests: np.ndarray  # (n, 2)


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
        name = load_scenario(file).name
        if name in found:
            if found[name] == file:
                continue
            name = f"{name} ({file.name})"
        found[name] = file
    return found or {DEFAULTS: None}


def demo_params(scenario: Scenario | str | Path | None, policy_start_day: int = DEMO_POLICY_DAY) -> dict[str, Any]:
    """Parameters of the demo city: the scenario's (or the defaults), in the demo's city, its policy from the day."""
    params = scenario_of(scenario).as_dict() if scenario is not None else resolve()
    params.pop("scenario_name", None)
    params.update(validate({**DEMO_CITY, "policy_start_day": policy_start_day}, "demo"))
    return params


class DemoMarket(KladMarket):
    """The klad market of the demo's small city, with map marks, storefront snapshot, live levers and shocks.

    Args:
        preset: a scenario ``name`` from ``scenarios`` (default: the first) or a scenario file. (Not
            ``scenario``: Mesa models have a ``scenario`` of their own.)
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
        scenario = load_scenario(file) if file is not None else None  # the file, read once
        super().__init__(demo_params(scenario, policy_start_day), rng=seed)
        self.scenario_name = scenario.name if scenario is not None else DEFAULTS
        self.scenario_policy = dict(self.policy)  # what the scenario changes on its policy day, for the page
        self.scenario_description = scenario.description if scenario is not None else ""
        self.seed = seed
        self.events: list[Mark] = []  # every change and its end, for the charts
        self._arrests: deque[tuple[int, np.ndarray]] = deque(maxlen=ARREST_DAYS_SHOWN)
        self._storefront_days: list[tuple[int, ...]] = []  # each day's shops by storefront state (one per state)
        self._couriers_today: tuple[np.ndarray, np.ndarray] = (np.zeros(0, np.int64), np.zeros(0, np.int64))

    # ----------------------------------------------------------------- the day
    def step(self) -> None:
        """One day of the market; the policy's start, a crackdown's end and the day's arrests are noted."""
        pending = not self.policy_active and bool(self.policy)
        cracking = self.police.in_crackdown()
        super().step()
        if pending and self.policy_active:
            self.events.append(Mark(self.day, f"policy of '{self.scenario_name}' starts"))
        if cracking and not self.police.in_crackdown():
            self.events.append(Mark(self.day, "crackdown ends", change=False))
        assert self.street is not None  # super().step() has just set it
        laid, sales = self.street
        self._arrests.append((self.day, np.concatenate([laid.arrested_district, sales.arrest_districts])))
        # Where each courier at work laid his last stash today; a courier keeps his place on the map by his uid.
        couriers, last = np.unique(laid.laid_uid[::-1], return_index=True)
        self._couriers_today = (couriers, laid.laid_district[::-1][last])
        self._storefront_days.append(self.shops.storefront_counts())

    # ------------------------------------------------------------ levers now
    def set_lever(self, name: str, value: Any, note: bool = True) -> Any:
        """Set a policy lever from the next day on; it replaces the scenario's pending value for it.

        Returns:
            The value now in force (checked and converted by the registry).

        Raises:
            ParameterError: if ``name`` is not a lever or ``value`` is not allowed.
        """
        value = validate({name: value}, "demo", levers_only=True)[name]
        SetParams.apply(self, {"params": {name: value}})  # a 'set' event, now
        self.policy.pop(name, None)  # the lecturer's word is the last one
        if note:
            self._note(lever_note(name, value), lever=name)
        return value

    def block_largest_storefronts(self, n: int = BLOCK_LARGEST) -> dict[str, Any]:
        """The event ``block_storefronts`` of the ``n`` largest open storefronts, on the next day.

        Returns:
            The event, as scheduled.
        """
        event = self.schedule({"action": BlockStorefronts.action, "largest": n})
        self._note(f"{n} largest storefronts blocked")
        return event

    def raise_penalties(self, factor: float = PENALTY_FACTOR) -> float:
        """Multiply prison terms by ``factor`` (within the registry's range) and imprison buyers, from the next day.

        Returns:
            The new severity multiplier.
        """
        top = REGISTRY["severity_multiplier"].bounds[1]
        severity = self.set_lever("severity_multiplier", min(top, self.p.severity_multiplier * factor), False)
        self.set_lever(BUYER_PRISON, True, False)
        self._note(f"penalties x{factor:g}, prison for buyers")
        return severity

    def start_crackdown(self, factor: float = CRACKDOWN_FACTOR, days: int = CRACKDOWN_DAYS) -> None:
        """The event ``crackdown``: the police budget times ``factor`` for ``days`` days from the next day.

        A second press while one is on extends it instead of multiplying again.
        """
        if self.police.in_crackdown():
            self.police.extend_crackdown(self.steps + 1 + days)
        elif not any(e["action"] == Crackdown.action for e in self.timeline):
            self.schedule({"action": Crackdown.action, "police_multiplier": factor, "duration": days})
        self._note(f"police crackdown x{factor:g} for {days} days")

    def _note(self, text: str, lever: str | None = None) -> None:
        """Remember a change on the day it takes effect (the next day run); a lever moved twice that day, once."""
        day = self.steps + 1
        if lever is not None:
            self.events = [e for e in self.events if not (e.day == day and e.lever == lever)]
        self.events.append(Mark(day, text, lever=lever))

    # ------------------------------------------------------------------ view
    @property
    def days_recorded(self) -> int:
        """Days whose metrics the data collector holds."""
        return len(self.datacollector.tables["daily"]["grams_sold"])

    def policy_words(self) -> str:
        """What the scenario's own policy changes, in words (its file's description, else each lever's note)."""
        if not self.scenario_policy:
            return ""
        return self.scenario_description or ", ".join(lever_note(k, v) for k, v in self.scenario_policy.items())

    def district_xy(self, district: int | np.ndarray) -> tuple[Any, Any]:
        """Grid cell (x, y) of a district or of an array of districts (see ``City``)."""
        height = self.city.shape[1]
        return np.asarray(district) // height, np.asarray(district) % height

    def map_marks(self) -> MapMarks:
        """Where the map's marks go today: stash piles by district, couriers at work, arrests of the last week.

        Couriers and arrests are spread around their district's centre so that they do not cover each
        other; a courier keeps his place from day to day (the golden angle, by his uid).
        """
        piles = self.stashes.present_by_district(self.city.n_districts)
        districts = np.flatnonzero(piles)
        couriers, courier_districts = self._couriers_today
        arrested = [(day, d) for day, ds in self._arrests if self.steps - day < ARREST_DAYS_SHOWN for d in ds]
        arrest_angles = np.array([1.0 + GOLDEN_ANGLE * (day + i) for i, (day, _) in enumerate(arrested)])
        arrest_districts = np.array([d for _, d in arrested], dtype=np.int64)
        return MapMarks(
            stashes=np.column_stack(self.district_xy(districts)).astype(float),
            stash_counts=piles[districts],
            couriers=self._spread(courier_districts, GOLDEN_ANGLE * couriers),
            arrests=self._spread(arrest_districts, arrest_angles),
        )

    def _spread(self, districts: np.ndarray, angles: np.ndarray) -> np.ndarray:
        x, y = self.district_xy(districts)
        return np.column_stack([x + MARK_RADIUS * np.cos(angles), y + MARK_RADIUS * np.sin(angles)])

    def storefront_days(self) -> np.ndarray:
        """The shops in business on each day run (day 1 first) by their storefront's state at the day's end.

        One row a day, one column a state in the order of ``STOREFRONT_STATES`` (open, found and still open,
        blocked); a row sums to the day's shops in business (``active_shops``).
        """
        return np.asarray(self._storefront_days, dtype=np.int64).reshape(-1, len(STOREFRONT_STATES))

    def storefronts(self) -> list[dict[str, Any]]:
        """One row per shop in business: its storefront's state, mirrors, orders, couriers and price.

        ``state`` is a key of ``STOREFRONT_STATES``; ``status`` says it with the day of what comes next.
        """
        shops = self.shops
        working = self.couriers.working_by_shop(len(shops))
        rows = []
        for shop in np.flatnonzero(shops.active):
            state, day, mirrors = shops.storefront_of(int(shop))
            due = max(day, self.steps + 1)
            if state == Storefront.OPEN:
                status = "open"
            elif state == Storefront.DETECTED:
                status = f"found, blocked on day {due}"
            else:
                status = f"blocked, mirror on day {due}"
            rows.append(
                {
                    "shop": int(shop) + 1,
                    "state": tuple(STOREFRONT_STATES)[state],
                    "status": status,
                    "mirrors": mirrors,
                    "orders": float(shops.orders[shop]),
                    "couriers": int(working[shop]),
                    "price": float(shops.price[shop]),
                    "abroad": bool(shops.abroad[shop]),
                }
            )
        return rows


#: Seconds the process may take to end after Ctrl-C before it is ended outright.
EXIT_SECONDS = 3.0


def serve(host: str = "127.0.0.1", port: int = 8765, *, open_browser: bool = False) -> None:
    """Serve the demo page (``sim.app.demo.page``) with Solara until interrupted; Ctrl-C ends it within seconds.

    The page's scripts and fonts come from the installed ``solara-assets``, and
    Solara's usage statistics and version check are off: the demo needs no network
    beyond the browser's connection to ``host``. The server runs in a thread, so
    that the main thread sees Ctrl-C at once; after it, the process ends within
    ``EXIT_SECONDS`` even if a page still holds the server.
    """
    os.environ["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] = "False"
    os.environ.setdefault("SOLARA_THEME_SHOW_BANNER", "False")  # Solara's badge covered a chart
    os.environ.setdefault("SOLARA_THEME_TITLE", "klad market: classroom demo")
    # A page gone without closing (a lost connection) keeps its market this long, then it is freed.
    os.environ.setdefault("SOLARA_KERNEL_CULL_TIMEOUT", "60s")
    os.environ.setdefault("MPLBACKEND", "Agg")
    # Solara would warn at every page load that a cookie cannot be cross-site without https: the demo is not
    # embedded in other sites, so its same-site cookie is what it needs.
    warnings.filterwarnings("ignore", message="Cookies with samesite=none require https", category=UserWarning)
    from solara.__main__ import run  # imported here: Solara is slow to import and only the demo needs it

    args = ["sim.app.demo.page", "--host", host, "--port", str(port), "--production", "--no-check-version"]
    args += ["--open" if open_browser else "--no-open", "--log-level-uvicorn", "warning", "--no-access-log"]
    failed: list[BaseException] = []

    def run_server() -> None:
        try:
            run.main(args, prog_name="klad demo", standalone_mode=False)
        except BaseException as exc:  # handed to the main thread, which raises it
            failed.append(exc)

    server = threading.Thread(target=run_server, name="klad-demo-server", daemon=True)
    server.start()
    try:
        while server.is_alive():
            server.join(0.5)
    except KeyboardInterrupt:
        _exit_soon(EXIT_SECONDS)
        raise
    if failed:
        raise failed[0]


def _exit_soon(seconds: float) -> None:
    """End the process in ``seconds`` whatever still runs (a page's thread, a server waiting for a connection)."""

    def end() -> None:
        sys.stderr.flush()
        sys.stdout.flush()
        os._exit(128 + signal.SIGINT)

    timer = threading.Timer(seconds, end)
    timer.daemon = True
    timer.start()
