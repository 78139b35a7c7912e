"""Every script in benchmarks/ keeps running: `make bench-smoke`'s runs, one per script."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SCRIPTS = sorted(
    path for path in (REPO_ROOT / "benchmarks").glob("*.py") if path.name != "_paired.py"
)


def test_every_script_is_listed() -> None:
    names = {path.name for path in SCRIPTS}
    assert {"train_scaling.py", "serving.py", "predict.py", "sweep_parallel.py"} <= names


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.stem)
def test_smoke_run(script: Path, tmp_path: Path) -> None:
    before = set(REPO_ROOT.joinpath("docs", "benchmarks").iterdir())
    done = subprocess.run(
        [sys.executable, str(script), "--smoke"],
        cwd=REPO_ROOT,
        env={**os.environ, "TMPDIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    # Nothing lands in the working tree (MLflow's default ./mlruns, a stray mlflow.db, ...).
    assert not (REPO_ROOT / "mlruns").exists()
    # A smoke run never writes docs/: its page, when it has one, lands in the temporary dir.
    assert set(REPO_ROOT.joinpath("docs", "benchmarks").iterdir()) == before
    if "wrote " in done.stdout:
        written = Path(done.stdout.rsplit("wrote ", 1)[1].split()[0])
        assert written.is_relative_to(tmp_path)
        text = written.read_text()
        assert "- Commit: `" in text
        assert "- Re-run: `uv run python benchmarks/" in text


def test_smoke_refuses_write() -> None:
    done = subprocess.run(
        [sys.executable, str(REPO_ROOT / "benchmarks" / "train_scaling.py"), "--smoke", "--write"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert "--smoke never writes docs/benchmarks" in done.stderr
