import pytest

import sim

#: A small city for fast tests; same mechanics as the default one.
SMALL = {
    "n_buyers": 1500,
    "n_shops": 3,
    "n_couriers": 36,
    "n_labs": 1,
}


@pytest.fixture
def small_params():
    return dict(SMALL)


@pytest.fixture
def small_model():
    return sim.KladMarket(dict(SMALL), rng=7)
