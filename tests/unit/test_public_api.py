"""Pin every package's public names, and the error tree that callers catch."""

from __future__ import annotations

import importlib

import pytest

from mlsys import errors
from mlsys.errors import (
    BundleError,
    ConfigError,
    DataError,
    MlsysError,
    ModelError,
    SchemaError,
    TrackingError,
)

pytestmark = pytest.mark.unit

PUBLIC_API: dict[str, list[str]] = {
    "mlsys.data": [
        "FALSE_SPELLINGS",
        "LEADS_COLUMNS",
        "LEADS_SEED",
        "MISSING_MARKERS",
        "NOT_A_BOOLEAN",
        "NOT_A_NUMBER",
        "NOT_FINITE",
        "TRUE_SPELLINGS",
        "ColumnKind",
        "CsvSource",
        "DataSource",
        "Dataset",
        "FeatureSchema",
        "FileFormat",
        "FrameSource",
        "LabelMatcher",
        "check_file_format",
        "coerce_features",
        "csv_field",
        "file_sha256",
        "generate_leads",
        "json_column",
        "json_problem",
        "json_type",
        "parse_booleans",
        "parse_categories",
        "parse_numbers",
        "sniff_format",
        "write_leads",
    ],
    "mlsys.split": [
        "SPLIT_NAMES",
        "GroupSplitter",
        "RandomSplitter",
        "SplitIndices",
        "Splitter",
        "TimeSplitter",
    ],
    "mlsys.features": [
        "MISSING",
        "OTHER",
        "ClassWeight",
        "CodedColumn",
        "ColumnData",
        "FeatureTransformer",
        "NativeFeatures",
        "NoRebalance",
        "Rebalanced",
        "Rebalancer",
        "Smote",
        "SmoteNC",
        "TabularFeatures",
        "Undersample",
        "categorical_columns",
        "leakage_warnings",
        "leaky_features",
    ],
    "mlsys.models": [
        "BUNDLE_FORMAT",
        "CatBoostModel",
        "ConversionModel",
        "HistGradientBoostingModel",
        "LogisticRegressionModel",
        "ModelBundle",
        "RandomForestModel",
        "XGBoostModel",
        "checksum_path",
        "read_checksum",
    ],
    "mlsys.calibration": [
        "Calibrator",
        "IsotonicCalibrator",
        "NoCalibration",
        "SigmoidCalibrator",
    ],
    "mlsys.evaluation": [
        "HEADLINE_METRICS",
        "PLOT_NAMES",
        "ConfidenceInterval",
        "EvaluationReport",
        "Evaluator",
        "FeatureImportance",
        "ReportArtifacts",
        "ReportOptions",
        "SegmentMetrics",
        "SegmentReport",
        "ShapSummary",
        "ThresholdPolicy",
        "binary_metrics",
        "bootstrap_intervals",
        "calibration_table",
        "expected_calibration_error",
        "feature_importance",
        "gains_table",
        "lift_at_k",
        "plot_calibration",
        "plot_confusion_matrix",
        "plot_feature_importance",
        "plot_gains_lift",
        "plot_precision_recall",
        "plot_roc",
        "plot_score_distribution",
        "plot_threshold_analysis",
        "precision_at_k",
        "raw_column_map",
        "recall_at_k",
        "segment_breakdown",
        "shap_summary",
        "threshold_table",
        "top_k_mask",
        "write_evaluation_report",
    ],
    "mlsys.monitoring": [
        "BOOLEAN_PSI_ALERT",
        "BOOLEAN_PSI_WARNING",
        "DEFAULT_INTENDED_USE",
        "FEATURE_PSI_ALERT",
        "FEATURE_PSI_METRIC",
        "FEATURE_PSI_THRESHOLD_METRIC",
        "FEATURE_PSI_WARNING",
        "NOISE_P",
        "PROFILE_FORMAT",
        "PSI_EPSILON",
        "SCORE_COLUMN",
        "SCORE_PSI_ALERT",
        "SCORE_PSI_METRIC",
        "SCORE_PSI_THRESHOLD_METRIC",
        "SCORE_PSI_WARNING",
        "BooleanProfile",
        "CalibrationFacts",
        "CategoricalProfile",
        "ColumnDrift",
        "ColumnSummary",
        "DataFacts",
        "DataProfile",
        "DriftAccumulator",
        "DriftAlert",
        "DriftCollector",
        "DriftReport",
        "DriftThresholds",
        "FeatureFacts",
        "GateFacts",
        "MetricFacts",
        "ModelCardFacts",
        "NumericProfile",
        "RollingDrift",
        "SegmentFacts",
        "ThresholdFacts",
        "drift_report",
        "model_card_html",
        "population_stability_index",
        "psi_noise_floor",
        "render_model_card",
    ],
    "mlsys.tracking": [
        "MlflowTracker",
        "NullTracker",
        "RunRecord",
        "Tracker",
        "check_store",
        "default_tracking_uri",
        "mark_killed_runs",
        "pip_requirements",
        "redact_uri",
        "resolve_tracking_uri",
        "store_lock",
    ],
    "mlsys.logs": [
        "CONTEXT_FIELDS",
        "ConsoleHandler",
        "ContextFilter",
        "FileHandler",
        "JsonFormatter",
        "LogFormat",
        "TextFormatter",
        "bind",
        "configure_logging",
        "current_context",
        "log_context",
        "resolve_format",
        "set_process_context",
    ],
    "mlsys.errors": [
        "BundleError",
        "ConfigError",
        "DataError",
        "MlsysError",
        "ModelError",
        "OutputError",
        "SchemaError",
        "TrackingError",
    ],
}


def _isort_order(name: str) -> tuple[int, str]:
    """ruff's RUF022 order: CONSTANTS, then Classes, then functions, each alphabetical."""
    kind = 0 if name.isupper() else 1 if name[:1].isupper() else 2
    return kind, name


@pytest.mark.parametrize("module_name", list(PUBLIC_API))
def test_public_names_are_pinned_sorted_and_importable(module_name: str) -> None:
    module = importlib.import_module(module_name)

    exported = list(module.__all__)

    assert exported == PUBLIC_API[module_name], "update PUBLIC_API when the API changes"
    assert exported == sorted(exported, key=_isort_order)
    for name in exported:
        assert getattr(module, name) is not None, name


@pytest.mark.parametrize(
    ("error", "bases"),
    [
        (ConfigError, (MlsysError, ValueError)),
        (DataError, (MlsysError, ValueError)),
        (SchemaError, (DataError, MlsysError, ValueError)),
        (ModelError, (MlsysError, RuntimeError)),
        (BundleError, (ModelError, MlsysError, RuntimeError)),
        (TrackingError, (MlsysError, RuntimeError)),
    ],
)
def test_error_hierarchy(error: type[MlsysError], bases: tuple[type[Exception], ...]) -> None:
    for base in bases:
        assert issubclass(error, base), f"{error.__name__} should be a {base.__name__}"
    with pytest.raises(bases[0]):
        raise error("boom")


def test_runtime_and_value_errors_do_not_mix() -> None:
    assert not issubclass(SchemaError, RuntimeError)
    assert not issubclass(BundleError, ValueError)
    assert issubclass(MlsysError, Exception)
    assert not issubclass(MlsysError, (ValueError, RuntimeError))


def test_every_error_is_documented_in_the_module_tree() -> None:
    for name in errors.__all__:
        assert name in (errors.__doc__ or ""), name
