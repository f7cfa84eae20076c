"""The one executor: every workflow's model runs go through ``execute``, here, on local processes or Dask.

A *job* is a picklable function with its arguments. Jobs run in this process
(``workers`` 1), on a local process pool, or on a Dask distributed cluster
(``scheduler``), where a job whose worker died runs again elsewhere. Results
never depend on where a job ran: each job carries its own seed.

With ``paths``, each job's result (a DataFrame) is written atomically to its
own Parquet file the moment it finishes, and jobs whose file exists are
skipped: work killed at any moment loses only the jobs in flight, and calling
``execute`` again finishes the rest. Without ``paths``, results come back in
job order.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.io.files import write_parquet
from sim.params import ParameterError

Job = tuple[Callable[..., Any], tuple]


def default_workers() -> int:
    """All cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@dataclass(frozen=True)
class Execution:
    """Where a workflow's runs go: ``workers`` local processes, or the Dask cluster at ``scheduler``.

    ``progress`` shows a progress bar with the work done, failed runs and time left.
    """

    workers: int = 1
    scheduler: str | None = None
    progress: bool = False

    @classmethod
    def local(cls, workers: int | None = None, progress: bool = False) -> Execution:
        """``workers`` local processes (default: every core)."""
        return cls(default_workers() if workers is None else workers, None, progress)


#: The default of every workflow: its runs one after the other in this process, no progress bar.
IN_PROCESS = Execution()


def execute(
    jobs: list[Job],
    *,
    paths: list[Path] | None = None,
    sizes: list[int] | None = None,
    execution: Execution | None = None,
    desc: str = "runs",
    unit: str = "run",
) -> list[Any] | None:
    """Run the jobs (those whose result file is not yet on disk, with ``paths``).

    Args:
        jobs: picklable functions with their arguments.
        paths: one Parquet file per job; each result is written there when it
            finishes, and a job whose file exists is skipped.
        sizes: units of work in each job, for the progress bar (default 1 each).
        execution: where the jobs run, and whether a progress bar shows.
        desc: the progress bar's label.
        unit: the progress bar's unit.

    Returns:
        Without ``paths``, each job's result in job order; with ``paths``, ``None``.
    """
    execution = execution or IN_PROCESS
    sizes = sizes or [1] * len(jobs)
    todo = [i for i in range(len(jobs)) if paths is None or not paths[i].exists()]
    results: list[Any] = [None] * len(jobs)
    bar = _progress(sum(sizes), sum(sizes) - sum(sizes[i] for i in todo), execution.progress, desc, unit)
    workers = execution.workers

    def finish(i: int, result: Any) -> None:
        if paths is None:
            results[i] = result
        else:
            write_parquet(result, paths[i])
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
        elif workers <= 1 or len(todo) == 1:
            for i in todo:
                func, args = jobs[i]
                finish(i, func(*args))
        else:
            # forkserver: no fork() of a possibly multi-threaded parent.
            context = mp.get_context("forkserver")
            with ProcessPoolExecutor(max_workers=min(workers, len(todo)), mp_context=context) as pool:
                futures = {pool.submit(jobs[i][0], *jobs[i][1]): i for i in todo}
                for future in as_completed(futures):
                    finish(futures[future], future.result())
    finally:
        if bar:
            bar.close()
    return results if paths is None else None


def _progress(total: int, already: int, enabled: bool, desc: str, unit: str):
    if not enabled:
        return None
    from tqdm import tqdm

    bar = tqdm(total=total, initial=already, desc=desc, unit=unit)
    bar.failed = 0
    return bar


def dask_client(address: str):
    """A client of the Dask scheduler at ``address``; a ParameterError if Dask or the scheduler is missing."""
    try:
        from distributed import Client
    except ImportError:
        raise ParameterError("--scheduler needs Dask: pip install 'dask[distributed]'") from None
    try:
        return Client(address, timeout="10s")
    except (OSError, TimeoutError) as exc:
        raise ParameterError(f"--scheduler {address}: cannot reach the Dask scheduler ({exc})") from None


def _run_dask(client, jobs: list[Job], todo: list[int], finish: Callable[[int, Any], None]) -> None:
    from distributed import as_completed as dask_completed

    # retries: a job whose worker died (or that raised on a lost connection) runs again elsewhere.
    futures = {client.submit(jobs[i][0], *jobs[i][1], pure=False, retries=3): i for i in todo}
    try:
        for future in dask_completed(futures):
            finish(futures[future], future.result())
    finally:
        client.close()
