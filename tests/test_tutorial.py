"""The tutorial's code runs as written: every ```python block of docs/tutorial.md, in order, in an empty folder."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TUTORIAL = ROOT / "docs" / "tutorial.md"


def blocks(text: str) -> list[str]:
    """The Python code blocks of a Markdown text."""
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def run_blocks(page: Path, code: list[str]) -> dict:
    """Run a page's Python blocks in order in one namespace; a failure names the page and the block."""
    namespace: dict = {}
    for i, block in enumerate(code):
        try:
            exec(compile(block, f"{page.name} block {i + 1}", "exec"), namespace)  # noqa: S102
        except Exception as exc:  # pragma: no cover - the message says which block
            raise AssertionError(f"{page.relative_to(ROOT)}, code block {i + 1} fails: {exc!r}\n{block}") from exc
    return namespace


@pytest.mark.slow
def test_tutorial_runs(tmp_path, monkeypatch):
    code = blocks(TUTORIAL.read_text())
    assert len(code) >= 6
    (tmp_path / "scenarios").symlink_to(ROOT / "scenarios")
    monkeypatch.chdir(tmp_path)
    namespace = run_blocks(TUTORIAL, code)
    assert (tmp_path / "migration.png").stat().st_size > 5_000
    assert len(namespace["runs"]) == 4 and os.path.isdir(tmp_path / "sweep_out")
    assert namespace["moved"]["share"].sum() > 0


@pytest.mark.slow
def test_the_other_pages_python_blocks_run(tmp_path, monkeypatch):
    """Every ```python block of README.md and the other pages under docs/ runs as written, each page's blocks in
    order in one namespace, in an empty folder that sees the scenarios (the tutorial has its own test above)."""
    import matplotlib

    matplotlib.use("Agg")
    pages = [ROOT / "README.md", *sorted(p for p in (ROOT / "docs").glob("*.md") if p != TUTORIAL)]
    found = {page: blocks(page.read_text()) for page in pages}
    assert any(found.values())  # docs/architecture.md shows the Python API
    (tmp_path / "scenarios").symlink_to(ROOT / "scenarios")
    monkeypatch.chdir(tmp_path)
    for page, code in found.items():
        run_blocks(page, code)
