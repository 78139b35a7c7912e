"""benchmarks/drift_calibration.py keeps running: its smoke mode writes both of its outputs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SCRIPT = REPO_ROOT / "benchmarks" / "drift_calibration.py"
START, END = "<!-- drift-calibration:start -->", "<!-- drift-calibration:end -->"


def _run(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *map(str, args)],
        cwd=cwd,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_smoke_run_writes_the_page_and_the_docs_block(tmp_path: Path) -> None:
    doc = tmp_path / "MONITORING.md"
    before, after = "# Monitoring\n\nProse before.\n\n", "\n\nProse after.\n"
    doc.write_text(f"{before}{START}\nstale table\n{END}{after}")
    page = tmp_path / "drift_calibration.md"

    done = _run("--smoke", "--page", page, "--doc", doc, cwd=tmp_path)

    assert done.returncode == 0, done.stderr[-3000:]
    text = doc.read_text()
    assert text.startswith(before)
    assert text.endswith(after)
    assert "stale table" not in text
    block = text[text.index(START) : text.index(END)]
    assert "| column | shift | alert fires at |" in block
    for column in ("employees", "requested_demo", "industry"):
        assert f"\n| {column} | " in block, column
    assert "Unshifted samples (noise)" in block
    assert "## Every shift" in page.read_text()
    assert "| requested_demo | boolean | flip |" in page.read_text()
    assert set(tmp_path.iterdir()) == {doc, page}  # its training run went to a temporary dir


def test_a_doc_without_the_markers_is_refused_before_any_work(tmp_path: Path) -> None:
    doc = tmp_path / "MONITORING.md"
    doc.write_text("# Monitoring\n")
    done = _run("--smoke", "--doc", doc, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith(f"error: {doc} has no '{START}'")
    assert doc.read_text() == "# Monitoring\n"
