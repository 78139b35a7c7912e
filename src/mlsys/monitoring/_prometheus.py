"""Prometheus export of the live window: PSI per feature and of the scores, at scrape time."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Final

from prometheus_client.core import GaugeMetricFamily, Metric

from mlsys.monitoring._rolling import RollingDrift

__all__ = [
    "FEATURE_PSI_METRIC",
    "FEATURE_PSI_THRESHOLD_METRIC",
    "SCORE_PSI_METRIC",
    "SCORE_PSI_THRESHOLD_METRIC",
    "WINDOW_ROWS_METRIC",
    "DriftCollector",
]

FEATURE_PSI_METRIC: Final = "mlsys_feature_psi"
FEATURE_PSI_THRESHOLD_METRIC: Final = "mlsys_feature_psi_threshold"
SCORE_PSI_METRIC: Final = "mlsys_score_psi"
SCORE_PSI_THRESHOLD_METRIC: Final = "mlsys_score_psi_threshold"
WINDOW_ROWS_METRIC: Final = "mlsys_drift_window_rows"


class DriftCollector:
    """A custom collector: each scrape takes a snapshot of the current window.

    Beside each PSI it exports the alert threshold that applies to it now (a boolean column's
    is lower than a numeric one's, and none is below the noise floor of the window's rows, see
    ``DriftThresholds``), so one alert rule,
    ``mlsys_feature_psi >= mlsys_feature_psi_threshold``, covers every column. The PSI is NaN
    while the window holds fewer than ``thresholds.min_rows`` rows (a small sample's index is
    noise), so the alert rules stay quiet after a start or a model reload. No window (no model
    loaded) exports no samples.

    Args:
        window: Returns the served model's window, or ``None``; called on every scrape, so a
            hot reload that swaps the window is followed.

    Example:
        >>> registry.register(DriftCollector(lambda: runtime.drift))  # doctest: +SKIP
    """

    def __init__(self, window: Callable[[], RollingDrift | None]) -> None:
        self._window = window

    def describe(self) -> list[Metric]:
        """The metric families, without computing a snapshot (called on registration)."""
        return list(self._families())

    def collect(self) -> Iterator[Metric]:
        """The families with one sample per column, the scores and the window's rows."""
        feature, feature_limit, score, score_limit, rows = self._families()
        drift = self._window()
        if drift is not None:
            report = drift.snapshot()
            for entry in report.columns:
                feature.add_metric([entry.column], _value(entry.psi, entry.severity))
                feature_limit.add_metric([entry.column], entry.psi_threshold)
            if drift.layout.profile.scores is not None:
                if report.score is None:
                    score.add_metric([], math.nan)
                    score_limit.add_metric([], drift.thresholds.score_psi_alert)
                else:
                    score.add_metric([], _value(report.score.psi, report.score.severity))
                    score_limit.add_metric([], report.score.psi_threshold)
            rows.add_metric([], report.rows)
        yield from (feature, feature_limit, score, score_limit, rows)

    @staticmethod
    def _families() -> tuple[GaugeMetricFamily, ...]:
        return (
            GaugeMetricFamily(
                FEATURE_PSI_METRIC,
                "Population stability index of each feature over the live window against the "
                "training profile (NaN until the window holds min_rows rows)",
                labels=["column"],
            ),
            GaugeMetricFamily(
                FEATURE_PSI_THRESHOLD_METRIC,
                "The PSI from which a feature's drift is an alert (lower for boolean columns)",
                labels=["column"],
            ),
            GaugeMetricFamily(
                SCORE_PSI_METRIC,
                "Population stability index of the calibrated scores over the live window "
                "against the validation scores (NaN until the window holds min_rows rows)",
            ),
            GaugeMetricFamily(
                SCORE_PSI_THRESHOLD_METRIC, "The PSI from which the scores' drift is an alert"
            ),
            GaugeMetricFamily(
                WINDOW_ROWS_METRIC, "Scored rows in the live drift window (of its size)"
            ),
        )


def _value(psi: float | None, severity: str) -> float:
    return float("nan") if psi is None or severity == "too_few_rows" else psi
