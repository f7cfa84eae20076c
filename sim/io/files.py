"""Writing results atomically: a file is either complete or absent, never half-written."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd

from sim.params import ParameterError

try:
    import fcntl
except ImportError:  # Windows: output folders are not locked
    fcntl = None  # type: ignore[assignment]


def write_atomic(path: str | Path, write: Callable[[Path], object]) -> Path:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # the permissions a plain open() would give, not mkstemp's 0600
        os.replace(tmp, path)
    except OSError as exc:  # some writers (pyarrow) name neither the file nor the reason plainly
        Path(tmp).unlink(missing_ok=True)
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        raise OSError(exc.errno, reason, str(path)) from exc
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


#: Less free space than this on the disk of an output folder is a full disk.
MIN_FREE_BYTES = 1 << 20


def check_writable(folder: str | Path, option: str = "--out") -> None:
    """Refuse, before any work, an output folder that cannot be made or written, or whose disk is full.

    The folder need not exist: its nearest existing parent is checked.
    """
    if not str(folder).strip():
        raise ParameterError(f"{option} is empty: give a folder")
    path = Path(folder).absolute()
    existing = next(p for p in (path, *path.parents) if p.exists() or p == p.parent)
    if not existing.is_dir():
        raise ParameterError(f"{option} {folder}: {existing} exists and is not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ParameterError(f"{option} {folder}: cannot write in {existing} (read-only or not yours)")
    disk = os.statvfs(existing)
    if disk.f_bavail * disk.f_frsize < MIN_FREE_BYTES:
        free = disk.f_bavail * disk.f_frsize
        raise ParameterError(f"{option} {folder}: its disk is full ({free:,} bytes free; at least {MIN_FREE_BYTES:,} "
                             "are needed)")  # fmt: skip


#: Folders this process holds (``claimed``), with their locked descriptors.
_HELD: dict[Path, int] = {}


@contextlib.contextmanager
def claimed(folder: str | Path) -> Iterator[Path]:
    """Hold an output folder for one command's work: made, locked, and rid of interrupted writes' leftovers.

    Another command (any process) that claims the folder while this one holds
    it is refused, so two never write into one folder at once; the temporary
    files that writes killed earlier left behind (``write_atomic``'s
    ``.NAME.XXXX.tmp``) are removed. Folders made here that are still empty at
    the end (the work was refused or stopped before it wrote anything) are
    removed again. Claims of one folder nest within a process.
    """
    folder = Path(folder).resolve()
    if folder in _HELD:
        yield folder
        return
    made = [p for p in (folder, *folder.parents) if not p.exists()]
    folder.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        try:
            if fcntl is not None:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ParameterError(f"{folder}: another klad command is writing there now; let it finish, or use "
                                 "another --out") from None  # fmt: skip
        for stale in folder.rglob(".*.tmp"):
            stale.unlink(missing_ok=True)
        _HELD[folder] = descriptor
        yield folder
    finally:
        _HELD.pop(folder, None)
        os.close(descriptor)  # releases the lock
        for path in made:  # the deepest first
            with contextlib.suppress(OSError):  # not empty: something was written
                path.rmdir()


def write_parquet(df: pd.DataFrame, path: str | Path) -> Path:
    """Write a DataFrame to Parquet atomically."""
    return write_atomic(path, lambda tmp: df.to_parquet(tmp, index=False))


def write_text(text: str, path: str | Path) -> Path:
    """Write text atomically."""
    return write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_json(data: dict, path: str | Path) -> Path:
    """Write JSON atomically."""
    return write_text(json.dumps(data, indent=2, default=str) + "\n", path)
