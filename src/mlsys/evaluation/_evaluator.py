"""Choose the decision threshold on validation data and score a split."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import Field
from sklearn import metrics as skm

from mlsys.errors import ConfigError
from mlsys.evaluation._metrics import binary_metrics
from mlsys.evaluation._records import ReportOptions

__all__ = ["EvaluationReport", "Evaluator", "ThresholdPolicy"]

log = logging.getLogger(__name__)
FloatArray = np.ndarray[Any, np.dtype[np.float64]]
Objective = Literal["f1", "cost", "precision"]
#: A share of the leads, ranked by score (the top 10% is 0.1).
TopShare = Annotated[float, Field(gt=0, le=1)]


class ThresholdPolicy:
    """How the decision threshold is chosen, always on the validation split.

    Args:
        objective: ``f1`` maximises F1; ``cost`` minimises ``cost_fp * FP + cost_fn * FN``
            (a missed converter usually costs more than a wasted call); ``precision`` takes the
            lowest threshold whose precision reaches ``target_precision`` (most leads at a
            guaranteed hit rate).
        cost_fp: Cost of contacting a lead that does not convert.
        cost_fn: Cost of missing a lead that would have converted.
        target_precision: Precision the ``precision`` objective must reach.
    """

    def __init__(
        self,
        objective: Objective = "f1",
        cost_fp: Annotated[float, Field(ge=0)] = 1.0,
        cost_fn: Annotated[float, Field(ge=0)] = 5.0,
        target_precision: Annotated[float, Field(gt=0, le=1)] = 0.5,
    ) -> None:
        # Only stores its parameters, like every configurable component (the estimator
        # contract: Hydra and sklearn.base.clone rebuild it from them); no logic to share.
        self.objective = objective
        self.cost_fp = cost_fp
        self.cost_fn = cost_fn
        self.target_precision = target_precision

    def choose(self, y: Any, probabilities: FloatArray) -> float:
        """The threshold that best meets the objective on these (validation) rows."""
        labels = np.asarray(y).astype(np.int64)
        p = np.asarray(probabilities, dtype=np.float64)
        precision, recall, thresholds = skm.precision_recall_curve(labels, p)
        precision, recall = precision[:-1], recall[:-1]
        if self.objective == "f1":
            f1 = np.divide(
                2 * precision * recall,
                precision + recall,
                out=np.zeros_like(precision),
                where=(precision + recall) > 0,
            )
            return float(thresholds[int(np.argmax(f1))])
        if self.objective == "cost":
            positives = labels.sum()
            tp = np.rint(recall * positives)
            # Count contacted rows directly: tp / precision cannot recover fp when tp is 0.
            contacted = len(p) - np.searchsorted(np.sort(p), thresholds, side="left")
            fp = contacted - tp
            fn = positives - tp
            cost = self.cost_fp * fp + self.cost_fn * fn
            return float(thresholds[int(np.argmin(cost))])
        if self.objective == "precision":
            reaching = np.flatnonzero(precision >= self.target_precision)
            if len(reaching) == 0:
                best = int(np.argmax(precision))
                log.warning(
                    "evaluation.threshold.target_precision=%.3f is not reachable on validation "
                    "(best %.3f); using the most precise threshold %.4f",
                    self.target_precision,
                    precision[best],
                    thresholds[best],
                )
                return float(thresholds[best])
            return float(thresholds[reaching[0]])
        raise ConfigError(
            f"evaluation.threshold.objective: '{self.objective}' is not one of f1, cost, precision."
        )


@dataclass(frozen=True)
class EvaluationReport:
    """Metrics of one split at one threshold, plus the text report."""

    metrics: dict[str, Any]
    classification_report: str


class Evaluator:
    """Scores calibrated probabilities against labels.

    Args:
        threshold: Policy choosing the decision threshold on validation data.
        top_fractions: Shares of leads for precision@k and recall@k.
        lift_fraction: Share of leads for the lift metric (top decile by default).
        calibration_bins: Bins of the expected calibration error.
        objective_metric: Validation metric ``main`` returns to a sweep (higher is better).
        report: What the evaluation report of the test split holds (plots, intervals,
            segments, importance, SHAP); ``report.enabled=false`` skips it in training.
    """

    def __init__(
        self,
        threshold: ThresholdPolicy | None = None,
        top_fractions: Sequence[TopShare] = (0.05, 0.1, 0.2),
        lift_fraction: TopShare = 0.1,
        calibration_bins: Annotated[int, Field(ge=1)] = 10,
        objective_metric: Annotated[str, Field(min_length=1)] = "pr_auc",
        report: ReportOptions | None = None,
    ) -> None:
        self.threshold = threshold or ThresholdPolicy()
        self.top_fractions = tuple(top_fractions)
        self.lift_fraction = lift_fraction
        self.calibration_bins = calibration_bins
        self.objective_metric = objective_metric
        self.report = report or ReportOptions()

    def evaluate(self, y: Any, probabilities: FloatArray, threshold: float) -> EvaluationReport:
        """Metrics and a classification report at ``threshold``."""
        metrics = binary_metrics(
            y,
            probabilities,
            threshold,
            top_fractions=self.top_fractions,
            lift_fraction=self.lift_fraction,
            calibration_bins=self.calibration_bins,
        )
        decisions = (np.asarray(probabilities) >= threshold).astype(np.int64)
        report = skm.classification_report(
            np.asarray(y).astype(np.int64),
            decisions,
            labels=[0, 1],
            target_names=["not converted", "converted"],
            digits=4,
            zero_division=0,
        )
        return EvaluationReport(metrics, str(report))

    def objective(self, validation_metrics: dict[str, Any]) -> float:
        """The sweep objective, read from validation metrics."""
        if self.objective_metric not in validation_metrics:
            choices = sorted(k for k, v in validation_metrics.items() if isinstance(v, float))
            raise ConfigError(
                f"evaluation.objective_metric: '{self.objective_metric}' is not a metric. "
                f"Fix: evaluation.objective_metric=<one of {choices}>."
            )
        value = validation_metrics[self.objective_metric]
        return float("nan") if value is None else float(value)
