"""The Python blocks of docs/MONITORING.md run, in order, as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.unit


def test_monitoring_doc_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (REPO_ROOT / "docs" / "MONITORING.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) >= 2
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "monitoring_doc"}
    for block in blocks:
        exec(compile(block, "docs/MONITORING.md", "exec"), namespace)
    printed = capsys.readouterr().out
    assert "industry categorical" in printed
    assert "at levels never seen in training, e.g. 'quantum computing' (100)" in printed
    assert list(tmp_path.iterdir()) == []
