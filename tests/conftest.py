import signal

import pytest

import sim


def interruptible() -> None:
    """``preexec_fn`` of a child that a test stops with Ctrl-C: SIGINT at its default in the child.

    A shell starts a background job's children with SIGINT ignored, and Python keeps ignoring it; the test
    suite may run in such a job.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


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
