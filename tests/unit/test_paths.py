"""Project root and commit: environment overrides for installed packages and images."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlsys._paths import git_sha, project_root
from mlsys.tracking import default_tracking_uri

pytestmark = pytest.mark.unit


def test_project_root_follows_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLSYS_PROJECT_ROOT", str(tmp_path))

    assert project_root() == tmp_path.resolve()
    # The embedded MLflow store follows it (an installed package has no checkout).
    assert default_tracking_uri() == f"sqlite:///{tmp_path.resolve() / 'outputs' / 'mlflow.db'}"


def test_checkout_root_holds_the_project(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLSYS_PROJECT_ROOT", raising=False)

    assert (project_root() / "pyproject.toml").is_file()


def test_git_sha_prefers_the_pinned_commit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLSYS_GIT_SHA", "0123abc")

    assert git_sha() == "0123abc"


def test_git_sha_reads_the_checkout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLSYS_GIT_SHA", raising=False)

    sha = git_sha()

    assert sha is None or len(sha) == 40
