"""The evaluation report's settings and results: plain records the report's modules share."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field

from mlsys._params import Seed, check_instance
from mlsys.evaluation._bootstrap import ConfidenceInterval
from mlsys.evaluation._segments import SegmentReport

if TYPE_CHECKING:
    from mlsys.evaluation._explain import FeatureImportance, ShapSummary
    from mlsys.monitoring import DriftReport

__all__ = ["ReportArtifacts", "ReportOptions"]


@dataclass(frozen=True)
class ReportOptions:
    """What the evaluation report computes beyond the headline metrics, and at what cost.

    The defaults keep the report cheap enough for every training run (well under a second
    on tens of thousands of rows); SHAP is opt-in because it costs seconds. In config these are
    ``evaluation.report.*`` (``conf/evaluation/default.yaml``).

    Args:
        enabled: Write the report in training runs (``python -m mlsys.evaluate`` always does).
        plots: Draw the PNG plots (ROC, precision-recall, calibration, gains and lift, score
            distribution, threshold analysis, confusion matrix).
        bootstrap: Bootstrap resamples for the ROC-AUC and PR-AUC intervals; 0 turns them off.
        confidence: Coverage of the intervals.
        seed: Seed of the bootstrap, the permutations and the SHAP row sample.
        segment_column: Column of the scored rows to break metrics down by (e.g. ``region``);
            ``None`` skips the breakdown.
        max_segments: Largest segments shown; the rest are pooled into one "other" segment.
        min_positives: A segment with fewer converters is flagged as too few to trust.
        min_negatives: A segment with fewer non-converters is flagged as too few to trust.
        importance: Global feature importance per raw input column (the model's own where it
            has one, else permutation importance on these rows).
        importance_rows: Rows sampled for permutation importance (fewer on wide data: at
            most 60,000 shuffled rows are scored in all).
        importance_repeats: Shuffles per column for permutation importance.
        shap: SHAP values for tree models (XGBoost, CatBoost natively; scikit-learn forests
            through ``shap.TreeExplainer``): a summary plot and the top features.
        shap_rows: Rows sampled for SHAP values.
        top_features: Features shown in the importance and SHAP plots and tables.
        dpi: Resolution of the PNG plots.
    """

    enabled: bool = True
    plots: bool = True
    bootstrap: Annotated[int, Field(ge=0)] = 200
    confidence: Annotated[float, Field(gt=0, lt=1)] = 0.95
    seed: Seed = 0
    segment_column: Annotated[str, Field(min_length=1)] | None = None
    max_segments: Annotated[int, Field(ge=1)] = 12
    min_positives: Annotated[int, Field(ge=0)] = 10
    min_negatives: Annotated[int, Field(ge=0)] = 10
    importance: bool = True
    importance_rows: Annotated[int, Field(ge=10)] = 2000
    importance_repeats: Annotated[int, Field(ge=1)] = 3
    shap: bool = False
    shap_rows: Annotated[int, Field(ge=1)] = 500
    top_features: Annotated[int, Field(ge=1)] = 15
    dpi: Annotated[int, Field(ge=20)] = 80

    def __post_init__(self) -> None:
        check_instance(self, "evaluation.report")


@dataclass(frozen=True)
class ReportArtifacts:
    """What :func:`write_evaluation_report` wrote and computed.

    Attributes:
        out_dir: The report folder.
        html: ``report.html``, self-contained.
        metrics_json: ``metrics.json``: the ``binary_metrics`` dict plus
            ``confidence_intervals``.
        files: Every file written, by name (``metrics``, ``classification_report``,
            ``confusion_matrix``, ``confusion_matrix_png``, one entry per plot, ``segments``,
            ``feature_importance``, ``shap``, ``html``).
        plots: The PNG of each plot drawn, by plot name.
        metrics: The headline metrics (``binary_metrics``).
        intervals: Bootstrap intervals by metric name (empty when ``bootstrap=0``).
        classification_report: scikit-learn's text report at the threshold.
        gains: Leads by score decile: rows, converters, rate, lift, cumulative gains.
        segments: The segment breakdown, when a segment column was given.
        importance: Global feature importance, when computed.
        shap: SHAP summary, when requested (may say why it is unavailable).
        notes: Everything undefined, skipped or flagged, with the reason.
        seconds: Wall seconds per part of the report.
        data_quality: The rows against the model's training profile (``ml-evaluate``), if
            checked.
        data_quality_note: Why they were not, when not.
    """

    out_dir: Path
    html: Path
    metrics_json: Path
    files: dict[str, Path]
    plots: dict[str, Path]
    metrics: dict[str, Any]
    intervals: dict[str, ConfidenceInterval]
    classification_report: str
    gains: list[dict[str, Any]] = field(default_factory=list)
    segments: SegmentReport | None = None
    importance: FeatureImportance | None = None
    shap: ShapSummary | None = None
    notes: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    data_quality: DriftReport | None = None
    data_quality_note: str | None = None
