"""The schemas of the project's TOML files: every top-level key a file kind may have, what it holds, its default.

Each file kind (scenario, experiment, hypothesis, targets) declares one
``Schema``: a mapping of key to ``Spec``. ``check`` refuses an unknown key or a
value of the wrong type or size with one line naming the file and the key,
and returns every key with its default filled in, so that a loader only has
the meaning of the values left to check (parameter names, bounds, arms ...).
Numbers must be finite; texts are one line and short unless a spec says
otherwise, so that no value can flood a progress bar or an error message.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any

from sim.params import ParameterError, shown

#: A key without a default must be given.
REQUIRED = object()
#: Longest run (and summary window, burn-in) in days a file may ask for: 274 years.
MAX_DAYS = 100_000
#: Largest seed: TOML's largest integer.
MAX_SEED = 2**63 - 1


@dataclass(frozen=True)
class Spec:
    """What one key may hold: a ``kind`` (see ``KINDS``), its limits and its default."""

    kind: str
    default: Any = REQUIRED
    low: float = -math.inf
    high: float = math.inf  # for texts: the longest allowed
    choices: tuple[str, ...] = ()
    lines: bool = False  # texts: may span several lines

    def allowed(self) -> str:
        """The allowed values in words, for the error message."""
        if self.kind in ("whole", "number"):
            what = "a whole number" if self.kind == "whole" else "a finite number"
            if math.isinf(self.high):
                return f"{what} >= {_figure(self.low)}" if math.isfinite(self.low) else what
            return f"{what} from {_figure(self.low)} to {_figure(self.high)}"
        if self.kind == "choice":
            return "one of " + ", ".join(repr(c) for c in self.choices)
        if self.kind == "text":
            return f"a non-empty string of at most {_figure(self.high)} characters" + (
                "" if self.lines else " on one line")  # fmt: skip
        return KINDS[self.kind]

    def check(self, value: Any, where: str) -> Any:
        """``value`` if this spec allows it (numbers as int or float), else a ParameterError naming ``where``."""
        if not self._fits(value):
            if isinstance(value, str) and self.kind == "text" and len(value) > self.high:
                longest = _figure(self.high)
                raise ParameterError(f"{where} is {len(value):,} characters long; allowed are at most {longest}")
            raise ParameterError(f"{where} = {shown(value)} is invalid: allowed is {self.allowed()}")
        if self.kind == "whole":
            return int(value)
        return float(value) if self.kind == "number" else value

    def _fits(self, value: Any) -> bool:
        if self.kind in ("whole", "number"):
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                return False
            return (self.kind == "number" or float(value).is_integer()) and self.low <= value <= self.high
        if self.kind == "text":
            if not isinstance(value, str) or not 0 < len(value) <= self.high:
                return False
            return not any(ord(c) < 32 and not (self.lines and c in "\n\t") for c in value)
        if self.kind == "flag":
            return isinstance(value, bool)
        if self.kind == "choice":
            return isinstance(value, str) and value in self.choices
        if self.kind == "table":
            return isinstance(value, dict)
        if self.kind == "tables":
            return isinstance(value, list) and all(isinstance(v, dict) for v in value)
        if self.kind == "names":
            names = isinstance(value, list) and all(isinstance(v, str) and v for v in value)
            return names and 0 < len(value) == len(set(value))
        return True  # "any": its loader checks it


#: What each kind of value is, in words.
KINDS = {
    "flag": "true or false",
    "table": "a table ([name] or name = { ... })",
    "tables": "a list of tables ([[name]])",
    "names": "a non-empty list of distinct names",
    "any": "see the documentation",
}


def _figure(x: float) -> str:
    """A limit in words: whole numbers with thousands separators (1,000,000), others as they are."""
    return f"{int(x):,}" if float(x).is_integer() else f"{x:g}"


def whole(low: float, high: float = math.inf, default: Any = REQUIRED) -> Spec:
    """A whole number in [low, high]."""
    return Spec("whole", default, low, high)


def number(low: float = -math.inf, high: float = math.inf, default: Any = REQUIRED) -> Spec:
    """A finite number in [low, high]."""
    return Spec("number", default, low, high)


def text(default: Any = REQUIRED, longest: int = 200, lines: bool = False) -> Spec:
    """A non-empty string of at most ``longest`` characters, without control characters (newlines if ``lines``)."""
    return Spec("text", default, high=longest, lines=lines)


def choice(choices: tuple[str, ...], default: Any = REQUIRED) -> Spec:
    """One of ``choices``."""
    return Spec("choice", default, choices=tuple(choices))


def of(kind: str, default: Any = REQUIRED) -> Spec:
    """A flag, table, list of tables, list of names, or anything (``KINDS``)."""
    return Spec(kind, default)


#: A file kind's keys and what each may hold.
Schema = dict[str, Spec]


def check(data: Any, schema: Schema, where: str) -> dict[str, Any]:
    """Every key of ``schema`` with its checked value or its default (``None`` where there is none to fill in).

    Raises:
        ParameterError: naming ``where`` and the key, on an unknown key, a missing required key or a bad value.
    """
    if not isinstance(data, dict):
        raise ParameterError(f"{where}: must be a table")
    unknown = [key for key in data if key not in schema]
    if unknown:
        raise ParameterError(f"{where}: unknown key {shown(unknown[0])}; allowed are {', '.join(sorted(schema))}")
    out = {}
    for key, spec in schema.items():
        if key in data:
            out[key] = spec.check(data[key], f"{where}: '{key}'")
        elif spec.default is REQUIRED:
            raise ParameterError(f"{where}: '{key}' is missing ({spec.allowed()})")
        else:
            out[key] = copy.copy(spec.default)  # a fresh {} or [] for each file
    return out
