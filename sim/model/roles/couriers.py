"""Couriers ("zakladchiki"): who takes the job, who quits, and the working day.

Couriers are drawn from a pool of mostly young candidates reached by online
job ads [001 L41, L121]. A candidate weighs the expected pay against a
reservation wage plus the *perceived* expected cost of punishment, which uses
the perceived daily arrest risk (learned from arrests among peers), the
perceived chance of conviction, and the sentence discounted at the
candidate's own annual discount factor (docs/ODD.md, section 2.2). A working
courier collects a batch of 10-20 stashes [001 L180], lays them in districts,
and at each placement risks being seen by patrol or traced digitally; caught,
he loses the rest of the batch.

Where to change how a courier decides to take or keep the job: ``job_margin``
below. Hiring, day-0 hiring, quitting and the Python API (``willing``) all call
it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from sim.model.deterrence import discounted_years, observe_peers
from sim.model.engine.compiled import inline, jit
from sim.model.engine.draws import cdf
from sim.model.engine.elementary import lognormal, power
from sim.model.engine.roster import Field, Roster, RosterAgent
from sim.model.world.contacts import NEVER
from sim.model.world.justice import Role, served_days
from sim.model.world.sanctions import Offence, courier_offence, draw_sentences, mean_sentence
from sim.model.world.stashes import StashState

if TYPE_CHECKING:
    from sim.model.roles.police import Hazards


class CourierState(IntEnum):
    """Where a courier (or a candidate) stands."""

    CANDIDATE = 0  # in the pool reached by job ads
    WORKING = 1  # employed by a shop
    PENDING = 2  # arrested, waiting for the forensic result
    PRISON = 3  # serving a sentence
    GONE = 4  # left for good (aged out of the pool, reached his target income, fled or did not come back)


class Courier(RosterAgent):
    """A courier or courier candidate: a view of one row of ``CourierRoster``."""

    fields = {
        "state": Field(np.int8, CourierState.CANDIDATE, "a CourierState"),
        "shop": Field(np.int64, -1, "the shop's row while working, else -1"),
        "reservation_wage": Field(float, 0.0, "KZT/day of legal income forgone"),
        "discount_factor": Field(float, 0.7, "annual discount factor"),
        "risk_aversion": Field(float, 1.0, "weight of expected punishment"),
        "perceived_risk": Field(float, 0.0, "perceived arrest probability per working day"),
        "income": Field(float, 0.0, "KZT earned in the current job"),
        "target_income": Field(float, 0.0, "KZT after which he quits for good"),
        "repeat": Field(bool, False, "has a previous conviction"),
        "hired_day": Field(np.int64, -1, "day the current or last job began, -1 if never hired"),
        "hired_by": Field(np.int64, -1, "the shop of that job"),
        "seen_day": Field(np.int64, NEVER, "last day he worked for a shop (sim.model.world.contacts)"),
        "contact_day": Field(np.int64, NEVER, "last day he was arrested (sim.model.world.contacts)"),
    }


# ----------------------------------------------------------------- the rules
class JobCost(NamedTuple):
    """What the job costs each row, per calendar day (the inputs of ``punishment`` and ``job_margin``)."""

    repeat: np.ndarray
    discount_factor: np.ndarray
    reservation_wage: np.ndarray
    perceived_risk: np.ndarray
    risk_aversion: np.ndarray
    first_years: float  # mean sentence of a first offence, years
    repeat_years: float  # mean sentence of a repeat offence, years
    scale: float  # work share x perceived conviction x prison_year_cost x 365 (days of wage in a prison year)


@inline
def punishment(i, cost):
    """Row ``i``'s perceived expected cost of punishment per calendar day of work, in KZT.

    Perceived daily arrest risk x perceived conviction x the sentence (repeat
    or first offence) discounted at the row's own factor x the value of a year
    of freedom, weighed by risk aversion.
    """
    years = cost.repeat_years if cost.repeat[i] else cost.first_years
    lost = discounted_years(years, cost.discount_factor[i])
    return cost.risk_aversion[i] * cost.perceived_risk[i] * cost.scale * lost * cost.reservation_wage[i]


@inline
def job_margin(i, daily_pay, cost):
    """How much a job paying ``daily_pay`` KZT a day beats row ``i``'s reservation wage plus punishment.

    The one rule by which a courier takes a job (margin > 0), keeps it, and by
    which the day-0 couriers are the most willing candidates.
    """
    return daily_pay - (cost.reservation_wage[i] + punishment(i, cost))


@jit
def job_margins(rows, daily_pay, cost):
    """``job_margin`` of each of ``rows`` at its ``daily_pay``."""
    out = np.empty(len(rows))
    for j in range(len(rows)):
        out[j] = job_margin(rows[j], daily_pay[j], cost)
    return out


@jit
def punishments(rows, cost):
    """``punishment`` of each of ``rows``."""
    out = np.empty(len(rows))
    for j in range(len(rows)):
        out[j] = punishment(rows[j], cost)
    return out


class Staff(NamedTuple):
    """The columns that hiring and quitting change."""

    state: np.ndarray
    shop: np.ndarray
    income: np.ndarray
    target_income: np.ndarray
    hired_day: np.ndarray
    hired_by: np.ndarray


class JobAds(NamedTuple):
    """Today's job ads: who sees one, from which shop, for what pay."""

    reach: float  # chance a candidate sees an ad today
    vacancies: np.ndarray  # open jobs by shop
    cdf: np.ndarray  # cumulative vacancies: the shop whose ad a candidate sees
    daily_pay: np.ndarray  # expected KZT per calendar day, by shop


