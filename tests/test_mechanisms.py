"""One verification test per mechanism of the model (docs/ODD.md, sections 2 and 3.4).

Each test compares two settings of a lever (or checks an invariant) so that it
fails when the mechanism is broken or removed. Most tests drive a role's verb
directly with controlled inputs on a small live model (deterministic or with
large margins); the few whole-run comparisons pool several seeds and many days
and assert differences far outside the noise.
"""

import dataclasses

import numpy as np
import pandas as pd
import pytest

import sim
from sim.model.deterrence import discounted_years
from sim.model.metrics import Day
from sim.model.roles.buyers import BuyerRoster, Sales
from sim.model.roles.buyers import BuyerState as B
from sim.model.roles.couriers import CourierState as C
from sim.model.roles.police import Hazards
from sim.model.roles.shops import Storefront
from sim.model.world.justice import Justice, Role
from sim.model.world.sanctions import SANCTIONS, Offence, draw_sentences, sentence_bounds
from sim.model.world.stashes import Stashes, StashState
from sim.params import ParameterError, Params

TINY = {
    "n_buyers": 1000,
    "n_shops": 3,
    "n_couriers": 30,
    "candidate_pool": 4000,  # per 10,000 buyers: 400 candidates in this city of 1,000
    "n_labs": 1,
    "initiation_rate": 8.0,  # per 10,000 buyers: 0.8 a day here
    "candidate_inflow": 5.0,  # per 10,000 buyers: 0.5 a day here
}


def model(seed=1, **over):
    """A small market at day 0."""
    return sim.KladMarket({**TINY, **over}, rng=seed)


def live(seed=1, **over):
    """A small market after one day, so that the day's bookkeeping (``m.today``) exists."""
    m = model(seed, **over)
    m.step()
    return m


def frame(seed, days, **over):
    m = model(seed, **over)
    m.run_for(days)
    return m.daily().drop(columns="day")


def total(metric, days, seeds=(1, 2, 3), **over):
    """A metric summed over days and seeds."""
    return sum(float(frame(s, days, **over)[metric].sum()) for s in seeds)


def street(per_placement, digital):
    """Street hazards for the couriers' round alone: ``per_placement`` by district, the ``digital`` one."""
    return Hazards(per_placement, np.zeros_like(per_placement), np.zeros_like(per_placement), digital)


def enter_and_exit(m):
    """The day's entry and exit: shops', then labs'."""
    m.shops.enter_and_exit()
    m.labs.enter_and_exit()


def fresh_day(m):
    """Reset the day's metrics as ``step`` does, for calling verbs one by one."""
    m.today = Day()


# ---------------------------------------------------------------- city and police
def test_patrol_intensity_raises_stash_detections_in_that_district():
    """(1) More patrol officers in a district find more of the stashes hidden there."""
    m = live(stash_detection=0.005)
    m.city.suitability[:] = 0.5
    n = 2000
    m.stashes = Stashes()
    districts = np.repeat([0, 1, 2], n)
    m.stashes.hide(np.zeros(3 * n, dtype=np.int64), districts, np.full(3 * n, -1), np.zeros(3 * n, dtype=bool))
    m.city.patrol[:] = 0.0
    m.city.patrol[0] = 100.0
    m.city.patrol[1] = 10.0
    hazards = m.police.street_hazards()
    assert hazards.stash[0] > hazards.stash[1] > hazards.stash[2] == 0.0
    fresh_day(m)
    m.police.patrol_stashes(hazards)
    seized = np.bincount(m.stashes.district[m.stashes.state == StashState.SEIZED], minlength=3)
    assert seized[2] == 0  # no patrol, no finds
    assert seized[1] > 0
    assert seized[0] > 3 * seized[1]
    assert m.today.grams_seized == pytest.approx(seized.sum() * m.p.stash_grams)


def test_balanced_patrol_follows_where_stashes_were_found():
    """(1b) In balanced mode patrol moves to districts where finds were recorded."""
    m = live()
    m.police.allocate_budget()
    before = m.city.patrol.copy()
    assert before.sum() == pytest.approx(m.p.police_budget * m.p.share_patrol)
    hot = int(np.argmin(before))
    for _ in range(30):
        m.police.record_finds(np.full(50, hot), np.zeros(m.city.n_districts))
    m.police.allocate_budget()
    assert m.city.patrol[hot] > 5 * before[hot]
    assert m.city.patrol.sum() == pytest.approx(before.sum())


def test_police_budget_shares_set_effort():
    """Effort per activity is the budget times its share; more patrol budget means higher street hazards."""
    m = live()  # one market, so that both budgets meet the same day's records of finds
    hazards = {}
    for budget in (50.0, 200.0):
        m.p = m.p.replace(police_budget=budget)
        m.police.allocate_budget()
        for act in ("patrol", "cyber", "investigation", "labs"):
            assert getattr(m.police.effort, act) == pytest.approx(budget * getattr(m.p, f"share_{act}"))
        hazards[budget] = m.police.street_hazards()
    h_lo, h_hi = hazards[50.0], hazards[200.0]
    assert np.all(h_hi.per_placement >= h_lo.per_placement)
    assert h_hi.per_placement.sum() > 2 * h_lo.per_placement.sum()


def test_detection_multiplier_raises_courier_and_stash_hazards_not_buyer():
    a = live(detection_multiplier=1.0)
    b = live(detection_multiplier=3.0)
    b.city.patrol[:] = a.city.patrol
    b.police.effort = dataclasses.replace(a.police.effort)
    ha, hb = a.police.street_hazards(), b.police.street_hazards()
    assert np.all(hb.stash > ha.stash)
    assert np.all(hb.per_placement > ha.per_placement)
    np.testing.assert_allclose(hb.buyer, ha.buyer)


def test_digital_analytics_adds_digital_courier_detection():
    assert live(digital_analytics=0.0).police.street_hazards().digital == 0.0
    lo = live(digital_analytics=0.2).police.street_hazards().digital
    hi = live(digital_analytics=1.0).police.street_hazards().digital
    assert hi == pytest.approx(5 * lo) and hi > 0


# ---------------------------------------------------------------- storefronts
def test_storefront_detection_then_block_after_block_delay():
    """Cyber monitoring finds storefronts (more with more cyber effort); they are blocked only after the delay."""
    m = live(storefront_detection=0.0)
    fresh_day(m)
    m.day = 10
    n = m.shops.detect_storefronts(1e6, block_delay=5)
    active = np.flatnonzero(m.shops.active)
    assert n == len(active)
    assert np.all(m.shops.storefront[active] == Storefront.DETECTED)
    assert np.all(m.shops.open_now()[active])  # a detected storefront still sells until blocked
    for day in range(10, 15):
        m.day = day
        assert m.shops.block_storefronts() == 0
    m.day = 15
    assert m.shops.block_storefronts() == len(active)
    assert not m.shops.open_now()[active].any()
    # detection hazard grows with cyber effort and analytics; coordination shortens the blocking delay
    lo, hi = live(share_cyber=0.05), live(share_cyber=0.3, share_patrol=0.4, digital_analytics=1.0)
    assert hi.police.storefront_hazard() > 6 * lo.police.storefront_hazard()
    assert live(coordination=0.0).police.block_delay() == 14
    assert live(coordination=1.0).police.block_delay() == 7


def test_blocked_storefront_reopens_as_mirror_after_delay_at_cost_losing_buyers():
    """(2) Blocked -> mirror after exactly ``mirror_delay`` days; pays ``mirror_cost``; loses buyers."""
    m = live(mirror_delay=4, mirror_cost=1e6, mirror_retention=0.5, mirror_visibility=0.5, storefront_detection=0.0)
    fresh_day(m)
    d = 10
    m.day = d
    m.shops.channel[0] = Storefront.DETECTED
    m.shops.channel_day[0] = d
    cash0, vis0 = m.shops.cash[0], m.shops.visibility[0]
    knew0 = int((m.buyers.known == 0).sum())
    assert knew0 > 100
    m.shops.storefront_round()
    assert m.shops.storefront[0] == Storefront.BLOCKED and not m.shops.open_now()[0]
    for day in range(d + 1, d + 4):
        m.day = day
        m.shops.storefront_round()
        assert m.shops.storefront[0] == Storefront.BLOCKED, day
        assert m.today.mirrors_opened == 0
        assert m.shops.cash[0] == cash0
        assert int((m.buyers.known == 0).sum()) == knew0
    m.day = d + 4
    m.shops.storefront_round()
    assert m.shops.storefront[0] == Storefront.OPEN and m.shops.open_now()[0]
    assert m.today.mirrors_opened == 1
    assert m.shops.cash[0] == pytest.approx(cash0 - 1e6)
    assert m.shops.visibility[0] == pytest.approx(0.5 * vis0)
    knew1 = int((m.buyers.known == 0).sum())
    assert 0.3 * knew0 < knew1 < 0.7 * knew0


def test_mirror_retention_one_keeps_all_buyers():
    m = live(mirror_delay=0, mirror_retention=1.0, storefront_detection=0.0)
    fresh_day(m)
    knew0, vis0 = int((m.buyers.known == 1).sum()), m.shops.visibility[1]
    m.day = 5
    m.shops.block(np.array([1]), mirror_delay=0)
    m.shops.storefront_round()
    assert m.shops.storefront[1] == Storefront.OPEN
    assert int((m.buyers.known == 1).sum()) == knew0
    assert m.shops.visibility[1] == vis0  # the default mirror_visibility 1: the mirror keeps the advertising


def test_visibility_grows_only_while_storefront_not_blocked():
    m = live(visibility_growth=0.1)
    m.shops.visibility[:3] = 0.5
    m.shops.storefront[:3] = [Storefront.OPEN, Storefront.DETECTED, Storefront.BLOCKED]
    m.shops.advertise()
    assert m.shops.visibility[0] == pytest.approx(0.55)
    assert m.shops.visibility[1] == pytest.approx(0.55)
    assert m.shops.visibility[2] == 0.5


# ---------------------------------------------------------------- labs
#: one lab that is never found, with one day of precursors in hand, far more capacity than demand
UPSTREAM = {"lab_capacity": 1000.0, "precursor_interval": 1, "lab_detection": 0.0, "lab_link": 0.0}


