"""Deterrence (docs/ODD.md, sections 2.2-2.3): what a sentence is worth to an agent, and how agents learn certainty.

Two rules that buyers and couriers share. A sentence of ``S`` years costs an
agent with annual discount factor ``beta`` the discounted sum of the years
lost, ``sum_{t<S} beta**t = (1 - beta**S) / (1 - beta)``: each extra year adds
less, and for the impatient (small ``beta``) long terms add almost nothing.
Certainty is never read from the true parameters: each agent's perceived
arrest risk moves towards the share of arrests it saw among a few peers.
What all agents believe of the law and of the chance of conviction is one
shared belief (``Beliefs``).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from sim.model.engine.compiled import inline, jit
from sim.model.engine.elementary import exp, power_
from sim.model.world.sanctions import Offence, mean_sentence
from sim.params import Params


@inline
def discounted_years(years, beta):
    """Present value of ``years`` of prison at annual discount factor ``beta`` (kept inside (0, 1))."""
    beta = min(max(beta, 1e-9), 1.0 - 1e-9)
    return (1.0 - power_(beta, years)) / (1.0 - beta)


def felt_cost(ratio: float, saturation: float) -> float:
    """The expected cost of an arrest as a buyer weighs it, in order prices, for a money cost of ``ratio`` of them.

    ``(1 - exp(-saturation * ratio)) / saturation``: linear (``ratio`` itself)
    at ``saturation`` 0, and for ``saturation`` above 0 at most ``1 /
    saturation`` order prices however severe the sanction, the response that
    deterrence research finds for severity (Nagin 2013: the first sanction
    deters, each further year of it adds little). The slope at a small cost is
    1 in both forms, so fines are weighed alike.
    """
    if saturation <= 0.0:
        return ratio
    return float(1.0 - exp(-saturation * ratio)) / saturation  # the CPU-independent exp (engine.elementary)


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
    pmf = power_(1.0 - p, float(k))
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
    """Each row in ``learning`` moves its perceived ``risk`` towards the share of arrests among its peers.

    The row sees Binomial(``peers``, ``arrest_rate``) arrests among its peers,
    each arrested with today's true rate, and its ``risk`` moves
    ``learning_rate`` of the way to that share.

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


def observe_peers(roster, learning: np.ndarray, arrest_rate: float, stream: str) -> None:
    """Today's peer learning for the ``learning`` rows of a buyer or courier roster (its ``perceived_risk``)."""
    p = roster.model.p
    rate = min(1.0, arrest_rate)
    # Each row's own number (from the process ``stream``); none needed at rate 0.
    uniforms = roster.model.stream.keyed(stream, roster.uid, where=learning) if rate > 0 else np.zeros(0)
    learn_from_peers(uniforms, learning, roster.perceived_risk, p.peers_observed, rate, p.learning_rate)


class Law(NamedTuple):
    """The law as a sanction: mean prison years of each offence, and the chance an arrested buyer is imprisoned."""

    years: np.ndarray  # by ``sanctions.Offence``
    buyer_prison_chance: float  # 1 if buyers are imprisoned, else 0


def law_in_force(p: Params) -> Law:
    """Mean prison years of each offence under today's law, and whether buyers are jailed."""
    years = np.array([mean_sentence(p, offence) for offence in Offence])
    return Law(years, 1.0 if p.buyer_imprisonment else 0.0)


class Beliefs:
    """What couriers and buyers alike believe of the law and of its certainty (docs/ODD.md, section 2.3).

    ``conviction`` is the perceived chance that an arrest ends in conviction,
    one value for the whole model, learned from the cases decided; ``learned``
    the law as learned so far, when learning takes time (``law_learning_days``).
    """

    def __init__(self, model):
        self.model = model
        self.conviction = model.p.prior_conviction
        self.learned = law_in_force(model.p)

    @property
    def law(self) -> Law:
        """Sentences (and the chance of prison for buyers) as couriers and buyers know them.

        With ``law_learning_days`` 0 the law in force, else what they learned of it so far (``learn_the_law``).
        """
        p = self.model.p
        return law_in_force(p) if p.law_learning_days == 0 else self.learned

    def learn_the_law(self) -> None:
        """Close a share 1 / ``law_learning_days`` of the gap to the law in force."""
        p, learned = self.model.p, self.learned
        rate = 1.0 / max(1, p.law_learning_days)
        law = law_in_force(p)
        chance = learned.buyer_prison_chance
        self.learned = Law(
            learned.years + rate * (law.years - learned.years), chance + rate * (law.buyer_prison_chance - chance)
        )

    def learn_conviction(self, convicted: int, decided: int) -> None:
        """Move ``conviction`` towards the share of today's decided cases that ended in conviction."""
        if decided:
            share = convicted / decided
            self.conviction += self.model.p.learning_rate * (share - self.conviction)