@jit
def hire(uniforms, staff, ads, cost, today, order):
    """Candidates who see a job ad take it when ``job_margin`` > 0, until each shop's vacancies are filled.

    The candidate rows are served in ``order`` (the caller rotates it each
    day, so no candidate is first every day); the ``k``-th served sees an
    ad when ``uniforms[k] < ads.reach``, from the shop that ``uniforms[k] /
    ads.reach`` (again uniform) draws from ``ads.cdf``. Each shop hires its
    first willing readers. A hired row works for the shop with no income yet,
    from ``today``.

    Returns:
        hires by shop.
    """
    hires = np.zeros(len(ads.vacancies), dtype=np.int64)
    last = len(ads.cdf) - 1
    for k in range(len(order)):
        i = order[k]
        u = uniforms[k]
        if u >= ads.reach or last < 0:
            continue
        s = min(np.searchsorted(ads.cdf, u / ads.reach, side="right"), last)
        if hires[s] >= ads.vacancies[s]:
            continue
        if job_margin(i, ads.daily_pay[s], cost) > 0.0:
            staff.state[i] = CourierState.WORKING
            staff.shop[i] = s
            staff.income[i] = 0.0
            staff.hired_day[i] = today
            staff.hired_by[i] = s
            hires[s] += 1
    return hires


@jit
def quit_jobs(staff, daily_pay, cost):
    """Working rows leave: for good once their income reaches their target, else to the pool when the margin is gone.

    ``daily_pay`` is by shop. Returns the number who left.
    """
    left = 0
    for i in range(len(staff.state)):
        if staff.state[i] != CourierState.WORKING:
            continue
        if staff.income[i] >= staff.target_income[i]:
            staff.state[i] = CourierState.GONE
        elif not job_margin(i, daily_pay[staff.shop[i]], cost) > 0.0:
            staff.state[i] = CourierState.CANDIDATE
        else:
            continue
        staff.shop[i] = -1
        left += 1
    return left


def leave_pool(uniforms, state, chance):
    """The ``k``-th candidate row leaves the pool for good (ages out, other work) when ``uniforms[k] < chance``."""
    candidates = np.flatnonzero(state == CourierState.CANDIDATE)
    state[candidates[uniforms < chance]] = CourierState.GONE


class Batches(NamedTuple):
    """Who goes out today: courier rows, their shops, batch sizes, and where digital tracing catches each."""

    rows: np.ndarray
    shop: np.ndarray
    batch: np.ndarray
    traced_at: np.ndarray  # the placement where tracing catches him; ``batch`` if not traced


class Shift(NamedTuple):
    """How couriers work: the share of days they go out, the batch range, and today's digital tracing hazards."""

    work_share: float
    batch_min: int
    batch_max: int
    digital: float  # daily chance a courier going out is traced
    digital_known: float  # the same for a courier with a previous conviction (agencies share records)


