"""Map raw model scores to probabilities that mean what they say.

A lead scored 0.2 should convert about one time in five: sales capacity planning and expected
pipeline value depend on it. Calibrators are fitted on their own split, never on the rows the
model was trained on (those scores are over-confident) nor on test rows.
"""

from __future__ import annotations

from typing import Any, Protocol, Self, runtime_checkable

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from mlsys.errors import DataError

__all__ = ["Calibrator", "IsotonicCalibrator", "NoCalibration", "SigmoidCalibrator"]

FloatArray = np.ndarray[Any, np.dtype[np.float64]]
_EPS = 1e-7


@runtime_checkable
class Calibrator(Protocol):
    """Learns a monotone map from raw positive-class scores to calibrated probabilities."""

    def fit(self, scores: FloatArray, y: Any) -> Self:
        """Learn the map from calibration-split scores and labels."""
        ...

    def transform(self, scores: FloatArray) -> FloatArray:
        """Calibrated probabilities for raw scores."""
        ...


def _check(scores: FloatArray, y: Any, name: str) -> np.ndarray[Any, Any]:
    labels = np.asarray(y)
    if len(scores) == 0 or len(np.unique(labels)) < 2:
        raise DataError(
            f"calibration={name}: the calibration split needs both classes "
            f"(got {len(scores)} rows). Fix: raise split.calibration or use calibration=none."
        )
    return labels


class NoCalibration(BaseEstimator):  # type: ignore[misc]
    """Identity: use the model's own probabilities."""

    def fit(self, scores: FloatArray, y: Any) -> Self:
        """Nothing to learn."""
        self.fitted_ = True
        return self

    def transform(self, scores: FloatArray) -> FloatArray:
        """Return the scores unchanged."""
        return np.asarray(scores, dtype=np.float64)


class SigmoidCalibrator(BaseEstimator):  # type: ignore[misc]
    """Platt scaling on the logit of the score: two parameters, robust on small splits."""

    def fit(self, scores: FloatArray, y: Any) -> Self:
        """Fit a one-feature logistic regression on logit(score)."""
        from sklearn.linear_model import LogisticRegression

        labels = _check(scores, y, "sigmoid")
        self.model_ = LogisticRegression(C=1e6, max_iter=1000)
        self.model_.fit(_logit(scores), labels)
        return self

    def transform(self, scores: FloatArray) -> FloatArray:
        """Calibrated probabilities: ``sigmoid(a * logit(score) + b)``.

        Computed directly from the fitted coefficients: the same numbers as the logistic
        regression's ``predict_proba``, without its per-call input checks (they cost more than
        the booster on a single-record request).
        """
        check_is_fitted(self, "model_")
        z = _logit(scores)[:, 0] * float(self.model_.coef_[0, 0]) + float(self.model_.intercept_[0])
        return np.asarray(1.0 / (1.0 + np.exp(-z)), dtype=np.float64)


class IsotonicCalibrator(BaseEstimator):  # type: ignore[misc]
    """Isotonic regression: any monotone shape; wants a few thousand calibration rows."""

    def fit(self, scores: FloatArray, y: Any) -> Self:
        """Fit a monotone step function of the score."""
        from sklearn.isotonic import IsotonicRegression

        labels = _check(scores, y, "isotonic")
        self.model_ = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
        self.model_.fit(np.asarray(scores, dtype=np.float64), labels)
        return self

    def transform(self, scores: FloatArray) -> FloatArray:
        """Calibrated probabilities."""
        check_is_fitted(self, "model_")
        # IsotonicRegression.predict is this interpolation (clipped at the ends), minus checks.
        values = np.interp(
            np.asarray(scores, dtype=np.float64),
            self.model_.X_thresholds_,
            self.model_.y_thresholds_,
        )
        clipped: FloatArray = np.clip(values, 0.0, 1.0)
        return clipped


def _logit(scores: FloatArray) -> FloatArray:
    p = np.clip(np.asarray(scores, dtype=np.float64), _EPS, 1 - _EPS)
    return np.log(p / (1 - p)).reshape(-1, 1)
