"""Couriers ("zakladchiki"): who takes the job, who quits, and the working day.

Couriers are drawn from a pool of mostly young candidates reached by online
job ads [001 L41, L121]. A candidate weighs the expected pay against a
reservation wage plus the *perceived* expected cost of punishment, which uses
the perceived daily arrest risk (learned from arrests among peers), the
perceived chance of conviction, and the sentence discounted at the
candidate's own annual discount factor (section 4 of MODEL.md). A working
courier collects a batch of 10-20 stashes [001 L180], lays them in districts,
and at each placement risks being seen by patrol or traced digitally; caught,
he loses the rest of the batch.
"""

from __future__ import annotations

import numpy as np

from sim.model.engine import kernels
from sim.model.engine.draws import cdf
from sim.model.engine.roster import Column, Roster, RosterAgent
from sim.model.world.sanctions import courier_offence, mean_sentence

CANDIDATE, WORKING, PENDING, PRISON, GONE = 0, 1, 2, 3, 4


class Courier(RosterAgent):
    """A courier or courier candidate; state in ``CourierRoster``."""

    state = Column()
    shop = Column()
    reservation_wage = Column()
    discount_factor = Column()
    risk_aversion = Column()
    perceived_risk = Column()
    income = Column()
    target_income = Column()
    repeat = Column()


