"""klad-sim: an agent-based model of the contactless ("klad") drug market in Kazakhstan.

The public API, loaded on first use (so that ``import sim`` and the ``klad``
command start quickly and a Ctrl-C during start-up is handled like any other):

- ``KladMarket``: the model (``sim.model.market``); ``METRICS``: its daily metrics;
- ``load_scenario``: a scenario file read and checked once, as a ``Scenario`` (``sim.io.config``);
- ``REGISTRY``, ``Params``, ``ParameterError``: the parameter registry (``sim.params``);
- ``run_scenario``, ``compare_scenarios``: seeded replications of a ``Scenario`` under a ``RunPlan``
  (``sim.experiments.scenarios``);
  ``write_scenario``, ``write_comparison``: their files (``sim.reporting.scenarios``).
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.2.0"  # 0.2: random numbers by process and agent; results of 0.1 runs differ

_API = {
    "KladMarket": "sim.model.market",
    "METRICS": "sim.model.metrics",
    "load_scenario": "sim.io.config",
    "Scenario": "sim.io.config",
    "REGISTRY": "sim.params",
    "Params": "sim.params",
    "ParameterError": "sim.params",
    "run_scenario": "sim.experiments.scenarios",
    "RunPlan": "sim.experiments.scenarios",
    "compare_scenarios": "sim.experiments.scenarios",
    "write_scenario": "sim.reporting.scenarios",
    "write_comparison": "sim.reporting.scenarios",
}
__all__ = sorted(_API)


def __getattr__(name: str) -> Any:
    if name in _API:
        return getattr(importlib.import_module(_API[name]), name)
    try:
        return importlib.import_module(f"sim.{name}")  # a subpackage or module, e.g. sim.params
    except ModuleNotFoundError:
        raise AttributeError(f"module 'sim' has no attribute {name!r}") from None
