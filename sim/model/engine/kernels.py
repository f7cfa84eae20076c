"""Compiled inner loops of the busiest daily verbs.

A day of the 10,000-buyer city is a few dozen small array operations per
role; written as NumPy expressions, most of its time went on the overhead of
each operation, not on arithmetic. The loops here, compiled by Numba, make one
pass over a role's arrays instead. Their randomness comes in as arrays of
uniforms drawn by the caller from the model's generator (NumPy draws them
faster than a compiled loop would), so a run stays a function of its seed.

Each function states the rule it implements; the verbs that call it, in
``buyers``, ``couriers``, ``roster`` and ``stashes``, say why.
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
def use_transitions(uniforms, state, treated, known, quit_rate, relapse_rate, recovery_rate, active, former, recovered):
    """A day's moves between use states; the ``k``-th ``active`` or ``former`` row uses ``uniforms[k]``.

    An ``active`` row quits (to ``former``) when its uniform is below
    ``quit_rate``; a ``former`` row relapses when it is below the relapse
    rate (halved after treatment), else recovers for good (``recovered``)
    when it is below relapse + ``recovery_rate``, and forgets the storefronts
    it knew (its ``known`` slots are emptied).
    """
    k = 0
    for i in range(len(state)):
        if state[i] == active:
            if uniforms[k] < quit_rate:
                state[i] = former
            k += 1
        elif state[i] == former:
            u = uniforms[k]
            k += 1
            relapse = relapse_rate * (0.5 if treated[i] else 1.0)
            if u < relapse:
                state[i] = active
            elif u < relapse + recovery_rate:
                state[i] = recovered
                known[i, :] = -1


@jit
def count_equal(values, x):
    """How many entries of the 2-D array ``values`` equal ``x``."""
    n = 0
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            if values[i, j] == x:
                n += 1
    return n


@jit
def forget(known, shop, uniforms, keep_share):
    """Empty (-1) the slots of ``known`` that hold ``shop``, except a ``keep_share`` of them.

    The ``k``-th such slot, in row-major order, is kept when ``uniforms[k] <
    keep_share``; with ``keep_share`` 0 every one is emptied and ``uniforms``
    is not read.
    """
    k = 0
    for i in range(known.shape[0]):
        for j in range(known.shape[1]):
            if known[i, j] == shop:
                if keep_share > 0.0:
                    u = uniforms[k]
                    k += 1
                    if u < keep_share:
                        continue
                known[i, j] = -1


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
    rows the first comparison decides. With ``arrest_rate`` 0 nobody sees an
    arrest and ``uniforms`` is not read.
    """
    cdf = binomial_cdf(peers, arrest_rate)
    k = 0
    for i in range(len(learning)):
        if learning[i]:
            seen = 0
            if arrest_rate > 0.0:
                u = uniforms[k]
                k += 1
                while u >= cdf[seen]:
                    seen += 1
            risk[i] += learning_rate * (seen / peers - risk[i])


@jit
def plan_batches(uniforms, state, shop, working, need, work_share, batch_min, batch_max, digital):
    """Which ``working`` rows go out today, with how many stashes, and where digital tracing reaches them.

    The ``k``-th working row uses ``uniforms[k]``: it works today when
    ``[k, 0] < work_share``, and draws a batch uniform on ``batch_min ..
    batch_max`` with ``[k, 1]``. In row order, a shop's couriers take batches
    until its ``need`` is met (the last one takes what is left, the rest
    stay home). A courier going out is traced with chance ``digital``
    (``[k, 2]``), at a uniform placement of his batch (``[k, 3]``).

    Returns:
        the rows going out, their shops and batches, and ``traced_at`` (the
        placement where tracing catches each; ``batch`` if not traced).
    """
    taken = np.zeros(len(need), dtype=np.int64)
    rows = np.empty(len(uniforms), dtype=np.int64)
    batch = np.empty(len(uniforms), dtype=np.int64)
    traced_at = np.empty(len(uniforms), dtype=np.int64)
    sizes = batch_max - batch_min + 1
    n = 0
    k = 0
    for i in range(len(state)):
        if state[i] != working:
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
        traced_at[n] = int(u[3] * b) if u[2] < digital else b
        n += 1
    return rows[:n], shop[rows[:n]], batch[:n], traced_at[:n]


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
    return (caught_at, caught_district, laid_courier[:n_laid], laid_district[:n_laid], laid_by_shop, seized_by_shop)


