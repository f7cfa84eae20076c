"""Sweep models that misbehave, for the tests of faults: one calls sys.exit, one ends its process, one hangs."""

import os
import sys
import time
from pathlib import Path


def calls_exit(params, seed, days=0):
    """Calls sys.exit(3) for x above 0.5 (a failed run, recorded as such), else ``y = x``."""
    if params["x"] > 0.5:
        sys.exit(3)
    return {"y": params["x"]}


def ends_process(params, seed, days=0):
    """Ends its process at once (os._exit), as a crashed extension would."""
    os._exit(7)


def hangs(params, seed, days=0):
    """Leaves its process id in the folder ``params["pids"]`` names, then works for a minute."""
    Path(params["pids"], str(os.getpid())).write_text("")
    time.sleep(60)
    return {"y": params["x"]}
