"""The one parameter registry of klad-sim, the checks of parameter values, and the typed ``Params``.

Every number the model uses is defined exactly once, in ``sim/registry.toml``,
with its unit, its allowed range and its source. Sources cite the documents
listed in ``docs/sources.md`` by file-name prefix and line (``[001 L180]``); a
value that no source gives is marked ``assumption:`` with the reason. Each
parameter is either a policy *lever* (what policy sets), an *uncertainty* (what
we do not know) or *structural* (the size and shape of a run). Scenarios and
experiments only set values; documentation is generated from the registry
(``klad params``). The model reads the values in force as a frozen ``Params``
(``p.courier_pay``), whose fields are generated from the registry into ``sim/params_fields.py``.
"""

from __future__ import annotations

import dataclasses
import textwrap
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

from sim.params_fields import ParamFields

LEVER = "lever"
UNCERTAINTY = "uncertainty"


class ParameterError(ValueError):
    """A parameter value or scenario file that cannot be used, with a message for people."""


class Fault(RuntimeError):
    """Work that could not be finished through no fault of its input (a file gone, a worker lost), for people."""


#: Longest text of a value that an error message quotes whole.
SHOWN = 80


def shown(value: Any) -> str:
    """``repr(value)``, cut in the middle when long, so that an error about a huge value is still one short line."""
    return cut(repr(value))


def cut(text: str) -> str:
    """``text`` cut in the middle when longer than ``SHOWN`` characters."""
    if len(text) <= SHOWN:
        return text
    return f"{text[: SHOWN // 2]}...{text[-SHOWN // 4 :]} ({len(text):,} characters)"


@dataclass(frozen=True)
class Prior:
    """What is known about an uncertainty: a range, its shape (uniform on a linear or a log scale) and why."""

    low: float
    high: float
    scale: str  # "linear" or "log"
    source: str

    def from_unit(self, unit: Any, whole: bool = False) -> Any:
        """Values at quantiles ``unit`` (in [0, 1)) of the prior; a whole number's runs to the next one, floored."""
        import numpy as np

        unit = np.asarray(unit, dtype=float)
        top = self.high + 1 if whole else self.high  # so each whole number is drawn as often
        if self.scale == "log":
            values = np.exp(np.log(self.low) + unit * (np.log(top) - np.log(self.low)))
        else:
            values = self.low + unit * (top - self.low)
        return np.minimum(np.floor(values), self.high).astype(int) if whole else values

    def shown(self) -> str:
        """The prior in words, for tables."""
        return f"{self.low:g} to {self.high:g}{', log scale' if self.scale == 'log' else ''}"


@dataclass(frozen=True)
class Param:
    """One model parameter: its single definition."""

    name: str
    default: Any
    unit: str
    low: float | None
    high: float | None
    kind: str
    source: str
    doc: str
    choices: tuple[str, ...] | None = None
    prior: Prior | None = None

    @property
    def type(self) -> type:
        """The Python type of the parameter's values."""
        return type(self.default)

    @property
    def bounds(self) -> tuple[float, float]:
        """``(low, high)`` of a number's range.

        Raises:
            TypeError: for a parameter without a range (a flag or a choice).
        """
        if self.low is None or self.high is None:
            raise TypeError(f"parameter '{self.name}' has no range: allowed is {self.allowed()}")
        return self.low, self.high

    def allowed(self) -> str:
        """Describe the allowed values in words, for error messages and docs."""
        if self.choices:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        if self.type is bool:
            return "true or false"
        kind = "an integer" if self.type is int else "a number"
        return f"{kind} in [{self.low:g}, {self.high:g}]"

    def check(self, value: Any, where: str = "") -> Any:
        """Return ``value`` converted to this parameter's type, or raise ParameterError."""
        prefix = f"{where}: " if where else ""
        bad = f"{prefix}parameter '{self.name}' = {shown(value)} is invalid: allowed is {self.allowed()}"
        if self.type is bool:
            if not isinstance(value, bool):
                raise ParameterError(bad + f" (got {type(value).__name__})")
            return value
        if self.type is str:
            if not isinstance(value, str) or value not in (self.choices or ()):
                raise ParameterError(bad)
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ParameterError(bad + f" (got {type(value).__name__})")
        if self.type is int:
            if isinstance(value, float) and not value.is_integer():
                raise ParameterError(bad + " (got a fraction)")
            value = int(value)
        else:
            value = float(value)
        if not (self.low <= value <= self.high):
            raise ParameterError(bad)
        return value


