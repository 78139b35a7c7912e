"""The Prometheus export of the live window: names, labels, NaN until enough rows."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from mlsys.data import Dataset
from mlsys.monitoring import (
    BOOLEAN_PSI_ALERT,
    FEATURE_PSI_ALERT,
    FEATURE_PSI_METRIC,
    FEATURE_PSI_THRESHOLD_METRIC,
    SCORE_PSI_ALERT,
    SCORE_PSI_METRIC,
    SCORE_PSI_THRESHOLD_METRIC,
    DataProfile,
    DriftCollector,
    DriftThresholds,
    RollingDrift,
    psi_noise_floor,
)

pytestmark = pytest.mark.unit


def _samples(registry: CollectorRegistry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = generate_latest(registry).decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _columns(leads: Dataset, rows: slice) -> dict[str, Any]:
    frame = leads.features.iloc[rows]
    return {
        name: (
            np.array([None if v != v else v for v in frame[name]], dtype=object)
            if kind == "categorical"
            else frame[name].to_numpy(dtype=np.float64, na_value=np.nan)
        )
        for name, kind in zip(leads.schema.columns, leads.schema.kinds, strict=True)
    }


def test_psi_per_column_and_of_the_scores(
    profile: DataProfile, leads: Dataset, scores: np.ndarray[Any, Any]
) -> None:
    drift = RollingDrift(profile, window=2000, thresholds=DriftThresholds(min_rows=1000))
    registry = CollectorRegistry()
    registry.register(DriftCollector(lambda: drift))

    drift.observe(_columns(leads, slice(0, 500)), scores[:500])
    early = _samples(registry)
    assert early[("mlsys_drift_window_rows", ())] == 500
    assert math.isnan(early[(SCORE_PSI_METRIC, ())])
    assert math.isnan(early[(FEATURE_PSI_METRIC, (("column", "employees"),))])

    shifted = _columns(leads, slice(500, 1500))
    shifted["employees"] = shifted["employees"] * 5
    drift.observe(shifted, scores[500:1500])
    late = _samples(registry)
    report = drift.snapshot()
    for column in leads.schema.columns:
        assert late[(FEATURE_PSI_METRIC, (("column", column),))] == pytest.approx(
            report.column(column).psi
        )
    assert late[(FEATURE_PSI_METRIC, (("column", "employees"),))] > 0.2
    assert late[(SCORE_PSI_METRIC, ())] == pytest.approx(report.psi["score"])
    # Each PSI comes with the threshold its alert rule compares it with now: its kind's, or the
    # noise floor of 1,500 rows against 1,500 training rows when that is higher (booleans).
    threshold = FEATURE_PSI_THRESHOLD_METRIC
    assert late[(threshold, (("column", "employees"),))] == FEATURE_PSI_ALERT
    assert late[(threshold, (("column", "industry"),))] == FEATURE_PSI_ALERT
    demo = late[(threshold, (("column", "requested_demo"),))]
    assert demo == report.column("requested_demo").psi_threshold
    assert demo == pytest.approx(max(BOOLEAN_PSI_ALERT, psi_noise_floor(1, 1500, 1500)))
    assert late[(SCORE_PSI_THRESHOLD_METRIC, ())] == SCORE_PSI_ALERT


def test_no_model_exports_no_samples_and_registration_takes_no_snapshot() -> None:
    registry = CollectorRegistry()
    calls: list[int] = []

    def window() -> RollingDrift | None:
        calls.append(1)
        return None

    registry.register(DriftCollector(window))
    assert calls == []
    assert _samples(registry) == {}
    assert calls == [1]
    assert f"# TYPE {FEATURE_PSI_METRIC} gauge" in generate_latest(registry).decode()
