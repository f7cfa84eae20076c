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


@pytest.mark.slow
def test_tutorial_runs(tmp_path, monkeypatch):
    code = blocks(TUTORIAL.read_text())
    assert len(code) >= 6
    (tmp_path / "scenarios").symlink_to(ROOT / "scenarios")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for i, block in enumerate(code):
        try:
            exec(compile(block, f"{TUTORIAL.name} block {i + 1}", "exec"), namespace)  # noqa: S102
        except Exception as exc:  # pragma: no cover - the message says which block
            raise AssertionError(f"docs/tutorial.md, code block {i + 1} fails: {exc!r}\n{block}") from exc
    assert (tmp_path / "migration.png").stat().st_size > 5_000
    assert len(namespace["runs"]) == 4 and os.path.isdir(tmp_path / "sweep_out")
    assert namespace["moved"]["share"].sum() > 0