def _load_registry(text: str) -> dict[str, Param]:
    """The parameters defined in ``registry.toml``, in file order."""
    registry = {}
    for name, spec in tomllib.loads(text).items():
        low, high = spec.get("range", (None, None))
        choices = tuple(spec["choices"]) if "choices" in spec else None
        param = Param(
            name, spec["default"], spec["unit"], low, high, spec["kind"], spec["source"], spec["doc"], choices
        )
        if "prior" in spec:
            param = dataclasses.replace(param, prior=_prior(param, spec["prior"]))
        registry[name] = param
    return registry


def _prior(p: Param, spec: Any) -> Prior:
    """An uncertainty's ``prior = { range = [low, high], scale = "linear" or "log", source = "..." }``, checked."""
    where = f"sim/registry.toml [{p.name}] prior"
    if p.kind != UNCERTAINTY or p.type not in (int, float):
        raise ParameterError(f"{where}: only a numeric uncertainty has a prior; {p.name} is a {p.kind}")
    if not isinstance(spec, dict) or set(spec) != {"range", "scale", "source"}:
        raise ParameterError(f'{where}: give {{ range = [low, high], scale = "linear" or "log", source = "..." }}')
    bounds, scale, source = spec["range"], spec["scale"], spec["source"]
    if not (isinstance(bounds, list) and len(bounds) == 2):
        raise ParameterError(f"{where}: range must be [low, high], not {shown(bounds)}")
    low, high = (p.check(v, where) for v in bounds)
    if not low < high:
        raise ParameterError(f"{where}: range must have low < high, not [{low}, {high}]")
    if scale not in ("linear", "log") or (scale == "log" and low <= 0):
        raise ParameterError(f"{where}: scale must be 'linear', or 'log' with a range above 0; got {shown(scale)}")
    if not low <= p.default <= high:
        raise ParameterError(f"{where}: the default {p.default:g} lies outside the prior [{low:g}, {high:g}]")
    if not isinstance(source, str) or not source.strip():
        raise ParameterError(f"{where}: source must say where the range comes from (a citation, or 'assumption:')")
    return Prior(float(low), float(high), scale, source.strip())


#: Every parameter, by name, read from ``sim/registry.toml`` (the one place where parameters are defined).
REGISTRY: dict[str, Param] = _load_registry(files("sim").joinpath("registry.toml").read_text(encoding="utf-8"))


SHARES = ("share_patrol", "share_cyber", "share_investigation", "share_labs")


def defaults() -> dict[str, Any]:
    """Return the default value of every parameter."""
    return {name: p.default for name, p in REGISTRY.items()}


def levers() -> list[str]:
    """Names of the policy levers."""
    return [n for n, p in REGISTRY.items() if p.kind == LEVER]


def validate(values: dict[str, Any], where: str = "", *, levers_only: bool = False) -> dict[str, Any]:
    """Check a mapping of parameter values; return the converted values.

    Args:
        values: parameter names and values to check.
        where: file (and table) the values came from, for the error message.
        levers_only: reject anything that is not a policy lever.

    Raises:
        ParameterError: on an unknown name, a wrong type or an out-of-range value.
    """
    prefix = f"{where}: " if where else ""
    out = {}
    for name, value in values.items():
        if name not in REGISTRY:
            raise ParameterError(f"{prefix}unknown parameter {shown(name)} (see `klad params` for the list)")
        if levers_only and REGISTRY[name].kind != LEVER:
            raise ParameterError(
                f"{prefix}'{name}' is not a policy lever; allowed in [policy] are: {', '.join(levers())}"
            )
        out[name] = REGISTRY[name].check(value, where)
    return out


#: Keys of a scenario's dict that are not parameters: checked where they are read (``sim.io.config``,
#: ``sim.timeline``) and passed through ``resolve`` as they are.
SCENARIO_KEYS = ("scenario_name", "events", "window", "burn_in", "record")
#: The records below the city level a run can keep (``sim.model.records``).
RECORDS = ("shops", "purchases", "couriers")


def check_records(names: Any, where: str) -> tuple[str, ...]:
    """Names of records to keep, checked: a list of ``RECORDS``."""
    if isinstance(names, str) or not isinstance(names, list | tuple) or not all(n in RECORDS for n in names):
        raise ParameterError(f"{where}: record = {shown(names)} is invalid: allowed is a list of {', '.join(RECORDS)}")
    return tuple(dict.fromkeys(names))