def test_precursor_interdiction_stops_production_and_sales_dry_up():
    """(3) All shipments intercepted and no imports: production stops, and once stock runs out nothing is sold."""
    over = {**UPSTREAM, "lab_entry_rate": 0.0, "import_capacity": 0.0}
    cut = frame(1, 150, precursor_interdiction=1.0, **over)
    free = frame(1, 150, precursor_interdiction=0.0, **over)
    assert cut["shipments_intercepted"].sum() > 50
    assert free["shipments_intercepted"].sum() == 0
    assert cut["grams_produced"].iloc[2:].sum() == 0
    assert free["grams_produced"].iloc[2:].sum() > 5000
    assert cut["grams_sold"].iloc[-30:].sum() == 0
    assert free["grams_sold"].iloc[-30:].sum() > 1000


def test_imports_keep_a_starved_market_supplied_dearer_unless_the_border_stops_them():
    """(3c) With no lab stock, shops buy imports at import_price; import_interdiction seizes them at the border."""
    over = {**UPSTREAM, "lab_entry_rate": 0.0, "precursor_interdiction": 1.0, "import_capacity": 500.0}
    open_border = frame(1, 150, **over)
    closed = frame(1, 150, **over, import_interdiction=1.0)
    assert open_border["grams_imported"].iloc[-60:].sum() > 1000
    assert open_border["grams_sold"].iloc[-30:].sum() > 1000  # a raid is a price shock, not a drought
    assert closed["grams_sold"].iloc[-30:].sum() == 0
    assert closed["grams_seized"].sum() >= closed["grams_imported"].sum() > 0  # all shipped in was stopped
    m = model(1, **over)
    m.run_for(150)
    assert m.shops.wholesale_paid[m.shops.active].max() == pytest.approx(m.p.import_price)


def test_full_interdiction_also_starves_entrant_labs():
    """(3b) New labs get their precursors through the same intercepted channel."""
    over = {"lab_entry_rate": 1.0, "lab_entry_delay": 1, "import_capacity": 0.0}
    df = frame(1, 150, precursor_interdiction=1.0, **over, **UPSTREAM)
    assert df["active_labs"].max() >= 2  # entrants do come
    assert df["grams_produced"].iloc[2:].sum() == 0


def test_lab_produces_within_capacity_precursors_and_stops_at_stock_limit():
    m = live(lab_stock_days=2.0)
    labs = m.labs
    labs.ready_day[:] = 0
    labs.precursor[0] = 1e9
    labs.stock[0] = 0.0
    made = labs.produce()
    assert made == pytest.approx(labs.capacity[0])
    labs.stock[0] = 2.0 * labs.capacity[0]
    assert labs.produce() == 0.0  # full store: stops cooking
    labs.stock[0] = 0.0
    labs.precursor[0] = 10.0
    assert labs.produce() == pytest.approx(10.0)  # limited by precursors
    assert labs.produce() == 0.0 and labs.idle_days[0] == 2


def test_bulk_scarcity_raises_wholesale_price():
    m = live()
    p0 = m.labs.price.copy()
    m.labs.stock[:] = 0.0
    for _ in range(20):
        m.labs.sell_bulk(np.full(len(m.shops), 100.0), m.shops.lab)
    assert m.labs.bulk_unmet > 0.8
    assert np.all(m.labs.price > 1.5 * p0)


def test_lab_entry_with_unmet_bulk_demand_after_delay():
    """(11a) Unmet bulk demand sets up a new lab, which produces only after ``lab_entry_delay``."""
    m = live(lab_entry_rate=1.0, lab_entry_delay=10, precursor_interdiction=0.0)
    fresh_day(m)
    m.day = 20
    m.labs.bulk_unmet = 0.0
    enter_and_exit(m)
    assert len(m.labs) == 1
    m.labs.bulk_unmet = 0.5
    enter_and_exit(m)
    assert len(m.labs) == 2 and m.labs.active[1] and m.labs.ready_day[1] == 30
    m.labs.active[0] = False  # only the new lab counts below
    m.day = 29
    m.labs.receive_precursors()
    assert m.labs.produce() == 0.0
    m.day = 30
    m.labs.receive_precursors()  # the entrant's first shipment arrives when it is ready
    assert m.labs.produce() > 0.0


def test_lab_entry_in_a_run_when_supply_is_cut():
    over = {**UPSTREAM, "lab_entry_rate": 0.2, "lab_entry_delay": 5}
    df = frame(2, 200, precursor_interdiction=1.0, **over)
    base = frame(2, 200, precursor_interdiction=0.0, **over)
    assert df["active_labs"].max() >= 2
    assert base["active_labs"].max() == 1


def test_idle_lab_closes_after_90_days():
    m = live()
    fresh_day(m)
    m.labs.bulk_unmet = 0.0
    m.labs.idle_days[0] = 90
    enter_and_exit(m)
    assert m.labs.active[0]
    m.labs.idle_days[0] = 91
    enter_and_exit(m)
    assert not m.labs.active[0]


def test_lab_found_through_leads_is_closed_and_stock_seized():
    m = live(lab_detection=0.0, investigation_rate=1.0)
    fresh_day(m)
    m.shops.leads[:] = 0.0
    stock = m.labs.stock[0]
    assert stock > 0
    m.police.investigate()
    assert m.today.arrests_lab == 0 and m.labs.active[0]  # no leads, no lab police effect
    m.labs.leads[0] = 50.0
    m.police.investigate()
    assert m.today.arrests_lab == 1 and not m.labs.active[0]
    assert m.labs.stock[0] == 0.0
    assert m.today.grams_seized == pytest.approx(stock)


# ---------------------------------------------------------------- operators, leads
def live_with_leads(abroad_share, seed=1):
    m = live(seed, abroad_share=abroad_share, investigation_rate=1.0)
    fresh_day(m)
    m.shops.leads[:] = 100.0
    m.police.investigate()
    return m


def test_operator_abroad_is_never_arrested_but_storefront_is_blocked():
    """(4) Identified operators abroad are not arrested; their storefront is flagged for blocking."""
    abroad = live_with_leads(1.0)
    home = live_with_leads(0.0)
    assert abroad.today.arrests_operator == 0
    assert abroad.shops.active.all()
    assert np.all(abroad.shops.storefront == Storefront.DETECTED)
    assert home.today.arrests_operator == 3
    assert not home.shops.active.any()
    assert home.justice.pending() >= 3


def test_operator_abroad_never_arrested_over_a_run():
    """(4b) Over whole runs with many leads: zero operator arrests with abroad_share=1, some with 0."""
    over = {"lead_probability": 1.0, "investigation_rate": 0.01, "courier_detection": 0.002}
    assert total("arrests_operator", 120, seeds=(1, 2), abroad_share=1.0, **over) == 0
    assert total("arrests_operator", 120, seeds=(1, 2), abroad_share=0.0, **over) > 0


def test_operator_arrest_closes_shop_seizes_stock_and_frees_couriers():
    m = live_with_leads(0.0)
    assert np.all(m.shops.stock == 0.0)
    assert m.couriers.count(C.WORKING) == 0
    assert not (m.stashes.state == StashState.PRESENT).any()
    assert not (m.buyers.known >= 0).any()


def test_coordination_and_analytics_raise_lead_probability():
    """(8) Compartmentalisation: few leads; coordination and analytics multiply them."""
    base = live(coordination=0.0, digital_analytics=0.0).police.lead_probability()
    coord = live(coordination=1.0, digital_analytics=0.0).police.lead_probability()
    both = live(coordination=1.0, digital_analytics=1.0).police.lead_probability()
    assert base == pytest.approx(0.02)
    assert base < coord < both
    assert both == pytest.approx(0.02 * 10)


def test_arrested_couriers_yield_leads_at_the_lead_probability():
    """(8b) Leads on shops (and through them labs) come from courier arrests at the lead probability."""
    counts = {}
    for coord in (0.0, 1.0):
        m = live(coordination=coord, digital_analytics=coord, lab_link=0.5)
        m.shops.leads[:] = 0.0
        m.labs.leads[:] = 0.0
        m.couriers._give_leads(np.zeros(5000, dtype=np.int64))
        counts[coord] = m.shops.leads.copy()
        assert m.labs.leads.sum() == pytest.approx(0.5 * m.shops.leads[0], rel=0.35)
    assert counts[0.0][1:].sum() == 0
    assert 50 < counts[0.0][0] < 160  # ~100
    assert 850 < counts[1.0][0] < 1150  # ~1000


def test_coordination_and_analytics_raise_operator_arrests_over_a_run():
    """(8c) With operators at home, a run with full coordination/analytics arrests more operators."""
    over = {"abroad_share": 0.0, "courier_detection": 0.001, "investigation_rate": 0.005, "n_shops": 5}
    weak = total("arrests_operator", 200, seeds=(1, 2, 3, 4), coordination=0.0, digital_analytics=0.0, **over)
    strong = total("arrests_operator", 200, seeds=(1, 2, 3, 4), coordination=1.0, digital_analytics=1.0, **over)
    assert strong > weak + 3


# ---------------------------------------------------------------- deterrence (section 4)
def test_discounted_years_concave_and_bounded():
    """The cost of S years is sum_{t<S} beta^t: increasing, concave, below 1/(1-beta)."""
    years = np.array([1.0, 5.0, 10.0, 20.0, 40.0])
    for beta in (0.2, 0.6, 0.95):
        v = np.vectorize(discounted_years)(years, beta)
        assert np.all(np.diff(v) > 0)
        assert np.all(np.diff(np.diff(v) / np.diff(years)) < 0)
        assert np.all(v <= 1.0 / (1.0 - beta))
    assert discounted_years(1.0, 0.6) == pytest.approx(1.0)
    # the impatient barely care about extra years; the patient do
    assert discounted_years(20.0, 0.2) / discounted_years(6.5, 0.2) < 1.01
    assert discounted_years(20.0, 0.95) / discounted_years(6.5, 0.95) > 2.0


def willing_share(m, rows, pay, beta, severity):
    m.couriers.discount_factor[rows] = beta
    m.p = m.p.replace(severity_multiplier=severity)
    return m.couriers.willing(rows, np.full(len(rows), pay)).mean()


