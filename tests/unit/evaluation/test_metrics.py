"""Metrics: agree with scikit-learn and with hand-computed cases, ties broken by row order."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn import metrics as skm

from mlsys.evaluation import (
    binary_metrics,
    expected_calibration_error,
    lift_at_k,
    precision_at_k,
    recall_at_k,
    top_k_mask,
)

from .strategies import FAST, labelled_scores, probability

pytestmark = pytest.mark.unit


def _pairwise_auc(y: np.ndarray[Any, Any], p: np.ndarray[Any, Any]) -> float:
    pos, neg = p[y == 1][:, None], p[y == 0][None, :]
    return float(((pos > neg) + 0.5 * (pos == neg)).mean())


@FAST
@given(labelled_scores())
def test_binary_metrics_match_sklearn(
    data: tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]],
) -> None:
    y, p = data

    metrics = binary_metrics(y, p, threshold=0.5)

    assert metrics["roc_auc"] == pytest.approx(skm.roc_auc_score(y, p), abs=1e-12)
    assert metrics["roc_auc"] == pytest.approx(_pairwise_auc(y, p), abs=1e-9)
    assert metrics["pr_auc"] == pytest.approx(skm.average_precision_score(y, p), abs=1e-12)
    assert metrics["log_loss"] == pytest.approx(skm.log_loss(y, p, labels=[0, 1]), rel=1e-12)
    eps = np.finfo(np.float64).eps
    clipped = np.clip(p, eps, 1 - eps)
    manual = -np.mean(y * np.log(clipped) + (1 - y) * np.log(1 - clipped))
    assert metrics["log_loss"] == pytest.approx(manual, rel=1e-9)
    assert metrics["brier"] == pytest.approx(np.mean((p - y) ** 2), abs=1e-12)
    assert metrics["positive_rate"] == pytest.approx(y.mean())
    assert "undefined" not in metrics


@FAST
@given(labelled_scores(), probability)
def test_threshold_metrics_are_consistent(
    data: tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]], threshold: float
) -> None:
    y, p = data

    metrics = binary_metrics(y, p, threshold=threshold)

    cm = metrics["confusion_matrix"]
    decided = p >= threshold
    assert cm == {
        "tn": int((~decided & (y == 0)).sum()),
        "fp": int((decided & (y == 0)).sum()),
        "fn": int((~decided & (y == 1)).sum()),
        "tp": int((decided & (y == 1)).sum()),
    }
    assert metrics["accuracy"] == pytest.approx(skm.accuracy_score(y, decided))
    assert metrics["recall"] == pytest.approx(skm.recall_score(y, decided))
    assert metrics["precision"] == pytest.approx(skm.precision_score(y, decided, zero_division=0))
    assert metrics["f1"] == pytest.approx(skm.f1_score(y, decided, zero_division=0))


@FAST
@given(
    st.lists(probability, min_size=1, max_size=80),
    st.floats(min_value=0.001, max_value=1.0),
)
def test_top_k_mask_takes_the_highest_scores(scores: list[float], fraction: float) -> None:
    p = np.array(scores)

    mask = top_k_mask(p, fraction)

    assert mask.sum() == max(1, math.ceil(round(fraction * len(p), 9)))
    if (~mask).any():
        assert p[mask].min() >= p[~mask].max()


def test_top_k_rounds_float_noise_before_the_ceiling() -> None:
    # 0.07 * 100 is 7.000000000000001 in floating point: still 7 rows.
    assert top_k_mask(np.linspace(0, 1, 100), 0.07).sum() == 7
    assert top_k_mask(np.linspace(0, 1, 10), 0.25).sum() == 3  # a real fraction rounds up


# Rows 0, 2 and 3 tie at 0.5; row order breaks the tie, so the top two are rows 1 and 0.
TIED_Y = np.array([0, 1, 1, 1, 0])
TIED_P = np.array([0.5, 0.9, 0.5, 0.5, 0.1])


def test_top_k_ties_are_broken_by_row_order() -> None:
    np.testing.assert_array_equal(top_k_mask(TIED_P, 0.4), [True, True, False, False, False])


def test_precision_recall_and_lift_at_k_by_hand() -> None:
    assert precision_at_k(TIED_Y, TIED_P, 0.4) == 0.5  # rows 1 (y=1) and 0 (y=0)
    assert recall_at_k(TIED_Y, TIED_P, 0.4) == pytest.approx(1 / 3)
    assert lift_at_k(TIED_Y, TIED_P, 0.4) == pytest.approx(0.5 / 0.6)
    # The smallest fraction still takes one lead: the top one.
    assert precision_at_k(TIED_Y, TIED_P, 0.01) == 1.0
    assert recall_at_k(TIED_Y, TIED_P, 1.0) == 1.0
    assert lift_at_k(TIED_Y, TIED_P, 1.0) == pytest.approx(1.0)


def test_at_k_metrics_without_positives_are_nan() -> None:
    y = np.zeros(4, dtype=np.int64)
    p = np.array([0.1, 0.2, 0.3, 0.4])

    assert precision_at_k(y, p, 0.5) == 0.0
    assert math.isnan(recall_at_k(y, p, 0.5))
    assert math.isnan(lift_at_k(y, p, 0.5))


@pytest.mark.parametrize("fraction", [0.0, -0.1, 1.5])
def test_top_k_rejects_fractions_outside_0_1(fraction: float) -> None:
    with pytest.raises(ValueError, match="fraction must be in"):
        top_k_mask(TIED_P, fraction)


def test_expected_calibration_error_by_hand() -> None:
    y = np.array([0, 1, 1, 1, 1])
    p = np.array([0.1, 0.15, 0.8, 0.85, 1.0])
    # Bin 1: mean p 0.125, rate 0.5 -> 2 rows * 0.375.  Bin 8: 0.825 vs 1 -> 2 * 0.175.
    # Bin 9 (p == 1.0 joins the last bin): 1.0 vs 1 -> 0.
    expected = (2 * 0.375 + 2 * 0.175) / 5

    assert expected_calibration_error(y, p, n_bins=10) == pytest.approx(expected)
    assert expected_calibration_error(y, p, n_bins=1) == pytest.approx(abs(p.mean() - y.mean()))
    assert math.isnan(expected_calibration_error(np.array([]), np.array([])))


def test_perfect_calibration_has_zero_ece() -> None:
    y = np.array([0, 0, 0, 1] * 5 + [1, 1, 1, 0] * 5)
    p = np.array([0.25] * 20 + [0.75] * 20)

    assert expected_calibration_error(y, p) == pytest.approx(0.0)


@pytest.mark.parametrize("label", [0, 1])
def test_single_class_labels_leave_ranking_metrics_undefined(label: int) -> None:
    y = np.full(5, label)
    p = np.array([0.1, 0.3, 0.5, 0.7, 0.9])

    metrics = binary_metrics(y, p, threshold=0.5, top_fractions=(0.2,))

    assert metrics["roc_auc"] is None
    assert metrics["pr_auc"] is None
    assert metrics["recall_at_20pct"] is None
    assert "single class" in metrics["undefined"]
    assert metrics["log_loss"] == pytest.approx(skm.log_loss(y, p, labels=[0, 1]))
    assert metrics["n_rows"] == 5


def test_metric_names_follow_the_fractions() -> None:
    y, p = TIED_Y, TIED_P

    metrics = binary_metrics(y, p, 0.5, top_fractions=(0.05, 0.25), lift_fraction=0.1)

    for name in ("precision_at_5pct", "recall_at_25pct", "lift_at_10pct"):
        assert name in metrics
    assert metrics["threshold"] == 0.5


def test_precision_recall_and_lift_at_10pct_by_hand() -> None:
    # 20 leads, 5 converters (base rate 0.25); the top 10 % is rows 0 and 1, one converter.
    y = np.array([1, 0, 1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0])
    p = np.linspace(0.99, 0.01, 20)

    assert precision_at_k(y, p, 0.1) == 0.5
    assert recall_at_k(y, p, 0.1) == pytest.approx(1 / 5)
    assert lift_at_k(y, p, 0.1) == pytest.approx(0.5 / 0.25)
    assert precision_at_k(y, p, 0.3) == pytest.approx(3 / 6)
    assert recall_at_k(y, p, 0.5) == pytest.approx(4 / 5)
    metrics = binary_metrics(y, p, 0.5, top_fractions=(0.1,), lift_fraction=0.1)
    assert metrics["lift_at_10pct"] == pytest.approx(2.0)


@pytest.mark.parametrize("label", [0, 1])
def test_one_class_metrics_are_none_with_a_reason_per_metric(label: int) -> None:
    y = np.full(8, label)
    p = np.linspace(0.05, 0.95, 8)

    metrics = binary_metrics(y, p, threshold=0.5, top_fractions=(0.25,), lift_fraction=0.25)

    reasons = metrics["undefined_metrics"]
    for name in ("roc_auc", "pr_auc", "recall_at_25pct"):
        assert metrics[name] is None
        assert "needs converters and non-converters" in reasons[name]
    if label == 0:
        assert metrics["lift_at_25pct"] is None
        assert metrics["recall"] is None
        assert "no converters (every label is 0) among 8 rows" in reasons["lift_at_25pct"]
        assert "divides by the number of converters" in reasons["recall"]
    else:
        assert metrics["lift_at_25pct"] == 1.0
        assert "only converters among 8 rows" in reasons["roc_auc"]
    assert set(reasons) == {k for k, v in metrics.items() if v is None}
    json.dumps(metrics, allow_nan=False)  # strict JSON: undefined is null, never NaN


def test_no_rows_gives_every_label_metric_undefined() -> None:
    metrics = binary_metrics(np.array([]), np.array([]), threshold=0.5)

    assert metrics["n_rows"] == 0
    assert metrics["undefined"] == "no rows to evaluate"
    assert metrics["confusion_matrix"] == {"tn": 0, "fp": 0, "fn": 0, "tp": 0}
    assert set(metrics["undefined_metrics"]) == {k for k, v in metrics.items() if v is None}
    json.dumps(metrics, allow_nan=False)