@jit
def deliver(uniforms, order_shop, stash_shop, stash_district, present, n_shops):
    """Each order is sent to a distinct random stash of its shop; if it is not there, to a second one.

    Orders are served in the given order (``uniforms[j, 0]`` draws order
    ``j``'s stash); a shop out of stashes on file sends none. Then each order
    whose stash was gone (not ``present``) gets a second stash from what is
    left on file, drawn with ``uniforms[j, 1]``.

    Returns:
        per order, the first and second stash row sent (-1: none), whether
        the first was missing, whether a stash was found, and the district
        where it was (-1: none); and per stash, whether it stays on file
        (was not sent).
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
    n = len(order_shop)
    first = np.full(n, -1, dtype=np.int64)
    second = np.full(n, -1, dtype=np.int64)
    for rnd in range(2):
        for j in range(n):
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
    missing = np.zeros(n, dtype=np.bool_)
    got = np.zeros(n, dtype=np.bool_)
    district = np.full(n, -1, dtype=np.int64)
    keep = np.ones(len(stash_shop), dtype=np.bool_)
    for j in range(n):
        used = first[j]
        if used >= 0:
            keep[used] = False
            if not present[used]:
                missing[j] = True
                used = second[j]
                if used >= 0:
                    keep[used] = False
        if used >= 0 and present[used]:
            got[j] = True
            district[j] = stash_district[used]
    return first, second, missing, got, district, keep


@jit
def _punishment(i, cost_terms):
    """Row ``i``'s perceived punishment cost per day (the rule of ``punishment_cost``)."""
    repeat, discount, reservation_wage, risk, aversion, first_years, repeat_years, scale = cost_terms
    years = repeat_years if repeat[i] else first_years
    beta = min(max(discount[i], 1e-9), 1.0 - 1e-9)
    lost = (1.0 - beta**years) / (1.0 - beta)
    return aversion[i] * risk[i] * scale * lost * reservation_wage[i]


@jit
def punishment_cost(rows, repeat, discount, reservation_wage, risk, aversion, first_years, repeat_years, scale):
    """Perceived expected punishment cost per day for each of ``rows``.

    ``aversion x risk x scale x (1 - beta**years) / (1 - beta) x reservation_wage``:
    the sentence (``repeat_years`` after a previous conviction, else
    ``first_years``) discounted at the row's annual factor ``beta``, valued at
    its reservation wage; ``scale`` carries the work share, the perceived
    conviction chance and the value of a year of freedom in days of wage.
    """
    terms = (repeat, discount, reservation_wage, risk, aversion, first_years, repeat_years, scale)
    out = np.empty(len(rows))
    for j in range(len(rows)):
        out[j] = _punishment(rows[j], terms)
    return out


@jit
def hire(uniforms, state, shop, income, reach, vacancies, cdf, daily_pay, cost_terms, candidate, working):
    """Candidates who see a job ad take it if it pays for the job's cost, until each shop's vacancies are filled.

    The ``k``-th ``candidate`` row sees an ad when ``uniforms[k] < reach``;
    the ad is from the shop that ``uniforms[k] / reach`` (again uniform) draws
    from ``cdf``, the cumulative vacancies. He takes it when the shop's
    ``daily_pay`` exceeds his reservation wage plus perceived punishment cost
    (``cost_terms``: the arguments of ``punishment_cost`` after ``rows``);
    rows are served in order, so each shop hires its first willing applicants.
    A hired row becomes ``working`` for the shop with no income yet.

    Returns:
        hires by shop.
    """
    wage = cost_terms[2]
    hires = np.zeros(len(vacancies), dtype=np.int64)
    last = len(cdf) - 1
    k = 0
    for i in range(len(state)):
        if state[i] != candidate:
            continue
        u = uniforms[k]
        k += 1
        if u >= reach or last < 0:
            continue
        s = min(np.searchsorted(cdf, u / reach, side="right"), last)
        if hires[s] >= vacancies[s]:
            continue
        if daily_pay[s] > wage[i] + _punishment(i, cost_terms):
            state[i] = working
            shop[i] = s
            income[i] = 0.0
            hires[s] += 1
    return hires


@jit
def quit_jobs(state, shop, income, target_income, daily_pay, cost_terms, working, candidate, gone):
    """Working rows leave, for good or back to the pool.

    A row leaves for good (``gone``) once its ``income`` reaches its
    ``target_income``, else returns to the pool (``candidate``) when its shop's
    ``daily_pay`` no longer exceeds its job cost (as in ``hire``).

    Returns:
        the number who left.
    """
    wage = cost_terms[2]
    left = 0
    for i in range(len(state)):
        if state[i] != working:
            continue
        if income[i] >= target_income[i]:
            state[i] = gone
        elif daily_pay[shop[i]] <= wage[i] + _punishment(i, cost_terms):
            state[i] = candidate
        else:
            continue
        shop[i] = -1
        left += 1
    return left


@jit
def move_some(uniforms, state, source, target, chance):
    """The ``k``-th row in state ``source`` moves to ``target`` when ``uniforms[k] < chance``."""
    k = 0
    for i in range(len(state)):
        if state[i] == source:
            if uniforms[k] < chance:
                state[i] = target
            k += 1