def test_longer_sentences_deter_patient_couriers_more_than_impatient_ones():
    """(5) Severity lowers acceptance; the drop is larger for beta near 1 than for small beta."""
    m = live(prior_courier_risk=0.01, law_learning_days=0)  # the severity set below is known at once
    rows = np.flatnonzero(m.couriers.state == C.CANDIDATE)
    assert len(rows) > 300
    # pay at which half of the patient candidates accept under today's sentences
    m.couriers.discount_factor[rows] = 0.95
    m.p = m.p.replace(severity_multiplier=1.0)
    per_stash = m.couriers.expected_daily_pay(1.0)
    pay = float(np.median(m.couriers.reservation_wage[rows] + m.couriers.perceived_punishment_cost(rows))) / per_stash
    patient = willing_share(m, rows, pay, 0.95, 1.0) - willing_share(m, rows, pay, 0.95, 3.0)
    impatient = willing_share(m, rows, pay, 0.2, 1.0) - willing_share(m, rows, pay, 0.2, 3.0)
    assert patient > 0.15
    assert impatient >= 0.0
    assert patient > impatient + 0.1
    # the same in the cost itself
    m.couriers.discount_factor[rows] = 0.95
    m.p = m.p.replace(severity_multiplier=3.0)
    c1 = m.couriers.perceived_punishment_cost(rows)
    m.p = m.p.replace(severity_multiplier=1.0)
    c0 = m.couriers.perceived_punishment_cost(rows)
    assert np.all(c1 > 2.0 * c0)


def test_perceived_certainty_lowers_acceptance():
    """Higher perceived arrest risk or conviction chance lowers the share willing at a given pay."""
    m = live()
    rows = np.flatnonzero(m.couriers.state == C.CANDIDATE)
    pay = np.full(len(rows), m.p.courier_pay)
    m.couriers.perceived_risk[rows] = 0.001
    low = m.couriers.willing(rows, pay).mean()
    m.couriers.perceived_risk[rows] = 0.02
    high = m.couriers.willing(rows, pay).mean()
    assert low > high + 0.2
    m.beliefs.conviction = 0.0
    assert m.couriers.willing(rows, pay).mean() > high + 0.2
    assert np.all(m.couriers.perceived_punishment_cost(rows) == 0.0)


def test_more_pay_raises_acceptance_and_repeat_offenders_face_longer_terms():
    m = live()
    rows = np.flatnonzero(m.couriers.state == C.CANDIDATE)
    low = m.couriers.willing(rows, np.full(len(rows), 1000.0)).mean()
    high = m.couriers.willing(rows, np.full(len(rows), 5000.0)).mean()
    assert high > low + 0.2
    first = m.couriers.perceived_punishment_cost(rows)
    m.couriers.repeat[rows] = True
    assert np.all(m.couriers.perceived_punishment_cost(rows) > first)


def test_sanction_regime_changes_perceived_cost():
    m = live(discount_factor_mean=0.9, discount_factor_sd=0.0, law_learning_days=0)  # the new regime known at once
    rows = np.flatnonzero(m.couriers.state == C.CANDIDATE)
    law = m.couriers.perceived_punishment_cost(rows)
    m.p = m.p.replace(sanction_regime="pre2025_practice")
    assert np.all(m.couriers.perceived_punishment_cost(rows) > law)


def test_learning_perceived_risk_from_observed_arrests():
    """(6) Perceived risk rises after observed arrests, falls with none, and is fixed at learning_rate 0."""
    m = live(learning_rate=0.2)
    rows = np.flatnonzero(m.couriers.state <= C.WORKING)
    m.couriers.perceived_risk[rows] = 0.003
    for _ in range(10):
        m.couriers.observe_arrests(0.3)
    assert m.couriers.perceived_risk[rows].mean() > 0.2
    m.couriers.perceived_risk[rows] = 0.003
    m.couriers.observe_arrests(0.0)
    assert np.all(m.couriers.perceived_risk[rows] < 0.003)
    frozen = live(learning_rate=0.0)
    rows = np.flatnonzero(frozen.couriers.state <= C.WORKING)
    for _ in range(10):
        frozen.couriers.observe_arrests(0.5)
    np.testing.assert_array_equal(frozen.couriers.perceived_risk[rows], frozen.p.prior_courier_risk)
    # buyers learn the same way
    bm = live(learning_rate=0.2)
    active = np.flatnonzero(bm.buyers.state == B.ACTIVE)
    before = bm.buyers.perceived_risk[active].mean()
    for _ in range(10):
        bm.buyers.observe_arrests(0.3)
    assert bm.buyers.perceived_risk[active].mean() > before + 0.2


def test_own_arrest_raises_perceived_risk():
    m = live(learning_rate=0.5)
    rows = np.flatnonzero(m.couriers.state == C.WORKING)[:5]
    before = m.couriers.perceived_risk[rows].copy()
    m.couriers.detain(rows)
    assert np.all(m.couriers.perceived_risk[rows] > before + 0.4)
    assert np.all(m.couriers.state[rows] == C.PENDING) and np.all(m.couriers.shop[rows] == -1)


def arrest_and_judge(m, day, n):
    """Arrest ``n`` working couriers on ``day`` with their forensic result due at once, and run justice."""
    fresh_day(m)
    m.day = day
    rows = np.flatnonzero(m.couriers.state == C.WORKING)[:n]
    m.couriers.detain(rows)
    m.justice.open_cases(Role.COURIER, rows, Offence.COURIER_FIRST, day, 0)
    m.justice.administer()
    return rows


def test_perceived_conviction_learned_from_case_outcomes():
    lo = live(conviction_probability=0.0, learning_rate=0.2)
    hi = live(conviction_probability=1.0, learning_rate=0.2)
    for m in (lo, hi):
        arrest_and_judge(m, day=5, n=10)
        m.learn(
            m.couriers.lay_stashes(
                np.zeros(len(m.shops), dtype=np.int64),
                m.city.placement,
                street(np.zeros(m.city.n_districts), 0.0),
            ),
            Sales(0.0, np.zeros(0, dtype=np.int64)),
            10,
        )
    assert lo.beliefs.conviction < 0.5 < hi.beliefs.conviction


# ---------------------------------------------------------------- couriers at work
def test_arrested_courier_loses_the_rest_of_his_batch():
    m = live(batch_min=10, batch_max=10, work_share=1.0)
    n = len(m.shops)
    w = np.full(m.city.n_districts, 1.0 / m.city.n_districts)
    working = m.couriers.count(C.WORKING)
    sure = street(np.ones(m.city.n_districts), 0.0)
    day = m.couriers.lay_stashes(np.full(n, 10_000), w, sure)
    assert len(day.arrested) == working
    assert len(day.laid_shop) == 0
    assert day.seized_by_shop.sum() == 10 * working
    m2 = live(batch_min=10, batch_max=10, work_share=1.0)
    none = street(np.zeros(m2.city.n_districts), 0.0)
    day = m2.couriers.lay_stashes(np.full(n, 10_000), w, none)
    assert len(day.arrested) == 0 and day.seized_by_shop.sum() == 0
    assert len(day.laid_shop) == 10 * m2.couriers.count(C.WORKING)
    traced = street(np.zeros(m2.city.n_districts), 1.0)
    day = m2.couriers.lay_stashes(np.full(n, 10_000), w, traced)
    assert len(day.arrested) == m2.couriers.count(C.WORKING)
    assert day.seized_by_shop.sum() > 0


def test_couriers_lay_only_what_shops_need_and_batches_in_range():
    m = live(batch_min=12, batch_max=18, work_share=1.0)
    n = len(m.shops)
    w = np.full(m.city.n_districts, 1.0 / m.city.n_districts)
    none = street(np.zeros(m.city.n_districts), 0.0)
    need = np.array([25, 0, 7])
    day = m.couriers.lay_stashes(need, w, none)
    np.testing.assert_array_equal(day.laid_by_shop, need)
    day = m.couriers.lay_stashes(np.full(n, 10_000), w, none)
    per_courier = np.bincount(day.laid_courier)
    per_courier = per_courier[per_courier > 0]
    assert per_courier.min() >= 12 and per_courier.max() <= 18


def test_arrested_couriers_phone_reveals_his_stashes_with_analytics():
    """His phone shows digital_analytics x phone_stash_share of the 50 stashes he laid that are still there."""
    counts = {}
    for da, share in ((0.0, 1.0), (1.0, 1.0), (1.0, 0.0), (1.0, 0.4)):
        m = live(
            digital_analytics=da,
            phone_stash_share=share,
            courier_detection=0.0,
            stash_detection=0.0,
            digital_courier_detection=0.0,
            work_share=1.0,
        )
        fresh_day(m)
        rows = np.flatnonzero(m.couriers.state == C.WORKING)
        m.stashes.hide(
            np.zeros(50, dtype=np.int64), np.zeros(50, dtype=np.int64), np.full(50, rows[0]), np.zeros(50, dtype=bool)
        )
        # force the arrest of courier rows[0] through a sure per-placement hazard in all districts
        hz = m.police.street_hazards()
        hz = hz._replace(per_placement=np.ones(m.city.n_districts))
        m.couriers.state[rows[1:]] = C.CANDIDATE
        m.couriers.shop[rows[0]] = 0
        m.shops.stock[0] = 1e6
        m.shops.orders[0] = 1000.0  # shop 0 wants stashes laid today
        assert m.shops.active[0]
        m.couriers.work(hz)
        assert rows[0] in m.justice.person[m.justice.role == Role.COURIER]
        counts[da, share] = int(((m.stashes.courier == rows[0]) & (m.stashes.state == StashState.SEIZED)).sum())
    assert counts[0.0, 1.0] == 0
    assert counts[1.0, 1.0] == 50
    assert counts[1.0, 0.0] == 0  # a wiped phone shows nothing, whatever the analytics
    assert 8 <= counts[1.0, 0.4] <= 32  # about 20 (binomial 50 x 0.4: within 3.5 standard deviations)


def test_couriers_quit_after_target_income_or_when_job_no_longer_worth_it():
    m = live()
    rows = np.flatnonzero(m.couriers.state == C.WORKING)
    m.couriers.income[rows[:5]] = m.couriers.target_income[rows[:5]] + 1.0
    m.couriers.income[rows[5:]] = 0.0
    m.couriers.target_income[rows[5:]] = 1e12
    m.couriers.perceived_risk[rows[5:10]] = 1.0  # terrified
    m.couriers.perceived_risk[rows[10:]] = 0.0
    m.couriers.reservation_wage[rows[10:]] = 0.0
    m.couriers.quit_jobs(m.shops.pay)
    assert np.all(m.couriers.state[rows[:5]] == C.GONE)
    assert np.all(m.couriers.state[rows[5:10]] == C.CANDIDATE)
    assert np.all(m.couriers.state[rows[10:]] == C.WORKING)


