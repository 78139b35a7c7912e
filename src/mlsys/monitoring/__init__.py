"""Know when the champion goes wrong: data expectations, drift, and the model card.

A :class:`DataProfile` learned at training time holds the model's data expectations (per column
bins, range, levels and missing rate; the distribution of calibrated scores). Rows scored later
are checked against it: :func:`drift_report` (or a :class:`DriftAccumulator`, chunk by
chunk) reports the population stability index per column, values out of range, unseen levels
and missing rates, with alerts; :class:`RollingDrift` keeps the server's live window and
:class:`DriftCollector` exports it to Prometheus. :func:`render_model_card` writes a registered
version's card from :class:`ModelCardFacts`. See docs/MONITORING.md.

Example:
    >>> from mlsys.monitoring import DataProfile, drift_report
    >>> profile = DataProfile.learn(train_frame, schema, scores=validation_scores)  # doctest: +SKIP
    >>> report = drift_report(profile, new_frame, scores=new_scores)  # doctest: +SKIP
    >>> report.drifted, [a.message for a in report.alerts]  # doctest: +SKIP

Names are imported on first use, so importing the package costs nothing until one is needed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlsys._lazy import lazy_exports

if TYPE_CHECKING:
    from mlsys.monitoring._bins import SCORE_COLUMN
    from mlsys.monitoring._card import (
        DEFAULT_INTENDED_USE,
        CalibrationFacts,
        DataFacts,
        FeatureFacts,
        GateFacts,
        MetricFacts,
        ModelCardFacts,
        SegmentFacts,
        ThresholdFacts,
        model_card_html,
        render_model_card,
    )
    from mlsys.monitoring._drift import (
        BOOLEAN_PSI_ALERT,
        BOOLEAN_PSI_WARNING,
        FEATURE_PSI_ALERT,
        FEATURE_PSI_WARNING,
        SCORE_PSI_ALERT,
        SCORE_PSI_WARNING,
        ColumnDrift,
        DriftAccumulator,
        DriftAlert,
        DriftReport,
        DriftThresholds,
        drift_report,
    )
    from mlsys.monitoring._profile import (
        PROFILE_FORMAT,
        BooleanProfile,
        CategoricalProfile,
        ColumnSummary,
        DataProfile,
        NumericProfile,
    )
    from mlsys.monitoring._prometheus import (
        FEATURE_PSI_METRIC,
        FEATURE_PSI_THRESHOLD_METRIC,
        SCORE_PSI_METRIC,
        SCORE_PSI_THRESHOLD_METRIC,
        DriftCollector,
    )
    from mlsys.monitoring._psi import (
        NOISE_P,
        PSI_EPSILON,
        population_stability_index,
        psi_noise_floor,
    )
    from mlsys.monitoring._rolling import RollingDrift

__all__ = [
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
]

# Each name stands here, in __all__ and under TYPE_CHECKING: the lazy loader needs its module,
# mypy the import, and the public API the list.
_LAZY = {
    "SCORE_COLUMN": "mlsys.monitoring._bins",
    **dict.fromkeys(
        [
            "DEFAULT_INTENDED_USE",
            "CalibrationFacts",
            "DataFacts",
            "FeatureFacts",
            "GateFacts",
            "MetricFacts",
            "ModelCardFacts",
            "SegmentFacts",
            "ThresholdFacts",
            "model_card_html",
            "render_model_card",
        ],
        "mlsys.monitoring._card",
    ),
    **dict.fromkeys(
        [
            "BOOLEAN_PSI_ALERT",
            "BOOLEAN_PSI_WARNING",
            "FEATURE_PSI_ALERT",
            "FEATURE_PSI_WARNING",
            "SCORE_PSI_ALERT",
            "SCORE_PSI_WARNING",
            "ColumnDrift",
            "DriftAccumulator",
            "DriftAlert",
            "DriftReport",
            "DriftThresholds",
            "drift_report",
        ],
        "mlsys.monitoring._drift",
    ),
    **dict.fromkeys(
        [
            "PROFILE_FORMAT",
            "BooleanProfile",
            "CategoricalProfile",
            "ColumnSummary",
            "DataProfile",
            "NumericProfile",
        ],
        "mlsys.monitoring._profile",
    ),
    **dict.fromkeys(
        [
            "FEATURE_PSI_METRIC",
            "FEATURE_PSI_THRESHOLD_METRIC",
            "SCORE_PSI_METRIC",
            "SCORE_PSI_THRESHOLD_METRIC",
            "DriftCollector",
        ],
        "mlsys.monitoring._prometheus",
    ),
    **dict.fromkeys(
        ["NOISE_P", "PSI_EPSILON", "population_stability_index", "psi_noise_floor"],
        "mlsys.monitoring._psi",
    ),
    "RollingDrift": "mlsys.monitoring._rolling",
}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)
