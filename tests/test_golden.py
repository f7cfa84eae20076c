"""The golden runs: 60 days of the baseline and of two policy scenarios, equal to the last digit.

A year of a small city under precursor control is added so that lab raids,
lab entry and shop entry, which a 60-day run of the default city does not
reach, are guarded too.

A change that should not alter the model's behaviour (a restructure, a
speed-up, a new metric or record) must leave these tables exactly as they are
(a new metric adds a column; the golden columns stay). A change that alters
behaviour on purpose regenerates them (``KLAD_UPDATE_GOLDEN=1 pytest
tests/test_golden.py``) and says why in its commit message.

The same tables must come out on every x86-64 CPU. The libraries under the
model choose their code by the CPU (OpenBLAS its kernels, NumPy its SIMD
loops, glibc's libm its fused multiply-add variants), so the cases are run
again in subprocesses with each of those switched to what another CPU would
get, and must still equal the tables to the last digit.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sim
from sim.experiments.replications import run_one

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden"
SEED = 20251
SMALL_CITY = {"n_buyers": 1500, "n_shops": 3, "n_couriers": 36, "n_labs": 2}
#: name -> (shipped scenario, overrides, days). The policy switches on partway, so both the
#: burn-in and the policy's first weeks are covered.
CASES = {
    "baseline": ("baseline", {"policy_start_day": 30}, 60),
    "tightened_penalties": ("tightened_penalties", {"policy_start_day": 30}, 60),
    "combined_package": ("combined_package", {"policy_start_day": 30}, 60),
    "small_precursor_control_year": ("precursor_control", {**SMALL_CITY, "policy_start_day": 100}, 365),
}


def golden_run(case: str) -> pd.DataFrame:
    """The daily metrics of a golden run."""
    scenario, overrides, days = CASES[case]
    return run_one(sim.load_scenario(ROOT / "scenarios" / f"{scenario}.toml").replace(**overrides), days, SEED)


@pytest.mark.parametrize("case", CASES)
def test_golden_run_is_unchanged(case):
    daily = golden_run(case)
    path = GOLDEN / f"{case}.csv"
    if os.environ.get("KLAD_UPDATE_GOLDEN"):
        daily.to_csv(path, index=False, float_format="%.17g")
    expected = pd.read_csv(path)
    # Every golden column is still reported; metrics added since are new columns and do not count.
    assert list(daily.columns[: len(expected.columns)]) == list(expected.columns)
    for column in expected.columns:
        got, want = daily[column].to_numpy(dtype=float), expected[column].to_numpy(dtype=float)
        differ = np.flatnonzero(got != want)
        assert len(differ) == 0, (
            f"{case}: '{column}' differs from the golden run first on day {daily['day'].iloc[differ[0]]}: "
            f"{got[differ[0]]!r} != {want[differ[0]]!r}"
        )


def numpy_dispatch(avx512_only: bool) -> str:
    """NumPy's optional SIMD targets on this build (all, or the AVX-512 ones): a value of NPY_DISABLE_CPU_FEATURES."""
    from numpy._core._multiarray_umath import __cpu_dispatch__

    return " ".join(f for f in __cpu_dispatch__ if not avx512_only or "AVX512" in f or f == "X86_V4")


#: What another x86-64 CPU would get, switched on this one. OPENBLAS_CORETYPE picks OpenBLAS's kernels (Haswell
#: for AVX2, SkylakeX for AVX-512, Zen for AMD's, Prescott for SSE3 alone); NPY_DISABLE_CPU_FEATURES keeps NumPy to
#: loops without AVX-512, or to its baseline; GLIBC_TUNABLES hides AVX2, FMA and AVX-512 from glibc, whose libm
#: then takes its variants without fused multiply-add; NUMBA_CPU_NAME=generic compiles the rules for any x86-64.
CPU_SETTINGS = {
    "openblas_haswell": {"OPENBLAS_CORETYPE": "Haswell"},
    "openblas_skylakex": {"OPENBLAS_CORETYPE": "SkylakeX"},
    "openblas_zen": {"OPENBLAS_CORETYPE": "Zen"},
    "numpy_without_avx512": {"NPY_DISABLE_CPU_FEATURES": numpy_dispatch(avx512_only=True)},
    "glibc_without_fma": {"GLIBC_TUNABLES": "glibc.cpu.hwcaps=-AVX2,-FMA,-AVX512F"},
    "a_cpu_of_2010": {  # SSE4.2 and nothing newer, for every library at once
        "OPENBLAS_CORETYPE": "Prescott",
        "NPY_DISABLE_CPU_FEATURES": numpy_dispatch(avx512_only=False),
        "GLIBC_TUNABLES": "glibc.cpu.hwcaps=-AVX2,-FMA,-AVX512F",
        "NUMBA_CPU_NAME": "generic",
    },
}


#: The CPU flags each OpenBLAS kernel needs: a kernel this CPU cannot run is not forced on it.
KERNEL_FLAGS = {"Haswell": {"avx2", "fma"}, "Zen": {"avx2", "fma"}, "Prescott": {"pni"},
                "SkylakeX": {"avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"}}  # fmt: skip


def cpu_flags() -> set[str]:
    """This CPU's flags, as Linux lists them (empty elsewhere)."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8")
    except OSError:
        return set()
    return next((set(line.split(":", 1)[1].split()) for line in text.splitlines() if line.startswith("flags")), set())


@pytest.mark.slow
@pytest.mark.parametrize("setting", CPU_SETTINGS)
def test_golden_runs_are_the_same_on_other_cpus(setting):
    kernel = CPU_SETTINGS[setting].get("OPENBLAS_CORETYPE")
    if kernel and os.environ.get("OPENBLAS_CORETYPE"):
        pytest.skip(f"this machine sets OPENBLAS_CORETYPE={os.environ['OPENBLAS_CORETYPE']}, which it needs")
    lacks = sorted(KERNEL_FLAGS[kernel] - cpu_flags()) if kernel else []
    if lacks:
        pytest.skip(f"this CPU cannot run OpenBLAS's {kernel} kernel (it lacks {lacks})")
    env = {k: v for k, v in os.environ.items() if k not in ("KLAD_UPDATE_GOLDEN", "PYTEST_ADDOPTS")}
    env.update(CPU_SETTINGS[setting])
    test = f"{__file__}::test_golden_run_is_unchanged"
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", test],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)  # fmt: skip
    assert out.returncode == 0, f"with {CPU_SETTINGS[setting]}:\n{out.stdout[-3000:]}{out.stderr[-2000:]}"
    assert f"{len(CASES)} passed" in out.stdout, out.stdout[-2000:]
