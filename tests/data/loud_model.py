"""A sweep model whose import leaves a mark (the file named by KLAD_LOUD_MARKER): importing a model runs its code."""

import os
from pathlib import Path

if os.environ.get("KLAD_LOUD_MARKER"):
    Path(os.environ["KLAD_LOUD_MARKER"]).write_text("imported")


def model(params, seed, days=0):
    """``y = x``."""
    return {"y": params["x"]}