def resolve(params: Mapping[str, Any] | None = None, *, checked: bool = False) -> dict[str, Any]:
    """Merge validated overrides onto the defaults and check cross-parameter rules.

    ``params`` may hold a ``policy`` sub-dict of lever values that switch on at
    ``policy_start_day``, and the other ``SCENARIO_KEYS``, passed through.
    ``checked`` says each value has been checked already (``validate``, as a
    scenario file is read): only the cross-parameter rules are left.
    """
    params = dict(params or {})
    policy = params.pop("policy", {}) or {}
    passed = {key: params.pop(key) for key in SCENARIO_KEYS if key in params}
    full = defaults()
    full.update(params if checked else validate(params))
    full["policy"] = dict(policy) if checked else validate(policy, "policy", levers_only=True)
    for table in (full, {**full, **full["policy"]}):
        _check_cross_rules(table)
    return {**full, **passed}


@dataclass(frozen=True, slots=True)
class Params(ParamFields):
    """The values of every parameter in force, as typed attributes (``p.severity_multiplier``).

    Its fields are those of ``sim.params_fields.ParamFields``, generated from
    ``REGISTRY`` (``python -m sim.params`` writes them anew). Build one with
    ``Params.of`` (checked) and change it with ``p.replace(name=value)``
    (checked), never in place.
    """

    @classmethod
    def of(cls, values: Mapping[str, Any] | None = None) -> Params:
        """Params from parameter values (a ``policy`` sub-dict is not allowed here), checked against the registry."""
        resolved = resolve({k: v for k, v in (values or {}).items() if k not in SCENARIO_KEYS})
        if resolved.pop("policy"):
            raise ParameterError("Params.of: a policy is not a parameter value; switch it on with Params.replace")
        return cls(**resolved)

    def replace(self, **values: Any) -> Params:
        """A copy with the given parameters changed, each checked against the registry and the cross rules."""
        changed = dataclasses.replace(self, **validate(values))
        _check_cross_rules(changed.as_dict())
        return changed

    def as_dict(self) -> dict[str, Any]:
        """Parameter name -> value."""
        return {name: getattr(self, name) for name in REGISTRY}


#: The parameters that the cross-parameter rules (``_check_cross_rules``) relate.
CROSS_RULES = ("batch_min", "batch_max", *SHARES)


def _check_cross_rules(values: dict[str, Any]) -> None:
    if values["first_storefronts"] > values["known_storefronts"]:
        raise ParameterError(
            f"parameter 'first_storefronts' = {values['first_storefronts']} exceeds "
            f"'known_storefronts' = {values['known_storefronts']}: a buyer cannot know more than he remembers"
        )
    if values["batch_min"] > values["batch_max"]:
        raise ParameterError(
            f"parameter 'batch_min' = {values['batch_min']} exceeds 'batch_max' = {values['batch_max']}"
        )
    total = sum(values[s] for s in SHARES)
    if total > 1.0 + 1e-9:
        raise ParameterError(f"police budget shares {', '.join(SHARES)} add up to {total:g}; allowed is at most 1")


def fields_source() -> str:
    """The text of ``sim/params_fields.py``: one typed field per registry parameter, defaulting to its default."""
    lines = [
        '"""The fields of ``sim.params.Params``: generated from ``sim/registry.toml`` by ``python -m sim.params``.',
        "",
        "Do not edit by hand: change the registry and write this file anew (``make docs`` does both).",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "from dataclasses import dataclass",
        "from typing import Literal",
        "",
        "",
        "@dataclass(frozen=True, slots=True)",
        "class ParamFields:",
        '    """Every parameter of ``sim/registry.toml``, typed, with its default (``Params`` adds the checks)."""',
    ]
    for p in REGISTRY.values():
        kind = f"Literal[{', '.join(_literal(c) for c in p.choices)}]" if p.choices else p.type.__name__
        lines.append("")
        comment = textwrap.wrap(f"#: {p.doc} ({p.unit}; {p.kind})", 112, subsequent_indent="#: ")
        lines += ["    " + line for line in comment]
        lines.append(f"    {p.name}: {kind} = {_literal(p.default)}")
    return "\n".join(lines) + "\n"


def _literal(value: Any) -> str:
    """A default as Python source, as ``ruff format`` writes it."""
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10_000:
        return f"{value:_}"
    return repr(value)


#: The generated file that holds the fields of ``Params``.
FIELDS_FILE = Path(__file__).with_name("params_fields.py")


if __name__ == "__main__":
    FIELDS_FILE.write_text(fields_source(), encoding="utf-8")
    print(f"wrote {FIELDS_FILE}")
