"""Reading the project's TOML files: scenario files (with ``extends``) and the other kinds, each against its schema.

Every file is read the same careful way (``read_text``): only a regular file
of at most ``MAX_FILE_BYTES``, UTF-8 with or without a byte-order mark; a
folder, a device, a named pipe, a broken link or a binary file is refused with
one line that says which it is, before anything is read from it.
"""

from __future__ import annotations

import codecs
import dataclasses
import os
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.io import schema
from sim.io.schema import MAX_DAYS, Schema, of, text, whole
from sim.params import ParameterError, Params, check_records, resolve, shown, validate
from sim.timeline import check_events

#: Larger files are refused unread: the project's files are a few kilobytes, and a wrong path (a data dump,
#: ``/dev/zero``) must not be read whole.
MAX_FILE_BYTES = 1 << 20
#: How many files an ``extends`` chain may hold.
MAX_EXTENDS = 32

#: A scenario file: see ``load_scenario``.
SCENARIO: Schema = {
    "name": text(None),
    "description": text(None, longest=10_000, lines=True),
    "extends": text(None, longest=4096),
    "params": of("table", {}),
    "policy": of("table", {}),
    "events": of("tables", []),
    "window": whole(1, MAX_DAYS, None),
    "burn_in": whole(0, MAX_DAYS, None),
    "record": of("any", None),
}


@dataclass(frozen=True)
class Scenario:
    """A scenario, read and checked once, handed as it is from its file to the model and the report.

    ``params`` are the values in force from day 0; ``policy`` the lever values
    that switch on at ``params.policy_start_day``; ``events`` the timed events
    (``sim.timeline``), by day; ``window`` and ``burn_in`` the summary window
    the file asks for (``None``: the defaults); ``record`` the records below
    the city level it keeps; ``source`` the file it was read from (``None``
    for one made from values in Python); ``description`` its file's words.
    """

    name: str
    params: Params = field(default_factory=Params)
    policy: dict[str, Any] = field(default_factory=dict)
    events: tuple[dict[str, Any], ...] = ()
    window: int | None = None
    burn_in: int | None = None
    record: tuple[str, ...] = ()
    source: Path | None = None
    description: str = ""

    @property
    def where(self) -> str:
        """Where the scenario came from, for messages and reports: its file, or "parameter dict"."""
        return str(self.source) if self.source is not None else "parameter dict"

    @classmethod
    def of(
        cls, values: Scenario | Params | Mapping[str, Any] | None = None, name: str = "custom",
        where: str = "parameter dict",
    ) -> Scenario:  # fmt: skip
        """A scenario as it is; or one made from ``Params``; or from a mapping of values, checked here.

        The mapping is the Python API's form: parameter values, optionally a
        ``policy`` table, ``events``, ``window``, ``burn_in``, ``record`` and
        ``scenario_name`` (``as_dict`` writes the same form).

        Raises:
            ParameterError: on any value the registry or the timeline refuses.
        """
        if isinstance(values, Scenario):
            return values
        if isinstance(values, Params):
            return cls(name, values)
        values = dict(values or {})
        extra = {key: values.pop(key) for key in ("window", "burn_in", "record") if key in values}
        checked = schema.check(extra, {k: SCENARIO[k] for k in ("window", "burn_in", "record")}, where)
        resolved = resolve({k: v for k, v in values.items() if k not in ("scenario_name", "events")})
        policy = resolved.pop("policy")
        record = () if checked["record"] is None else check_records(checked["record"], where)
        return cls(str(values.get("scenario_name", name)), Params(**resolved), policy,
                   tuple(check_events(values.get("events", []), where)), checked["window"],
                   checked["burn_in"], record)  # fmt: skip

    def as_dict(self) -> dict[str, Any]:
        """The scenario as one mapping (the form ``Scenario.of`` reads): every value in force, then the rest."""
        extra = {key: getattr(self, key) for key in ("window", "burn_in") if getattr(self, key) is not None}
        if self.record:
            extra["record"] = self.record
        events = [dict(e) for e in self.events]
        return {**self.params.as_dict(), "policy": dict(self.policy), "events": events, **extra,
                "scenario_name": self.name}  # fmt: skip

    def replace(self, **values: Any) -> Scenario:
        """A copy with parameters (or ``policy``, ``events``) changed: what changes is checked, and the cross rules."""
        policy = validate(values.pop("policy"), "policy", levers_only=True) if "policy" in values else self.policy
        events = tuple(check_events(list(values.pop("events")), "events")) if "events" in values else self.events
        params = self.params.replace(**values) if values else self.params
        resolve({**params.as_dict(), "policy": policy}, checked=True)  # the levers keep the cross-parameter rules
        return dataclasses.replace(self, params=params, policy=policy, events=events)


