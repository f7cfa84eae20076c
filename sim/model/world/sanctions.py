"""Sanction tables: prison terms by role and offence, and their discounted cost.

Two regimes are modelled [001 L87-95, L173]:

* ``2025_law``: the law as signed in 2025.
* ``pre2025_practice``: what courts handed out before it; stash-layers caught
  "with a large volume" got 10-14 years [001 L173].

Terms are drawn uniformly between the table's bounds and multiplied by the
scenario's ``severity_multiplier``; a buyer's bounds are shares of the mean
term ``buyer_prison_years``, an uncertainty (no source gives it).
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np

from sim.params import Params


class Offence(IntEnum):
    """What a case charges; its name (lower case) is the row of the sanction tables."""

    COURIER_FIRST = 0
    COURIER_REPEAT = 1
    COURIER_LARGE = 2
    OPERATOR = 3
    LAB = 4
    BUYER_PRISON = 5


# (low, high) years of imprisonment; 0 means a fine.
# fmt: off
SANCTIONS: dict[str, dict[str, tuple[float, float]]] = {
    "2025_law": {
        "courier_first": (5.0, 8.0),     # [001 L91] first time, no aggravation
        "courier_repeat": (7.0, 12.0),   # [001 L91] repeated commission
        "courier_large": (7.0, 12.0),    # assumption: a large quantity aggravates like a repeat [001 L173, L180]
        "operator": (15.0, 20.0),        # [001 L93] criminal group
        "lab": (15.0, 20.0),             # [001 L89] production: 15-20 years or life
        "buyer_prison": (0.5, 1.5),      # times buyer_prison_years (an uncertainty: no source gives the term)
    },
    "pre2025_practice": {
        "courier_first": (10.0, 14.0),   # [001 L173] 'terms from 10 to 14 years'; the law said 5-10 [001 L91]
        "courier_repeat": (10.0, 14.0),  # [001 L173] practice did not separate first and repeat offences
        "courier_large": (10.0, 14.0),   # [001 L173, L180] long terms 'because they are caught with a large volume'
        "operator": (15.0, 20.0),        # [001 L93] group sanctions retained by the 2025 law
        "lab": (10.0, 15.0),             # assumption: the earlier 10-15 range for officials' distribution [001 L93]
        "buyer_prison": (0.5, 1.5),      # as in the 2025 table
    },
}
# fmt: on

#: The offences' names, in the order of their codes.
OFFENCES = tuple(offence.name.lower() for offence in Offence)


def courier_offence(repeat: np.ndarray | bool, grams_caught: np.ndarray | float, large_quantity: float) -> np.ndarray:
    """The offence (an ``Offence`` code) a caught courier is charged with: repeat, else large quantity, else first."""
    large = np.where(grams_caught >= large_quantity, Offence.COURIER_LARGE, Offence.COURIER_FIRST)
    return np.where(repeat, Offence.COURIER_REPEAT, large)


def sentence_bounds(p: Params, offence: Offence | str) -> tuple[float, float]:
    """(low, high) prison years for an offence (an ``Offence`` or its name) under the law of ``p``.

    The bounds of ``p.sanction_regime``'s table, times ``p.severity_multiplier``;
    a buyer's table bounds are shares of ``p.buyer_prison_years``, the mean
    term of an imprisoned buyer.
    """
    name = offence if isinstance(offence, str) else OFFENCES[offence]
    low, high = SANCTIONS[p.sanction_regime][name]
    if name == "buyer_prison":
        low, high = low * p.buyer_prison_years, high * p.buyer_prison_years
    return low * p.severity_multiplier, high * p.severity_multiplier


def mean_sentence(p: Params, offence: Offence | str) -> float:
    """Mean prison years for an offence under the law of ``p`` (terms are uniform between the bounds)."""
    low, high = sentence_bounds(p, offence)
    return 0.5 * (low + high)


def draw_sentences(rng: np.random.Generator, p: Params, offence: Offence | str, n: int = 1) -> np.ndarray:
    """Draw ``n`` prison terms in years under the law of ``p``."""
    low, high = sentence_bounds(p, offence)
    return rng.uniform(low, high, size=n)
