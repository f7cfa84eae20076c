"""The one executor: every workflow's model runs go through ``execute``, here, on local processes or Dask.

A *job* is a picklable function with its arguments. Jobs run in this process
(``workers`` 1), on a local process pool, or on a Dask distributed cluster
(``scheduler``), where a job whose worker died runs again elsewhere. Results
never depend on where a job ran: each job carries its own seed.

With ``paths``, each job's result (a DataFrame) is written atomically to its
own Parquet file the moment it finishes, and jobs whose file exists are
skipped: work killed at any moment loses only the jobs in flight, and calling
``execute`` again finishes the rest. A job that makes several results (the
arms forked from one warm-up, say) has a list of paths and returns a list of
DataFrames, one per path; it is skipped when all of them exist. Without
``paths``, results come back in job order.
"""

from __future__ import annotations

import ipaddress
import multiprocessing as mp
import os
import threading
import urllib.parse
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from multiprocessing.connection import wait
from pathlib import Path
from typing import Any

from sim.io.files import write_parquet
from sim.params import Fault, ParameterError, shown

Job = tuple[Callable[..., Any], tuple]


def default_workers() -> int:
    """All cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def available_memory() -> float | None:
    """Bytes of memory this machine can give new work now (Linux's MemAvailable); None where it cannot say."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return float(line.split()[1]) * 1024
    except OSError:
        pass
    return None


@dataclass(frozen=True)
class Execution:
    """Where a workflow's runs go: ``workers`` local processes, or the Dask cluster at ``scheduler``.

    ``progress`` shows a progress bar with the work done, failed runs and time
    left. ``isolated`` runs even a single worker's jobs in a child process, so
    that a model that ends its process (``os._exit``) or a crash is reported
    instead of ending the command without a word.
    """

    workers: int = 1
    scheduler: str | None = None
    progress: bool = False
    isolated: bool = False

    @classmethod
    def local(cls, workers: int | None = None, progress: bool = False) -> Execution:
        """``workers`` local processes (default: every core), each a child process."""
        return cls(default_workers() if workers is None else workers, None, progress, isolated=True)


#: The default of every workflow: its runs one after the other in this process, no progress bar.
IN_PROCESS = Execution()


def execute(
    jobs: list[Job],
    *,
    paths: list[Path] | list[list[Path]] | None = None,
    sizes: list[int] | None = None,
    execution: Execution | None = None,
    desc: str = "runs",
    unit: str = "run",
) -> list[Any] | None:
    """Run the jobs (those whose result file is not yet on disk, with ``paths``).

    Args:
        jobs: picklable functions with their arguments.
        paths: one Parquet file per job (or a list of files for a job that returns a list of frames); each
            result is written there when it finishes, and a job whose files all exist is skipped.
        sizes: units of work in each job, for the progress bar (default 1 each).
        execution: where the jobs run, and whether a progress bar shows.
        desc: the progress bar's label.
        unit: the progress bar's unit.

    Returns:
        Without ``paths``, each job's result in job order; with ``paths``, ``None``.
    """
    execution = execution or IN_PROCESS
    sizes = sizes or [1] * len(jobs)
    todo = [i for i in range(len(jobs)) if paths is None or not all(p.exists() for p in _listed(paths[i]))]
    results: list[Any] = [None] * len(jobs)
    bar = _progress(sum(sizes), sum(sizes) - sum(sizes[i] for i in todo), execution.progress, desc, unit)
    workers = execution.workers

    def finish(i: int, result: Any) -> None:
        target = None if paths is None else paths[i]
        if target is None:
            results[i] = result
        elif isinstance(target, list):
            for frame, path in zip(result, target, strict=True):
                write_parquet(frame, path)
        else:
            write_parquet(result, target)
        if bar:
            if hasattr(result, "columns") and "status" in result.columns:
                bar.failed += int((result["status"] != "ok").sum())
                bar.set_postfix(failed=bar.failed)
            bar.update(sizes[i])

    try:
        if not todo:
            pass
        elif execution.scheduler:
            _run_dask(dask_client(execution.scheduler), jobs, todo, finish)
        elif not execution.isolated and (workers <= 1 or len(todo) == 1):
            for i in todo:
                func, args = jobs[i]
                finish(i, func(*args))
        else:
            _run_pool(jobs, todo, min(workers, len(todo)), finish)
    finally:
        if bar:
            bar.close()
    return results if paths is None else None


def _listed(path: Path | list[Path]) -> list[Path]:
    return path if isinstance(path, list) else [path]


#: What a lost worker means, for the one line that says so.
LOST_WORKER = ("a worker process died (killed, out of memory, or a model ended its process); runs already "
               "finished are kept, and --resume continues a sweep, calibration or hypotheses")  # fmt: skip


def _run_pool(jobs: list[Job], todo: list[int], workers: int, finish: Callable[[int, Any], None]) -> None:
    """The jobs on a local process pool; on any error or interrupt its processes are ended at once."""
    # forkserver: no fork() of a possibly multi-threaded parent.
    context = mp.get_context("forkserver")
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_exit_with_parent)
    try:
        futures = {pool.submit(jobs[i][0], *jobs[i][1]): i for i in todo}
        for future in as_completed(futures):
            try:
                result = future.result()
            except BrokenProcessPool:
                raise Fault(LOST_WORKER) from None
            finish(futures[future], result)
    except BaseException:
        # The pool's running jobs would otherwise finish first (minutes): end them. The pool has no public way.
        processes = list(getattr(pool, "_processes", {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.terminate()
        raise
    pool.shutdown()


def _exit_with_parent() -> None:
    """In a pool's worker: end this process when the command that started it dies, even by ``kill -9``."""
    parent = mp.parent_process()
    if parent is None:
        return

    def watch() -> None:
        wait([parent.sentinel])
        os._exit(1)

    threading.Thread(target=watch, name="klad-watch-parent", daemon=True).start()


def _progress(total: int, already: int, enabled: bool, desc: str, unit: str):
    if not enabled:
        return None
    from tqdm import tqdm

    bar = tqdm(total=total, initial=already, desc=desc, unit=unit)
    bar.failed = 0
    return bar


def scheduler_warning(address: str) -> str | None:
    """Check a Dask scheduler address; say why, in words, if its connection is open to others (else None).

    A scheduler on this machine (loopback) or reached over TLS (``tls://``)
    is safe; any other is plain TCP across a network, which anyone on the way
    can read, and a scheduler that anyone can reach runs anyone's code.

    Raises:
        ParameterError: if ``address`` is not ``tcp://HOST:PORT`` or ``tls://HOST:PORT`` (or ``HOST:PORT``).
    """
    scheme = address.partition("://")[0] if "://" in address else "tcp"
    try:
        parts = urllib.parse.urlsplit(address if "://" in address else f"tcp://{address}")
        host, _ = parts.hostname, parts.port  # .port checks the port
    except ValueError:
        host = None
    if scheme not in ("tcp", "tls") or not host or any(c.isspace() for c in address) or parts.path or parts.query:
        raise ParameterError(f"--scheduler {shown(address)} is not a Dask address: allowed are tcp://HOST:PORT and "
                             "tls://HOST:PORT")  # fmt: skip
    if scheme == "tls" or _loopback(host):
        return None
    return (
        f"--scheduler {address} is neither on this machine nor tls://: the runs cross the network unencrypted "
        "and anyone who can reach the scheduler can run code on its workers (docs/reference.md, 'Trust and security')"
    )


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def dask_client(address: str):
    """A client of the Dask scheduler at ``address``; a ParameterError if Dask or the scheduler is missing.

    A ``tls://`` address takes its certificates from Dask's configuration
    (``distributed.comm.tls``, as ``distributed.Security()`` reads it).
    """
    scheduler_warning(address)
    try:
        from distributed import Client
    except ImportError:
        raise ParameterError("--scheduler needs Dask: pip install 'dask[distributed]'") from None
    try:
        return Client(address, timeout="10s")
    except (OSError, TimeoutError, ValueError, TypeError) as exc:
        raise ParameterError(f"--scheduler {shown(address)}: cannot reach the Dask scheduler ({exc})") from None


def _run_dask(client, jobs: list[Job], todo: list[int], finish: Callable[[int, Any], None]) -> None:
    from distributed import as_completed as dask_completed
    from distributed.scheduler import KilledWorker

    # retries: a job whose worker died (or that raised on a lost connection) runs again elsewhere.
    futures = {client.submit(jobs[i][0], *jobs[i][1], pure=False, retries=3): i for i in todo}
    try:
        for future in dask_completed(futures):
            try:
                result = future.result()
            except KilledWorker:
                raise Fault(f"on the Dask cluster, {LOST_WORKER} (three times for one job)") from None
            finish(futures[future], result)
    finally:
        client.close()
