"""The lock behind reproducible installs: up to date with pyproject.toml, and every manifest says whether it ran."""

import json
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from sim.io.provenance import LIBRARIES, LOCK_FILE, lock_status, locked_versions, provenance

ROOT = Path(__file__).resolve().parent.parent


def test_the_lock_pins_every_dependency_of_pyproject_within_its_range():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    pins = locked_versions(LOCK_FILE.read_text(encoding="utf-8"))
    for spec in project["dependencies"] + project["optional-dependencies"]["dev"]:
        req = Requirement(spec)
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} is in pyproject.toml but not in requirements.lock: run `make lock`"
        assert req.specifier.contains(pins[name]), f"{name} {pins[name]} is outside {req.specifier}: run `make lock`"
    for library in LIBRARIES:
        assert canonicalize_name(library) in pins


def test_pins_for_other_platforms_are_left_out():
    text = (
        "numpy==2.5.5 \\\n    --hash=sha256:00\n"
        "appnope==1.0.0 ; sys_platform == 'nowhere' \\\n    --hash=sha256:11\n"
        "    # via ipykernel\n"
    )
    assert locked_versions(text) == {"numpy": "2.5.5"}


def test_a_library_at_another_version_is_named(tmp_path):
    import numpy

    lock = tmp_path / "requirements.lock"
    lock.write_text(f"numpy=={numpy.__version__} \\\n    --hash=sha256:00\n", encoding="utf-8")
    assert lock_status(lock)["installed_as_locked"] is True
    lock.write_text("numpy==1.0.0 \\\n    --hash=sha256:00\nno-such-library==1.0\n", encoding="utf-8")
    status = lock_status(lock)
    assert status["installed_as_locked"] is False
    assert status["differs"] == {
        "numpy": f"{numpy.__version__} (locked 1.0.0)",
        "no-such-library": "not installed (locked 1.0)",
    }
    assert lock_status(tmp_path / "none")["installed_as_locked"] is None


def test_every_manifest_says_whether_the_lock_was_used():
    manifest = json.loads(json.dumps(provenance("now")))
    assert set(manifest["lock"]) >= {"file", "installed_as_locked", "differs"}
    assert manifest["lock"]["file"] == "requirements.lock"


def test_make_run_ends_by_saying_how_to_call_klad():
    """`klad` lands in the virtual environment, not on PATH: `make run` says how to reach it (a dry run of make)."""
    import shutil
    import subprocess

    if not shutil.which("make"):
        import pytest

        pytest.skip("make is not installed")
    import os

    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}  # under make test
    res = subprocess.run(["make", "--no-print-directory", "-n", "run"], cwd=ROOT, capture_output=True, text=True,
                         env=env)  # fmt: skip
    assert res.returncode == 0, res.stderr
    last = res.stdout.strip().splitlines()[-1]
    assert "source .venv/bin/activate" in last and ".venv/bin/klad" in last, last
