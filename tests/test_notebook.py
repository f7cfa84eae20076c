"""The notebook docs/tutorial.ipynb runs top to bottom without an error, as a researcher runs it (from docs/)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "docs" / "tutorial.ipynb"


def test_notebook_is_kept_without_outputs():
    cells = json.loads(NOTEBOOK.read_text())["cells"]
    code = [cell for cell in cells if cell["cell_type"] == "code"]
    assert len(code) >= 20
    for cell in code:
        assert cell["outputs"] == [] and cell["execution_count"] is None, "clear the outputs before committing it"


@pytest.mark.slow
def test_notebook_runs(tmp_path, monkeypatch):
    try:
        import nbformat
        from nbclient import NotebookClient
    except ImportError:
        pytest.skip("nbclient is not installed (it comes with the dev extra: pip install -e '.[dev]')")
    # The kernel is this interpreter, whatever kernels are installed elsewhere: a kernel spec named python3 in a
    # folder that JUPYTER_PATH puts first. The notebook writes its files to a new temporary folder under TMPDIR.
    spec = tmp_path / "jupyter" / "kernels" / "python3"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "Python 3", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(notebook, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(ROOT / "docs")}})  # fmt: skip
    client.execute()  # raises CellExecutionError, naming the cell, on any error
    outputs = [out for cell in notebook.cells if cell.cell_type == "code" for out in cell.outputs]
    assert not [out for out in outputs if out.output_type == "error"]
    assert sum("image/png" in out.get("data", {}) for out in outputs) >= 6  # every figure drawn, inline
    (folder,) = tmp_path.glob("klad-notebook-*")
    assert (folder / "screening" / "report.md").exists()
