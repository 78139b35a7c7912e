"""The tracker protocol and its null implementation."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from mlsys.tracking import NullTracker, RunRecord, Tracker

pytestmark = pytest.mark.unit


def _record(tmp_path: Path) -> RunRecord:
    return RunRecord(
        run_name="unit-NullTracker",
        params={"model._target_": "mlsys.models.XGBoostModel"},
        metrics={"roc_auc": 0.8},
        tags={"git_sha": "abc"},
        output_dir=tmp_path,
        bundle_path=tmp_path / "model.joblib",
    )


def test_null_tracker_satisfies_the_protocol() -> None:
    assert isinstance(NullTracker(), Tracker)
    assert NullTracker().required is False
    assert NullTracker(required=True).required is True


def test_an_object_without_log_run_is_not_a_tracker() -> None:
    class Silent:
        required = False

    assert not isinstance(Silent(), Tracker)


def test_null_tracker_records_nothing_and_says_where_artifacts_are(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()

    with caplog.at_level(logging.INFO, logger="mlsys.tracking"):
        run_id = NullTracker().log_run(_record(run_dir))

    assert run_id is None
    assert str(run_dir) in caplog.text
    assert list(run_dir.iterdir()) == []  # writes no file


def test_run_record_defaults_are_independent(tmp_path: Path) -> None:
    first, second = _record(tmp_path), _record(tmp_path)

    first.timings["fit"] = 1.0

    assert second.timings == {}
    assert first.dataset == {}


def test_model_logging_drops_only_mlflows_noise(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    import logging
    import os

    from mlsys.tracking._mlflow import _quiet_model_logging

    pyfunc = logging.getLogger("mlflow.pyfunc")
    monkeypatch.delenv("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", raising=False)
    before = dict(os.environ)
    with caplog.at_level(logging.WARNING), _quiet_model_logging():
        assert dict(os.environ) == before  # progress bars are the user's to switch off
        pyfunc.warning("Passing a Python object ... serialized using CloudPickle, ...")
        logging.getLogger("mlflow.utils.environment").warning(
            "Failed to resolve installed pip version."
        )
        pyfunc.warning("a warning that matters")
    pyfunc.warning("... serialized using CloudPickle, outside the block")
    messages = [r.getMessage() for r in caplog.records]
    assert messages == [
        "a warning that matters",
        "... serialized using CloudPickle, outside the block",
    ]
    assert dict(os.environ) == before
