"""Provenance: what made a result, so that anyone can make it again.

Every workflow's ``manifest.json`` starts from ``provenance()``: the package's
version and its git commit (of the checkout the package was imported from,
whatever the working directory; with a flag when that checkout has
uncommitted changes), the versions of the libraries that shape the numbers,
whether every library is installed at the version ``requirements.lock`` pins
(the condition for the same numbers bit for bit), the command line, and when
it started and finished. Each workflow adds what it ran (scenario, seeds,
design ...).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import platform
import subprocess
import sys
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from sim.io.files import write_json
from sim.params import ParameterError, shown

#: Libraries whose versions can change the numbers.
LIBRARIES = ("mesa", "numpy", "numba", "pandas", "scipy", "SALib", "pyarrow")


def now() -> str:
    """The time now, as an ISO 8601 UTC string."""
    return dt.datetime.now(dt.UTC).isoformat()


@cache
def package_commit() -> dict[str, Any]:
    """The git commit of the checkout this package was imported from, and whether it has uncommitted changes.

    Both are ``None`` when the package is not inside a git checkout (an installed wheel).
    """
    package = Path(__file__).resolve().parents[1]

    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(["git", "-C", str(package), *args], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    top = git("rev-parse", "--show-toplevel")
    if top is None or not (package.is_relative_to(Path(top).resolve())):
        return {"commit": None, "uncommitted_changes": None}
    status = git("status", "--porcelain", "--untracked-files=no", "--", str(package))
    return {"commit": git("rev-parse", "HEAD"), "uncommitted_changes": bool(status) if status is not None else None}


def versions() -> dict[str, str]:
    """klad-sim's, Python's and the numerical libraries' versions."""
    from sim import __version__

    found = {"klad-sim": __version__, "python": platform.python_version()}
    for name in LIBRARIES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found


#: The lock file beside the package's checkout: every library's exact version, with its hashes.
LOCK_FILE = Path(__file__).resolve().parents[2] / "requirements.lock"


def locked_versions(text: str) -> dict[str, str]:
    """``name: version`` of the pins in a lock's ``text`` that apply to this interpreter and platform."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    pins: dict[str, str] = {}
    for line in text.replace("\\\n", " ").splitlines():
        line = line.split("--hash")[0].strip()
        if not line or line.startswith(("#", "-")):
            continue
        req = Requirement(line)
        if req.marker is None or req.marker.evaluate():
            pins[canonicalize_name(req.name)] = next(iter(req.specifier)).version
    return pins


def lock_status(path: Path = LOCK_FILE) -> dict[str, Any]:
    """Whether the installed libraries are the ones ``path`` pins: ``installed_as_locked`` and what differs.

    ``installed_as_locked`` is ``None`` when there is no lock (an installed
    wheel, not a checkout); ``differs`` maps each library installed at
    another version (or missing) to ``"installed (locked)"``.
    """
    from packaging.version import Version

    if not path.is_file():
        return {"file": None, "installed_as_locked": None, "differs": {}}
    text = path.read_text(encoding="utf-8")
    differs = {}
    for name, pinned in sorted(locked_versions(text).items()):
        try:
            found = version(name)
        except PackageNotFoundError:
            found = "not installed"
        if found == "not installed" or Version(found) != Version(pinned):
            differs[name] = f"{found} (locked {pinned})"
    return {"file": path.name, "sha256": hashlib.sha256(text.encode()).hexdigest(),
            "installed_as_locked": not differs, "differs": differs}  # fmt: skip


def provenance(started: str, **what: Any) -> dict[str, Any]:
    """A manifest: ``what`` ran (scenario, seeds, design ...), then versions, the lock, commit, command and times."""
    return {
        **what,
        "versions": versions(),
        "lock": lock_status(),
        "git": package_commit(),
        "command": sys.argv,
        "started": started,
        "finished": now(),
    }


#: The file in which a resumable work (a sweep, a calibration, hypotheses) keeps its fingerprint.
FINGERPRINT = "fingerprint.json"


def fingerprint(**what: Any) -> dict[str, Any]:
    """What decides a resumable work's results (``what``, as JSON values) and the package's version.

    ``--resume`` continues a work only under an equal fingerprint (``keep_fingerprint``).
    """
    from sim import __version__

    return json.loads(json.dumps({**what, "klad_sim_version": __version__}, sort_keys=True, default=str))


def keep_fingerprint(folder: Path, mark: dict[str, Any], *, resume: bool, begun: bool, work: str,
                     name: str = FINGERPRINT) -> None:  # fmt: skip
    """Start a resumable ``work`` in ``folder`` under its fingerprint ``mark``, or continue it; never mix two.

    ``begun`` says whether ``folder`` already holds some of this work's
    results. If not, ``mark`` is written (to the file ``name``) and the work
    starts afresh. If so, ``resume`` is needed and the fingerprint there must
    equal ``mark``; otherwise a ParameterError names what changed.
    """
    path = folder / name
    if not begun:
        write_json(mark, path)
        return
    if not resume:
        raise ParameterError(f"{folder}: holds an earlier {work}'s results; pass --resume to continue it, or another "
                             "--out")  # fmt: skip
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise ParameterError(f"{folder}: holds results without a readable {name}, so --resume cannot tell "
                             f"whether they are this {work}'s; use another --out") from None  # fmt: skip
    changed = differences(old, mark)
    if changed:
        raise ParameterError(f"{folder}: holds a different {work} ({changed}); --resume continues only the same one: "
                             "use another --out")  # fmt: skip


#: The file in a run's output folder that says which run wrote the results there.
WRITTEN_BY = "written_by.json"


def check_replaceable(folder: Path, mark: dict[str, Any], *, overwrite: bool, work: str) -> None:
    """Refuse, before any work, to replace results in ``folder`` that another ``work`` wrote, unless ``overwrite``.

    The same run (an equal ``mark``, a ``fingerprint``) writes the same
    results, so it may replace its own; results of another run, or of one that
    left no mark, are kept unless ``overwrite`` says otherwise. After writing,
    the command leaves its ``mark`` (``write_json(mark, folder / WRITTEN_BY)``).
    """
    if overwrite or not (folder / "manifest.json").is_file():
        return
    try:
        old = json.loads((folder / WRITTEN_BY).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        old = None
    if old == mark:
        return
    what = differences(old, mark) if isinstance(old, dict) else "it does not say which run wrote them"
    raise ParameterError(f"{folder}: holds the results of another {work} ({what}); pass --overwrite to replace "
                         "them, or choose another --out")  # fmt: skip


def differences(old: dict[str, Any], new: dict[str, Any]) -> str:
    """What differs between two fingerprints, in words: the first change and how many more ("" if none)."""
    before, after = _flat(old), _flat(new)
    keys = [k for k in dict.fromkeys([*before, *after]) if before.get(k, "none") != after.get(k, "none")]
    if not keys:
        return ""
    first = f"{keys[0]} was {shown(before.get(keys[0], 'none'))}, now {shown(after.get(keys[0], 'none'))}"
    return first + (f"; and {len(keys) - 1} more: {', '.join(keys[1:4])}" if len(keys) > 1 else "")


def _flat(value: Any, prefix: str = "") -> dict[str, Any]:
    """A nested dict as dotted keys (``varied.price_elasticity``) and their values."""
    if not isinstance(value, dict) or not value:
        return {prefix: value}
    out = {}
    for key, item in value.items():
        out.update(_flat(item, f"{prefix}.{key}" if prefix else str(key)))
    return out