@jit
def plan_batches(uniforms, state, shop, repeat, need, shift):
    """Which working rows go out today, with how many stashes, and where digital tracing reaches them.

    The ``k``-th working row uses ``uniforms[k]``: it works today when
    ``[k, 0] < work_share``, and draws a batch uniform on ``batch_min ..
    batch_max`` with ``[k, 1]``. In row order, a shop's couriers take batches
    until its ``need`` is met (the last one takes what is left, the rest stay
    home). A courier going out is traced with chance ``digital`` (``[k, 2]``),
    ``digital_known`` if he has a previous conviction (``repeat``), at a
    uniform placement of his batch (``[k, 3]``).
    """
    work_share, batch_min, batch_max = shift.work_share, shift.batch_min, shift.batch_max
    taken = np.zeros(len(need), dtype=np.int64)
    rows = np.empty(len(uniforms), dtype=np.int64)
    batch = np.empty(len(uniforms), dtype=np.int64)
    traced_at = np.empty(len(uniforms), dtype=np.int64)
    sizes = batch_max - batch_min + 1
    n = 0
    k = 0
    for i in range(len(state)):
        if state[i] != CourierState.WORKING:
            continue
        u = uniforms[k]
        k += 1
        s = shop[i]
        if u[0] >= work_share or taken[s] >= need[s]:
            continue
        b = min(batch_min + int(u[1] * sizes), need[s] - taken[s])
        taken[s] += b
        rows[n] = i
        batch[n] = b
        traced_at[n] = int(u[3] * b) if u[2] < (shift.digital_known if repeat[i] else shift.digital) else b
        n += 1
    return Batches(rows[:n], shop[rows[:n]], batch[:n], traced_at[:n])


class Placements(NamedTuple):
    """What the couriers' rounds left: per courier, where he was caught; per laid stash, its courier and district."""

    caught_at: np.ndarray  # placement where each courier was caught (``batch`` if not caught)
    caught_district: np.ndarray  # district where each caught courier was caught (-1 if not caught)
    laid_courier: np.ndarray  # index into the day's batches of each laid stash's courier
    laid_district: np.ndarray
    laid_by_shop: np.ndarray
    seized_by_shop: np.ndarray


@jit
def lay_batches(batches, cdf, per_placement, uniforms, n_shops):
    """Couriers hide their batches one stash at a time; the first placement seen by police ends the round.

    Courier ``c`` places ``batches.batch[c]`` stashes, each in a district
    drawn from ``cdf`` (cumulative placement weights) with ``uniforms[k, 0]``;
    the placement is seen with the district's ``per_placement`` hazard
    (against ``uniforms[k, 1]``). He is caught at his first seen placement, or
    at ``traced_at[c]`` if digital tracing reaches him first. Stashes placed
    before the catch are laid; the rest are on him and seized.
    """
    batch, shop, traced_at = batches.batch, batches.shop, batches.traced_at
    n = len(batch)
    total = 0
    for c in range(n):
        total += batch[c]
    caught_at = np.empty(n, dtype=np.int64)
    caught_district = np.full(n, -1, dtype=np.int64)
    laid_courier = np.empty(total, dtype=np.int64)
    laid_district = np.empty(total, dtype=np.int64)
    laid_by_shop = np.zeros(n_shops, dtype=np.int64)
    seized_by_shop = np.zeros(n_shops, dtype=np.int64)
    district = np.empty(max(1, total), dtype=np.int64)
    last = len(cdf) - 1
    k = 0
    n_laid = 0
    for c in range(n):
        b = batch[c]
        caught = min(b, traced_at[c])
        for pos in range(b):
            d = min(np.searchsorted(cdf, uniforms[k, 0], side="right"), last)
            district[pos] = d
            if pos < caught and uniforms[k, 1] < per_placement[d]:
                caught = pos
            k += 1
        for pos in range(caught):
            laid_courier[n_laid] = c
            laid_district[n_laid] = district[pos]
            n_laid += 1
        caught_at[c] = caught
        if caught < b:
            caught_district[c] = district[caught]
        laid_by_shop[shop[c]] += caught
        seized_by_shop[shop[c]] += b - caught
    return Placements(
        caught_at, caught_district, laid_courier[:n_laid], laid_district[:n_laid], laid_by_shop, seized_by_shop
    )


