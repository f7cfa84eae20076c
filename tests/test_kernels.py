"""The compiled inner loops (sim.kernels) and the weighted draw (sim.draws) against their rules."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from sim import kernels
from sim.draws import bernoulli_subset, categorical


def test_categorical_gives_the_values_of_rng_choice():
    weights = np.random.default_rng(0).random(64)
    a = np.random.default_rng(5).choice(64, size=5000, p=weights / weights.sum())
    b = categorical(np.random.default_rng(5), weights, 5000)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(("k", "p"), [(10, 0.1), (10, 0.0), (10, 1.0), (1, 0.5), (1000, 0.3)])
def test_binomial_cdf_matches_scipy(k, p):
    np.testing.assert_allclose(kernels.binomial_cdf(k, p), stats.binom.cdf(np.arange(k + 1), k, p), atol=1e-12)


def test_peer_learning_draws_binomial_counts_for_learning_rows_only():
    rng = np.random.default_rng(1)
    n, peers, rate = 200_000, 10, 0.1
    learning = np.arange(n) % 4 != 0
    risk = np.full(n, 0.5)
    # One uniform per learning row; with learning rate 1, risk becomes the share seen.
    kernels.learn_from_peers(rng.random(learning.sum()), learning, risk, peers, rate, 1.0)
    assert np.all(risk[~learning] == 0.5)
    counts = np.bincount(np.rint(risk[learning] * peers).astype(int), minlength=peers + 1)
    expected = stats.binom.pmf(np.arange(peers + 1), peers, rate) * learning.sum()
    pooled = np.append(counts[:5], counts[5:].sum()), np.append(expected[:5], expected[5:].sum())
    assert stats.chisquare(*pooled).pvalue > 1e-3
    risk[:] = 0.2
    kernels.learn_from_peers(rng.random(learning.sum()), learning, risk, peers, 0.0, 0.25)  # nothing seen: -25%
    np.testing.assert_allclose(risk[learning], 0.15)


def test_orders_get_distinct_stashes_of_their_shop_first_come_first_served():
    stash_shop = np.array([2, 0, 1, 0, 2, 2, 0])
    order_shop = np.array([0, 2, 1, 1, 0, 0, 0, 2])
    present = np.ones(len(stash_shop), dtype=bool)
    u = np.random.default_rng(3).random((len(order_shop), 2))
    sent, second = kernels.deliver(u, order_shop, stash_shop, present, 3)
    np.testing.assert_array_equal(second, -1)  # every stash was there: no second round
    got = sent >= 0
    np.testing.assert_array_equal(stash_shop[sent[got]], order_shop[got])
    assert len(set(sent[got])) == got.sum()  # no stash twice
    # Shop 0 has 3 stashes for 4 orders: the last order waits; shop 1 has 1 for 2.
    np.testing.assert_array_equal(got, [True, True, True, False, True, True, False, True])


def test_a_shops_stashes_are_drawn_uniformly():
    stash_shop = np.array([0, 1, 0, 0, 1, 0])  # shop 0: rows 0, 2, 3, 5
    rng = np.random.default_rng(4)
    present = np.ones(6, dtype=bool)
    first = [kernels.deliver(rng.random((1, 2)), np.array([0]), stash_shop, present, 2)[0][0] for _ in range(8000)]
    counts = np.bincount(first, minlength=6)
    assert counts[[1, 4]].sum() == 0
    assert stats.chisquare(counts[[0, 2, 3, 5]]).pvalue > 1e-3


def test_orders_whose_stash_is_gone_get_one_more_from_what_is_left():
    stash_shop = np.array([0, 0, 0, 0, 1])
    present = np.array([False, False, True, True, False])
    order_shop = np.array([0, 0, 1, 0])
    rng = np.random.default_rng(11)
    for _ in range(200):
        first, second = kernels.deliver(rng.random((4, 2)), order_shop, stash_shop, present, 2)
        assert (first[[0, 1, 3]] >= 0).all() and first[2] == 4
        gone = ~present[first]
        used = np.concatenate([first, second[second >= 0]])
        assert len(np.unique(used)) == len(used)  # never the same stash twice
        assert second[2] == -1  # shop 1 has nothing left
        # Shop 0 had 4 stashes: 3 went out first, so at most one second stash, to its first order that found nothing.
        lacking = np.flatnonzero(gone & (order_shop == 0))
        if len(lacking):
            assert second[lacking[0]] >= 0 and (second[lacking[1:]] == -1).all()


def test_buyers_use_the_first_open_storefront_they_know_else_search():
    known = np.array([[3, 1, -1], [-1, 2, 0], [1, -1, -1], [-1, -1, -1]])
    open_now = np.array([True, False, True, True])
    rows = np.arange(4)
    cdf = np.cumsum([0.0, 0.0, 0.0, 1.0])  # search finds only shop 3
    uniforms = np.full((4, 3), 0.5)
    choice = kernels.choose_storefronts(uniforms, rows, known.copy(), open_now, 0.0, cdf)
    np.testing.assert_array_equal(choice, [3, 2, -1, -1])  # search never succeeds with find = 0
    known2 = known.copy()
    choice = kernels.choose_storefronts(uniforms, rows, known2, open_now, 1.0, cdf)
    np.testing.assert_array_equal(choice, [3, 2, 3, 3])
    np.testing.assert_array_equal(known2[2:, 1], [3, 3])  # the found storefront is remembered (slot int(0.5 * 3))


def test_only_active_buyers_order_with_their_chance():
    n = 100_000
    active = np.arange(n) % 2 == 0
    rate = np.full(n, 0.3)
    ones, zeros = np.ones(n), np.zeros(n)
    u = np.random.default_rng(6).random(active.sum())  # one per active row
    rows = kernels.decide_orders(u, active, rate, ones, ones, zeros, 0.0, 0.0)
    assert active[rows].all()
    assert len(rows) / active.sum() == pytest.approx(0.3, abs=0.01)
    # A price at e times the reference and elasticity 1 divide the chance by e.
    rows = kernels.decide_orders(u, active, rate, ones, ones, zeros, 1.0, 0.0)
    assert len(rows) / active.sum() == pytest.approx(0.3 / np.e, abs=0.01)


def test_use_transitions_quit_relapse_and_recover_at_their_rates():
    active, former, prison, recovered = 0, 1, 2, 3
    n = 300_000
    state = np.repeat(np.array([active, former, former, prison], dtype=np.int8), n // 4)
    treated = np.zeros(n, dtype=bool)
    treated[n // 2 : 3 * n // 4] = True  # the second former block was treated
    before = state.copy()
    uniforms = np.random.default_rng(7).random(n)
    kernels.use_transitions(uniforms, state, treated, 0.1, 0.2, 0.05, active, former, recovered)
    blocks = [state[i * n // 4 : (i + 1) * n // 4] for i in range(4)]
    assert np.mean(blocks[0] == former) == pytest.approx(0.1, abs=0.005)
    assert np.mean(blocks[1] == active) == pytest.approx(0.2, abs=0.005)
    assert np.mean(blocks[1] == recovered) == pytest.approx(0.05, abs=0.005)
    assert np.mean(blocks[2] == active) == pytest.approx(0.1, abs=0.005)  # treatment halves relapse
    np.testing.assert_array_equal(blocks[3], before[3 * n // 4 :])  # prisoners do not move


@pytest.mark.parametrize("p", [0.0, 0.05, 0.5, 1.0])
def test_bernoulli_subset_keeps_each_row_with_its_chance_in_order(p):
    rng = np.random.default_rng(8)
    rows = np.arange(10, 2010)
    kept = np.concatenate([bernoulli_subset(rng, rows, p) for _ in range(200)])
    assert np.all(np.diff(bernoulli_subset(rng, rows, p)) > 0)  # distinct, in the rows' order
    counts = np.bincount(kept - 10, minlength=len(rows))
    assert counts.mean() / 200 == pytest.approx(p, abs=0.005)
    if 0 < p < 1:  # every row equally likely: the counts spread as Binomial(200, p)
        assert counts.var() == pytest.approx(200 * p * (1 - p), rel=0.15)


def test_ordering_shortcut_changes_no_decision():
    """Rows skipped without the exponential would not have ordered anyway, whatever the price."""
    rng = np.random.default_rng(9)
    n = 50_000
    active = rng.random(n) < 0.7
    rate, elasticity, aversion, risk = rng.random(n) * 0.4, rng.lognormal(0, 0.5, n), rng.random(n), rng.random(n) * 0.1
    u = rng.random(active.sum())
    rows = np.flatnonzero(active)
    for log_price_ratio in (-0.8, 0.0, 0.5):
        chance = rate[rows] * np.exp(-elasticity[rows] * log_price_ratio - aversion[rows] * risk[rows] * 2.0)
        expected = rows[u < chance]
        got = kernels.decide_orders(u, active, rate, elasticity, aversion, risk, log_price_ratio, 2.0)
        np.testing.assert_array_equal(got, expected)


def test_couriers_lay_until_the_first_seen_placement_or_trace():
    batch, shop = np.array([3, 5, 4]), np.array([0, 1, 1])
    cdf = np.array([0.5, 1.0])  # two districts, equally likely
    u = np.random.default_rng(10).random((batch.sum(), 2))
    never = np.zeros(2)
    caught, where, owner, district, laid, seized = kernels.lay_batches(batch, shop, batch.copy(), cdf, never, u, 2)
    np.testing.assert_array_equal(caught, batch)  # unseen and untraced: all laid, no one caught
    np.testing.assert_array_equal(where, -1)
    np.testing.assert_array_equal(owner, np.repeat([0, 1, 2], batch))
    np.testing.assert_array_equal(district, (u[:, 0] >= 0.5).astype(int))
    np.testing.assert_array_equal(laid, [3, 9])
    np.testing.assert_array_equal(seized, [0, 0])
    traced_at = np.array([3, 2, 0])
    caught, where, owner, district, laid, seized = kernels.lay_batches(batch, shop, traced_at, cdf, never, u, 2)
    np.testing.assert_array_equal(caught, [3, 2, 0])  # traced at their 3rd and 1st placement
    np.testing.assert_array_equal(laid, [3, 2])
    np.testing.assert_array_equal(seized, [0, 7])
    np.testing.assert_array_equal(where, [-1, int(u[5, 0] >= 0.5), int(u[8, 0] >= 0.5)])
    # District 1 is always watched: each courier is caught at his first placement there.
    caught, where, *_ = kernels.lay_batches(batch, shop, batch.copy(), cdf, np.array([0.0, 1.0]), u, 2)
    first_in_1 = [np.argmax(u[s : s + b, 0] >= 0.5) if (u[s : s + b, 0] >= 0.5).any() else b
                  for s, b in zip(np.cumsum(batch) - batch, batch, strict=True)]  # fmt: skip
    np.testing.assert_array_equal(caught, first_in_1)
    np.testing.assert_array_equal(where[caught < batch], 1)


def test_punishment_cost_is_the_discounted_sentence_valued_at_the_wage():
    from sim.sanctions import discounted_years

    rng = np.random.default_rng(12)
    n = 1000
    repeat, beta = rng.random(n) < 0.3, rng.uniform(0.0, 1.0, n)
    wage, risk, aversion = rng.uniform(1e3, 1e4, n), rng.random(n) * 0.01, rng.lognormal(0, 0.5, n)
    rows = rng.choice(n, 300, replace=False)
    got = kernels.punishment_cost(rows, repeat, beta, wage, risk, aversion, 6.5, 9.5, 0.6 * 0.7 * 365.0)
    years = np.where(repeat[rows], 9.5, 6.5)
    expected = aversion[rows] * risk[rows] * 0.6 * 0.7 * discounted_years(years, beta[rows]) * wage[rows] * 365.0
    np.testing.assert_allclose(got, expected, rtol=1e-12)
