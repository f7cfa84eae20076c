"""Compiled inner loops of the busiest daily verbs.

A day of the 10,000-buyer city is a few dozen small array operations per
role; written as NumPy expressions, most of its time went on the overhead of
each operation, not on arithmetic. The loops here, compiled by Numba, make one
pass over a role's arrays instead. Their randomness comes in as arrays of
uniforms drawn by the caller from the model's generator (NumPy draws them
faster than a compiled loop would), so a run stays a function of its seed.

Each function states the rule it implements; the verbs that call it, in
``buyers``, ``couriers``, ``roster`` and ``model``, say why.
Compiled code is cached on disk (``cache=True``), so only the first run on a
machine compiles it.
"""

from __future__ import annotations

import math

import numba
import numpy as np

jit = numba.njit(cache=True, nogil=True)


@jit
def decide_orders(uniforms, active, order_rate, elasticity, aversion, risk, log_price_ratio, risk_cost_ratio):
    """Rows that order today.

    The ``k``-th ``active`` row orders when ``uniforms[k]`` is below its chance
    ``order_rate * exp(-elasticity * log_price_ratio - aversion * risk * risk_cost_ratio)``.
    """
    out = np.empty(len(uniforms), dtype=np.int64)
    n = 0
    k = 0
    for i in range(len(active)):
        if active[i]:
            deterrence = elasticity[i] * log_price_ratio + aversion[i] * risk[i] * risk_cost_ratio
            chance = order_rate[i] * math.exp(-deterrence)
            if uniforms[k] < chance:
                out[n] = i
                n += 1
            k += 1
    return out[:n]


@jit
def choose_storefronts(uniforms, rows, known, open_now, find, cdf):
    """The shop each ordering row uses, -1 if none.

    The first remembered open storefront; otherwise, with probability ``find``,
    one found by search (drawn from ``cdf``, the cumulative search weights),
    which replaces a random remembered slot. ``uniforms`` has 3 per row.
    """
    slots = known.shape[1]
    choice = np.full(len(rows), -1, dtype=np.int64)
    for j in range(len(rows)):
        row = rows[j]
        for s in range(slots):
            shop = known[row, s]
            if shop >= 0 and open_now[shop]:
                choice[j] = shop
                break
        if choice[j] < 0 and len(cdf) > 0 and uniforms[j, 0] < find:
            shop = min(np.searchsorted(cdf, uniforms[j, 1], side="right"), len(cdf) - 1)
            choice[j] = shop
            known[row, int(uniforms[j, 2] * slots)] = shop
    return choice


@jit
def match_stashes(uniforms, order_shop, stash_shop, n_shops):
    """A stash row for each order, or -1: each order gets a distinct stash of its shop, drawn at random.

    Orders are served in the given order; a shop with fewer stashes than
    orders serves its first orders only. ``uniforms`` has one per order.
    """
    count = np.zeros(n_shops + 1, dtype=np.int64)
    for s in stash_shop:
        count[s + 1] += 1
    start = np.cumsum(count)  # start[s]: first slot of shop s in ``pool``
    fill = start[:-1].copy()
    pool = np.empty(len(stash_shop), dtype=np.int64)
    for row in range(len(stash_shop)):
        s = stash_shop[row]
        pool[fill[s]] = row
        fill[s] += 1
    taken = np.zeros(n_shops, dtype=np.int64)
    out = np.full(len(order_shop), -1, dtype=np.int64)
    for j in range(len(order_shop)):
        s = order_shop[j]
        left = count[s + 1] - taken[s]
        if left > 0:
            # Partial Fisher-Yates: swap a random remaining stash of shop s into the next slot.
            first = start[s] + taken[s]
            pick = first + int(uniforms[j] * left)
            pool[first], pool[pick] = pool[pick], pool[first]
            out[j] = pool[first]
            taken[s] += 1
    return out


@jit
def use_transitions(uniforms, state, treated, quit_rate, relapse_rate, recovery_rate, active, former, recovered):
    """A day's moves between use states, one uniform per row.

    An ``active`` row quits (to ``former``) when its uniform is below
    ``quit_rate``; a ``former`` row relapses when it is below the relapse
    rate (halved after treatment), else recovers for good (``recovered``)
    when it is below relapse + ``recovery_rate``.
    """
    for i in range(len(state)):
        u = uniforms[i]
        if state[i] == active:
            if u < quit_rate:
                state[i] = former
        elif state[i] == former:
            relapse = relapse_rate * (0.5 if treated[i] else 1.0)
            if u < relapse:
                state[i] = active
            elif u < relapse + recovery_rate:
                state[i] = recovered


@jit
def binomial_cdf(k, p):
    """Distribution function of Binomial(``k``, ``p``) at 0 .. k."""
    cdf = np.empty(k + 1)
    if p <= 0.0:
        cdf[:] = 1.0
        return cdf
    if p >= 1.0:
        cdf[:] = 0.0
        cdf[k] = 1.0
        return cdf
    pmf = (1.0 - p) ** k
    odds = p / (1.0 - p)
    total = 0.0
    for j in range(k + 1):
        total += pmf
        cdf[j] = total
        pmf *= (k - j) / (j + 1) * odds
    cdf[k] = 1.0
    return cdf


@jit
def learn_from_peers(uniforms, learning, risk, peers, arrest_rate, learning_rate):
    """Peer learning: each row in ``learning`` moves ``risk`` towards the arrest share among its peers.

    The row sees Binomial(``peers``, ``arrest_rate``) arrests among its peers,
    and its ``risk`` moves ``learning_rate`` of the way to that share.

    The count is drawn by inverting the distribution function with the ``k``-th
    uniform for the ``k``-th learning row: arrest rates are small, so for most
    rows the first comparison decides.
    """
    cdf = binomial_cdf(peers, arrest_rate)
    k = 0
    for i in range(len(learning)):
        if learning[i]:
            u = uniforms[k]
            k += 1
            seen = 0
            while u >= cdf[seen]:
                seen += 1
            risk[i] += learning_rate * (seen / peers - risk[i])