def test_recruitment_fills_vacancies_from_the_pool():
    """(16a) Vacancies left by lost couriers are filled by willing candidates seeing the ad."""
    m = live(ad_reach=1.0, courier_pay=20_000.0)
    fresh_day(m)
    mine = np.flatnonzero((m.couriers.state == C.WORKING) & (m.couriers.shop == 0))
    m.couriers.state[mine] = C.GONE
    pool = m.couriers.count(C.CANDIDATE)
    m.couriers.find_work()
    hired = int(((m.couriers.state == C.WORKING) & (m.couriers.shop == 0)).sum())
    assert hired == m.shops.vacancies[0] > 0
    assert m.couriers.count(C.CANDIDATE) == pool - m.shops.vacancies.sum()
    assert m.today.courier_vacancies == 0


def test_courier_pay_rises_while_vacancies_stay_unfilled():
    """(16b) With an empty pool vacancies stay open and pay rises each day; filled shops drift back."""
    m = live(pay_raise_rate=0.05)
    fresh_day(m)
    m.couriers.state[m.couriers.state == C.CANDIDATE] = C.GONE
    m.couriers.state[m.couriers.state == C.WORKING] = C.GONE
    pay0 = m.shops.pay.copy()
    for _ in range(10):
        m.couriers.find_work()
    assert m.today.courier_vacancies > 0
    np.testing.assert_allclose(m.shops.pay, pay0 * 1.05**10)
    m.shops.vacancies[:] = 0
    m.shops.adjust_pay(np.zeros(len(m.shops), dtype=np.int64))
    assert np.all(m.shops.pay < pay0 * 1.05**10)


def test_candidate_pool_renews():
    m = live(candidate_inflow=500.0, candidate_exit_rate=0.1)
    pool = np.flatnonzero(m.couriers.state == C.CANDIDATE)
    n0 = len(m.couriers)
    m.couriers.renew_pool()
    assert len(m.couriers) > n0 + 20
    gone = (m.couriers.state[pool] == C.GONE).mean()
    assert 0.05 < gone < 0.15


# ---------------------------------------------------------------- justice
def advance_cases(params, n=400, delay=30, days=60, seed=0):
    j = Justice()
    rng = np.random.default_rng(seed)
    p = sim.params.Params.of({**params, "forensic_delay": delay})
    j.open_cases(Role.COURIER, np.arange(n), Offence.COURIER_FIRST, 0, delay)
    fled = convicted = 0
    first_conviction = None
    for day in range(days):
        out = j.advance(day, p, rng)
        fled += len(out.absconded_rows[Role.COURIER])
        convicted += int(out.convicted[Role.COURIER])
        if convicted and first_conviction is None:
            first_conviction = day
    return fled, convicted, first_conviction, j


def test_absconding_only_while_forensics_pending():
    """(9a) With abscond_rate>0 some suspects abscond before the forensic result; with 0 none do."""
    fled, convicted, _, _ = advance_cases({"abscond_rate": 0.02, "conviction_probability": 1.0})
    assert 120 < fled < 280  # 1 - 0.98**31 ~ 47%
    assert fled + convicted == 400
    fled0, convicted0, _, _ = advance_cases({"abscond_rate": 0.0, "conviction_probability": 1.0})
    assert fled0 == 0 and convicted0 == 400
    fled_fast, _, _, _ = advance_cases({"abscond_rate": 0.02, "conviction_probability": 1.0}, delay=0)
    assert fled_fast == 0


def test_forensic_delay_postpones_convictions():
    """(9b) forensic_delay=0 convicts on the day of arrest; 30 days' delay convicts on day 30."""
    _, _, first0, _ = advance_cases({"abscond_rate": 0.0, "conviction_probability": 1.0}, delay=0)
    _, _, first30, _ = advance_cases({"abscond_rate": 0.0, "conviction_probability": 1.0}, delay=30)
    assert first0 == 0 and first30 == 30


def test_absconders_are_wanted_in_a_run():
    over = {"courier_detection": 0.002, "forensic_delay": 60}
    assert frame(1, 120, abscond_rate=0.05, **over)["wanted"].iloc[-1] > 0
    assert frame(1, 120, abscond_rate=0.0, **over)["wanted"].iloc[-1] == 0


def test_conviction_probability_zero_gives_no_convictions():
    """(10) No convictions and no prisoners with conviction_probability=0, though arrests happen."""
    over = {"courier_detection": 0.002, "forensic_delay": 5, "prison_fill": 0.0}  # prisons start empty
    none = frame(1, 120, conviction_probability=0.0, **over)
    sure = frame(1, 120, conviction_probability=1.0, **over)
    assert none["arrests_courier"].sum() > 5
    assert none["convictions"].sum() == 0 and none["prisoners"].max() == 0
    assert sure["convictions"].sum() > 5 and sure["prisoners"].max() > 0
    _, convicted, _, _ = advance_cases({"abscond_rate": 0.0, "conviction_probability": 0.0})
    assert convicted == 0


def test_incapacitation_and_release_of_couriers():
    """(7) Convicted couriers sit in PRISON (not working) and come back after a sentence of days."""
    for back, state in ((1.0, C.CANDIDATE), (0.0, C.GONE)):
        m = live(severity_multiplier=0.001, conviction_probability=1.0, return_after_release=back, forensic_delay=0)
        rows = arrest_and_judge(m, day=50, n=8)
        assert np.all(m.couriers.state[rows] == C.PRISON)
        assert m.justice.prisoners()[Role.COURIER] == 8
        # a jailed courier lays no stashes
        w = np.full(m.city.n_districts, 1.0 / m.city.n_districts)
        day = m.couriers.lay_stashes(np.full(len(m.shops), 10_000), w, m.police.street_hazards())
        assert not np.isin(day.laid_courier, rows).any()
        # 5-8 years x 0.001 = 1.8-2.9 days
        for d in range(51, 54):
            m.day = d
            m.justice.administer()
        assert np.all(m.couriers.state[rows] == state)
        assert np.all(m.couriers.repeat[rows])
        assert m.justice.prisoners()[Role.COURIER] == 0


def test_prison_population_tracks_sentence_length():
    """Years-long terms keep every convicted courier inside; terms of days let them out again."""
    # only couriers can be convicted here: operators are abroad, labs are never found
    over = {
        "courier_detection": 0.002,
        "forensic_delay": 0,
        "conviction_probability": 1.0,
        "abroad_share": 1.0,
        "lab_detection": 0.0,
        "lab_link": 0.0,
        "prison_fill": 0.0,
    }
    short = frame(1, 150, severity_multiplier=0.002, **over)
    long = frame(1, 150, severity_multiplier=1.0, **over)
    assert long["convictions"].sum() > 10
    assert long["prisoners_courier"].iloc[-1] == long["convictions"].sum()
    assert short["prisoners_courier"].iloc[-1] < 0.25 * short["convictions"].sum()


# ---------------------------------------------------------------- sanctions
def test_sanction_table_matches_sources_and_severity_scales_it():
    """(17) 2025 law vs pre-2025 practice as in docs/ODD.md section 3.4.1; multiplier scales all terms."""
    law, old = SANCTIONS["2025_law"], SANCTIONS["pre2025_practice"]
    assert law["courier_first"] == (5.0, 8.0)
    assert law["courier_repeat"] == (7.0, 12.0)
    assert law["operator"] == (15.0, 20.0)
    assert law["lab"] == (15.0, 20.0)
    assert old["courier_first"] == (10.0, 14.0)
    assert old["courier_first"][0] > law["courier_first"][1]  # practice exceeded the new law's maximum
    assert np.mean(old["courier_first"]) > np.mean(law["courier_first"])
    p = Params.of()
    for offence in law:
        lo, hi = law[offence]
        if offence == "buyer_prison":  # shares of the buyer's mean term, an uncertainty (2 years by default)
            lo, hi = lo * p.buyer_prison_years, hi * p.buyer_prison_years
        assert sentence_bounds(p.replace(severity_multiplier=2.5), offence) == pytest.approx((2.5 * lo, 2.5 * hi))
        assert sentence_bounds(p.replace(severity_multiplier=0.0), offence) == (0.0, 0.0)
    rng = np.random.default_rng(0)
    terms = draw_sentences(rng, p.replace(severity_multiplier=2.0), "courier_first", 2000)
    assert terms.min() >= 10.0 and terms.max() <= 16.0
    assert terms.mean() == pytest.approx(13.0, abs=0.2)


def test_a_buyer_s_prison_term_is_an_uncertainty_that_buyers_weigh():
    """The imprisoned buyer's term scales with buyer_prison_years (1-3 years at the default 2), and so does
    what an arrest costs a buyer when buyers are imprisoned: shorter terms deter less."""
    p = Params.of()
    assert sentence_bounds(p, "buyer_prison") == (1.0, 3.0)
    assert sentence_bounds(p.replace(buyer_prison_years=0.5), "buyer_prison") == (0.25, 0.75)
    assert sentence_bounds(p.replace(buyer_prison_years=0.5), "courier_first") == sentence_bounds(p, "courier_first")
    costs = {}
    for years in (0.5, 2.0, 3.0):
        model = sim.KladMarket({"n_buyers": 500, "buyer_imprisonment": True, "buyer_prison_years": years}, rng=1)
        costs[years] = model.buyers.arrest_cost()
    assert costs[0.5] < costs[2.0] < costs[3.0]
    assert costs[0.5] > Params.of().fine_kzt  # a prison term still costs more than the fine alone


def test_sentence_lengths_in_justice_follow_regime_and_multiplier():
    def mean_term(**over):
        _, _, _, j = advance_cases({"abscond_rate": 0.0, "conviction_probability": 1.0, **over}, delay=0, days=1)
        return (j.release[j.state == 1] / 365.0).mean()

    law = mean_term(time_served_share=1.0)
    assert law == pytest.approx(6.5, abs=0.2)
    assert mean_term(time_served_share=1.0, sanction_regime="pre2025_practice") == pytest.approx(12.0, abs=0.3)
    assert mean_term(time_served_share=1.0, severity_multiplier=2.0) == pytest.approx(13.0, abs=0.3)
    assert mean_term(time_served_share=0.5) == pytest.approx(0.5 * 6.5, abs=0.1)  # parole: half the term served


