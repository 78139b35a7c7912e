"""The model bundle: everything needed to score a lead, in one file.

A bundle holds the fitted feature transformer, the fitted model, the calibrator, the decision
threshold chosen on validation data, the input schema and the training metadata. Serving, batch
scoring and the registry all load this one file; nothing else about the training run is needed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd

from mlsys.calibration import Calibrator
from mlsys.data import FeatureSchema, coerce_features
from mlsys.errors import BundleError
from mlsys.features import FeatureTransformer
from mlsys.models._estimators import ConversionModel

__all__ = ["BUNDLE_FORMAT", "ModelBundle"]

BUNDLE_FORMAT = 1
FloatArray = np.ndarray[Any, np.dtype[np.float64]]


@dataclass
class ModelBundle:
    """A fitted, calibrated conversion model with its schema and threshold.

    Example:
        >>> bundle = ModelBundle.load("outputs/2026-11-26/10-00-00/model.joblib")  # doctest: +SKIP
        >>> bundle.predict_proba(leads_frame)  # doctest: +SKIP
    """

    features: FeatureTransformer
    model: ConversionModel
    calibrator: Calibrator
    threshold: float
    schema: FeatureSchema
    metadata: dict[str, Any] = field(default_factory=dict)

    def raw_scores(self, frame: pd.DataFrame) -> FloatArray:
        """Uncalibrated positive-class scores of the model."""
        features = self.features.transform(coerce_features(frame, self.schema))
        return np.asarray(self.model.predict_proba(features)[:, 1], dtype=np.float64)

    def predict_proba(self, frame: pd.DataFrame) -> FloatArray:
        """Calibrated conversion probability per row of ``frame`` (extra columns ignored)."""
        return self.calibrator.transform(self.raw_scores(frame))

    def decide(self, probabilities: FloatArray) -> np.ndarray[Any, np.dtype[np.int64]]:
        """1 where the probability reaches the decision threshold."""
        return (np.asarray(probabilities) >= self.threshold).astype(np.int64)

    def predict(self, frame: pd.DataFrame) -> np.ndarray[Any, np.dtype[np.int64]]:
        """Decisions at the bundle's threshold."""
        return self.decide(self.predict_proba(frame))

    def save(self, path: str | Path) -> Path:
        """Write the bundle to one file (joblib, compressed)."""
        target = Path(path)
        payload = {"format": BUNDLE_FORMAT, "bundle": self}
        joblib.dump(payload, target, compress=3)
        return target

    @classmethod
    def load(cls, path: str | Path) -> ModelBundle:
        """Read a bundle written by :meth:`save`, failing clearly when it is not one.

        Only load bundles from a source you trust: like every pickle-based format, loading
        runs code from the file. mlsys only loads from the configured registry or path.
        """
        source = Path(path)
        if not source.is_file():
            raise BundleError(
                f"model bundle '{source}' not found. Fix: pass the model.joblib of a training "
                "run (outputs/<date>/<time>/model.joblib)."
            )
        try:
            payload = joblib.load(source)
        except (ModuleNotFoundError, AttributeError) as exc:
            raise BundleError(
                f"model bundle '{source}' needs code this installation lacks ({exc}). "
                "Fix: install the mlsys version (and uv.lock) it was trained with."
            ) from exc
        except Exception as exc:
            # Decoding arbitrary bytes fails in many ways: pickle.UnpicklingError, EOFError,
            # zlib.error (bytes that look compressed), struct.error (a truncated pickle), ...
            raise BundleError(
                f"model bundle '{source}' is corrupt or not a joblib file ({exc!r}). "
                "Fix: re-train, or restore the file from the run's artifacts."
            ) from exc
        if not isinstance(payload, dict) or not isinstance(payload.get("bundle"), cls):
            raise BundleError(f"'{source}' is a joblib file but not an mlsys model bundle.")
        if payload.get("format") != BUNDLE_FORMAT:
            raise BundleError(
                f"model bundle '{source}' has format {payload.get('format')}, this mlsys reads "
                f"format {BUNDLE_FORMAT}. Fix: re-train with this version."
            )
        bundle: ModelBundle = payload["bundle"]
        return bundle
