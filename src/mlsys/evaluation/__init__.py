"""Metrics, threshold choice and evaluation reports."""

from __future__ import annotations

from mlsys.evaluation._evaluator import EvaluationReport, Evaluator, ThresholdPolicy
from mlsys.evaluation._metrics import (
    binary_metrics,
    expected_calibration_error,
    lift_at_k,
    precision_at_k,
    recall_at_k,
    top_k_mask,
)

__all__ = [
    "EvaluationReport",
    "Evaluator",
    "ThresholdPolicy",
    "binary_metrics",
    "expected_calibration_error",
    "lift_at_k",
    "precision_at_k",
    "recall_at_k",
    "top_k_mask",
]