def test_severity_multiplier_range_is_enforced():
    with pytest.raises(ParameterError):
        model(severity_multiplier=6.0)


# ---------------------------------------------------------------- buyers
def test_prevention_stops_initiation():
    """(12a) prevention=1 gives no new buyers; prevention=0 gives some."""
    assert total("new_buyers", 100, seeds=(1,), prevention=1.0, initiation_rate=50.0) == 0
    assert total("new_buyers", 100, seeds=(1,), prevention=0.0, initiation_rate=50.0) > 100
    half = total("new_buyers", 100, seeds=(1, 2, 3), prevention=0.5, initiation_rate=100.0)
    full = total("new_buyers", 100, seeds=(1, 2, 3), prevention=0.0, initiation_rate=100.0)
    assert half < 0.75 * full


def test_policy_lever_switches_on_at_policy_start_day():
    df = frame(1, 120, policy_start_day=60, initiation_rate=50.0, policy={"prevention": 1.0})
    assert df["new_buyers"].iloc[:60].sum() > 100
    assert df["new_buyers"].iloc[60:].sum() == 0


def test_initiation_grows_with_availability():
    def mean_new(unmet):
        m = live(initiation_rate=500.0)
        news = []
        for _ in range(40):
            fresh_day(m)
            m.today.orders, m.today.unmet_orders = 100, unmet
            m.buyers.renew()
            news.append(m.today.new_buyers)
        return np.mean(news)

    assert mean_new(0) > 3 * mean_new(80)


def test_treatment_makes_arrested_buyers_quit_and_lowers_relapse():
    """(12b) Treated buyers quit (treatment_effect) and relapse at a lower rate."""
    m = live(treatment=1.0, treatment_effect=1.0)
    rows = np.flatnonzero(m.buyers.state == B.ACTIVE)[:200]
    fresh_day(m)
    m.buyers.arrest(rows)
    assert m.today.buyers_treated == 200
    assert np.all(m.buyers.state[rows] == B.FORMER) and np.all(m.buyers.treated[rows])
    u = live(treatment=0.0)
    rows = np.flatnonzero(u.buyers.state == B.ACTIVE)[:200]
    fresh_day(u)
    u.buyers.arrest(rows)
    assert u.today.buyers_treated == 0 and np.all(u.buyers.state[rows] == B.ACTIVE)
    # relapse: half of all buyers treated
    r = live(relapse_rate=0.1, recovery_rate=0.0, quit_rate=0.0)
    treated = np.arange(len(r.buyers)) % 2 == 0
    back = {True: 0, False: 0}
    for _ in range(10):
        r.buyers.state[:] = B.FORMER
        r.buyers.treated[:] = treated
        r.buyers.quit_relapse_recover(r.p.reference_price, 0.0)
        relapsed = r.buyers.state == B.ACTIVE
        back[True] += int((relapsed & treated).sum())
        back[False] += int((relapsed & ~treated).sum())
    assert back[True] < 0.7 * back[False]


def test_quit_relapse_recover_transitions():
    m = live()
    m.p = m.p.replace(quit_rate=0.1, relapse_rate=0.0, recovery_rate=0.0)
    price = m.p.reference_price
    active = m.buyers.state == B.ACTIVE
    m.buyers.quit_relapse_recover(price, 0.0)
    share = (m.buyers.state[active] == B.FORMER).mean()
    assert 0.06 < share < 0.14
    m.p = m.p.replace(quit_rate=0.0, relapse_rate=0.0, recovery_rate=0.1)
    former, before = m.buyers.state == B.FORMER, m.buyers.state == B.RECOVERED
    m.buyers.quit_relapse_recover(price, 0.0)
    recovered = m.buyers.state == B.RECOVERED
    assert 0.06 < recovered[former].mean() < 0.14 and not (recovered & ~before)[~former].any()
    assert (m.buyers.known[recovered] == -1).all()  # the recovered forget the market


def quit_share(price_ratio=1.0, arrest_cost=0.0, **over):
    """Share of active buyers who quit in one day, over 5 seeds."""
    quit = total = 0
    for seed in range(5):
        m = live(seed, relapse_rate=0.0, recovery_rate=0.0, **over)
        m.p = m.p.replace(quit_rate=0.05)
        m.buyers.perceived_risk[:] = 0.05
        active = m.buyers.state == B.ACTIVE
        m.buyers.quit_relapse_recover(price_ratio * m.p.reference_price, arrest_cost)
        quit += int((m.buyers.state[active] == B.FORMER).sum())
        total += int(active.sum())
    return quit / total


def test_quitting_rises_with_price_and_perceived_risk_at_their_elasticities():
    base = quit_share()
    assert base == pytest.approx(0.05, abs=0.01)
    assert quit_share(2.0, use_price_elasticity=1.0) == pytest.approx(0.10, abs=0.015)
    assert quit_share(2.0, use_price_elasticity=0.0) == pytest.approx(0.05, abs=0.01)
    # An arrest worth 10 orders, perceived at 5% a pickup, adds half an order price to the price a user weighs:
    # at use_risk_response 1 it moves quitting as a price 1.5 times the reference does, at the same elasticity.
    p = live().p
    cost = 10 * p.reference_price * p.stash_grams
    for elasticity in (1.0, 0.5):
        priced = quit_share(1.5, use_price_elasticity=elasticity)
        assert priced == pytest.approx(0.05 * 1.5**elasticity, abs=0.01)
        assert quit_share(1.0, cost, use_risk_response=1.0, use_price_elasticity=elasticity) == pytest.approx(
            priced, abs=0.012
        )
    assert quit_share(1.0, cost, use_risk_response=0.0) == pytest.approx(0.05, abs=0.01)
    assert quit_share(1.0, cost, use_risk_response=1.0, use_price_elasticity=0.0) == pytest.approx(0.05, abs=0.01)


def test_prevention_reaches_former_users_only_with_coordination():
    def relapsed(**over):
        back = 0
        for seed in range(3):
            m = live(seed, recovery_rate=0.0, quit_rate=0.0, relapse_rate=0.1, **over)
            m.buyers.state[:] = B.FORMER
            m.buyers.treated[:] = False
            m.buyers.quit_relapse_recover(m.p.reference_price, 0.0)
            back += int((m.buyers.state == B.ACTIVE).sum())
        return back

    none = relapsed(prevention=1.0, coordination=0.0, prevention_reach=1.0)
    full = relapsed(prevention=1.0, coordination=1.0, prevention_reach=0.5)
    assert full == pytest.approx(0.5 * none, rel=0.1)
    assert relapsed(prevention=1.0, coordination=1.0, prevention_reach=0.0) == pytest.approx(none, rel=0.1)


def test_no_relapse_no_recovery_is_a_valid_market(monkeypatch):
    original = BuyerRoster.start_using

    def guarded(self, n, state, weights):
        assert n <= 10 * TINY["n_buyers"], f"asked to create {n} buyers"
        return original(self, n, state, weights)

    monkeypatch.setattr(BuyerRoster, "start_using", guarded)
    m = model(quit_rate=0.1, relapse_rate=0.0, recovery_rate=0.0)
    assert m.buyers.count(B.FORMER) <= 10 * TINY["n_buyers"]


def test_price_and_perceived_risk_lower_ordering():
    m = live()
    rows = np.flatnonzero(m.buyers.state == B.ACTIVE)
    m.buyers.perceived_risk[rows] = 0.0
    ref = m.p.reference_price

    def orders(price, cost=50_000.0, reps=20):
        return sum(len(m.buyers.decide_orders(price, cost)) for _ in range(reps))

    cheap, dear = orders(ref), orders(3 * ref)
    assert dear < 0.75 * cheap
    m.buyers.perceived_risk[rows] = 0.1
    assert orders(ref) < 0.9 * cheap
    m.buyers.risk_aversion[rows] = 0.0  # users who do not weigh the cost of arrest
    assert orders(ref) == pytest.approx(cheap, rel=0.05)


def test_buyer_imprisonment_lowers_ordering_vs_fines():
    """(18) Imprisoning buyers raises the arrest cost they weigh, and they order less."""
    fine = live(buyer_imprisonment=False)
    prison = live(buyer_imprisonment=True)
    assert fine.buyers.arrest_cost() == pytest.approx(fine.p.fine_kzt)
    assert prison.buyers.arrest_cost() > 10 * fine.buyers.arrest_cost()
    price = fine.p.reference_price
    counts = []
    for m in (fine, prison):
        m.buyers.perceived_risk[m.buyers.state == B.ACTIVE] = 0.01
        counts.append(sum(len(m.buyers.decide_orders(price, m.buyers.arrest_cost())) for _ in range(10)))
    assert counts[1] < 0.75 * counts[0]


def test_buyer_imprisonment_in_a_run_reduces_orders_and_jails_buyers():
    over = {"buyer_detection": 0.003}
    fined = [frame(s, 120, buyer_imprisonment=False, **over) for s in (1, 2)]
    jailed = [frame(s, 120, buyer_imprisonment=True, **over) for s in (1, 2)]
    assert sum(f["prisoners_buyer"].max() for f in fined) == 0
    assert sum(f["prisoners_buyer"].max() for f in jailed) > 0
    tail = slice(60, None)
    assert sum(f["orders"].iloc[tail].sum() for f in jailed) < 0.9 * sum(f["orders"].iloc[tail].sum() for f in fined)


def test_arrested_buyers_fined_stay_active_imprisoned_leave():
    m = live(buyer_imprisonment=True, treatment=0.0)
    rows = np.flatnonzero(m.buyers.state == B.ACTIVE)[:20]
    fresh_day(m)
    m.buyers.arrest(rows)
    assert np.all(m.buyers.state[rows] == B.PRISON)
    assert np.isin(rows, m.justice.person[m.justice.role == Role.BUYER]).all()
    f = live(buyer_imprisonment=False, treatment=0.0)
    rows = np.flatnonzero(f.buyers.state == B.ACTIVE)[:20]
    cases = (f.justice.role == Role.BUYER).sum()
    fresh_day(f)
    f.buyers.arrest(rows)
    assert np.all(f.buyers.state[rows] == B.ACTIVE)  # fined, back on the street
    assert (f.justice.role == Role.BUYER).sum() == cases == 0


