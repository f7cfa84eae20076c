"""The compiled rules of the roles, each against its rule written out, and the weighted draw (engine.draws)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from sim.model import deterrence
from sim.model.engine.draws import categorical, cdf
from sim.model.roles import buyers, couriers
from sim.model.roles.buyers import Appetite, UseRates
from sim.model.roles.couriers import Batches, JobAds, JobCost, Shift, Staff
from sim.model.world import stashes


def test_categorical_gives_the_values_of_rng_choice():
    weights = np.random.default_rng(0).random(64)
    a = np.random.default_rng(5).choice(64, size=5000, p=weights / weights.sum())
    b = categorical(np.random.default_rng(5), weights, 5000)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(("k", "p"), [(10, 0.1), (10, 0.0), (10, 1.0), (1, 0.5), (1000, 0.3)])
def test_binomial_cdf_matches_scipy(k, p):
    np.testing.assert_allclose(deterrence.binomial_cdf(k, p), stats.binom.cdf(np.arange(k + 1), k, p), atol=1e-12)


def test_peer_learning_draws_binomial_counts_for_learning_rows_only():
    rng = np.random.default_rng(1)
    n, peers, rate = 200_000, 10, 0.1
    learning = np.arange(n) % 4 != 0
    risk = np.full(n, 0.5)
    # One uniform per learning row; with learning rate 1, risk becomes the share seen.
    deterrence.learn_from_peers(rng.random(learning.sum()), learning, risk, peers, rate, 1.0)
    assert np.all(risk[~learning] == 0.5)
    counts = np.bincount(np.rint(risk[learning] * peers).astype(int), minlength=peers + 1)
    expected = stats.binom.pmf(np.arange(peers + 1), peers, rate) * learning.sum()
    pooled = np.append(counts[:5], counts[5:].sum()), np.append(expected[:5], expected[5:].sum())
    assert stats.chisquare(*pooled).pvalue > 1e-3
    risk[:] = 0.2
    deterrence.learn_from_peers(np.zeros(0), learning, risk, peers, 0.0, 0.25)  # nothing seen: -25%, no uniform read
    np.testing.assert_allclose(risk[learning], 0.15)


def test_orders_get_distinct_stashes_of_their_shop_first_come_first_served():
    stash_shop = np.array([2, 0, 1, 0, 2, 2, 0])
    order_shop = np.array([0, 2, 1, 1, 0, 0, 0, 2])
    present = np.ones(len(stash_shop), dtype=bool)
    u = np.random.default_rng(3).random(len(order_shop))
    none = np.zeros(len(order_shop), dtype=bool)
    sent, missing, got, where, keep = stashes.send_orders(u, order_shop, none, stash_shop, stash_shop, present, 3)
    assert not missing.any()  # every stash was there
    np.testing.assert_array_equal(got, sent >= 0)
    np.testing.assert_array_equal(stash_shop[sent[got]], order_shop[got])
    np.testing.assert_array_equal(where[got], stash_shop[sent[got]])  # (districts here are the shop numbers)
    assert len(set(sent[got])) == got.sum()  # no stash twice
    np.testing.assert_array_equal(keep, ~np.isin(np.arange(7), sent))
    # Shop 0 has 3 stashes for 4 orders: the last order waits; shop 1 has 1 for 2.
    np.testing.assert_array_equal(got, [True, True, True, False, True, True, False, True])


def test_a_shops_stashes_are_drawn_uniformly():
    stash_shop = np.array([0, 1, 0, 0, 1, 0])  # shop 0: rows 0, 2, 3, 5
    rng = np.random.default_rng(4)
    present = np.ones(6, dtype=bool)
    no = np.zeros(1, dtype=bool)
    first = [stashes.send_orders(rng.random(1), np.array([0]), no, stash_shop, stash_shop, present, 2)[0][0]
             for _ in range(8000)]  # fmt: skip
    counts = np.bincount(first, minlength=6)
    assert counts[[1, 4]].sum() == 0
    assert stats.chisquare(counts[[0, 2, 3, 5]]).pvalue > 1e-3


def test_restashes_go_first_to_the_newest_stashes_and_a_gone_stash_is_missing():
    stash_shop = np.array([0, 0, 1, 0, 0, 1])  # shop 0: rows 0, 1, 3, 4 (4 laid last)
    present = np.array([True, True, True, True, False, True])
    district = np.array([10, 11, 12, 13, 14, 15])
    order_shop = np.array([0, 0, 1, 0, 0, 0])  # orders 4 and 5 are re-stashes (served first, whatever their place)
    restash = np.array([False, False, False, False, True, True])
    rng = np.random.default_rng(11)
    for _ in range(200):
        sent, missing, got, where, keep = stashes.send_orders(
            rng.random(6), order_shop, restash, stash_shop, district, present, 2
        )
        np.testing.assert_array_equal(sent[4:], [4, 3])  # the newest of shop 0, newest first
        assert missing[4] and not got[4] and where[4] == -1  # the newest was gone: the second failure
        assert got[5] and where[5] == 13
        assert sorted(sent[[0, 1, 3]][sent[[0, 1, 3]] >= 0]) == [0, 1]  # the orders share what is left: 2 stashes
        assert (sent[[0, 1, 3]] == -1).sum() == 1  # one order waits
        assert sent[2] in (2, 5) and got[2]
        np.testing.assert_array_equal(missing, (sent >= 0) & ~present[np.maximum(sent, 0)])
        np.testing.assert_array_equal(keep, ~np.isin(np.arange(6), sent))


def test_buyers_pick_among_open_storefronts_they_know_by_appeal_else_search():
    known = np.array([[3, 1, -1], [-1, 2, 0], [1, -1, -1], [-1, -1, -1]])
    appeal = np.array([1.0, 0.0, 3.0, 1.0])  # shop 1 is not open
    rows = np.arange(4)
    cdf = np.cumsum([0.0, 0.0, 0.0, 1.0])  # search finds only shop 3
    uniforms = np.full((4, 4), 0.5)
    choice = buyers.choose_storefronts(uniforms, rows, known.copy(), appeal, 0.0, cdf)
    np.testing.assert_array_equal(choice, [3, 2, -1, -1])  # search never succeeds with find = 0
    known2 = known.copy()
    choice = buyers.choose_storefronts(uniforms, rows, known2, appeal, 1.0, cdf)
    np.testing.assert_array_equal(choice, [3, 2, 3, 3])
    np.testing.assert_array_equal(known2[2:, 1], [3, 3])  # the found storefront is remembered (slot int(0.5 * 3))
    # Among the open storefronts a buyer knows, each is chosen in proportion to its appeal.
    n = 200_000
    many = np.tile([-1, 2, 0], (n, 1))
    u = np.random.default_rng(5).random((n, 4))
    choice = buyers.choose_storefronts(u, np.arange(n), many, appeal, 0.0, cdf)
    assert np.isin(choice, [0, 2]).all()
    assert (choice == 2).mean() == pytest.approx(0.75, abs=0.005)


def test_only_active_buyers_order_with_their_chance():
    n = 100_000
    active = np.arange(n) % 2 == 0
    rate = np.full(n, 0.3)
    ones, zeros = np.ones(n), np.zeros(n)
    u = np.random.default_rng(6).random(active.sum())  # one per active row
    rows = buyers.decide_orders(u, active, Appetite(rate, ones, ones, zeros), 0.0, 0.0)
    assert active[rows].all()
    assert len(rows) / active.sum() == pytest.approx(0.3, abs=0.01)
    # A price at e times the reference and elasticity 1 divide the chance by e.
    rows = buyers.decide_orders(u, active, Appetite(rate, ones, ones, zeros), 1.0, 0.0)
    assert len(rows) / active.sum() == pytest.approx(0.3 / np.e, abs=0.01)
    # So does an expected arrest cost of e - 1 order prices at the reference price (the full price is e times
    # it), and at elasticity 0 neither price nor risk moves the chance.
    rows = buyers.decide_orders(u, active, Appetite(rate, ones, ones, np.full(n, 0.1)), 0.0, 10.0 * (np.e - 1))
    assert len(rows) / active.sum() == pytest.approx(0.3 / np.e, abs=0.01)
    rows = buyers.decide_orders(u, active, Appetite(rate, zeros, ones, np.full(n, 0.1)), 1.0, 10.0 * (np.e - 1))
    assert len(rows) / active.sum() == pytest.approx(0.3, abs=0.01)


def test_use_transitions_quit_relapse_and_recover_at_their_rates():
    active, former, prison, recovered = 0, 1, 2, 3
    n = 300_000
    state = np.repeat(np.array([active, former, former, prison], dtype=np.int8), n // 4)
    treated = np.zeros(n, dtype=bool)
    treated[n // 2 : 3 * n // 4] = True  # the second former block was treated
    before = state.copy()
    known = np.full((n, 2), 5)
    uniforms = np.random.default_rng(7).random(3 * n // 4)  # one per active or former row; prisoners draw none
    risk = np.zeros(n)
    buyers.use_transitions(uniforms, state, treated, known, risk, UseRates(0.1, 0.2, 0.05, 1.0, 0.0, 0.5))
    blocks = [state[i * n // 4 : (i + 1) * n // 4] for i in range(4)]
    assert np.mean(blocks[0] == former) == pytest.approx(0.1, abs=0.005)
    assert np.mean(blocks[1] == active) == pytest.approx(0.2, abs=0.005)
    assert np.mean(blocks[1] == recovered) == pytest.approx(0.05, abs=0.005)
    assert np.mean(blocks[2] == active) == pytest.approx(0.1, abs=0.005)  # treatment halves relapse
    np.testing.assert_array_equal(blocks[3], before[3 * n // 4 :])  # prisoners do not move
    np.testing.assert_array_equal(known[state == recovered], -1)  # the recovered forget the market
    assert np.all(known[state != recovered] == 5)
    # Quitting rises with price (price_factor) and with the perceived expected cost of arrest, which adds
    # risk_weight x risk order prices to the price: (1 + 2 x 0.5) ** elasticity.
    for elasticity, raised in ((1.0, 0.3), (0.5, 0.15 * np.sqrt(2.0)), (0.0, 0.15)):
        state = np.full(n, active, dtype=np.int8)
        risk = np.where(np.arange(n) < n // 2, 0.0, 0.5)
        u = np.random.default_rng(8).random(n)
        buyers.use_transitions(u, state, treated, known, risk, UseRates(0.1, 0.2, 0.05, 1.5, 2.0, elasticity))
        assert np.mean(state[: n // 2] == former) == pytest.approx(0.15, abs=0.005)
        assert np.mean(state[n // 2 :] == former) == pytest.approx(raised, abs=0.005)


def test_ordering_shortcut_changes_no_decision():
    """Rows skipped without the exponential would not have ordered anyway, whatever the price."""
    rng = np.random.default_rng(9)
    n = 50_000
    active = rng.random(n) < 0.7
    rate, elasticity, aversion, risk = rng.random(n) * 0.4, rng.lognormal(0, 0.5, n), rng.random(n), rng.random(n) * 0.1
    u = rng.random(active.sum())
    rows = np.flatnonzero(active)
    for log_price_ratio in (-0.8, 0.0, 0.5):
        full_price = log_price_ratio + np.log1p(aversion[rows] * risk[rows] * 2.0)
        chance = rate[rows] * np.exp(-elasticity[rows] * full_price)
        expected = rows[u < chance]
        got = buyers.decide_orders(u, active, Appetite(rate, elasticity, aversion, risk), log_price_ratio, 2.0)
        np.testing.assert_array_equal(got, expected)


def test_quitting_shortcut_changes_no_decision():
    """Active rows passed over without the power would not have quit anyway, whatever the risk and elasticity."""
    rng = np.random.default_rng(11)
    n = 50_000
    for risk_weight, elasticity in ((0.0, 0.5), (3.0, 0.5), (300.0, 1.2), (3.0, -0.4)):
        state = np.where(rng.random(n) < 0.7, 0, 1).astype(np.int8)  # active or former
        risk = rng.random(n) * 0.2
        u = rng.random(n) * 0.05  # many near the quitting hazard
        active = state == 0
        hazard = 0.01 * 1.3 * np.where(risk_weight * risk > 0, (1.0 + risk_weight * risk) ** elasticity, 1.0)
        quits = active & (u < hazard)
        rates = UseRates(0.01, 0.0, 0.0, 1.3, risk_weight, elasticity)
        buyers.use_transitions(u, state, np.zeros(n, dtype=bool), np.zeros((n, 1), dtype=np.int64), risk, rates)
        np.testing.assert_array_equal(active & (state == 1), quits)


def test_couriers_lay_until_the_first_seen_placement_or_trace():
    batch, shop = np.array([3, 5, 4]), np.array([0, 1, 1])
    cdf = np.array([0.5, 1.0])  # two districts, equally likely
    u = np.random.default_rng(10).random((batch.sum(), 2))
    never = np.zeros(2)
    placed = couriers.lay_batches(batches(shop, batch, batch.copy()), cdf, never, u, 2)
    caught, where, owner, district, laid, seized = placed
    np.testing.assert_array_equal(caught, batch)  # unseen and untraced: all laid, no one caught
    np.testing.assert_array_equal(where, -1)
    np.testing.assert_array_equal(owner, np.repeat([0, 1, 2], batch))
    np.testing.assert_array_equal(district, (u[:, 0] >= 0.5).astype(int))
    np.testing.assert_array_equal(laid, [3, 9])
    np.testing.assert_array_equal(seized, [0, 0])
    traced_at = np.array([3, 2, 0])
    placed = couriers.lay_batches(batches(shop, batch, traced_at), cdf, never, u, 2)
    caught, where, owner, district, laid, seized = placed
    np.testing.assert_array_equal(caught, [3, 2, 0])  # traced at their 3rd and 1st placement
    np.testing.assert_array_equal(laid, [3, 2])
    np.testing.assert_array_equal(seized, [0, 7])
    np.testing.assert_array_equal(where, [-1, int(u[5, 0] >= 0.5), int(u[8, 0] >= 0.5)])
    # District 1 is always watched: each courier is caught at his first placement there.
    caught, where, *_ = couriers.lay_batches(batches(shop, batch, batch.copy()), cdf, np.array([0.0, 1.0]), u, 2)
    first_in_1 = [np.argmax(u[s : s + b, 0] >= 0.5) if (u[s : s + b, 0] >= 0.5).any() else b
                  for s, b in zip(np.cumsum(batch) - batch, batch, strict=True)]  # fmt: skip
    np.testing.assert_array_equal(caught, first_in_1)
    np.testing.assert_array_equal(where[caught < batch], 1)


def batches(shop, batch, traced_at):
    """The day's batches as ``plan_batches`` returns them (courier rows 0, 1, ...)."""
    return Batches(np.arange(len(batch)), shop, batch, traced_at)


