"""The city: a grid of districts with stash suitability, demand and patrol."""

from __future__ import annotations

import numpy as np
from mesa.discrete_space import OrthogonalMooreGrid

from sim.model.engine.draws import cdf
from sim.model.engine.elementary import power


class City:
    """A Mesa grid of districts and three property layers over it.

    ``suitability`` (0-1) is how well a district hides stashes (parks,
    entrances, outskirts); ``demand`` is the share of buyers living there, with
    most demand in a few districts [001 L137]; ``patrol`` is the police officers
    on the street there today, set each day by the police.

    District ``d`` is the grid cell ``(d // height, d % height)``; the layers
    are flat views in that order.
    """

    def __init__(self, width: int, height: int, demand_concentration: float, rng: np.random.Generator, random):
        self.grid = OrthogonalMooreGrid((width, height), torus=False, random=random)
        self.n_districts = width * height
        self.shape = (width, height)
        # Suitability: parks and outskirts are scattered (assumption: Beta(2, 2)).
        suitability = rng.beta(2.0, 2.0, size=self.n_districts)
        # Demand: a Zipf-like ranking over districts in random places.
        ranks = rng.permutation(self.n_districts) + 1
        demand = power(ranks.astype(float), -demand_concentration)
        demand /= demand.sum()
        self._layers = {}
        for name, data in (("suitability", suitability), ("demand", demand), ("patrol", np.zeros(self.n_districts))):
            self._layers[name] = self.grid.create_property_layer(name, default_value=0.0, dtype=float)
            self.layer(name)[:] = data
        # Demand and suitability do not change during a run, so the weights drawn from daily are made once.
        self.demand_cdf = cdf(demand)  # where a new buyer lives
        placement = demand * suitability
        self.placement = placement / placement.sum()  # where couriers hide stashes: near buyers, in good places

    def layer(self, name: str) -> np.ndarray:
        """The named property layer as a flat, writable view indexed by district."""
        return self._layers[name].data.reshape(-1)

    @property
    def suitability(self) -> np.ndarray:
        """Stash suitability by district."""
        return self.layer("suitability")

    @property
    def demand(self) -> np.ndarray:
        """Share of buyers' homes by district."""
        return self.layer("demand")

    @property
    def patrol(self) -> np.ndarray:
        """Patrol officers on the street by district today."""
        return self.layer("patrol")

    def deploy_patrol(self, officers: np.ndarray) -> None:
        """Today's patrol officers by district (the police's allocation)."""
        self.patrol[:] = officers
