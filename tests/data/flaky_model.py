"""A sweep model that fails for some points, for the tests of a sweep's exit codes."""


def model(params, seed, days=0):
    """``y = x``, or a ValueError when ``x`` is above ``fail_above``."""
    if params["x"] > params["fail_above"]:
        raise ValueError(f"x is too large ({params['x']:.3f})")
    return {"y": params["x"]}
