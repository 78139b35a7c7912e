"""Metrics, threshold choice, and the evaluation report (plots, intervals, segments, SHAP).

:func:`write_evaluation_report` is the entry point the training run and the CLIs call; the
pieces it is built from (bootstrap intervals, plots, segment breakdown, feature importance)
are public too, for notebooks.

Names are imported on first use, so ``import mlsys.evaluation`` stays cheap (no scikit-learn,
pandas or matplotlib until a name needs them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlsys._lazy import lazy_exports

if TYPE_CHECKING:
    from mlsys.evaluation._bootstrap import ConfidenceInterval, bootstrap_intervals
    from mlsys.evaluation._curves import gains_table, threshold_table
    from mlsys.evaluation._evaluator import EvaluationReport, Evaluator, ThresholdPolicy
    from mlsys.evaluation._explain import (
        FeatureImportance,
        ShapSummary,
        feature_importance,
        raw_column_map,
        shap_summary,
    )
    from mlsys.evaluation._metrics import (
        HEADLINE_METRICS,
        binary_metrics,
        calibration_table,
        expected_calibration_error,
        lift_at_k,
        precision_at_k,
        recall_at_k,
        top_k_mask,
    )
    from mlsys.evaluation._plots import (
        PLOT_NAMES,
        plot_calibration,
        plot_confusion_matrix,
        plot_feature_importance,
        plot_gains_lift,
        plot_precision_recall,
        plot_roc,
        plot_score_distribution,
        plot_threshold_analysis,
    )
    from mlsys.evaluation._records import ReportArtifacts, ReportOptions
    from mlsys.evaluation._report import write_evaluation_report
    from mlsys.evaluation._segments import SegmentMetrics, SegmentReport, segment_breakdown

__all__ = [
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
]

_LAZY = {
    "ConfidenceInterval": "mlsys.evaluation._bootstrap",
    "bootstrap_intervals": "mlsys.evaluation._bootstrap",
    "gains_table": "mlsys.evaluation._curves",
    "threshold_table": "mlsys.evaluation._curves",
    "EvaluationReport": "mlsys.evaluation._evaluator",
    "Evaluator": "mlsys.evaluation._evaluator",
    "ThresholdPolicy": "mlsys.evaluation._evaluator",
    "FeatureImportance": "mlsys.evaluation._explain",
    "ShapSummary": "mlsys.evaluation._explain",
    "feature_importance": "mlsys.evaluation._explain",
    "raw_column_map": "mlsys.evaluation._explain",
    "shap_summary": "mlsys.evaluation._explain",
    "HEADLINE_METRICS": "mlsys.evaluation._metrics",
    "binary_metrics": "mlsys.evaluation._metrics",
    "calibration_table": "mlsys.evaluation._metrics",
    "expected_calibration_error": "mlsys.evaluation._metrics",
    "lift_at_k": "mlsys.evaluation._metrics",
    "precision_at_k": "mlsys.evaluation._metrics",
    "recall_at_k": "mlsys.evaluation._metrics",
    "top_k_mask": "mlsys.evaluation._metrics",
    "PLOT_NAMES": "mlsys.evaluation._plots",
    "plot_calibration": "mlsys.evaluation._plots",
    "plot_confusion_matrix": "mlsys.evaluation._plots",
    "plot_feature_importance": "mlsys.evaluation._plots",
    "plot_gains_lift": "mlsys.evaluation._plots",
    "plot_precision_recall": "mlsys.evaluation._plots",
    "plot_roc": "mlsys.evaluation._plots",
    "plot_score_distribution": "mlsys.evaluation._plots",
    "plot_threshold_analysis": "mlsys.evaluation._plots",
    "ReportArtifacts": "mlsys.evaluation._records",
    "ReportOptions": "mlsys.evaluation._records",
    "write_evaluation_report": "mlsys.evaluation._report",
    "SegmentMetrics": "mlsys.evaluation._segments",
    "SegmentReport": "mlsys.evaluation._segments",
    "segment_breakdown": "mlsys.evaluation._segments",
}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)
