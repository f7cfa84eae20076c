"""The model's elementary functions: accurate, right at the special values, and the only ones on the model's path."""

import ast
import math
from pathlib import Path

import numpy as np
import pytest

from sim.model.engine import elementary as el

MODEL = Path(__file__).resolve().parent.parent / "sim" / "model"


def ulps(got: np.ndarray, want: np.ndarray) -> np.ndarray:
    """How many units in the last place ``got`` is from ``want``."""
    return np.abs(got - want) / np.spacing(np.abs(want)).clip(min=np.finfo(float).smallest_subnormal)


def test_exp_and_log_are_within_one_unit_in_the_last_place():
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.uniform(-30, 30, 50_000), rng.uniform(-745, 709.7, 20_000), [-1e-9, 1e-9, 1e-300]])
    # NumPy's exp and log are themselves within a unit of the exact value, so two units bound the difference;
    # against the exact value (mpmath, 200 bits) both were measured within 0.77 and 0.51 units.
    assert ulps(el.exp(x), np.exp(x)).max() <= 2
    y = np.concatenate([rng.uniform(1e-6, 1e6, 50_000), np.exp(rng.uniform(-700, 700, 20_000)), [5e-324, 1.7e308]])
    assert ulps(el.log(y), np.log(y)).max() <= 2
    a, b = rng.uniform(1e-3, 1e3, 50_000), rng.uniform(-3, 3, 50_000)
    assert np.abs(el.power(a, b) / a**b - 1).max() < 1e-13


def test_exact_values_and_identities():
    assert el.exp(0.0) == 1.0 and el.log(1.0) == 0.0
    assert el.power(2.0, 10.0) == 1024.0 and el.power(4.0, 0.5) == 2.0
    assert el.log(2.0) == math.log(2.0)
    x = np.linspace(-5, 5, 1001)
    assert np.abs(el.log(el.exp(x)) - x).max() < 1e-14


@pytest.mark.parametrize(
    ("function", "args", "want"),
    [
        (el.exp, (math.nan,), math.nan), (el.exp, (math.inf,), math.inf), (el.exp, (-math.inf,), 0.0),
        (el.exp, (710.0,), math.inf), (el.exp, (-746.0,), 0.0), (el.exp, (-740.0,), 4.1995579896506e-322),
        (el.log, (0.0,), -math.inf), (el.log, (-1.0,), math.nan), (el.log, (math.inf,), math.inf),
        (el.power, (0.0, 2.0), 0.0), (el.power, (0.0, -1.0), math.inf), (el.power, (0.0, 0.0), 1.0),
        (el.power, (-2.0, 0.5), math.nan), (el.power, (3.0, 0.0), 1.0), (el.power, (1.0, math.nan), 1.0),
    ],
)  # fmt: skip
def test_special_values(function, args, want):
    got = float(function(*args))
    assert (math.isnan(got) and math.isnan(want)) or got == pytest.approx(want, rel=1e-12, abs=0.0)


def test_subnormal_results_are_rounded_once():
    x = np.linspace(-745.0, -708.5, 2001)
    assert ulps(el.exp(x), np.exp(x)).max() <= 1


def test_weighted_mean_sums_in_index_order():
    rng = np.random.default_rng(2)
    w, v = rng.uniform(0, 10, 97), rng.uniform(1e4, 1e5, 97)
    total = weight = 0.0
    for a, b in zip(w, v, strict=True):
        total += a * b
        weight += a
    assert el.weighted_mean(w, v) == total / weight


def test_lognormal_draws_the_same_normals_as_numpy():
    a = el.lognormal(np.random.default_rng(3), -0.125, 0.5, 10_000)
    b = np.random.default_rng(3).lognormal(-0.125, 0.5, 10_000)
    assert ulps(a, b).max() <= 2


#: NumPy and ``math`` functions whose results depend on the CPU (SIMD code or the C library's variants).
CPU_DEPENDENT = {"exp", "log", "log2", "log10", "expm1", "log1p", "power", "pow", "dot", "matmul", "vdot", "inner",
                 "einsum", "average", "tensordot", "lognormal", "sin", "cos", "tan", "tanh", "arctan2"}  # fmt: skip


def test_the_model_computes_no_cpu_dependent_arithmetic():
    """No ``**``, ``@``, BLAS call or transcendental function of NumPy or ``math`` outside ``elementary``."""
    found = []
    for path in sorted(MODEL.rglob("*.py")):
        if path.name == "elementary.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.BinOp | ast.AugAssign) and isinstance(node.op, ast.Pow | ast.MatMult):
                found.append(f"{path.relative_to(MODEL)}:{node.lineno}: {ast.unparse(node)}")
            if isinstance(node, ast.Attribute) and node.attr in CPU_DEPENDENT:
                if isinstance(node.value, ast.Name) and node.value.id in ("np", "math", "numpy", "rng"):
                    found.append(f"{path.relative_to(MODEL)}:{node.lineno}: {ast.unparse(node)}")
                elif node.attr == "lognormal":
                    found.append(f"{path.relative_to(MODEL)}:{node.lineno}: {ast.unparse(node)}")
    assert not found, "CPU-dependent arithmetic on the model's path (use sim.model.engine.elementary):\n" + "\n".join(
        found
    )