# ------------------------------------------------------------------ the role
@dataclass
class Round:
    """What one working day of the couriers produced."""

    working: int  # couriers who went out
    laid_shop: np.ndarray  # per laid stash: its shop, district and courier row
    laid_district: np.ndarray
    laid_courier: np.ndarray
    laid_uid: np.ndarray  # the courier's uid (his row changes when the roster compacts, at the end of the day)
    laid_by_shop: np.ndarray  # stashes laid, by shop
    seized_by_shop: np.ndarray  # stashes found on arrested couriers, by shop
    arrested: np.ndarray  # rows of the couriers caught
    arrested_shop: np.ndarray
    arrested_stashes: np.ndarray  # stashes on each when caught
    arrested_district: np.ndarray  # where each was caught


class CourierRoster(Roster):
    """All couriers and candidates, updated in bulk."""

    compacts = True
    role = Role.COURIER

    agent_class = Courier
    gone_state = CourierState.GONE

    def recruit_candidates(self, n: int) -> np.ndarray:
        """Add ``n`` new candidates to the pool with drawn traits."""
        p, rng = self.model.p, self.model.stream("labour")
        return self.add(
            n,
            reservation_wage=p.reservation_wage * lognormal(rng, 0.0, p.wage_dispersion, n),
            discount_factor=np.clip(rng.normal(p.discount_factor_mean, p.discount_factor_sd, n), 0.01, 0.99),
            risk_aversion=p.courier_risk_aversion * lognormal(rng, -0.125, 0.5, n),
            perceived_risk=p.prior_courier_risk,
            target_income=p.target_income * rng.exponential(1.0, n),
        )

    def expected_daily_pay(self, pay_per_stash: np.ndarray | float) -> np.ndarray:
        """Expected KZT per calendar day for a job paying ``pay_per_stash``."""
        p = self.model.p
        return pay_per_stash * 0.5 * (p.batch_min + p.batch_max) * p.work_share

    def first_offence(self) -> Offence:
        """The charge a first-timer expects: caught halfway through an average batch, charged by that quantity."""
        p = self.model.p
        grams_when_caught = 0.25 * (p.batch_min + p.batch_max) * p.stash_grams
        return Offence(int(courier_offence(False, grams_when_caught, p.large_quantity)))

    def job_cost(self) -> JobCost:
        """Today's inputs of ``job_margin``: the columns, the sentences as couriers know them, and the scale."""
        p, beliefs = self.model.p, self.model.beliefs
        years = beliefs.law.years
        return JobCost(
            self.repeat, self.discount_factor, self.reservation_wage, self.perceived_risk, self.risk_aversion,
            float(years[self.first_offence()]), float(years[Offence.COURIER_REPEAT]),
            float(p.work_share * beliefs.conviction * p.prison_year_cost * 365.0),
        )  # fmt: skip

    def perceived_punishment_cost(self, rows: np.ndarray) -> np.ndarray:
        """Perceived expected cost of punishment per calendar day of work, in KZT (``punishment``)."""
        return punishments(np.asarray(rows, dtype=np.int64), self.job_cost())

    def willing(self, rows: np.ndarray, pay_per_stash: np.ndarray | float) -> np.ndarray:
        """Whether each agent in ``rows`` would take (or keep) a job paying ``pay_per_stash`` (``job_margin``)."""
        rows = np.asarray(rows, dtype=np.int64)
        daily = np.broadcast_to(self.expected_daily_pay(pay_per_stash), rows.shape).astype(float)
        return job_margins(rows, daily, self.job_cost()) > 0.0

    def hire_first(self, n: int, n_shops: int) -> np.ndarray:
        """Day 0: the ``n`` candidates most willing at the going pay start work, spread over the shops in turn."""
        pool = np.flatnonzero(self.state == CourierState.CANDIDATE)
        daily = np.full(len(pool), self.expected_daily_pay(self.model.p.courier_pay))
        margin = job_margins(pool, daily, self.job_cost())
        hired = pool[np.argsort(-margin, kind="stable")[:n]]
        self.state[hired] = CourierState.WORKING
        self.shop[hired] = self.hired_by[hired] = np.arange(n) % n_shops
        self.hired_day[hired] = 0
        return hired

    def hire(self, vacancies: np.ndarray, pay_per_stash_by_shop: np.ndarray) -> np.ndarray:
        """Fill vacancies from candidates who see a job ad and find it worth it; return hires by shop."""
        if vacancies.sum() <= 0:
            return np.zeros(len(vacancies), dtype=np.int64)
        rng = self.model.stream("hiring")
        start = rng.integers(1 << 62)  # where in the list of candidates today's serving begins
        ads = JobAds(float(self.model.p.ad_reach), vacancies, cdf(vacancies),
                     self.expected_daily_pay(pay_per_stash_by_shop))  # fmt: skip
        # Served from a random candidate on, round the list: a rotation of candidates, not of rows, so that
        # dropping departed rows (compaction) changes nothing.
        order = np.flatnonzero(self.state == CourierState.CANDIDATE)
        order = np.roll(order, -int(start % max(len(order), 1)))
        uniforms = self.model.stream.keyed("hiring", self.uid[order])  # each his own, whoever else is in the pool
        return hire(uniforms, self._staff(), ads, self.job_cost(), self.model.day, order)

    def quit_jobs(self, pay_per_stash_by_shop: np.ndarray) -> int:
        """Working couriers leave when the job no longer pays for the perceived risk, or after their target."""
        return quit_jobs(self._staff(), self.expected_daily_pay(pay_per_stash_by_shop), self.job_cost())

    def _staff(self) -> Staff:
        return Staff(self.state, self.shop, self.income, self.target_income, self.hired_day, self.hired_by)

    def observe_arrests(self, arrest_rate: float) -> None:
        """Update perceived risk from arrests seen among a few peers (candidates and couriers)."""
        observe_peers(self, self.state <= CourierState.WORKING, arrest_rate, "courier_peers")

    def lay_stashes(self, need_by_shop: np.ndarray, placement_weights: np.ndarray, detection: Hazards) -> Round:
        """One working day: couriers collect batches and hide them; some are caught.

        Args:
            need_by_shop: stashes each shop wants laid today (limited by its stock).
            placement_weights: where couriers hide stashes, by district (sums to 1).
            detection: today's hazards: ``per_placement`` by district and the ``digital`` daily one.
        """
        p = self.model.p
        known = min(1.0, detection.digital * (1.0 + (p.known_offender_detection - 1.0) * p.coordination))
        shift = Shift(p.work_share, p.batch_min, p.batch_max, detection.digital, known)
        working = self.state == CourierState.WORKING
        uniforms = self.model.stream.keyed("batches", self.uid, 4, where=working)
        batches = plan_batches(uniforms, self.state, self.shop, self.repeat, need_by_shop, shift)
        uniforms = self.model.stream("placement").random((int(batches.batch.sum()), 2))
        placed = lay_batches(batches, cdf(placement_weights), detection.per_placement, uniforms, len(need_by_shop))
        working, shop, batch = batches.rows, batches.shop, batches.batch
        arrested = placed.caught_at < batch
        self.income[working] += placed.caught_at * self.model.shops.pay[shop]
        return Round(
            working=len(working),
            laid_shop=shop[placed.laid_courier],
            laid_district=placed.laid_district,
            laid_courier=working[placed.laid_courier],
            laid_uid=self.uid[working[placed.laid_courier]],
            laid_by_shop=placed.laid_by_shop,
            seized_by_shop=placed.seized_by_shop,
            arrested=working[arrested],
            arrested_shop=shop[arrested],
            arrested_stashes=(batch - placed.caught_at)[arrested],
            arrested_district=placed.caught_district[arrested],
        )

    def arrest(self, rows: np.ndarray, grams_carried: np.ndarray) -> None:
        """Couriers are arrested and charged by what they carried (a repeat offence, a large quantity, or a first)."""
        if len(rows) == 0:
            return
        m = self.model
        p = m.p
        m.today.rearrests_courier += int(np.count_nonzero(self.repeat[rows]))
        self.detain(rows)
        m.ledger.arrested(self, rows)
        offence = courier_offence(self.repeat[rows], grams_carried, p.large_quantity)
        m.justice.open_cases(Role.COURIER, rows, offence, m.day, p.forensic_delay)
        m.today.arrests_courier += len(rows)

    def arrest_share(self, share: float) -> int:
        """A wave of arrests: each working courier is arrested with chance ``share`` (stream ``events``); how many."""
        working = np.flatnonzero(self.state == CourierState.WORKING)
        caught = working[self.model.stream.keyed("events", self.uid[working]) < share]
        self.arrest(caught, np.zeros(len(caught)))
        return len(caught)

    def detain(self, rows: np.ndarray) -> None:
        """Arrested couriers await forensics; their own arrest raises their perceived risk."""
        self.state[rows] = CourierState.PENDING
        self.shop[rows] = -1
        self.perceived_risk[rows] += self.model.p.learning_rate * (1.0 - self.perceived_risk[rows])

    def _leave(self, rows: np.ndarray, state: CourierState) -> None:
        self.state[rows] = state
        self.shop[rows] = -1

    def return_from_justice(self, acquitted: np.ndarray, released: np.ndarray, absconded: np.ndarray) -> None:
        """Acquitted suspects rejoin the pool; released prisoners may; absconders are gone."""
        self._leave(acquitted, CourierState.CANDIDATE)
        self.state[absconded] = CourierState.GONE
        back = self.model.stream.keyed("release", self.uid[released]) < self.model.p.return_after_release
        self.repeat[released] = True
        self.reservation_wage[released] *= 1.0 - self.model.p.record_wage_penalty
        self._leave(released[back], CourierState.CANDIDATE)
        self.state[released[~back]] = CourierState.GONE

    def imprison(self, rows: np.ndarray) -> None:
        """Convicted couriers go to prison (incapacitation)."""
        self.state[rows] = CourierState.PRISON

    def renew_pool(self) -> None:
        """Candidates age out of the pool and new ones arrive."""
        p, rng = self.model.p, self.model.stream("pool")
        uniforms = self.model.stream.keyed("pool", self.uid, where=self.state == CourierState.CANDIDATE)
        leave_pool(uniforms, self.state, p.candidate_exit_rate)
        arrivals = rng.poisson(p.candidate_inflow * self.model.scale)
        if arrivals:
            self.recruit_candidates(arrivals)

    def release_shop(self, shop: int) -> None:
        """A closed shop's couriers return to the pool."""
        self._leave(np.flatnonzero((self.state == CourierState.WORKING) & (self.shop == shop)), CourierState.CANDIDATE)

    def working_by_shop(self, n_shops: int) -> np.ndarray:
        """Couriers working for each shop."""
        return np.bincount(self.shop[self.state == CourierState.WORKING], minlength=n_shops)

    def count(self, state: CourierState) -> int:
        """Number of couriers in a state."""
        return int(np.count_nonzero(self.state == state))

    # ------------------------------------------------------------ the day
    def find_work(self) -> None:
        """Shops advertise vacancies; willing candidates take them; unfilled jobs raise pay."""
        m = self.model
        shops, today = m.shops, m.today
        working = self.working_by_shop(len(shops))
        vacancies = shops.post_vacancies(working)
        hires = self.hire(vacancies, shops.pay)
        today.vacancy_days = shops.fill_vacancies(hires)
        today.vacancies_filled = int(hires.sum())
        shops.staff(working + hires)
        unfilled = vacancies - hires
        shops.adjust_pay(unfilled)
        today.courier_vacancies = int(unfilled.sum())

    def work(self, hazards: Hazards) -> Round:
        """Couriers lay the stashes their shops want; the caught ones lose the rest of their batch and may yield leads.

        The phone of an arrested courier shows analysts where his stashes still
        lie (``digital_analytics`` x ``phone_stash_share`` of them). Badly placed stashes are lost.
        """
        m = self.model
        p, shops, stashes = m.p, m.shops, m.stashes
        n_shops = len(shops)
        need = shops.plan_stashes(stashes.on_file(n_shops), np.bincount(m.buyers.owed_shop, minlength=n_shops))
        laid = self.lay_stashes(need, m.city.placement, hazards)
        grams = p.stash_grams
        shops.hand_out((laid.laid_by_shop + laid.seized_by_shop) * grams)
        lost = m.stream("bad_placement").random(len(laid.laid_shop)) < p.bad_placement
        stashes.hide(laid.laid_shop, laid.laid_district, laid.laid_courier, lost)
        m.ledger.lost(int(lost.sum()) * grams)
        m.ledger.seized_stashes(int(laid.seized_by_shop.sum()))
        arrested = laid.arrested
        if len(arrested):
            self.arrest(arrested, laid.arrested_stashes * grams)
            caught = np.zeros(len(self) + 1, dtype=bool)  # the extra last slot: stashes of no courier (-1)
            caught[arrested] = True
            still_there = caught[stashes.courier] & (stashes.state == StashState.PRESENT)
            read = p.digital_analytics * p.phone_stash_share  # the share of them his phone shows the analysts
            shown = still_there & (m.stream.keyed("analytics", stashes.uid) < read)
            stashes.seize(np.flatnonzero(shown))
            m.ledger.seized_stashes(int(np.count_nonzero(shown)))
            self._give_leads(laid.arrested_shop)
        m.today.couriers_laying = laid.working
        m.today.batch_stashes = int(laid.laid_by_shop.sum() + laid.seized_by_shop.sum())
        return laid

    def _give_leads(self, arrested_shop: np.ndarray) -> None:
        """Each arrested courier may give a lead to his shop, and through it to the lab."""
        m = self.model
        chance = m.police.lead_probability()
        rng = m.stream("leads")
        leads = arrested_shop[rng.random(len(arrested_shop)) < chance]
        m.shops.add_leads(np.bincount(leads, minlength=len(m.shops)))
        up = leads[rng.random(len(leads)) < m.p.lab_link]
        labs = m.shops.lab[up]
        m.labs.add_leads(np.bincount(labs[labs >= 0], minlength=len(m.labs)))

    def fill_prisons(self) -> None:
        """Day 0: couriers convicted before the run are still serving, at this city's stock-flow level.

        The flow is this city's expected courier arrests a day at day 0
        (``Police.expected_courier_arrests``) times the chance a case ends in a
        conviction, scaled by ``prison_fill``; the stock is that flow over the
        time served. Releases (some back to the candidate pool, as repeat
        offenders) thus flow from the first day. Each was charged as a courier
        caught at a random placement of a batch (a large quantity or a first
        offence, as ``courier_offence`` decides); the time left is uniform over
        the part of the term served before parole, and the stock holds each
        charge in proportion to its term.
        """
        m = self.model
        p, rng = m.p, m.stream("prisons")
        convicted = p.conviction_probability * power(1.0 - p.abscond_rate, p.forensic_delay)
        flow = p.prison_fill * m.police.expected_courier_arrests() * convicted
        batch = rng.integers(p.batch_min, p.batch_max + 1, 4096)
        charges = courier_offence(False, rng.integers(1, batch + 1) * p.stash_grams, p.large_quantity)
        offences, share = np.unique(charges, return_counts=True)
        terms = np.array([mean_sentence(p, o) for o in offences])
        stock = flow * share / share.sum() * terms * p.time_served_share * 365.0
        for offence, n in zip(offences, np.round(stock).astype(int), strict=True):
            if n == 0:
                continue
            rows = self.recruit_candidates(n)
            self.state[rows] = CourierState.PRISON
            served = served_days(draw_sentences(rng, p, offence, n), p.time_served_share)
            release = 1 + (rng.random(n) * served).astype(np.int64)
            m.justice.imprison_at_start(Role.COURIER, rows, release, np.full(n, offence))

    def tidy(self) -> np.ndarray | None:
        """As ``Roster.tidy``; when rows are compacted, the case ledger and the stash database follow them."""
        remap = super().tidy()
        if remap is not None:
            self.model.justice.renumber(Role.COURIER, remap)
            self.model.stashes.renumber_couriers(remap)
        return remap
