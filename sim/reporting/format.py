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


#: What a relative effect, margin or MDE is measured in: a share of the reference arm's mean.
RELATIVE = "share of the reference arm"


def metric_unit(expr: str) -> str:
    """The unit of a metric, or of an expression of metrics (``a + b``, ``a / (b + c)``, ``1 - a``); ``–`` if unknown.

    A metric's unit is the one the scenario reports give it (``sim.model.metrics.UNITS``). A sum of metrics with
    the same unit keeps it (a number added to a share keeps the share); a quotient of two with the same unit is a
    ratio, a stock over its daily flow is days, and any other quotient is one unit per the other (two daily flows
    cancel their days).
    """
    import ast

    try:
        tree = ast.parse(expr.split("#")[0].strip(), mode="eval").body
    except SyntaxError:
        return "–"
    return _unit_of(tree) or "–"


def _unit_of(node) -> str | None:
    """The unit of one node of a metric expression; ``""`` for a plain number, None when not known."""
    import ast

    from sim.model.metrics import UNITS

    if isinstance(node, ast.Name):
        return UNITS.get(node.id)
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return ""
    if isinstance(node, ast.UnaryOp):
        return _unit_of(node.operand)
    if not isinstance(node, ast.BinOp):
        return None
    left, right = _unit_of(node.left), _unit_of(node.right)
    if left is None or right is None:
        return None
    if isinstance(node.op, ast.Add | ast.Sub):
        if left == right or not right:
            return left
        return right if not left else f"{left} {'+' if isinstance(node.op, ast.Add) else '-'} {right}"
    if isinstance(node.op, ast.Mult):
        return left or right if not (left and right) else f"{left} x {right}"
    if isinstance(node.op, ast.Div):
        if not right:
            return left
        if left == right:
            return "ratio"
        if right == f"{left}/day":
            return "days"  # a stock over the flow that fills or empties it
        if left.endswith("/day") and right.endswith("/day"):  # a flow over a flow: the days cancel
            left, right = left.removesuffix("/day"), right.removesuffix("/day")
        if left == right.removesuffix("s") + "-days":
            return "days"  # job-days per job
        return f"{left or '1'} per {right}"
    return None
