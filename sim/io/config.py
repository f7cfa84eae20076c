"""Reading the project's TOML files: scenario files (with ``extends``) and integer settings of the others."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from sim.params import ParameterError, check_records, resolve, validate
from sim.timeline import check_events


def load_scenario(path: str | Path) -> dict[str, Any]:
    """Read a scenario TOML file, following ``extends``, and return its resolved parameters.

    A scenario file has optional top-level ``name``, ``description`` and
    ``extends`` (a path relative to the file), a ``[params]`` table of values in
    force from day 0, a ``[policy]`` table of lever values that switch on at
    ``policy_start_day``, ``[[events]]`` on given days (``sim.timeline``; a
    file's events are added to those of the file it extends), and the summary
    ``window`` and ``burn_in`` in days (``summary_window``).

    Raises:
        ParameterError: with the file and key, on any problem.
    """
    merged, meta = _read_chain(Path(path), [])
    try:
        resolved = resolve({**merged["params"], "policy": merged["policy"]})
    except ParameterError as exc:
        raise ParameterError(f"{path}: {exc}") from None
    resolved["events"] = merged["events"]
    for key in ("window", "burn_in", "record"):
        if merged[key] is not None:
            resolved[key] = merged[key]
    name = meta.get("name", Path(path).stem)
    if not isinstance(name, str):
        raise ParameterError(f"{path}: 'name' = {name!r} is invalid: allowed is a string")
    resolved["scenario_name"] = name
    return resolved


def read_file(path: str | Path, kind: str, keys: set[str]) -> tuple[Path, dict]:
    """Read a TOML file of ``kind`` (experiment, hypothesis, targets) whose top-level keys must be among ``keys``.

    Raises:
        ParameterError: naming the file, if it is missing, malformed or has an unknown key.
    """
    path = Path(path)
    if not path.is_file():
        raise ParameterError(f"{kind}: file not found: {path}")
    data = read_toml(path)
    unknown = set(data) - keys
    if unknown:
        raise ParameterError(f"{path}: unknown key '{sorted(unknown)[0]}'; allowed are {', '.join(sorted(keys))}")
    return path, data


def int_setting(where: str, data: dict, key: str, default: int | None, low: int) -> int:
    """An integer setting of a TOML file, at least ``low``; a ParameterError naming file and key otherwise."""
    value = data.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise ParameterError(f"{where}: '{key}' = {value!r} is invalid: allowed is an integer >= {low}")
    return value


def read_toml(path: Path) -> dict:
    """Parse a TOML file; any unreadable or malformed file is a ParameterError naming it."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ParameterError(f"{path}: TOML syntax error: {exc}") from None
    except UnicodeDecodeError:
        raise ParameterError(f"{path}: not a UTF-8 text file") from None
    except OSError as exc:
        raise ParameterError(f"{path}: cannot be read ({exc.strerror})") from None


_TOP_KEYS = {"name", "description", "extends", "params", "policy", "events", "window", "burn_in", "record"}


def _read_chain(path: Path, seen: list[Path]) -> tuple[dict[str, dict], dict]:
    path = path.resolve()
    if path in seen:
        chain = " -> ".join(p.name for p in [*seen, path])
        raise ParameterError(f"{seen[-1]}: 'extends' makes a cycle: {chain}")
    if not path.is_file():
        where = f"{seen[-1]}: 'extends'" if seen else "scenario"
        raise ParameterError(f"{where}: file not found: {path}")
    data = read_toml(path)
    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise ParameterError(
            f"{path}: unknown top-level key '{sorted(unknown)[0]}'; allowed are {', '.join(sorted(_TOP_KEYS))}"
        )
    for table in ("params", "policy"):
        if not isinstance(data.get(table, {}), dict):
            raise ParameterError(f"{path}: '{table}' must be a table ([{table}])")
    params = validate(data.get("params", {}), f"{path} [params]")
    policy = validate(data.get("policy", {}), f"{path} [policy]", levers_only=True)
    events = check_events(data.get("events", []), str(path))
    record = check_records(data["record"], str(path)) if "record" in data else None
    window = int_setting(str(path), data, "window", None, 1) if "window" in data else None
    burn_in = int_setting(str(path), data, "burn_in", None, 0) if "burn_in" in data else None
    if "extends" in data:
        if not isinstance(data["extends"], str):
            raise ParameterError(f"{path}: 'extends' must be a file name string")
        parent, _ = _read_chain(path.parent / data["extends"], [*seen, path])
        params = {**parent["params"], **params}
        policy = {**parent["policy"], **policy}
        events = sorted(parent["events"] + events, key=lambda e: e["day"])
        window = parent["window"] if window is None else window
        burn_in = parent["burn_in"] if burn_in is None else burn_in
        record = parent["record"] if record is None else record
    return {"params": params, "policy": policy, "events": events, "window": window, "burn_in": burn_in,
            "record": record}, data  # fmt: skip
