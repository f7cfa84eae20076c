"""The documentation site builds: ``mkdocs build --strict`` with no warning, README.md as its home page.

Strict mode turns every warning into a failure: a link to a missing page or anchor, a page left out of the
reading order (mkdocs.yml's nav), a link that leaves docs/. So a page that moves or a heading that is renamed
without its links fails ``make test``.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("site_hooks", ROOT / "docs" / "hooks.py")
hooks = importlib.util.module_from_spec(_spec)  # docs/hooks.py, the site's hooks
_spec.loader.exec_module(hooks)


def setup_module():
    if importlib.util.find_spec("mkdocs") is None:
        raise AssertionError("mkdocs is not installed in this environment: `make venv` installs requirements.lock")


def build(site: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(ROOT / "mkdocs.yml"),
         "--site-dir", str(site)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_the_site_builds_strictly_with_the_readme_as_home(tmp_path):
    site = tmp_path / "site"
    done = build(site)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "WARNING" not in output and "ERROR" not in output, output
    home = (site / "index.html").read_text(encoding="utf-8")
    assert "An agent-based model of the contactless" in home
    assert 'href="getting-started.html"' in home and 'href="docs/' not in home
    for page in ("getting-started", "scenarios", "tutorial", "teaching", "experiments", "calibration", "hypotheses",
                 "architecture", "speed", "reference", "ODD", "sources"):  # fmt: skip
        assert (site / f"{page}.html").exists(), page
    assert 'href="index.html#where-things-are"' in (site / "architecture.html").read_text(encoding="utf-8")


def test_a_broken_link_or_a_page_out_of_the_nav_fails_the_build(tmp_path):
    for name in ("mkdocs.yml", "README.md"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    speed = tmp_path / "docs" / "speed.md"
    speed.write_text(speed.read_text(encoding="utf-8") + "\n[gone](nowhere.md), [moved](reference.md#no-such-part)\n")
    (tmp_path / "docs" / "stray.md").write_text("# A page nobody reads in order\n")
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "s")],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode != 0
    for named in ("nowhere.md", "no-such-part", "stray.md"):
        assert named in done.stderr, (named, done.stderr)


def test_the_readmes_links_into_docs_become_relative_to_docs():
    readme = "[a](docs/getting-started.md#x), ![b](docs/demo/p.jpg), [c](#where-things-are), `docs/ODD.md`"
    assert hooks.home(readme) == "[a](getting-started.md#x), ![b](demo/p.jpg), [c](#where-things-are), `docs/ODD.md`"
    assert hooks.on_page_markdown("see [the map](../README.md#where-things-are)", None, None, None) == (
        "see [the map](index.md#where-things-are)"
    )
    assert not (ROOT / "docs" / "index.md").exists(), "the home page is README.md: docs/index.md would hide it"