def test_buyers_in_prison_state_are_those_with_open_cases():
    """Invariant: a buyer is in PRISON state exactly while he has a pending case or a sentence."""
    m = model(1, buyer_imprisonment=True, buyer_detection=0.003, abscond_rate=0.0, severity_multiplier=0.02)
    m.run_for(150)
    open_cases = (m.justice.role == Role.BUYER) & (m.justice.state != 2)
    assert m.buyers.count(B.PRISON) == int(open_cases.sum()) > 0


def test_absconded_buyers_do_not_stay_in_prison_state():
    """Regression: absconders used to stay in buyers.state == PRISON for ever (fixed in a6c2193)."""
    m = model(1, buyer_imprisonment=True, buyer_detection=0.003, abscond_rate=0.05, forensic_delay=30)
    m.run_for(150)
    assert m.justice.wanted > 0
    open_cases = (m.justice.role == Role.BUYER) & (m.justice.state != 2)
    assert m.buyers.count(B.PRISON) == int(open_cases.sum())


def test_search_is_harder_when_more_storefronts_are_blocked():
    def found_share(open_now):
        m = live(search_success=0.9)
        rows = np.flatnonzero(m.buyers.state == B.ACTIVE)
        m.buyers.known[:] = -1
        m.buyers.known[rows, 0] = 0  # every buyer knows only shop 0, which is blocked
        vis = np.ones(len(m.shops))
        return (m.buyers.choose_storefronts(rows, np.array(open_now), vis) >= 0).mean()

    two, one = found_share([False, True, True]), found_share([False, False, True])
    assert two == pytest.approx(0.6, abs=0.06)
    assert one == pytest.approx(0.3, abs=0.06)


def test_buyers_use_a_known_open_storefront_and_remember_found_ones():
    m = live(search_success=1.0)
    rows = np.flatnonzero(m.buyers.state == B.ACTIVE)[:100]
    m.buyers.known[rows] = -1
    m.buyers.known[rows, 0] = 2
    choice = m.buyers.choose_storefronts(rows, np.array([True, True, True]), np.ones(3))
    assert np.all(choice == 2)
    m.buyers.known[rows] = -1
    choice = m.buyers.choose_storefronts(rows, np.array([True, True, True]), np.ones(3))
    assert np.all(choice >= 0)
    assert np.all((m.buyers.known[rows] == choice[:, None]).any(axis=1))


# ---------------------------------------------------------------- policing mode
def test_statistics_targeting_shifts_arrests_from_couriers_to_buyers():
    """(13) 'statistics' mode raises buyer arrests and lowers courier arrests vs 'balanced'."""
    bal = live(targeting_mode="balanced")
    stat = live(targeting_mode="statistics")
    stat.city.patrol[:] = bal.city.patrol  # same patrol, different use of it
    hb, hs = bal.police.street_hazards(), stat.police.street_hazards()
    assert np.all(hs.buyer >= hb.buyer) and np.all(hs.per_placement <= hb.per_placement)
    over = {"courier_detection": 0.0005}
    days, seeds = 150, (1, 2, 3)
    buyers_b = total("arrests_buyer", days, seeds, targeting_mode="balanced", **over)
    buyers_s = total("arrests_buyer", days, seeds, targeting_mode="statistics", **over)
    couriers_b = total("arrests_courier", days, seeds, targeting_mode="balanced", **over)
    couriers_s = total("arrests_courier", days, seeds, targeting_mode="statistics", **over)
    assert buyers_s > 2 * buyers_b
    assert couriers_s < 0.6 * couriers_b


def test_statistics_patrol_follows_buyer_pickups():
    m = live(targeting_mode="statistics")
    hot = int(np.argmin(m.police.pickups_by_district))
    pickups = np.zeros(m.city.n_districts)
    pickups[hot] = 100
    for _ in range(30):
        m.police.record_finds(np.zeros(0, dtype=np.int64), pickups)
    m.police.allocate_budget()
    assert m.city.patrol[hot] > 0.9 * m.police.effort.patrol


# ---------------------------------------------------------------- prices
def test_retail_price_rises_with_courier_pay_and_unmet_orders():
    """(14) set_prices: higher pay (scarce couriers) and unmet orders push the price up."""
    m = live()
    ref = m.p.reference_price
    m.shops.price[:] = ref
    m.shops.wholesale_paid[:] = m.p.wholesale_price
    m.shops.pay[:] = m.p.courier_pay
    m.shops.unmet[:] = 0.0
    m.shops.pay[1] = 3 * m.p.courier_pay
    m.shops.unmet[2] = 0.5
    for _ in range(100):
        m.shops.set_prices()
    assert m.shops.price[0] == pytest.approx(ref)
    assert m.shops.price[1] > 1.5 * ref
    assert m.shops.price[2] == pytest.approx(1.5 * ref, rel=0.01)


def test_courier_scarcity_raises_pay_and_price_in_a_run():
    # Shops that cannot staff lose money; exit_patience at its maximum keeps them open, to see the pay itself.
    over = {"courier_detection": 0.003, "candidate_inflow": 0.0, "pay_raise_rate": 0.05, "exit_patience": 730}
    # Means over the last 30 days of 3 seeds: one seed's last day varies from 0.9x to 2.1x.
    seeds = (1, 2, 3)
    scarce = pd.concat([frame(s, 120, candidate_pool=10, **over).tail(30) for s in seeds]).mean()
    ample = pd.concat([frame(s, 120, candidate_pool=2000, **over).tail(30) for s in seeds]).mean()
    assert scarce["courier_pay"] > 1.15 * ample["courier_pay"]
    assert scarce["price_per_gram"] > ample["price_per_gram"]


# ---------------------------------------------------------------- stashes
def test_patrol_seizures_cause_not_found_pickups():
    """(15a) With no stash losses of any kind, 'not found' is zero; police seizures make it positive."""
    over = {"bad_placement": 0.0, "digital_analytics": 0.0}
    clean = frame(1, 60, stash_detection=0.0, **over)
    assert clean["not_found_rate"].max() == 0.0
    # 3 seeds: in this one-lab city a lab bust can leave one seed's market without stock, and so without pickups.
    seized = pd.concat([frame(s, 60, stash_detection=0.01, **over) for s in (1, 2, 3)])
    assert seized["not_found_rate"].mean() > 0.02
    lost = frame(1, 60, stash_detection=0.0, bad_placement=0.3, digital_analytics=0.0)
    assert lost["not_found_rate"].mean() > 0.1


def sell_and_watch(m):
    """Run ``sell_to_buyers`` once; return the pickups' shops, which were re-stashes, and the delivery."""
    deliveries = []
    original = m.stashes.deliver

    def deliver(shop, restash, *rest):
        deliveries.append((shop.copy(), restash.copy(), original(shop, restash, *rest)))
        return deliveries[-1][2]

    m.stashes.deliver = deliver
    m.buyers.buy(m.police.street_hazards(), np.zeros(0, dtype=np.int64), wages=np.zeros(len(m.shops)))
    m.stashes.deliver = original
    ((shop, restash, sent),) = deliveries
    return shop, restash, sent


def test_a_buyer_who_finds_nothing_is_sent_a_new_stash_the_next_day_and_a_second_failure_is_final():
    """(15b) "Not found": the shop has a courier lay a new stash, sent the next day; it costs a stash and pay."""
    m = live(buyer_detection=0.0)
    n_shops, n = len(m.shops), 300
    m.stashes.hide(
        np.repeat(np.arange(3), n), np.zeros(3 * n, dtype=np.int64), np.full(3 * n, -1), np.zeros(3 * n, dtype=bool)
    )
    state = m.stashes.state
    state[np.flatnonzero(state == StashState.PRESENT)[::2]] = StashState.SEIZED  # half of what is on file was seized
    b = m.buyers
    b.owed_buyer, b.owed_shop = b.owed_buyer[:0], b.owed_shop[:0]  # nobody owed from the first day
    fresh_day(m)
    was_present = m.stashes.state == StashState.PRESENT
    shop, restash, sent = sell_and_watch(m)
    assert not restash.any() and sent.missing.sum() > 5
    np.testing.assert_array_equal(sent.missing, (sent.sent >= 0) & ~was_present[np.maximum(sent.sent, 0)])
    np.testing.assert_array_equal(m.buyers.owed_shop, shop[sent.missing])  # each not-found buyer is owed a re-stash
    assert m.today.transactions == int(sent.got.sum()) and m.today.restashes == 0
    assert m.today.not_found_rate == pytest.approx(sent.missing.sum() / (sent.sent >= 0).sum())
    owed, owed_shop = m.buyers.owed_buyer.copy(), m.buyers.owed_shop.copy()
    # Next morning each shop plans one new stash per buyer it owes, on top of its ground stock.
    m.shops.stock[:] = 1e9
    on_file, owing = m.stashes.on_file(n_shops), np.bincount(owed_shop, minlength=n_shops)
    extra = m.shops.plan_stashes(on_file, owing) - m.shops.plan_stashes(on_file, np.zeros(n_shops, dtype=np.int64))
    np.testing.assert_array_equal(extra, np.where(m.shops.active, owing, 0))
    # The couriers lay them (every second one badly placed); nothing else on file is gone now.
    fresh_day(m)
    m.day += 1
    m.stashes.state[:] = StashState.PRESENT
    new_rows = len(m.stashes) + np.arange(len(owed))
    bad = np.arange(len(owed)) % 2 == 1
    m.stashes.hide(owed_shop, np.zeros(len(owed), dtype=np.int64), np.full(len(owed), -1), bad)
    on_file_rows = m.stashes.shop.copy()
    shop, restash, sent = sell_and_watch(m)
    k = len(owed)
    assert restash[:k].all() and not restash[k:].any()  # the owed buyers go first
    np.testing.assert_array_equal(shop[:k], owed_shop)
    assert set(sent.sent[:k]) == set(new_rows)  # each to one of the stashes laid for them
    np.testing.assert_array_equal(on_file_rows[sent.sent[:k]], owed_shop)
    assert m.today.restashes == k
    assert m.today.restash_failures == bad.sum() == (~sent.got[:k]).sum()  # a second failure is final:
    assert len(m.buyers.owed_buyer) == 0  # nobody is owed again
    # Re-stash pickups pay nothing more: the revenue is today's orders sent a stash, at their shop's price.
    new = ~restash & (sent.sent >= 0)
    assert m.today.revenue == pytest.approx((m.shops.price[shop[new]] * m.p.stash_grams).sum())