def load_scenario(path: str | Path) -> Scenario:
    """Read a scenario TOML file, following ``extends``, and return it checked: a ``Scenario``.

    A scenario file has optional top-level ``name``, ``description`` and
    ``extends`` (a path relative to the file), a ``[params]`` table of values in
    force from day 0, a ``[policy]`` table of lever values that switch on at
    ``policy_start_day``, ``[[events]]`` on given days (``sim.timeline``; a
    file's events are added to those of the file it extends), and the summary
    ``window`` and ``burn_in`` in days (``summary_window``). A file may extend
    another up to ``MAX_EXTENDS`` files deep.

    Raises:
        ParameterError: with the file and key, on any problem.
    """
    chain = _read_chain(Path(path))
    merged: dict[str, Any] = {"params": {}, "policy": {}, "events": [], "window": None, "burn_in": None,
                              "record": None}  # fmt: skip
    for _, values in reversed(chain):  # from the file extended first to the one named
        merged["params"].update(values["params"])
        merged["policy"].update(values["policy"])
        merged["events"] = sorted(merged["events"] + values["events"], key=lambda e: e["day"])
        for key in ("window", "burn_in", "record"):
            merged[key] = merged[key] if values[key] is None else values[key]
    try:  # each value is checked as its file is read; here only the rules that relate values
        resolved = resolve({**merged["params"], "policy": merged["policy"]}, checked=True)
    except ParameterError as exc:
        raise ParameterError(f"{path}: {exc}") from None
    policy = resolved.pop("policy")
    return Scenario(chain[0][1]["name"] or Path(path).stem, Params(**resolved), policy, tuple(merged["events"]),
                    merged["window"], merged["burn_in"], merged["record"] or (), Path(path),
                    str(chain[0][1].get("description") or ""))  # fmt: skip


def scenario_of(scenario: str | Path | Scenario | Params | Mapping[str, Any] | None) -> Scenario:
    """A workflow's scenario: a ``Scenario`` as it is, a file (``load_scenario``), or values (``Scenario.of``)."""
    if isinstance(scenario, str | Path):
        return load_scenario(scenario)
    return Scenario.of(scenario)


def _read_chain(path: Path) -> list[tuple[Path, dict[str, Any]]]:
    """The file and each file it extends, in that order, each checked on its own."""
    chain: list[tuple[Path, dict[str, Any]]] = []
    where = "scenario"
    while True:
        found = _real_path(path, where)
        if any(found == seen for seen, _ in chain):
            names = " -> ".join(p.name for p in [*(seen for seen, _ in chain), found])
            raise ParameterError(f"{chain[-1][0]}: 'extends' makes a cycle: {names}")
        if len(chain) == MAX_EXTENDS:
            raise ParameterError(f"{chain[0][0]}: 'extends' chains more than {MAX_EXTENDS} files")
        values = _check_scenario(found, read_toml(found, where))
        chain.append((found, values))
        if values["extends"] is None:
            return chain
        path, where = found.parent / values["extends"], f"{found}: 'extends'"
        _hint_if_missing(path, found, values["extends"])


#: The shipped scenarios, which a user's file most often extends.
SHIPPED_SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def _hint_if_missing(path: Path, source: Path, named: str) -> None:
    """Refuse an ``extends`` that names no file, saying it is read against ``source``'s folder, with the fix."""
    shipped = SHIPPED_SCENARIOS / Path(named).name
    try:
        if os.path.lexists(path) or len(path.name) > 255:
            return  # there, or a name no file can have: reading it says which
        shipped_exists = shipped.is_file()
    except (OSError, ValueError):
        return
    fix = ""
    if shipped_exists:
        relative = Path(os.path.relpath(shipped, source.parent)).as_posix()
        fix = f'; to extend the shipped one, write extends = "{shipped if relative.startswith("../..") else relative}"'
    raise ParameterError(f"{source}: extends = {named!r}: file not found: {path} ('extends' is read relative to the "
                         f"folder of the file that says it){fix}")  # fmt: skip


