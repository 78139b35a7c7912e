"""docs/notebooks/quickstart.ipynb runs top to bottom in a fresh kernel and draws its plots."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.integration

NOTEBOOK = REPO_ROOT / "docs" / "notebooks" / "quickstart.ipynb"


def test_notebook_is_committed_without_outputs() -> None:
    notebook = json.loads(NOTEBOOK.read_text())
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [], "clear the outputs before committing"
            assert cell["execution_count"] is None
    assert NOTEBOOK.stat().st_size < 20_000


def test_notebook_runs_and_draws_plots(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import nbformat
    from nbclient import NotebookClient

    # The kernel spec launches `python`: make it this environment's interpreter.
    bin_dir = str(Path(sys.executable).parent)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    # On a busy 2-core machine XGBoost's OpenMP threads spin against other processes.
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=300,
        resources={"metadata": {"path": str(tmp_path)}},
    )

    started = time.monotonic()
    client.execute()  # raises CellExecutionError, with the cell and traceback, if a cell fails
    print(f"notebook ran in {time.monotonic() - started:.1f} s")

    outputs = [out for cell in notebook.cells for out in cell.get("outputs", [])]
    assert not [out for out in outputs if out["output_type"] == "error"]
    images = [out for out in outputs if "image/png" in out.get("data", {})]
    assert len(images) >= 5, "four report plots and one matplotlib figure"
    assert (tmp_path / "outputs" / "notebook" / "xgboost" / "model.joblib").is_file()
    assert (tmp_path / "outputs" / "notebook" / "xgboost-report" / "report.html").is_file()
