"""Probability calibrators, fitted on the calibration split only."""

from __future__ import annotations

from mlsys.calibration._calibrators import (
    Calibrator,
    IsotonicCalibrator,
    NoCalibration,
    SigmoidCalibrator,
)

__all__ = ["Calibrator", "IsotonicCalibrator", "NoCalibration", "SigmoidCalibrator"]
