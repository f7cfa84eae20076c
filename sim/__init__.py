"""klad-sim: an agent-based model of the contactless ("klad") drug market in Kazakhstan."""

from sim.io.config import load_scenario
from sim.model.market import METRICS, KladMarket
from sim.params import REGISTRY, ParameterError

__all__ = ["METRICS", "REGISTRY", "KladMarket", "ParameterError", "load_scenario"]
__version__ = "0.1.0"