def test_restashes_of_a_closed_shop_are_dropped_as_failures():
    m = live(buyer_detection=0.0)
    fresh_day(m)
    m.buyers.owed_buyer = np.flatnonzero(m.buyers.state == B.ACTIVE)[:6]
    m.buyers.owed_shop = np.array([0, 0, 0, 1, 1, 1])
    m.shops.active[0] = False
    m.buyers.drop_restashes()
    np.testing.assert_array_equal(m.buyers.owed_shop, [1, 1, 1])
    assert m.today.restash_failures == 3 and m.today.unmet_orders == 3


# ---------------------------------------------------------------- shop entry and exit
def test_shop_exits_when_cash_runs_out():
    """(11b) A shop with negative cash closes; its couriers return to the pool, its stashes are lost."""
    m = live(shop_entry_rate=0.0)
    fresh_day(m)
    m.shops.cash[0] = -1.0
    couriers = np.flatnonzero((m.couriers.state == C.WORKING) & (m.couriers.shop == 0))
    assert len(couriers) > 0
    enter_and_exit(m)
    assert not m.shops.active[0] and m.shops.active[1:3].all()
    assert np.all(m.couriers.state[couriers] == C.CANDIDATE)
    assert not ((m.stashes.shop == 0) & (m.stashes.state == StashState.PRESENT)).any()
    assert not (m.buyers.known == 0).any()


def test_shop_entry_when_profitable_not_when_losing():
    """(11c) New shops enter when profits (or unmet demand) clear the entry hurdle, not when shops lose money."""
    results = {}
    start_cash = live().p.shop_start_cash
    cases = (
        ("rich", 1e7, 0, 0.5),
        ("poor", -1e7, 0, 0.0),
        ("unserved", 0.0, 100, 0.0),  # every order unmet: a margin of 1, certain entry at rate 1
        ("below hurdle", 1.5 * start_cash / 30, 0, 2.1),  # incumbents earn 1.5 times their start a month
        ("above hurdle", 3.5 * start_cash / 30, 0, 2.1),
    )
    for label, profit, unmet, hurdle in cases:
        m = live(shop_entry_rate=1.0, entry_hurdle=hurdle)
        fresh_day(m)
        m.today.orders, m.today.unmet_orders = 100, unmet
        m.shops.profit[:] = profit
        m.shops.cash[:] = 1e9
        n = len(m.shops)
        for _ in range(5):
            m.shops.profit[n:] = profit  # entrants earn as the incumbents do
            enter_and_exit(m)
        results[label] = len(m.shops) - n
    assert results == {"rich": 5, "poor": 0, "unserved": 5, "below hurdle": 0, "above hurdle": 5}


def test_shops_close_after_exit_patience_days_of_losses_and_when_out_of_money():
    m = live(exit_patience=30)
    fresh_day(m)
    m.shops.cash[:] = 1e9
    m.shops.loss_days[:] = 0
    m.shops.loss_days[0] = 30
    m.shops.loss_days[1] = 29
    m.shops.cash[2] = -1.0
    enter_and_exit(m)
    assert not m.shops.active[0] and m.shops.active[1] and not m.shops.active[2]
    assert m.today.shops_closed == 2


# ---------------------------------------------------------------- mesa structure
def test_closed_shops_and_labs_leave_the_mesa_agentset():
    from sim.model.roles.labs import Lab
    from sim.model.roles.shops import Operator

    m = live()
    fresh_day(m)
    n_ops, n_labs = len(m.agents_by_type[Operator]), len(m.agents_by_type[Lab])
    m.shops.close_down(0, seize=False)
    m.labs.close(np.array([0]))
    m.tidy_rosters()  # agents leave Mesa's AgentSets at the end of the day
    assert len(m.agents_by_type[Operator]) == n_ops - 1
    assert len(m.agents_by_type.get(Lab, [])) == n_labs - 1


# ---------------------------------------------------------------- further mechanisms found in the code
def test_more_visible_storefronts_are_detected_more_often():
    m = live()
    m.day = 3
    hits = np.zeros(2)
    for _ in range(200):
        m.shops.channel[:] = Storefront.OPEN
        m.shops.visibility[:3] = [1.0, 0.1, 0.0]
        m.shops.detect_storefronts(0.5, block_delay=0)
        hits += m.shops.storefront[:2] == Storefront.DETECTED
        assert m.shops.storefront[2] == Storefront.OPEN  # invisible: never found
    assert hits[0] > 3 * hits[1] > 0


def test_vacancies_follow_expected_orders():
    m = live(batch_min=10, batch_max=20, work_share=0.5)
    working = np.zeros(len(m.shops), dtype=np.int64)
    m.shops.orders[:3] = [75.0, 150.0, 0.0]
    v = m.shops.post_vacancies(working)
    np.testing.assert_array_equal(v[:3], [11, 22, 0])  # ceil(orders * 1.1 / 7.5)
    v = m.shops.post_vacancies(np.array([11, 30, 0]))
    np.testing.assert_array_equal(v[:3], [0, 0, 0])


def test_pay_is_capped_at_a_share_of_stash_revenue():
    m = live(max_pay_share=0.2, pay_raise_rate=0.5)
    m.shops.price[:] = 20_000.0
    for _ in range(20):
        m.shops.adjust_pay(np.ones(len(m.shops), dtype=np.int64))
    np.testing.assert_allclose(m.shops.pay, 0.2 * 20_000.0 * m.p.stash_grams)


def test_shops_restock_bulk_and_pay_for_it_and_for_couriers():
    m = live(stock_days=7.0, wholesale_price=1_000.0, shop_fixed_cost=100.0, owner_withdrawal=0.0)
    m.shops.orders[:] = 100.0
    m.shops.stock[:3] = [0.0, 1000.0, 100.0]
    req = m.shops.restock()
    daily = 100.0 * m.p.stash_grams
    np.testing.assert_allclose(req[:3], [7 * daily, 0.0, 7 * daily])
    cash = m.shops.cash.copy()
    m.shops.receive_bulk(req, np.full(len(m.shops), 1_000.0))
    np.testing.assert_allclose(m.shops.cash, cash - req * 1_000.0)
    cash = m.shops.cash.copy()
    n = len(m.shops)
    m.shops.book_day(np.full(n, 10.0), np.full(n, 10.0), np.full(n, 50_000.0), np.full(n, 20_000.0))
    np.testing.assert_allclose(m.shops.cash[m.shops.active], cash[m.shops.active] + 50_000.0 - 20_000.0 - 100.0)
    # The owner takes a share of the cash above the reserve (the starting cash) out of the business each day.
    m.p = m.p.replace(owner_withdrawal=0.5)
    m.shops.cash[:] = m.p.shop_start_cash + 1e6
    zero = np.zeros(n)
    m.shops.book_day(zero, zero, zero, zero)
    np.testing.assert_allclose(m.shops.cash[m.shops.active], m.p.shop_start_cash + 0.5 * (1e6 - 100.0))


def test_lab_police_effort_finds_labs_without_leads():
    found = {}
    for share in (0.0, 0.1):
        m = live(share_labs=share)
        assert m.labs.active[0]
        m.p = m.p.replace(lab_detection=1.0)
        fresh_day(m)
        m.police.allocate_budget()
        m.labs.leads[:] = 0.0
        m.shops.leads[:] = 0.0
        m.police.investigate()
        found[share] = m.today.arrests_lab
    assert found == {0.0: 0, 0.1: 1}


@pytest.mark.parametrize("large", [1000.0, 0.0])
def test_repeat_offenders_are_charged_as_repeat_and_large_quantities_aggravate(large):
    m = live(digital_analytics=0.0, large_quantity=large)
    fresh_day(m)
    rows = np.flatnonzero(m.couriers.state == C.WORKING)
    m.couriers.repeat[rows[::2]] = True
    m.shops.stock[:] = 1e6
    m.stashes = Stashes()  # every shop needs stashes today
    hz = m.police.street_hazards()
    hz = hz._replace(per_placement=np.ones(m.city.n_districts))
    opened_before = len(m.justice.role)  # cases of earlier days (and prisoners of day 0) are not today's charges
    m.couriers.work(hz)
    case = (m.justice.role == Role.COURIER) & (np.arange(len(m.justice.role)) >= opened_before)
    arrested = m.justice.person[case]
    assert len(arrested) > 5
    first = "courier_first" if large > 0 else "courier_large"
    expected = np.where(m.couriers.repeat[arrested], "courier_repeat", first)
    np.testing.assert_array_equal(m.justice.offence[case], expected)
    assert {"courier_repeat", first} <= set(expected)


def test_no_buyer_patrol_no_buyer_arrests():
    df = frame(1, 60, buyer_detection=0.0)
    assert df["arrests_buyer"].sum() == 0
    assert frame(1, 60, buyer_detection=0.005)["arrests_buyer"].sum() > 5


def test_more_police_lowers_latency():
    weak = frame(1, 90, police_budget=20.0)["latency"].iloc[30:].mean()
    strong = frame(1, 90, police_budget=600.0)["latency"].iloc[30:].mean()
    assert weak > strong + 0.02
    assert 0.0 <= strong <= weak <= 1.0


def test_initiation_grows_with_advertising_at_its_elasticity():
    def mean_new(scale, elasticity=1.0):
        m = live(initiation_rate=500.0, ad_elasticity=elasticity)
        m.shops.visibility[:] *= scale
        news = []
        for _ in range(40):
            fresh_day(m)
            m.today.orders, m.today.unmet_orders = 100, 0
            m.buyers.renew()
            news.append(m.today.new_buyers)
        return np.mean(news)

    assert mean_new(1.0) / mean_new(0.25) == pytest.approx(4.0, rel=0.15)  # a quarter of the advertising
    assert mean_new(1.0, 0.25) / mean_new(0.25, 0.25) == pytest.approx(4.0**0.25, rel=0.1)
    assert mean_new(1.0, 0.0) == pytest.approx(mean_new(0.25, 0.0), rel=0.1)  # elasticity 0: no effect
    assert mean_new(0.0) == mean_new(0.0, 0.0) == 0.0  # nothing advertised, nothing to start with