def _check_scenario(path: Path, data: dict) -> dict[str, Any]:
    """One scenario file's values, checked against ``SCENARIO`` and the registry."""
    values = schema.check(data, SCENARIO, str(path))
    values["params"] = validate(values["params"], f"{path} [params]")
    values["policy"] = validate(values["policy"], f"{path} [policy]", levers_only=True)
    values["events"] = check_events(values["events"], str(path))
    if values["record"] is not None:
        values["record"] = check_records(values["record"], str(path))
    return values


def _real_path(path: Path, where: str) -> Path:
    """``path`` made absolute with links followed; a ParameterError if the name is unusable or a broken link."""
    try:
        broken = path.is_symlink() and not path.exists()
        if not broken:
            return path.resolve()
    except (OSError, ValueError) as exc:  # a NUL character, a name too long, a loop of links
        raise ParameterError(f"{where}: cannot use the file name {shown(str(path))} ({_reason(exc)})") from None
    raise ParameterError(f"{where}: {path} is a broken link (to {os.readlink(path)})")


def read_file(path: str | Path, kind: str, keys: Schema) -> tuple[Path, dict[str, Any]]:
    """Read a TOML file of ``kind`` (experiment, hypothesis, targets) and check its top-level keys against ``keys``.

    Returns the path and every key of the schema, with its default where the file has none.

    Raises:
        ParameterError: naming the file, if it is missing, unreadable, malformed or has a bad key.
    """
    path = Path(path)
    return path, schema.check(read_toml(_real_path(path, kind), kind), keys, str(path))


def read_toml(path: Path, where: str = "file") -> dict:
    """Parse a TOML file; any unreadable or malformed file is a ParameterError naming it."""
    try:
        return tomllib.loads(read_text(path, where))
    except tomllib.TOMLDecodeError as exc:
        raise ParameterError(f"{path}: TOML syntax error: {exc}") from None


def read_text(path: Path, where: str = "file") -> str:
    """The text of a small UTF-8 file (a byte-order mark is dropped), or a ParameterError that says what is wrong.

    ``where`` names who asked for the file (``scenario``, a file's ``extends``) when the file cannot be found.
    """
    try:
        info = os.stat(path)  # follows links
    except FileNotFoundError:
        broken = os.path.lexists(path)
        raise ParameterError(f"{where}: {'broken link' if broken else 'file not found'}: {path}") from None
    except (OSError, ValueError) as exc:
        raise ParameterError(f"{where}: cannot read {shown(str(path))} ({_reason(exc)})") from None
    kind = _not_a_file(info.st_mode)
    if kind:
        raise ParameterError(f"{path}: is {kind}, not a file")
    try:
        with open(path, "rb") as file:
            data = file.read(MAX_FILE_BYTES + 1)  # some files (/proc) say they are empty: never trust the size
    except OSError as exc:
        raise ParameterError(f"{path}: cannot be read ({_reason(exc)})") from None
    if len(data) > MAX_FILE_BYTES or info.st_size > MAX_FILE_BYTES:
        size = max(len(data), info.st_size)
        raise ParameterError(f"{path}: is {size:,} bytes; files over {MAX_FILE_BYTES:,} bytes are refused unread")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ParameterError(f"{path}: not a UTF-8 text file (it starts like UTF-16 text: save it as UTF-8)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ParameterError(f"{path}: not a UTF-8 text file (byte {exc.start:,} is not UTF-8)") from None


def _not_a_file(mode: int) -> str | None:
    """What a path that is not a regular file is, in words (``None`` for a regular file)."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a socket" if stat.S_ISSOCK(mode) else "not a regular file"


def _reason(exc: BaseException) -> str:
    """An OS error's reason without the file name it repeats (the message names the file once, shortened)."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return "a NUL character in the name" if "null" in str(exc) else str(exc)
