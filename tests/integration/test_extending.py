"""docs/ARCHITECTURE.md's "Add a model" example, run as written."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.integration

DOC = (REPO_ROOT / "docs" / "ARCHITECTURE.md").read_text()


def _block(language: str, marker: str) -> str:
    for block in re.findall(rf"```{language}\n(.*?)```", DOC, flags=re.S):
        if marker in block:
            return str(block)
    raise AssertionError(f"no {language} block with {marker!r} in docs/ARCHITECTURE.md")


def _train(
    tmp_path: Path, small_leads_csv: Path, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "mlsys.train",
            f"hydra.searchpath=[file://{tmp_path / 'conf'}]",
            "model=extra_trees",
            "model.n_estimators=40",
            f"data.path={small_leads_csv}",
            f"hydra.run.dir={tmp_path / 'run'}",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "PYTHONPATH": str(tmp_path), **env},
    )


def test_add_a_model_example_trains(tmp_path: Path, small_leads_csv: Path) -> None:
    (tmp_path / "acme_models.py").write_text(_block("python", "class ExtraTreesModel"))
    (tmp_path / "conf" / "model").mkdir(parents=True)
    (tmp_path / "conf" / "model" / "extra_trees.yaml").write_text(
        _block("yaml", "acme_models.ExtraTreesModel")
    )
    refused = _train(tmp_path, small_leads_csv, {})
    assert refused.returncode == 2
    assert "MLSYS_EXTRA_TARGETS" in refused.stderr
    done = _train(tmp_path, small_leads_csv, {"MLSYS_EXTRA_TARGETS": "acme_models.*"})
    assert done.returncode == 0, done.stderr
    assert "roc_auc" in done.stdout
    assert (tmp_path / "run" / "model.joblib").is_file()
