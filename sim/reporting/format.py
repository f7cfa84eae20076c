"""How numbers are written in every report, table and printed line."""

from __future__ import annotations

import math


def number(x: float | None, digits: int = 4) -> str:
    """``x`` with ``digits`` significant digits, thousands separated; ``n/a`` when missing.

    Large values are written whole (``22,590``), middling ones with decimals
    (``14.68``, ``0.4082``), tiny ones in scientific notation (``8.470e-05``).
    """
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    x = float(x)
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if x == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(x)))
    if magnitude >= digits - 1:
        return f"{x:,.0f}"
    if magnitude >= -3:
        return f"{x:,.{digits - 1 - magnitude}f}"
    return f"{x:.{digits - 1}e}"


def share(x: float | None, signed: bool = False) -> str:
    """A share as a percentage with one decimal (``+12.3%`` when ``signed``); ``n/a`` when missing."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{x:+.1%}" if signed else f"{x:.1%}"
