"""Common random numbers: each process of the model draws its own numbers, and arms fork from one warm-up."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sim.experiments.replications import replication_seeds, run_forked, run_one
from sim.model.engine.draws import Streams, stream_key
from sim.model.market import KladMarket

SMALL = {"n_buyers": 1500, "n_shops": 6, "n_couriers": 24, "n_labs": 2, "policy_start_day": 25}


def test_a_process_draws_the_same_numbers_whatever_the_others_draw():
    quiet, busy = Streams(7), Streams(7)
    busy("patrol").random(10_000)  # another process draws a lot more today
    busy("orders").random(3)
    for streams in (quiet, busy):
        streams.new_day(5)
    assert np.array_equal(quiet("orders").random(4), busy("orders").random(4))
    assert not np.array_equal(quiet("patrol").random(4), quiet("orders").random(4))


def test_a_process_is_keyed_by_its_name_not_by_when_it_is_first_asked_for():
    first, later = Streams(7), Streams(7)
    later("patrol").random(2)  # another process known first: no process's numbers move
    assert np.array_equal(first("orders").random(4), later("orders").random(4))
    assert np.array_equal(first.keyed("use", np.arange(5)), later.keyed("use", np.arange(5)))
    assert stream_key("orders") == 0xBC6451F8  # a fixed hash of the name (not Python's hash, salted per process)


def test_two_names_that_share_a_key_are_refused():
    seen: dict[int, str] = {}
    for i in range(1_000_000):  # a 32-bit key: a shared one turns up after some 80,000 names
        name = f"process_{i}"
        other = seen.setdefault(stream_key(name), name)
        if other != name:
            break
    streams = Streams(1)
    streams(other)
    with pytest.raises(ValueError, match="share a key"):
        streams(name)


def test_every_process_of_a_run_has_its_own_key():
    model = KladMarket(SMALL, rng=3)
    model.run_for(40)
    names = list(model.stream._rows)
    assert len(names) > 30 and len({stream_key(n) for n in names}) == len(names)


def test_each_day_and_seed_draws_anew():
    a, b = Streams(7), Streams(8)
    first = a("use").random(3)
    a.new_day(1)
    assert not np.array_equal(first, a("use").random(3))
    assert not np.array_equal(first, b("use").random(3))
    assert np.array_equal(Streams(np.random.SeedSequence(7))("use").random(3), first)


def test_an_agent_keeps_its_number_whoever_else_is_drawn_for():
    everyone = Streams(3).keyed("use", np.arange(10))
    assert np.array_equal(Streams(3).keyed("use", np.array([7, 2])), everyone[[7, 2]])
    assert not np.array_equal(Streams(3).keyed("orders", np.arange(10)), everyone)
    streams = Streams(3)
    assert streams.keyed("use", np.arange(10), 4).shape == (10, 4)
    assert not np.array_equal(streams.keyed("use", np.arange(10)), everyone)  # a second call today: new numbers
    streams.new_day(1)
    assert not np.array_equal(streams.keyed("use", np.arange(10)), everyone)
    assert 0.0 <= everyone.min() and everyone.max() < 1.0


@pytest.mark.parametrize("share", [0.0, 0.05, 0.5, 1.0])  # a few asked for (branch by branch), many (all hashed)
def test_an_agents_number_is_the_same_whichever_way_it_is_computed(share):
    uids = np.arange(5_000, dtype=np.int64) * 7 + 3
    where = np.random.default_rng(2).random(len(uids)) < share
    every = Streams(5).keyed("use", uids)
    assert np.array_equal(Streams(5).keyed("use", uids, where=where), every[where])
    columns = Streams(5).keyed("use", uids, 3)
    counters = (uids[:, None] * 3 + np.arange(3)).ravel()  # row i, column c: the number of counter 3 * uid + c
    assert np.array_equal(columns.ravel(), Streams(5).keyed("use", counters))
    assert np.array_equal(Streams(5).keyed("use", uids, 3, where=where), columns[where])


def test_keyed_uniforms_look_uniform_and_independent():
    from scipy import stats

    u = Streams(11).keyed("orders", np.arange(200_000), 2)
    assert stats.kstest(u[:, 0], "uniform").pvalue > 0.001
    assert abs(np.corrcoef(u[:, 0], u[:, 1])[0, 1]) < 0.01
    assert abs(np.corrcoef(u[:-1, 0], u[1:, 0])[0, 1]) < 0.01  # neighbouring agents


def test_arms_forked_from_one_warm_up_are_the_runs_made_alone():
    seed = replication_seeds(20251, 1)[0]
    policies = [{}, {"severity_multiplier": 2.0, "digital_analytics": 0.5}, {"block_delay": 1}]
    forked = run_forked(SMALL, policies, 40, seed)
    for policy, frame in zip(policies, forked, strict=True):
        alone = run_one({**SMALL, "policy": policy}, 40, seed)
        pd.testing.assert_frame_equal(frame, alone)
    assert not forked[0].equals(forked[1])  # the policies did act


def test_no_lever_acts_before_the_policy_starts():
    seed = replication_seeds(1, 1)[0]
    known = {**SMALL, "law_learning_days": 0}  # the new law known at once: learning it is tested on its own
    base = KladMarket({**known, "policy": {}}, rng=seed)
    tight = KladMarket({**known, "policy": {"severity_multiplier": 3.0}}, rng=seed)
    base.run_for(24)
    tight.run_for(24)
    pd.testing.assert_frame_equal(base.daily(), tight.daily())
    base.run_for(10)
    tight.run_for(10)
    assert not base.daily().equals(tight.daily())


@pytest.mark.slow
def test_common_random_numbers_pair_the_replications():
    """Across replications, an arm's final-window sales follow the baseline's.

    The paired differences (arm minus baseline, one per replication) vary by less than half the seed-to-seed
    spread of the baseline; between independent runs they would vary by about 1.4 spreads. Their spread is
    measured robustly (the median absolute deviation, scaled to a normal SD), because a replication may part
    ways for good (a shortfall sets up new labs in one arm and not the other): pairing is for the rest.
    """
    params = {**SMALL, "n_buyers": 3000, "n_shops": 10, "n_couriers": 40, "policy_start_day": 120}
    seeds = replication_seeds(20251, 10)
    means = {"baseline": [], "tightened": []}
    policies = [{}, {"severity_multiplier": 2.0}]
    for seed in seeds:
        for name, frame in zip(means, run_forked(params, policies, 240, seed), strict=True):
            means[name].append(frame[frame["day"] > 180]["grams_sold"].mean())
    baseline, tightened = np.array(means["baseline"]), np.array(means["tightened"])
    paired, spread = stats.median_abs_deviation(tightened - baseline, scale="normal"), baseline.std(ddof=1)
    assert paired < 0.5 * spread, f"paired differences vary by {paired:.1f} g, the baseline by {spread:.1f} g"
