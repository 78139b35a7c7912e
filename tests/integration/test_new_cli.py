"""``ml-new`` end to end: scaffold into a copy of the checkout, train with it, run its test."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import NO_TRACKING, REPO_ROOT

pytestmark = pytest.mark.integration

_TEST_SUPPORT = (
    "tests/__init__.py",
    "tests/conftest.py",
    "tests/unit/__init__.py",
    "tests/unit/conftest.py",
    "tests/unit/models/__init__.py",
)


def _checkout(root: Path) -> Path:
    """The parts of a checkout the scaffolds touch: package, configs, test settings."""
    # __pycache__ comes along (mtimes are kept, so the bytecode stays valid): faster imports.
    shutil.copytree(REPO_ROOT / "src" / "mlsys", root / "src" / "mlsys")
    shutil.copytree(REPO_ROOT / "conf", root / "conf")
    shutil.copy(REPO_ROOT / "pyproject.toml", root)
    for name in _TEST_SUPPORT:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO_ROOT / name, root / name)
    return root


def _new(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mlsys.new", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_scaffolded_experiment_and_model_train_and_pass_their_test(
    tmp_path: Path, small_leads_csv: Path
) -> None:
    root = _checkout(tmp_path / "checkout")
    for kind, hint in (("experiment", "experiment=forest_lite"), ("model", "model=forest_lite")):
        done = _new(kind, "forest_lite", "--root", str(root))
        assert done.returncode == 0, done.stderr
        assert f"python -m mlsys.train {hint}" in done.stdout
    # `import mlsys` resolves to the copy, whose conf/ is the copy's (config.PROJECT_ROOT).
    env = {**os.environ, "PYTHONPATH": str(root / "src")}
    run_dir = tmp_path / "run"
    train = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlsys.train",
            "experiment=forest_lite",
            "model=forest_lite",
            "model.n_estimators=50",
            "evaluation.report.enabled=false",
            f"data.path={small_leads_csv}",
            *NO_TRACKING,
            f"hydra.run.dir={run_dir}",
        ],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/unit/models"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    out, err = train.communicate(timeout=300)
    assert train.returncode == 0, err[-3000:]
    assert "roc_auc" in out
    assert (run_dir / "model.joblib").is_file()
    target = "mlsys.models.contrib.forest_lite.ForestLiteModel"
    assert target in (run_dir / "config.yaml").read_text()
    assert tests.returncode == 0, tests.stdout[-3000:] + tests.stderr[-2000:]
    assert "5 passed" in tests.stdout
    assert not (REPO_ROOT / "conf" / "model" / "forest_lite.yaml").exists()
