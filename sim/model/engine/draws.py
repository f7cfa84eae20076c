"""Random draws the model makes many times a day, without per-call overhead.

``categorical(rng, weights, n)`` gives exactly the values of
``rng.choice(len(weights), size=n, p=weights / weights.sum())`` from the same
generator state (the same cumulative sum and the same uniforms), but skips
``choice``'s checks of ``p``, which cost more than the draw itself for the few
dozen buyers who start using on a day.
"""

from __future__ import annotations

import hashlib

import numpy as np

from sim.model.engine.compiled import inline, jit


def cdf(weights: np.ndarray) -> np.ndarray:
    """Cumulative probabilities of the non-negative ``weights`` (as ``rng.choice`` builds them); empty if all are 0."""
    total = weights.sum()
    if total <= 0:
        return np.zeros(0)
    cumulative = np.cumsum(weights / total)
    cumulative /= cumulative[-1]
    return cumulative


def categorical(rng: np.random.Generator, weights: np.ndarray, n: int) -> np.ndarray:
    """``n`` indices drawn with probability proportional to the non-negative ``weights``."""
    return from_cdf(rng, cdf(weights), n)


def from_cdf(rng: np.random.Generator, cumulative: np.ndarray, n: int) -> np.ndarray:
    """``n`` indices drawn from cumulative probabilities ``cumulative`` (as made by ``cdf``)."""
    return cumulative.searchsorted(rng.random(n), side="right")


def stream_key(name: str) -> int:
    """The 32-bit key of the process ``name``: the first four bytes of its BLAKE2b hash, as a little-endian integer.

    The model's processes each draw from their own random numbers. A policy
    that changes how many draws one process makes (more patrols find more
    stashes, say) then leaves the others' draws as they were: arms of an
    experiment share their random numbers process by process (common random
    numbers). A process is named where it draws (``model.stream("orders")``),
    and its numbers follow from its name alone: a new process needs no list to
    join, and adding one changes no other process's numbers.
    """
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=4).digest(), "little")


def seed_sequence(seed: int | np.random.SeedSequence | np.random.Generator | None) -> np.random.SeedSequence:
    """The ``SeedSequence`` behind ``seed``: an int is its entropy, a ``Generator`` gives the one it was made from."""
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, np.random.Generator):
        made_from = seed.bit_generator.seed_seq
        if not isinstance(made_from, np.random.SeedSequence):
            raise ValueError("a Generator given as a seed must be made from a numpy.random.SeedSequence")
        return made_from
    return np.random.SeedSequence(seed)


_MASK = (1 << 64) - 1


def mix64(z: int) -> int:
    """SplitMix64's step and output function on a 64-bit integer: a well-mixed 64-bit hash of ``z``."""
    z = (z + 0x9E3779B97F4A7C15) & _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)


def mix64_array(z: np.ndarray) -> np.ndarray:
    """``mix64`` of every element of a ``uint64`` array (wrapping arithmetic)."""
    z = z + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


