"""A sweep model that fails for some points, for the tests of a sweep's exit codes and of --retry-failed."""

from pathlib import Path


def model(params, seed, days=0):
    """``y = x``; a ValueError when ``x`` is above ``fail_above``, or while the file ``broken`` names exists."""
    if params["x"] > params["fail_above"]:
        raise ValueError(f"x is too large ({params['x']:.3f})")
    if Path(params.get("broken", "/nonexistent")).exists():
        raise OSError("the model's data are broken")
    return {"y": params["x"]}
