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
    Risk only lowers the chance, and price raises it at most by
    ``bound = exp(max elasticity * max(0, -log_price_ratio))``, so a row whose
    uniform is above ``order_rate * bound`` is skipped without the exponential.
    """
    max_elasticity = 0.0
    for i in range(len(active)):
        if active[i] and elasticity[i] > max_elasticity:
            max_elasticity = elasticity[i]
    bound = math.exp(max_elasticity * max(0.0, -log_price_ratio)) * (1.0 + 1e-12)
    out = np.empty(len(uniforms), dtype=np.int64)
    n = 0
    k = 0
    for i in range(len(active)):
        if active[i]:
            u = uniforms[k]
            k += 1
            if u >= order_rate[i] * bound:
                continue
            deterrence = elasticity[i] * log_price_ratio + aversion[i] * risk[i] * risk_cost_ratio
            if u < order_rate[i] * math.exp(-deterrence):
                out[n] = i
                n += 1
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


@jit
def lay_batches(batch, shop, traced_at, cdf, per_placement, uniforms, n_shops):
    """Couriers hide their batches one stash at a time; the first placement seen by police ends the round.

    Courier ``c`` places ``batch[c]`` stashes, each in a district drawn from
    ``cdf`` (cumulative placement weights) with ``uniforms[k, 0]``; the
    placement is seen with the district's ``per_placement`` hazard (against
    ``uniforms[k, 1]``). He is caught at his first seen placement, or at
    ``traced_at[c]`` if digital tracing reaches him first (``traced_at[c] >=
    batch[c]``: not traced). Stashes placed before the catch are laid; the
    rest are on him and seized.

    Returns:
        caught_at (``batch[c]`` if not caught), the district where each caught
        courier was caught (-1 if not caught), the laid stashes' courier index,
        shop and district, and laid and seized counts by shop.
    """
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
    return (
        caught_at, caught_district, laid_courier[:n_laid], laid_district[:n_laid], laid_by_shop, seized_by_shop
    )


@jit
def deliver(uniforms, order_shop, stash_shop, present, n_shops):
    """Each order is sent to a distinct random stash of its shop; if it is not there, to a second one.

    Orders are served in the given order (``uniforms[j, 0]`` draws order
    ``j``'s stash); a shop out of stashes on file sends none. Then each order
    whose stash was gone (not ``present``) gets a second stash from what is
    left on file, drawn with ``uniforms[j, 1]``.

    Returns:
        the first and second stash row of each order (-1: none sent).
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
    first = np.full(len(order_shop), -1, dtype=np.int64)
    second = np.full(len(order_shop), -1, dtype=np.int64)
    for rnd in range(2):
        for j in range(len(order_shop)):
            if rnd == 1 and (first[j] < 0 or present[first[j]]):
                continue  # no second stash: none was sent, or the first was there
            s = order_shop[j]
            left = count[s + 1] - taken[s]
            if left > 0:
                # Partial Fisher-Yates: swap a random remaining stash of shop s into the next slot.
                slot = start[s] + taken[s]
                pick = slot + int(uniforms[j, rnd] * left)
                pool[slot], pool[pick] = pool[pick], pool[slot]
                taken[s] += 1
                if rnd == 0:
                    first[j] = pool[slot]
                else:
                    second[j] = pool[slot]
    return first, second


@jit
def punishment_cost(rows, repeat, discount, reservation_wage, risk, aversion, first_years, repeat_years, scale):
    """Perceived expected punishment cost per day for each of ``rows``.

    ``aversion x risk x scale x (1 - beta**years) / (1 - beta) x reservation_wage``:
    the sentence (``repeat_years`` after a previous conviction, else
    ``first_years``) discounted at the row's annual factor ``beta``, valued at
    its reservation wage; ``scale`` carries the work share, the perceived
    conviction chance and the value of a year of freedom in days of wage.
    """
    out = np.empty(len(rows))
    for j in range(len(rows)):
        i = rows[j]
        years = repeat_years if repeat[i] else first_years
        beta = min(max(discount[i], 1e-9), 1.0 - 1e-9)
        lost = (1.0 - beta**years) / (1.0 - beta)
        out[j] = aversion[i] * risk[i] * scale * lost * reservation_wage[i]
    return out