class Streams:
    """The random generators of a run: one per process and day.

    Each process has four 64-bit words from the run's ``SeedSequence``
    extended by the process's key (``spawn_key``; ``stream_key``, a hash of its
    name). On day ``d`` its generator (PCG64DXSM) starts from a state that is a
    hash (``mix64``) of its words and ``d`` only: it depends on nothing else,
    not on how many numbers other processes or earlier days drew. Two runs from
    one seed that differ by a policy therefore draw the same numbers in every
    process the policy does not touch, and a process it does touch is back in
    step the next day. (A day's state is set, not seeded through a new
    ``SeedSequence``: 1 microsecond instead of 10, for some 40 processes a day.)

    Where a process draws a number per agent, the number is a function of the
    agent's ``uid`` as well (``keyed``): an agent's number does not shift when
    other agents join, leave or change state, nor when the arrays are compacted.
    """

    def __init__(self, seed: int | np.random.SeedSequence | np.random.Generator | None):
        self._root = seed_sequence(seed)
        self._rows: dict[str, int] = {}  # process name -> its row of words
        self._names: dict[int, str] = {}  # key -> the name that has it (two names must not share a key)
        self._words = np.zeros((0, 4), dtype=np.uint64)
        self._generators: dict[str, np.random.Generator] = {}
        self._today: dict = {}  # name -> today's generator (state set); (name, "calls") -> keyed draws so far
        self.new_day(0)

    def new_day(self, day: int) -> None:
        """From now on, draws are those of ``day``."""
        self.day = day
        self._today.clear()
        self._day_mix = np.uint64(mix64(day))
        self._day_words = mix64_array(self._words ^ self._day_mix)  # every known process's words of the day

    def _row(self, name: str) -> int:
        """The row of the process ``name`` in the words, added (with its words of today) when first asked for."""
        row = self._rows.get(name)
        if row is None:
            key = stream_key(name)
            if self._names.setdefault(key, name) != name:
                raise ValueError(f"random streams {self._names[key]!r} and {name!r} share a key: rename one")
            root = self._root
            words = np.random.SeedSequence(root.entropy, spawn_key=(*root.spawn_key, key),
                                           pool_size=root.pool_size).generate_state(4, np.uint64)  # fmt: skip
            row = self._rows[name] = len(self._words)
            self._words = np.vstack([self._words, words])
            self._day_words = np.vstack([self._day_words, mix64_array(words ^ self._day_mix)])
        return row

    def __call__(self, name: str) -> np.random.Generator:
        """Today's generator of the process ``name``."""
        made = self._today.get(name)
        if made is None:
            row = self._row(name)  # first: a new process adds its row to the day's words
            w = self._day_words[row].tolist()
            state, inc = w[0] << 64 | w[1], w[2] << 64 | w[3] | 1
            made = self._generators.get(name)
            if made is None:
                made = self._generators[name] = np.random.Generator(np.random.PCG64DXSM(0))
            made.bit_generator.state = {"bit_generator": "PCG64DXSM", "state": {"state": state, "inc": inc},
                                        "has_uint32": 0, "uinteger": 0}  # fmt: skip
            self._today[name] = made
        return made

    def keyed(self, name: str, uids: np.ndarray, columns: int = 1, where: np.ndarray | None = None) -> np.ndarray:
        """Today's uniforms of process ``name`` for the agents ``uids``: ``columns`` numbers each, by agent.

        The numbers are a hash of a key and the agent's uid
        (``keyed_uniforms``), so each agent has its own, however many others
        are asked for. The key is the process's of the day and of the call: a
        process that asks twice in a day (two arrest waves, say) gets new
        numbers the second time. With ``where`` (a mask over ``uids``), only
        those agents' numbers, in order. One column gives a 1-D array.
        """
        call = self._today[(name, "calls")] = self._today.get((name, "calls"), 0) + 1
        # Its own key, apart from the state of the process's generator (which may draw beside it).
        row = self._row(name)
        key = np.uint64(mix64(int(self._day_words[row, 3]) ^ mix64(call)))
        uids = np.ascontiguousarray(uids, dtype=np.int64)
        if where is not None:
            where = np.ascontiguousarray(where, dtype=bool)
            if columns == 1:
                return keyed_where(key, uids, where, np.count_nonzero(where))
            uids = uids[where]
        if columns == 1:
            return keyed_uniforms(key, uids)
        return keyed_columns(key, uids, columns)


@inline
def _uniform(key, counter):
    """SplitMix64 (Steele, Lea & Flood 2014, the seeder of xoshiro) at ``counter`` from ``key``: a uniform in [0, 1).

    SplitMix64 passes BigCrush as a generator of consecutive counters; here
    the counter is an agent's uid (times the columns, plus the column), the
    state ``key + (counter + 1) * golden``, and the output's 53 high bits give
    the uniform.
    """
    z = np.uint64(key) + np.uint64(counter + 1) * np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return np.float64(z >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@jit
def keyed_uniforms(key, counters):
    """The uniform of each counter (``_uniform``); a plain loop that the compiler vectorises."""
    out = np.empty(len(counters))
    for i in range(len(counters)):
        out[i] = _uniform(key, counters[i])
    return out


@jit
def keyed_columns(key, uids, columns):
    """``columns`` uniforms per uid: row ``i``, column ``c`` is the uniform of counter ``uids[i] * columns + c``.

    The counters are laid out first, so that hashing them is one loop the
    compiler vectorises (4x faster than hashing row by row).
    """
    n = len(uids)
    counters = np.empty(n * columns, dtype=np.int64)
    for i in range(n):
        for c in range(columns):
            counters[i * columns + c] = uids[i] * columns + c
    return keyed_uniforms(key, counters).reshape((n, columns))


@jit
def keyed_where(key, uids, where, count):
    """``keyed_uniforms`` of the uids where the mask ``where`` holds (``count`` of them), in order.

    Where most agents are asked (a day's orders, say), every uid is hashed, a
    loop the compiler vectorises, and the numbers asked for are moved to the
    front without a branch; a mask of a few is followed branch by branch.
    Both give the same numbers; the first is 2-3x faster on a dense mask.
    """
    n = len(uids)
    if 4 * count < n:
        out = np.empty(count)
        k = 0
        for i in range(n):
            if where[i]:
                out[k] = _uniform(key, uids[i])
                k += 1
        return out
    every = keyed_uniforms(key, uids)
    flags = where.view(np.uint8)
    out = np.empty(n + 1)  # one spare slot: the write after the last number asked for
    k = 0
    for i in range(n):
        out[k] = every[i]
        k += flags[i]
    return out[:count]