def test_a_buyer_weighs_prison_in_his_own_income_not_a_couriers_wage():
    """(18b) A buyer's arrest cost under prison is his own income's worth (buyer_income), not a candidate's wage."""
    base = live(buyer_imprisonment=True)
    fine = base.p.fine_kzt
    prison_part = base.buyers.arrest_cost() - fine
    assert prison_part > 0
    richer = live(buyer_imprisonment=True, buyer_income=2 * base.p.buyer_income)
    assert richer.buyers.arrest_cost() - fine == pytest.approx(2 * prison_part)
    other_wage = live(buyer_imprisonment=True, reservation_wage=5 * base.p.reservation_wage)
    assert other_wage.buyers.arrest_cost() == pytest.approx(base.buyers.arrest_cost())


def test_a_buyer_discounts_prison_years_at_his_own_rate():
    """(18c) The prison part of a buyer's arrest cost is his term discounted at buyer_discount_factor, whatever
    the courier candidates' discount factor; steeper discounting (a lower factor) makes it smaller."""
    from sim.model.deterrence import discounted_years

    base = live(buyer_imprisonment=True)
    fine, known = base.p.fine_kzt, base.beliefs.law
    per_year = known.buyer_prison_chance * base.p.prison_year_cost * base.p.buyer_income * 365.0
    expected = discounted_years(float(known.years[Offence.BUYER_PRISON]), base.p.buyer_discount_factor) * per_year
    assert base.buyers.arrest_cost() - fine == pytest.approx(float(expected))
    other_candidates = live(buyer_imprisonment=True, discount_factor_mean=0.9)
    assert other_candidates.buyers.arrest_cost() == pytest.approx(base.buyers.arrest_cost())
    steeper = live(buyer_imprisonment=True, buyer_discount_factor=0.2)
    milder = live(buyer_imprisonment=True, buyer_discount_factor=0.6)
    assert fine < steeper.buyers.arrest_cost() < base.buyers.arrest_cost() < milder.buyers.arrest_cost()


def test_felt_cost_is_linear_at_zero_and_bounded_when_it_saturates():
    from sim.model.deterrence import felt_cost

    assert felt_cost(320.0, 0.0) == 320.0
    assert felt_cost(320.0, 0.1) == pytest.approx(10.0 * (1 - np.exp(-32.0)))
    assert felt_cost(320.0, 0.1) < 10.0
    assert felt_cost(0.01, 0.1) == pytest.approx(0.01, rel=1e-3)  # small costs weighed alike in both forms
    assert felt_cost(4.5, 0.02) == pytest.approx(4.5, rel=0.05)  # a fine, about five order prices


def test_a_saturating_response_deters_less_from_prison_than_a_linear_one():
    """(18c) With arrest_cost_saturation above 0, prison for buyers lowers ordering far less than linearly."""
    counts = {}
    for saturation in (0.0, 0.1):
        m = live(buyer_imprisonment=True, arrest_cost_saturation=saturation)
        m.buyers.perceived_risk[m.buyers.state == B.ACTIVE] = 0.02  # one pickup in fifty: the term weighs
        counts[saturation] = sum(len(m.buyers.decide_orders(m.p.reference_price, m.buyers.arrest_cost()))
                                 for _ in range(10))  # fmt: skip
    assert counts[0.1] > 1.5 * counts[0.0]


def test_a_new_law_is_learnt_over_law_learning_days():
    """(18d) Prison for buyers from day 5 is known gradually: about 1 - 1/e of it after law_learning_days."""

    def known_chance(days, learning):
        m = model(policy_start_day=5, policy={"buyer_imprisonment": True}, law_learning_days=learning)
        m.run_for(days)
        return m.beliefs.law.buyer_prison_chance

    assert known_chance(4, 30) == 0.0
    assert known_chance(4 + 30, 30) == pytest.approx(1 - np.exp(-1), abs=0.03)
    assert known_chance(4 + 300, 30) > 0.99
    assert known_chance(6, 0) == 1.0  # 0: known on the day it is signed


def test_rolling_year_counts_distinct_persons_exactly():
    """(43b) The ring's count equals a brute-force count of persons whose last mark is in the window."""
    from sim.model.world.contacts import NEVER, RollingYear

    rng = np.random.default_rng(5)
    window, people, days = 30, 200, 120
    counter, last = RollingYear(window), np.full(people, NEVER, dtype=np.int64)
    marks = {p: [] for p in range(people)}
    for day in range(days):
        counter.new_day(day)
        rows = np.unique(rng.integers(0, people, rng.integers(0, 15)))
        counter.mark(last, rows)
        counter.mark(last, rows[: len(rows) // 2])  # marked twice the same day: one person
        for r in rows:
            marks[int(r)].append(day)
        brute = sum(1 for ds in marks.values() if ds and ds[-1] > day - window)
        assert counter.count() == brute, day


def test_persons_latency_counts_the_persons_arrests_touch():
    """(43c) Without arrests no person is touched; with them, the persons arrested in the year are counted once."""
    off = frame(1, 60, buyer_detection=0.0, courier_detection=0.0, digital_courier_detection=0.0,
                known_offender_detection=1.0)  # fmt: skip
    assert (off["arrests_buyer"] + off["arrests_courier"]).sum() == 0
    assert (off["persons_contacted"] == 0).all() and (off["persons_latency"] == 1.0).all()
    on = frame(1, 60, buyer_detection=0.01)
    arrests = int((on["arrests_buyer"] + on["arrests_courier"]).sum())
    assert 0 < on["persons_contacted"].iloc[-1] <= arrests  # a person arrested twice is one contact
    assert on["persons_contacted"].iloc[-1] >= 0.5 * arrests  # most are arrested once in 60 days
    assert on["persons_in_market"].iloc[-1] >= on["active_buyers"].iloc[-1] + on["active_couriers"].iloc[-1]
    last = on.iloc[-1]
    assert last["persons_latency"] == pytest.approx(1 - last["persons_contacted"] / last["persons_in_market"])


def test_a_shop_with_several_channels_is_dark_only_when_all_are_blocked():
    """(2b) Each channel is found and blocked on its own; the shop sells until the last is blocked, and its
    buyers lose its address only when it comes back from dark."""
    m = live(storefronts_per_shop=3, mirror_delay=2, mirror_retention=0.5, storefront_detection=0.0)
    fresh_day(m)
    shop, d = 0, 10
    assert m.shops.channel.shape == (len(m.shops), 3)
    knew0 = int((m.buyers.known == shop).sum())
    m.day = d
    m.shops.channel[shop, :2] = Storefront.DETECTED  # two of three channels found, due today
    m.shops.channel_day[shop, :2] = d
    m.shops.storefront_round()
    assert m.shops.storefront[shop] == Storefront.OPEN and m.shops.open_now()[shop]  # one channel still sells
    m.day = d + 2
    m.shops.storefront_round()  # the two reopen as mirrors: paid for, but nobody had lost the shop
    assert m.today.mirrors_opened == 2 and int((m.buyers.known == shop).sum()) == knew0
    m.shops.block(np.array([shop]), mirror_delay=2)  # now every channel at once: dark
    assert m.shops.storefront[shop] == Storefront.BLOCKED and not m.shops.open_now()[shop]
    m.day = d + 4
    m.shops.storefront_round()
    assert m.today.mirrors_opened == 3 and m.shops.storefront[shop] == Storefront.OPEN
    assert 0.3 * knew0 < int((m.buyers.known == shop).sum()) < 0.7 * knew0  # back from dark: half lost


def test_more_channels_are_found_more_often_and_blocks_count_channels():
    """(2c) Each of a shop's channels is found on its own: three channels, about three times the finds."""
    finds = {}
    for k in (1, 3):
        m = live(storefronts_per_shop=k)
        m.day = 3
        total = 0
        for _ in range(1500):  # over a thousand finds a side: the ratio's noise is about 3%
            m.shops.channel[:] = Storefront.OPEN
            total += m.shops.detect_storefronts(0.5, block_delay=0)
        finds[k] = total
    assert finds[1] > 1000
    assert 2.7 * finds[1] < finds[3] < 3.3 * finds[1]


def test_blocking_is_bounded_by_the_cyber_units_officer_days():
    """(2d) At officer_days_per_block > 0 the unit blocks at most its officer-days over that a day, the longest
    due first, and the officer-days spent blocking do not monitor the next day; at 0 there is no bound."""
    m = live(storefronts_per_shop=3, officer_days_per_block=5.0, storefront_detection=0.0)
    fresh_day(m)
    m.day = 20
    m.police.effort.cyber = 10.0  # two blocks a day
    active = np.flatnonzero(m.shops.active)
    m.shops.channel[active] = Storefront.DETECTED
    m.shops.channel_day[active] = 20
    m.shops.channel_day[active[-1], 0] = 12  # due the longest
    allowed = m.police.blocks_allowed()
    assert allowed == 2
    assert m.shops.block_storefronts(allowed) == 2
    assert m.shops.channel[active[-1], 0] == Storefront.BLOCKED  # the longest due went first
    assert (m.shops.channel == Storefront.DETECTED).sum() == 3 * len(active) - 2  # the others wait
    m.p = m.p.replace(storefront_detection=0.01)
    before = m.police.storefront_hazard()
    m.police.spend_on_blocks(2)
    assert m.police.storefront_hazard() == 0.0 < before  # ten officer-days blocking, none left to monitor
    m.police.effort.cyber = 1.0  # a fifth of a block a day: one every five days
    m.police.spend_on_blocks(0)
    m.police.block_credit = 0.0
    assert [m.police.blocks_allowed() for _ in range(5)] == [0, 0, 0, 0, 1]
    unbounded = live(officer_days_per_block=0.0)
    assert unbounded.police.blocks_allowed() is None


def test_repeat_couriers_and_their_rearrests_are_counted():
    """(43d) Released couriers who take the job again are repeat couriers at work, and their arrests are counted
    apart; with nobody going back to the work there are none of either."""
    over = {
        "courier_detection": 0.004,
        "forensic_delay": 0,
        "conviction_probability": 1.0,
        "severity_multiplier": 0.002,
        "prison_fill": 0.0,
    }  # fmt: skip  (terms of days: quick releases)
    none = frame(1, 150, return_after_release=0.0, **over)
    back = frame(1, 150, return_after_release=1.0, **over)
    assert none["arrests_courier"].sum() > 10 and none["convictions_courier"].sum() > 5
    assert (none["repeat_couriers"] == 0).all() and none["rearrests_courier"].sum() == 0
    assert back["repeat_couriers"].max() > 0 and back["rearrests_courier"].sum() > 0
    assert (back["repeat_couriers"] <= back["active_couriers"]).all()
    assert (back["rearrests_courier"] <= back["arrests_courier"]).all()
