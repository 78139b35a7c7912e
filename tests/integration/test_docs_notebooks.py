"""Every Python block of docs/NOTEBOOKS.md runs, in order, in a scratch directory."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.integration


def test_notebook_doc_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = (REPO_ROOT / "docs" / "NOTEBOOKS.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) >= 4
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "notebook"}
    for block in blocks:
        exec(compile(block, "docs/NOTEBOOKS.md", "exec"), namespace)
    assert (tmp_path / "outputs" / "notebook" / "logreg" / "model.joblib").is_file()
    assert (tmp_path / "outputs" / "notebook" / "by-hand" / "metrics.json").is_file()
    result = namespace["result"]
    assert result.metrics["roc_auc"] > 0.75  # type: ignore[attr-defined]
