"""A sweep model whose first call kills the process it runs in (a lost Dask worker), for the retry test."""

import math
import os
from pathlib import Path


def model(params, seed, days=0):
    """The Ishigami function plus seed noise; the first call anywhere exits its process without a word."""
    marker = Path(params["marker"])
    if not marker.exists():
        marker.write_text(str(os.getpid()))
        os._exit(1)  # the worker dies mid-task, as on a lost machine
    x1, x2, x3 = params["x1"], params["x2"], params["x3"]
    y = math.sin(x1) + 7.0 * math.sin(x2) ** 2 + 0.1 * x3**4 * math.sin(x1)
    return {"y": y + (seed % 1000) / 1e6}
