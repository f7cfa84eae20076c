import os
import signal

# One BLAS thread per process, set before NumPy is first imported: the suite runs a process per core
# (pytest-xdist) and tests start process pools of their own, and OpenBLAS's threads on top of them spin for
# cores that are taken (a test fitting Gaussian processes ran 2.5 times slower). Child processes inherit it.
for _threads in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_threads, "1")

import pytest  # noqa: E402

import sim  # noqa: E402


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
