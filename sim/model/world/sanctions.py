"""Sanction tables: prison terms by role and offence, and their discounted cost.

Two regimes are modelled [001 L87-95, L173]:

* ``2025_law``: the law as signed in 2025.
* ``pre2025_practice``: what courts handed out before it; stash-layers caught
  "with a large volume" got 10-14 years [001 L173].

Terms are drawn uniformly between the table's bounds and multiplied by the
scenario's ``severity_multiplier``.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np


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
        "buyer_prison": (1.0, 3.0),      # assumption: art. 296 parts 2-3 terms when buyers are imprisoned
    },
    "pre2025_practice": {
        "courier_first": (10.0, 14.0),   # [001 L173] 'terms from 10 to 14 years'; the law said 5-10 [001 L91]
        "courier_repeat": (10.0, 14.0),  # [001 L173] practice did not separate first and repeat offences
        "courier_large": (10.0, 14.0),   # [001 L173, L180] long terms 'because they are caught with a large volume'
        "operator": (15.0, 20.0),        # [001 L93] group sanctions retained by the 2025 law
        "lab": (10.0, 15.0),             # assumption: the earlier 10-15 range for officials' distribution [001 L93]
        "buyer_prison": (1.0, 3.0),      # assumption: as in the 2025 table
    },
}
# fmt: on

#: The offences' names, in the order of their codes.
OFFENCES = tuple(offence.name.lower() for offence in Offence)


def courier_offence(repeat: np.ndarray | bool, grams_caught: np.ndarray | float, large_quantity: float) -> np.ndarray:
    """The offence (an ``Offence`` code) a caught courier is charged with: repeat, else large quantity, else first."""
    large = np.where(grams_caught >= large_quantity, Offence.COURIER_LARGE, Offence.COURIER_FIRST)
    return np.where(repeat, Offence.COURIER_REPEAT, large)


def sentence_bounds(regime: str, offence: Offence | str, multiplier: float) -> tuple[float, float]:
    """(low, high) prison years for an offence (an ``Offence`` or its name) under a regime, times the multiplier."""
    name = offence if isinstance(offence, str) else OFFENCES[offence]
    low, high = SANCTIONS[regime][name]
    return low * multiplier, high * multiplier


def mean_sentence(regime: str, offence: Offence | str, multiplier: float) -> float:
    """Mean prison years for an offence under a regime, times the multiplier (terms are uniform)."""
    low, high = sentence_bounds(regime, offence, multiplier)
    return 0.5 * (low + high)


def draw_sentences(
    rng: np.random.Generator, regime: str, offence: Offence | str, multiplier: float, n: int = 1
) -> np.ndarray:
    """Draw ``n`` prison terms in years."""
    low, high = sentence_bounds(regime, offence, multiplier)
    return rng.uniform(low, high, size=n)