def test_punishment_cost_is_the_discounted_sentence_valued_at_the_wage():
    discounted = np.vectorize(deterrence.discounted_years)

    rng = np.random.default_rng(12)
    n = 1000
    repeat, beta = rng.random(n) < 0.3, rng.uniform(0.0, 1.0, n)
    wage, risk, aversion = rng.uniform(1e3, 1e4, n), rng.random(n) * 0.01, rng.lognormal(0, 0.5, n)
    rows = rng.choice(n, 300, replace=False)
    got = couriers.punishments(rows, JobCost(repeat, beta, wage, risk, aversion, 6.5, 9.5, 0.6 * 0.7 * 365.0))
    years = np.where(repeat[rows], 9.5, 6.5)
    expected = aversion[rows] * risk[rows] * 0.6 * 0.7 * discounted(years, beta[rows]) * wage[rows] * 365.0
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def cost_terms(rng, n):
    """Random courier columns and constants in the order of ``JobCost``."""
    return (rng.random(n) < 0.3, rng.uniform(0.1, 0.95, n), rng.uniform(1e3, 1e4, n), rng.random(n) * 0.01,
            rng.lognormal(0, 0.5, n), 6.5, 9.5, 0.6 * 0.7 * 365.0)  # fmt: skip


def test_hire_fills_vacancies_with_the_first_willing_readers_of_each_ad_in_serving_order():
    rng = np.random.default_rng(13)
    n, candidate, working = 5000, 0, 1
    state = rng.choice([candidate, working, 4], n, p=[0.7, 0.1, 0.2]).astype(np.int8)
    shop, income = np.full(n, -1), np.full(n, 7.0)
    terms = cost_terms(rng, n)
    vacancies = np.array([40, 0, 5, 300])
    daily_pay = np.array([9e3, 9e3, 3e4, 6e3])
    reach = 0.3
    u = rng.random(np.count_nonzero(state == candidate))
    before = state.copy()
    staff = Staff(state, shop, income, np.zeros(n), np.full(n, -1), np.full(n, -1))
    order = np.roll(np.flatnonzero(state == candidate), -1000)  # served from the 1000th candidate on, round the list
    hires = couriers.hire(u, staff, JobAds(reach, vacancies, cdf(vacancies), daily_pay), JobCost(*terms), 7, order)
    # The rule written out: who sees which ad, who would take it, and the first takers per shop (in serving order).
    rows = order
    seen = u < reach
    ad = np.minimum(np.searchsorted(cdf(vacancies), u / reach, side="right"), 3)  # (unseen rows: any shop)
    takes = seen & (daily_pay[ad] > terms[2][rows] + couriers.punishments(rows, JobCost(*terms)))
    expected = np.zeros(n, dtype=bool)
    for s, v in enumerate(vacancies):
        expected[rows[takes & (ad == s)][:v]] = True
    np.testing.assert_array_equal(state == working, (before == working) | expected)
    ad_of_row = np.full(n, -1)
    ad_of_row[rows] = ad
    np.testing.assert_array_equal(shop[expected], ad_of_row[expected])
    np.testing.assert_array_equal(hires, np.bincount(shop[expected], minlength=4))
    willing = np.bincount(ad[takes], minlength=4)
    np.testing.assert_array_equal(hires, np.minimum(willing, vacancies))  # a full shop hires no more
    assert willing[2] > vacancies[2] and hires[1] == 0  # (one shop fills up; no ad from a shop without vacancies)
    np.testing.assert_array_equal(income[expected], 0.0)
    np.testing.assert_array_equal(staff.hired_day[expected], 7)  # hired today, by the shop whose ad they took
    np.testing.assert_array_equal(staff.hired_by[expected], shop[expected])
    assert (staff.hired_day[~expected] == -1).all()
    np.testing.assert_array_equal(income[~expected], 7.0)


