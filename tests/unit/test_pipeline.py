"""The pipeline end to end in process: leakage guards, artifacts.

Determinism (every option, default threads) is tested in tests/integration/test_determinism.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest

from mlsys import TrainingResult, build_pipeline, compose_config, train_model
from mlsys.calibration import SigmoidCalibrator
from mlsys.data import FrameSource
from mlsys.models import ModelBundle
from mlsys.monitoring import DataProfile
from mlsys.split import SplitIndices
from tests.conftest import FAST_MODEL_OVERRIDES

pytestmark = pytest.mark.unit

ARTIFACTS = (
    "model.joblib",
    "model.joblib.sha256",
    "metrics.json",
    "validation_metrics.json",
    "classification_report.txt",
    "config.yaml",
    "overrides.yaml",
    "splits.npz",
    "schema.json",
    "profile.json",
    "metadata.json",
    "test_predictions.csv",
)


def _train(overrides: list[str], out: Path) -> TrainingResult:
    return train_model(compose_config(overrides), output_dir=out)


def test_a_run_writes_every_artifact(leads_overrides: list[str], tmp_path: Path) -> None:
    result = _train(leads_overrides + FAST_MODEL_OVERRIDES["logreg"], tmp_path)
    for name in ARTIFACTS:
        assert (tmp_path / name).is_file(), name
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    for key in (
        "roc_auc",
        "pr_auc",
        "log_loss",
        "brier",
        "ece",
        "precision_at_5pct",
        "precision_at_10pct",
        "precision_at_20pct",
        "recall_at_5pct",
        "recall_at_10pct",
        "recall_at_20pct",
        "lift_at_10pct",
        "confusion_matrix",
        "threshold",
    ):
        assert key in metrics, key
    metadata = json.loads((tmp_path / "metadata.json").read_text())
    assert metadata["data"]["sha256"] == result.metadata["data"]["sha256"]
    assert set(metadata["stage_seconds"]) >= {"load", "split", "features", "fit", "calibrate"}
    assert metadata["packages"]["scikit-learn"]
    assert "${" not in (tmp_path / "config.yaml").read_text(), "config must be resolved"
    bundle = ModelBundle.load(tmp_path / "model.joblib")
    assert bundle.threshold == result.threshold
    assert bundle.schema.columns == result.bundle.schema.columns
    assert bundle.metadata["data"]["id_column"] == "lead_id"  # scoring a copied bundle needs it


def test_a_run_learns_its_training_profile(leads_overrides: list[str], tmp_path: Path) -> None:
    result = _train(leads_overrides + FAST_MODEL_OVERRIDES["logreg"], tmp_path)

    profile = DataProfile.from_dict(json.loads((tmp_path / "profile.json").read_text()))
    assert ModelBundle.load(tmp_path / "model.joblib").profile == profile == result.bundle.profile
    splits = SplitIndices.load(tmp_path / "splits.npz")
    assert profile.rows == len(splits.train)  # the training split, not all rows
    assert profile.score_rows == len(splits.validation)  # scores of the validation split
    assert sorted(profile.columns) == sorted(result.bundle.schema.columns)  # raw, not encoded
    assert "profile" in result.metadata["stage_seconds"]


def test_bundle_reproduces_the_test_predictions(leads_overrides: list[str], tmp_path: Path) -> None:
    overrides = leads_overrides + FAST_MODEL_OVERRIDES["xgboost"]
    cfg = compose_config(overrides)
    _train(overrides, tmp_path)
    bundle = ModelBundle.load(tmp_path / "model.joblib")
    splits = SplitIndices.load(tmp_path / "splits.npz")
    frame = pd.read_csv(cfg.data.path)
    predictions = pd.read_csv(tmp_path / "test_predictions.csv")
    rows = frame.iloc[splits.test]
    # Every digit: the file is what a scientist reads back, not a rounded copy.
    np.testing.assert_array_equal(bundle.predict_proba(rows), predictions["probability"])
    assert list(predictions["lead_id"]) == list(rows["lead_id"])


def test_threshold_is_chosen_on_validation_not_test(
    leads_overrides: list[str], small_leads_csv: Path, tmp_path: Path
) -> None:
    from mlsys.evaluation import ThresholdPolicy

    result = _train(leads_overrides + FAST_MODEL_OVERRIDES["logreg"], tmp_path)
    splits = SplitIndices.load(tmp_path / "splits.npz")
    frame = pd.read_csv(small_leads_csv)
    validation = frame.iloc[splits.validation]
    expected = ThresholdPolicy().choose(
        validation["converted"].to_numpy(), result.bundle.predict_proba(validation)
    )
    assert result.threshold == pytest.approx(expected)
    assert result.metrics["threshold"] == result.threshold


def _frame_with_test_rows_changed(source: Path, splits: SplitIndices) -> pd.DataFrame:
    frame = pd.read_csv(source)
    test = splits.test
    frame.loc[test, "web_visits_30d"] = 10_000  # absurd values
    frame.loc[test, "industry"] = "never-seen-industry"
    frame.loc[test, "converted"] = 1 - frame.loc[test, "converted"]  # flipped labels
    return frame


@pytest.mark.parametrize("features", ["tabular", "native"])
def test_test_rows_never_influence_fitting(
    features: str, small_leads_csv: Path, tmp_path: Path
) -> None:
    overrides = [
        f"data.path={small_leads_csv}",
        f"features={features}",
        "model=hist_gb",
        "model.max_iter=100",
        "calibration=isotonic",
    ]
    baseline = _train(overrides, tmp_path / "base")
    splits = SplitIndices.load(tmp_path / "base" / "splits.npz")
    changed = _frame_with_test_rows_changed(small_leads_csv, splits)
    changed_csv = tmp_path / "changed.csv"
    changed.to_csv(changed_csv, index=False)
    # Same split (stratified on labels): the flipped test labels would change a random split,
    # so reuse the baseline's test rows by splitting on time-independent indices.
    pipeline = build_pipeline(
        compose_config([*overrides, f"data.path={changed_csv}"]), output_dir=tmp_path / "changed"
    )
    pipeline.splitter = _FixedSplit(splits)
    other = pipeline.run()
    probe = pd.read_csv(small_leads_csv).iloc[splits.validation]
    np.testing.assert_array_equal(
        baseline.bundle.predict_proba(probe), other.bundle.predict_proba(probe)
    )
    assert baseline.threshold == other.threshold


class _FixedSplit:
    def __init__(self, splits: SplitIndices) -> None:
        self.splits = splits

    def split(self, dataset: object) -> SplitIndices:
        return self.splits


def test_resampling_touches_training_rows_only(leads_overrides: list[str], tmp_path: Path) -> None:
    result = _train([*leads_overrides, "imbalance=smote", "model=logreg"], tmp_path)
    sizes = result.metadata["splits"]["sizes"]
    assert result.metrics["n_rows"] == sizes["test"]
    assert result.validation_metrics["n_rows"] == sizes["validation"]
    # metrics are measured at the data's real positive rate, not the resampled one
    assert result.metrics["positive_rate"] < 0.2


def test_smotenc_with_native_features_trains(leads_overrides: list[str], tmp_path: Path) -> None:
    result = _train(
        [
            *leads_overrides,
            "imbalance=smotenc",
            "features=native",
            *FAST_MODEL_OVERRIDES["xgboost"],
        ],
        tmp_path,
    )
    assert result.metrics["roc_auc"] > 0.6


def test_leaky_column_warning_fires(
    leads_overrides: list[str], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("WARNING")
    result = _train([*leads_overrides, "data.drop_columns=[]", "model=logreg"], tmp_path)
    messages = [r.getMessage() for r in caplog.records]
    assert any("LEAKAGE: column 'opportunity_amount'" in m for m in messages)
    assert any("LEAKAGE? Feature 'opportunity_amount'" in m for m in messages)
    # Kept for the end of the run (the CLI repeats them under the summary) and in metadata:
    # the data set's warning first, then the pipeline's.
    assert [w.split(" ")[0] for w in result.warnings] == ["LEAKAGE:", "LEAKAGE?"]
    assert result.warnings == json.loads((tmp_path / "metadata.json").read_text())["warnings"]


def test_no_leakage_warning_on_clean_data(
    leads_overrides: list[str], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("WARNING")
    _train([*leads_overrides, "model=logreg"], tmp_path)
    assert not [r for r in caplog.records if "LEAKAGE" in r.getMessage()]


def test_frame_source_pipeline_by_hand(tmp_path: Path) -> None:
    """A notebook can assemble the pipeline without Hydra at all."""
    from mlsys.calibration import SigmoidCalibrator
    from mlsys.data import generate_leads
    from mlsys.evaluation import Evaluator
    from mlsys.features import NoRebalance, TabularFeatures
    from mlsys.models import LogisticRegressionModel
    from mlsys.split import RandomSplitter
    from mlsys.training import TrainingPipeline

    frame, _ = generate_leads(n_rows=2000)
    pipeline = TrainingPipeline(
        data=FrameSource(
            frame,
            target="converted",
            id_column="lead_id",
            date_columns=["created_at"],
            drop_columns=["account_id", "opportunity_amount"],
        ),
        splitter=RandomSplitter(seed=1),
        features=TabularFeatures(),
        imbalance=NoRebalance(),
        model=LogisticRegressionModel(),
        calibrator=SigmoidCalibrator(),
        evaluator=Evaluator(),
        output_dir=tmp_path,
    )
    result = pipeline.run()
    assert result.metrics["roc_auc"] > 0.7
    assert (tmp_path / "model.joblib").is_file()


class _SpyCalibrator(SigmoidCalibrator):
    seen: ClassVar[list[np.ndarray]] = []

    def fit(self, scores, y):  # type: ignore[no-untyped-def]
        self.seen.append(np.asarray(scores).copy())
        return super().fit(scores, y)


def test_calibrator_is_fitted_on_the_calibration_split_only(
    leads_overrides: list[str], tmp_path: Path
) -> None:
    seen = _SpyCalibrator.seen
    seen.clear()
    pipeline = build_pipeline(
        compose_config([*leads_overrides, "model=logreg"]), output_dir=tmp_path
    )
    pipeline.calibrator = _SpyCalibrator()
    result = pipeline.run()
    splits = SplitIndices.load(tmp_path / "splits.npz")
    assert len(seen) == 1
    assert len(seen[0]) == len(splits.calibration)
    frame = pd.read_csv(pipeline.data.path)  # type: ignore[attr-defined]
    expected = result.bundle.score(frame.iloc[splits.calibration], calibrated=False)
    np.testing.assert_allclose(seen[0], expected, rtol=1e-10)


def test_multi_objective_preset_composes() -> None:
    cfg = compose_config(["hparams_search=xgboost_multiobjective"])
    assert list(cfg.objectives) == ["pr_auc", "latency_ms_per_1k"]


def test_objectives_read_validation_metrics_and_measure_latency_from_the_run_dir(
    leads_overrides: list[str], tmp_path: Path
) -> None:
    from mlsys.errors import MlsysError
    from mlsys.train import _objectives

    result = build_pipeline(
        compose_config([*leads_overrides, "model=logreg"]), output_dir=tmp_path
    ).run()
    pr_auc, latency = _objectives(["pr_auc", "latency_ms_per_1k"], result)
    assert pr_auc == result.validation_metrics["pr_auc"]
    assert 0 < latency < 10_000
    with pytest.raises(MlsysError, match="'auc_roc' is not a validation metric"):
        _objectives(["auc_roc"], result)


def test_no_calibration_split_with_calibration_none(
    leads_overrides: list[str], tmp_path: Path
) -> None:
    result = _train(
        [*leads_overrides, "model=logreg", "split.calibration=0", "calibration=none"], tmp_path
    )
    assert result.metadata["splits"]["sizes"]["calibration"] == 0
    assert result.metrics["roc_auc"] > 0.6


def test_no_calibration_split_with_a_calibrator_is_a_clear_error(
    leads_overrides: list[str], tmp_path: Path
) -> None:
    from mlsys.errors import DataError

    with pytest.raises(DataError, match=r"split\.calibration>0 or calibration=none"):
        _train([*leads_overrides, "model=logreg", "split.calibration=0"], tmp_path)


def test_a_failed_offer_leaves_the_run_id_on_disk_to_offer_again(
    leads_overrides: list[str], tmp_path: Path
) -> None:
    """A lock timeout in the gate must not cost `ml-register offer <run dir>` the run id."""
    from mlsys.errors import TrackingError
    from mlsys.registry import Candidate, GateDecision
    from mlsys.tracking import RunRecord

    class Tracked:
        required = False

        def prepare(self) -> None:
            pass

        def log_run(self, record: RunRecord) -> str:
            return "run-42"

    class StuckGate:
        def offer(self, candidate: Candidate) -> GateDecision | None:
            raise TrackingError("registry lock: waited 600 s for the lock on model 'x'")

    pipeline = build_pipeline(
        compose_config([*leads_overrides, "model=logreg"]), output_dir=tmp_path
    )
    pipeline.tracker = Tracked()
    pipeline.registry = StuckGate()
    with pytest.raises(TrackingError, match="waited 600 s"):
        pipeline.run()
    assert json.loads((tmp_path / "metadata.json").read_text())["tracking_run_id"] == "run-42"


class _LostStore:
    """A store that takes the up-front check, then fails to record the run."""

    tracking_uri = "postgresql://mlflow@db.internal:5432/mlflow"

    def __init__(self, required: bool) -> None:
        self.required = required

    def prepare(self) -> None:
        pass

    def log_run(self, record: object) -> str:
        raise RuntimeError("server closed the connection unexpectedly")


def test_a_run_that_cannot_be_recorded_fails_when_tracking_is_required(
    leads_overrides: list[str], tmp_path: Path
) -> None:
    from mlsys.errors import TrackingError

    pipeline = build_pipeline(compose_config([*leads_overrides, "model=logreg"]), tmp_path)
    pipeline.tracker = _LostStore(required=True)

    with pytest.raises(TrackingError) as raised:
        pipeline.run()

    assert str(raised.value).startswith(
        "tracker: recording the run in the tracking store "
        "postgresql://mlflow@db.internal:5432/mlflow failed (RuntimeError: server closed"
    )
    assert "tracker.required=false" in str(raised.value)
    for name in ARTIFACTS:  # written before tracking: the run directory is complete
        assert (tmp_path / name).is_file(), name


def test_optional_tracking_keeps_an_unrecorded_run_and_says_so(
    leads_overrides: list[str], tmp_path: Path
) -> None:
    pipeline = build_pipeline(compose_config([*leads_overrides, "model=logreg"]), tmp_path)
    pipeline.tracker = _LostStore(required=False)

    result = pipeline.run()

    assert result.run_id is None
    assert result.untracked is not None
    assert result.untracked.startswith("this run is NOT tracked: recording the run in the ")
    assert "tracker.required=false made tracking optional" in result.untracked
    metadata = json.loads((tmp_path / "metadata.json").read_text())
    assert metadata["untracked"] == result.untracked
