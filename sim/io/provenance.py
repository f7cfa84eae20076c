"""Provenance: what made a result, so that anyone can make it again.

Every workflow's ``manifest.json`` starts from ``provenance()``: the package's
version and its git commit (of the checkout the package was imported from,
whatever the working directory; with a flag when that checkout has
uncommitted changes), the versions of the libraries that shape the numbers,
the command line, and when it started and finished. Each workflow adds what
it ran (scenario, seeds, design ...).
"""

from __future__ import annotations

import datetime as dt
import platform
import subprocess
import sys
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

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


def provenance(started: str, **what: Any) -> dict[str, Any]:
    """A manifest: ``what`` ran (scenario, seeds, design ...), then versions, commit, command and times."""
    return {
        **what,
        "versions": versions(),
        "git": package_commit(),
        "command": sys.argv,
        "started": started,
        "finished": now(),
    }
