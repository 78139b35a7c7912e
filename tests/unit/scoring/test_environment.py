"""The scoring command lines and the MLflow clients leave the process environment as they found it.

OpenMP's wait policy and MLflow's progress bars are the user's to choose (docs/TROUBLESHOOTING.md);
the variables are removed first, so a value the test harness exports cannot hide a write.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mlsys import evaluate, predict
from mlsys.registry import MlflowRegistry

_CHOSEN_BY_USERS = ("OMP_WAIT_POLICY", "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR")


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for name in _CHOSEN_BY_USERS:
        monkeypatch.delenv(name, raising=False)
    return _current()


def _current() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}


def test_ml_predict_sets_no_environment_variable(
    environment: dict[str, str], bundle_files: dict[str, Path], leads_file: Path, tmp_path: Path
) -> None:
    model = str(bundle_files["tabular"])
    code = predict.main([str(leads_file), "-o", str(tmp_path / "s.csv"), "--model", model])
    assert code == 0
    assert _current() == environment


def test_ml_evaluate_sets_no_environment_variable(
    environment: dict[str, str], bundle_files: dict[str, Path], leads_file: Path, tmp_path: Path
) -> None:
    args = [
        str(leads_file),
        "--out",
        str(tmp_path / "eval"),
        "--model",
        str(bundle_files["tabular"]),
    ]
    assert evaluate.main([*args, "--no-plots", "--bootstrap", "0", "--no-importance"]) == 0
    assert _current() == environment


def test_mlflow_clients_set_no_environment_variable(
    environment: dict[str, str], tmp_path: Path
) -> None:
    from mlsys.scoring._resolve import _client

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    MlflowRegistry(uri=uri)._client()
    _client(uri)
    assert _current() == environment