def test_quit_jobs_for_target_income_or_when_the_pay_no_longer_covers_the_cost():
    rng = np.random.default_rng(14)
    n, working, candidate, gone = 4000, 1, 0, 4
    state = rng.choice([candidate, working], n).astype(np.int8)
    shop = np.where(state == working, rng.integers(0, 3, n), -1)
    income, target = rng.uniform(0, 1e5, n), rng.uniform(0, 2e5, n)
    terms = cost_terms(rng, n)
    daily_pay = np.array([2e3, 8e3, 5e4])
    rows = np.flatnonzero(state == working)
    rich = income[rows] >= target[rows]
    unwilling = ~(daily_pay[shop[rows]] > terms[2][rows] + couriers.punishments(rows, JobCost(*terms)))
    before = state.copy()
    left = couriers.quit_jobs(Staff(state, shop, income, target, np.zeros(n), np.zeros(n)), daily_pay, JobCost(*terms))
    assert left == np.count_nonzero(rich | unwilling) > 0
    np.testing.assert_array_equal(state[rows[rich]], gone)
    np.testing.assert_array_equal(state[rows[unwilling & ~rich]], candidate)
    np.testing.assert_array_equal(state[rows[~unwilling & ~rich]], working)
    np.testing.assert_array_equal(shop[rows[rich | unwilling]], -1)
    np.testing.assert_array_equal(state[before != working], before[before != working])