class CourierRoster(Roster):
    """All couriers and candidates, updated in bulk."""

    def __init__(self, model):
        super().__init__(
            model,
            Courier,
            {
                "state": (np.int8, CANDIDATE),
                "shop": (np.int64, -1),
                "reservation_wage": (float, 0.0),  # KZT/day
                "discount_factor": (float, 0.7),  # per year
                "risk_aversion": (float, 1.0),
                "perceived_risk": (float, 0.0),  # arrest probability per working day
                "income": (float, 0.0),  # KZT earned in the current job
                "target_income": (float, 0.0),
                "repeat": (bool, False),  # has a previous conviction
            },
        )

    def recruit_candidates(self, n: int) -> np.ndarray:
        """Add ``n`` new candidates to the pool with drawn traits."""
        p, rng = self.model.p, self.model.rng
        return self.add(
            n,
            reservation_wage=p.reservation_wage * rng.lognormal(0.0, p.wage_dispersion, n),
            discount_factor=np.clip(rng.normal(p.discount_factor_mean, p.discount_factor_sd, n), 0.01, 0.99),
            risk_aversion=p.courier_risk_aversion * rng.lognormal(-0.125, 0.5, n),
            perceived_risk=p.prior_courier_risk,
            target_income=p.target_income * rng.exponential(1.0, n),
        )

    def expected_daily_pay(self, pay_per_stash: np.ndarray) -> np.ndarray:
        """Expected KZT per calendar day for a job paying ``pay_per_stash``."""
        p = self.model.p
        return pay_per_stash * 0.5 * (p.batch_min + p.batch_max) * p.work_share

    def perceived_punishment_cost(self, rows: np.ndarray) -> np.ndarray:
        """Perceived expected cost of punishment per calendar day of work, in KZT.

        Perceived daily arrest risk x perceived conviction x discounted prison
        years x the value of a year of freedom, weighed by risk aversion.
        """
        return kernels.punishment_cost(np.asarray(rows, dtype=np.int64), *self._cost_terms())

    def _cost_terms(self) -> tuple:
        """The arguments of ``kernels.punishment_cost`` after ``rows``: the columns and today's constants."""
        p, m = self.model.p, self.model
        # A first-timer expects to be caught halfway through an average batch, and charged by that quantity.
        grams_when_caught = 0.25 * (p.batch_min + p.batch_max) * p.stash_grams
        first = str(courier_offence(False, grams_when_caught, p.large_quantity))
        regime, severity = p.sanction_regime, p.severity_multiplier
        first_years = float(mean_sentence(regime, first, severity))
        repeat_years = float(mean_sentence(regime, "courier_repeat", severity))
        # Discounted years (sanctions.discounted_years) x the value of a year (prison_year_cost x 365 days'
        # reservation wage) x perceived risk per working day x work share x perceived conviction x aversion.
        scale = float(p.work_share * m.perceived_conviction * p.prison_year_cost * 365.0)
        return (
            self.repeat, self.discount_factor, self.reservation_wage, self.perceived_risk, self.risk_aversion,
            first_years, repeat_years, scale,
        )  # fmt: skip

    def job_cost(self, rows: np.ndarray) -> np.ndarray:
        """What a day of courier work must pay to be worth it: reservation wage plus perceived punishment."""
        return self.reservation_wage[rows] + self.perceived_punishment_cost(rows)

    def willing(self, rows: np.ndarray, pay_per_stash: np.ndarray) -> np.ndarray:
        """Whether each agent in ``rows`` finds the job worth it at the given pay."""
        return self.expected_daily_pay(pay_per_stash) > self.job_cost(rows)

    def observe_arrests(self, arrest_rate: float) -> None:
        """Update perceived risk from arrests seen among a few peers (candidates and couriers)."""
        self.learn_from_peers(self.state <= WORKING, arrest_rate)

    def quit_jobs(self, pay_per_stash_by_shop: np.ndarray) -> int:
        """Working couriers leave when the job no longer pays for the perceived risk, or after their target.

        Same rule as ``willing``, compiled (``kernels.quit_jobs``). Returns the number who left.
        """
        return kernels.quit_jobs(
            self.state, self.shop, self.income, self.target_income, self.expected_daily_pay(pay_per_stash_by_shop),
            self._cost_terms(), WORKING, CANDIDATE, GONE,
        )  # fmt: skip

    def hire(self, vacancies: np.ndarray, pay_per_stash_by_shop: np.ndarray) -> np.ndarray:
        """Fill vacancies from candidates who see a job ad and accept it; return hires by shop.

        Each candidate sees an ad with chance ``ad_reach``, from a shop drawn in
        proportion to its vacancies, and takes it if ``willing``; each shop hires
        its first takers up to its vacancies (``kernels.hire``).
        """
        if vacancies.sum() <= 0:
            return np.zeros(len(vacancies), dtype=np.int64)
        uniforms = self.model.rng.random(self.count(CANDIDATE))
        return kernels.hire(
            uniforms, self.state, self.shop, self.income, float(self.model.p.ad_reach), vacancies, cdf(vacancies),
            self.expected_daily_pay(pay_per_stash_by_shop), self._cost_terms(), CANDIDATE, WORKING,
        )  # fmt: skip

    def lay_stashes(self, need_by_shop: np.ndarray, placement_weights: np.ndarray, detection: dict) -> dict:
        """One working day: couriers collect batches and hide them; some are caught.

        Args:
            need_by_shop: stashes each shop wants laid today (limited by its stock).
            placement_weights: where couriers hide stashes, by district (sums to 1).
            detection: ``per_placement`` hazard by district and ``digital`` daily hazard.

        Returns:
            Arrays of the day: laid stash ``shop``/``district``/``courier``, the
            ``arrested`` courier rows with their shops, the stashes found on
            them and the district where each was caught, stashes seized, laid
            and seized counts by shop, and the number of working couriers.
        """
        p, rng = self.model.p, self.model.rng
        working, shop, batch, traced_at = kernels.plan_batches(
            rng.random((self.count(WORKING), 4)), self.state, self.shop, WORKING, need_by_shop, p.work_share,
            p.batch_min, p.batch_max, detection["digital"],
        )  # fmt: skip
        uniforms = rng.random((int(batch.sum()), 2))
        caught_at, caught_district, laid_owner, laid_district, laid_by_shop, seized_by_shop = kernels.lay_batches(
            batch, shop, traced_at, cdf(placement_weights), detection["per_placement"], uniforms, len(need_by_shop)
        )
        arrested = caught_at < batch
        self.income[working] += caught_at * self.model.shops.pay[shop]
        return {
            "working": len(working),
            "arrested": working[arrested],
            "arrested_shop": shop[arrested],
            "arrested_stashes": (batch - caught_at)[arrested],  # stashes on him when caught
            "arrested_district": caught_district[arrested],
            "laid_shop": shop[laid_owner],
            "laid_district": laid_district,
            "laid_courier": working[laid_owner],
            "seized_stashes": int(seized_by_shop.sum()),
            "laid_by_shop": laid_by_shop,
            "seized_by_shop": seized_by_shop,
        }

    def arrest(self, rows: np.ndarray) -> None:
        """Arrested couriers await forensics; their own arrest raises their perceived risk."""
        self.state[rows] = PENDING
        self.shop[rows] = -1
        self.perceived_risk[rows] += self.model.p.learning_rate * (1.0 - self.perceived_risk[rows])

    def _leave(self, rows: np.ndarray, state: int) -> None:
        self.state[rows] = state
        self.shop[rows] = -1

    def return_from_justice(self, acquitted: np.ndarray, released: np.ndarray, absconded: np.ndarray) -> None:
        """Acquitted suspects rejoin the pool; released prisoners may; absconders are gone."""
        self._leave(acquitted, CANDIDATE)
        self.state[absconded] = GONE
        back = self.model.rng.random(len(released)) < self.model.p.return_after_release
        self.repeat[released] = True
        self._leave(released[back], CANDIDATE)
        self.state[released[~back]] = GONE

    def imprison(self, rows: np.ndarray) -> None:
        """Convicted couriers go to prison (incapacitation)."""
        self.state[rows] = PRISON

    def renew_pool(self) -> None:
        """Candidates age out of the pool and new ones arrive."""
        p, rng = self.model.p, self.model.rng
        kernels.move_some(rng.random(self.count(CANDIDATE)), self.state, CANDIDATE, GONE, p.candidate_exit_rate)
        arrivals = rng.poisson(p.candidate_inflow * self.model.scale)
        if arrivals:
            self.recruit_candidates(arrivals)

    def release_shop(self, shop: int) -> None:
        """A closed shop's couriers return to the pool."""
        self._leave(np.flatnonzero((self.state == WORKING) & (self.shop == shop)), CANDIDATE)

    def count(self, state: int) -> int:
        """Number of couriers in a state."""
        return int(np.count_nonzero(self.state == state))
