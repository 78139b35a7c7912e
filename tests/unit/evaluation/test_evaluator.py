"""Threshold choice matches brute force; the evaluator reports and reads the sweep objective."""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlsys.errors import ConfigError
from mlsys.evaluation import EvaluationReport, Evaluator, ThresholdPolicy, binary_metrics

from .strategies import FAST, labelled_scores

pytestmark = pytest.mark.unit

Data = tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]


def _counts(y: np.ndarray[Any, Any], p: np.ndarray[Any, Any], t: float) -> tuple[int, int, int]:
    decided = p >= t
    tp = int((decided & (y == 1)).sum())
    return tp, int((decided & (y == 0)).sum()), int((~decided & (y == 1)).sum())


def _f1(y: np.ndarray[Any, Any], p: np.ndarray[Any, Any], t: float) -> float:
    tp, fp, fn = _counts(y, p, t)
    return 2 * tp / (2 * tp + fp + fn)


def _cost(
    y: np.ndarray[Any, Any], p: np.ndarray[Any, Any], t: float, c_fp: float, c_fn: float
) -> float:
    _, fp, fn = _counts(y, p, t)
    return c_fp * fp + c_fn * fn


def _precision(y: np.ndarray[Any, Any], p: np.ndarray[Any, Any], t: float) -> float:
    tp, fp, _ = _counts(y, p, t)
    return tp / (tp + fp) if tp + fp else 0.0


@FAST
@given(labelled_scores())
def test_f1_threshold_is_the_brute_force_best(data: Data) -> None:
    y, p = data

    chosen = ThresholdPolicy("f1").choose(y, p)

    assert chosen in set(p)
    best = max(_f1(y, p, t) for t in np.unique(p))
    assert _f1(y, p, chosen) == pytest.approx(best, abs=1e-12)


@FAST
@given(
    labelled_scores(),
    st.floats(min_value=0.1, max_value=10.0),
    st.floats(min_value=0.1, max_value=10.0),
)
def test_cost_threshold_is_the_brute_force_cheapest(data: Data, c_fp: float, c_fn: float) -> None:
    y, p = data

    chosen = ThresholdPolicy("cost", cost_fp=c_fp, cost_fn=c_fn).choose(y, p)

    cheapest = min(_cost(y, p, t, c_fp, c_fn) for t in np.unique(p))
    assert _cost(y, p, chosen, c_fp, c_fn) == pytest.approx(cheapest, abs=1e-9)


def test_cost_counts_false_positives_of_a_cut_without_true_positives() -> None:
    # The top-scored lead is a non-converter: cutting above the converter contacts one
    # wasted lead (cost 2) and misses the converter (cost 1) -- 3, not the 1 it would be
    # if that wasted contact went uncounted. Contacting both costs only 2.
    y = np.array([0] * 16 + [0, 1])
    p = np.array([0.0] * 16 + [1.0, 0.5])

    assert ThresholdPolicy("cost", cost_fp=2.0, cost_fn=1.0).choose(y, p) == 0.5


@FAST
@given(labelled_scores(), st.floats(min_value=0.05, max_value=1.0))
def test_precision_threshold_reaches_the_target_with_the_most_recall(
    data: Data, target: float
) -> None:
    y, p = data
    reaching = [t for t in np.unique(p) if _precision(y, p, t) >= target]

    chosen = ThresholdPolicy("precision", target_precision=target).choose(y, p)

    if reaching:
        assert _precision(y, p, chosen) >= target
        most_found = max(_counts(y, p, t)[0] for t in reaching)
        assert _counts(y, p, chosen)[0] == most_found
    else:
        best = max(_precision(y, p, t) for t in np.unique(p))
        assert _precision(y, p, chosen) == pytest.approx(best)


def test_precision_threshold_by_hand() -> None:
    y = np.array([1, 1, 0, 1, 0, 0, 1, 0])
    p = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2])
    # Cut at 0.6: 3 of 4 contacted convert (0.75). Any lower cut falls below 0.75.

    assert ThresholdPolicy("precision", target_precision=0.75).choose(y, p) == 0.6
    assert ThresholdPolicy("precision", target_precision=1.0).choose(y, p) == 0.8
    # F1 at 0.6 is 6/8 (3 tp, 1 fp, 1 fn); taking every converter at 0.3 gives only 8/11.
    assert ThresholdPolicy("f1").choose(y, p) == 0.6


def test_unreachable_precision_warns_and_takes_the_most_precise(
    caplog: pytest.LogCaptureFixture,
) -> None:
    y = np.array([0, 1, 0, 1, 0, 0])
    p = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4])

    with caplog.at_level(logging.WARNING, logger="mlsys.evaluation"):
        chosen = ThresholdPolicy("precision", target_precision=0.9).choose(y, p)

    assert chosen == 0.6  # precision 2/4 is the best any cut reaches
    assert "target_precision=0.900 is not reachable" in caplog.text


def test_unknown_objective_is_a_config_error() -> None:
    policy = ThresholdPolicy("accuracy")  # type: ignore[arg-type]

    with pytest.raises(ConfigError, match="objective: 'accuracy' is not one of f1, cost"):
        policy.choose(np.array([0, 1]), np.array([0.2, 0.8]))


def test_evaluate_reports_metrics_and_a_classification_report() -> None:
    y = np.array([0, 1, 1, 0, 1, 0, 0, 0, 1, 0])
    p = np.linspace(0.05, 0.95, 10)
    evaluator = Evaluator(top_fractions=(0.2,), lift_fraction=0.2, calibration_bins=5)

    report = evaluator.evaluate(y, p, threshold=0.5)

    assert isinstance(report, EvaluationReport)
    expected = binary_metrics(
        y, p, 0.5, top_fractions=(0.2,), lift_fraction=0.2, calibration_bins=5
    )
    assert report.metrics == expected
    assert "not converted" in report.classification_report
    assert "converted" in report.classification_report


def test_objective_reads_the_configured_metric() -> None:
    metrics = binary_metrics(np.array([0, 1, 0, 1]), np.array([0.1, 0.9, 0.2, 0.7]), 0.5)

    assert Evaluator(objective_metric="roc_auc").objective(metrics) == 1.0
    assert Evaluator().objective(metrics) == metrics["pr_auc"]
    assert math.isnan(Evaluator().objective({**metrics, "pr_auc": None}))


def test_objective_error_lists_the_available_metrics() -> None:
    metrics = binary_metrics(np.array([0, 1, 0, 1]), np.array([0.1, 0.9, 0.2, 0.7]), 0.5)

    with pytest.raises(ConfigError, match="objective_metric: 'auc' is not a metric") as info:
        Evaluator(objective_metric="auc").objective(metrics)

    message = str(info.value)
    assert "Fix: evaluation.objective_metric=<one of" in message
    assert "'roc_auc'" in message
    assert "'n_rows'" not in message  # only float metrics are offered


def test_default_policy_is_f1() -> None:
    evaluator = Evaluator()

    assert isinstance(evaluator.threshold, ThresholdPolicy)
    assert evaluator.threshold.objective == "f1"
