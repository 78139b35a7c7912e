"""Metrics, threshold choice, and the evaluation report (plots, intervals, segments, SHAP).

:func:`write_evaluation_report` is the entry point the training run and the CLIs call; the
pieces it is built from (bootstrap intervals, plots, segment breakdown, feature importance)
are public too, for notebooks.
"""

from __future__ import annotations

from mlsys.evaluation._bootstrap import ConfidenceInterval, bootstrap_intervals
from mlsys.evaluation._evaluator import EvaluationReport, Evaluator, ThresholdPolicy
from mlsys.evaluation._explain import (
    FeatureImportance,
    ShapSummary,
    feature_importance,
    raw_column_map,
    shap_summary,
)
from mlsys.evaluation._metrics import (
    binary_metrics,
    expected_calibration_error,
    lift_at_k,
    precision_at_k,
    recall_at_k,
    top_k_mask,
)
from mlsys.evaluation._plots import (
    PLOT_NAMES,
    calibration_table,
    gains_table,
    plot_calibration,
    plot_confusion_matrix,
    plot_feature_importance,
    plot_gains_lift,
    plot_precision_recall,
    plot_roc,
    plot_score_distribution,
    plot_threshold_analysis,
    threshold_table,
)
from mlsys.evaluation._report import ReportArtifacts, ReportOptions, write_evaluation_report
from mlsys.evaluation._segments import SegmentMetrics, SegmentReport, segment_breakdown

__all__ = [
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
]