def test_candidates_leave_the_pool_each_with_its_chance():
    candidate, gone = 0, 4
    state = np.tile(np.array([1, candidate, 2], dtype=np.int8), 100_000)
    u = np.random.default_rng(15).random(100_000)  # one per candidate
    couriers.leave_pool(u, state, 0.2)
    np.testing.assert_array_equal(state[1::3] == gone, u < 0.2)
    assert np.all(state[0::3] == 1) and np.all(state[2::3] == 2)


def test_plan_batches_gives_each_shop_its_need_from_its_first_couriers():
    rng = np.random.default_rng(16)
    n, working = 3000, 1
    state = rng.choice([0, working], n, p=[0.4, 0.6]).astype(np.int8)
    shop = np.where(state == working, rng.integers(0, 4, n), -1)
    need = np.array([0, 30, 100_000, 400])
    u = rng.random((np.count_nonzero(state == working), 4))
    repeat = np.zeros(n, dtype=bool)
    rows, of, batch, traced_at = couriers.plan_batches(u, state, shop, repeat, need, Shift(0.5, 10, 20, 0.0, 0.0))
    assert np.all(state[rows] == working) and np.all(np.diff(rows) > 0) and np.all(of == shop[rows])
    goes = u[:, 0] < 0.5
    drawn = 10 + (u[:, 1] * 11).astype(int)  # uniform on 10..20
    for s in range(4):
        mine = goes & (shop[state == working] == s)
        assert batch[of == s].sum() == min(need[s], drawn[mine].sum())  # the need, or all they carry
        full = max(0, np.count_nonzero(of == s) - 1)  # only the last courier out may take less than he drew
        np.testing.assert_array_equal(batch[of == s][:full], drawn[mine][:full])
    counts = np.bincount(batch[of == 2] - 10, minlength=11)  # the shop that needs everything: full batches
    assert stats.chisquare(counts).pvalue > 1e-3
    np.testing.assert_array_equal(traced_at, batch)  # no digital tracing
    _, _, batch, traced_at = couriers.plan_batches(u, state, shop, repeat, need, Shift(1.0, 10, 20, 1.0, 1.0))
    assert np.all(traced_at < batch)  # all traced, at one of their placements
    assert stats.chisquare(np.bincount(traced_at * 4 // batch, minlength=4)).pvalue > 1e-3
    assert len(couriers.plan_batches(u, state, shop, repeat, need, Shift(0.0, 10, 20, 0.0, 0.0))[0]) == 0
    # Couriers with a record are traced at their own hazard (agencies share records).
    repeat = rng.random(n) < 0.5
    rows, _, batch, traced_at = couriers.plan_batches(u, state, shop, repeat, need, Shift(1.0, 10, 20, 0.0, 1.0))
    np.testing.assert_array_equal(traced_at < batch, repeat[rows])


def test_forget_empties_a_shops_slots_except_the_kept_share():
    rng = np.random.default_rng(17)
    known = rng.integers(-1, 4, (20_000, 3))
    holds = known == 2
    assert buyers.count_equal(known, 2) == holds.sum()
    u = rng.random(holds.sum())  # one per slot holding shop 2, in row-major order
    after = known.copy()
    buyers.forget(after, 2, u, 0.3)
    np.testing.assert_array_equal(after[holds] == 2, u < 0.3)
    np.testing.assert_array_equal(after[holds & (after != 2)], -1)
    np.testing.assert_array_equal(after[~holds], known[~holds])
    buyers.forget(after, 2, np.zeros(0), 0.0)  # keep none: no uniforms needed
    assert buyers.count_equal(after, 2) == 0
