"""The model bundle: everything needed to score a lead, in one file.

A bundle holds the fitted feature transformer, the fitted model, the calibrator, the decision
threshold chosen on validation data, the input schema, the training metadata and the training
profile (the model's data expectations, :class:`mlsys.monitoring.DataProfile`). Serving, batch
scoring and the registry all load this one file; nothing else about the training run is needed.
:meth:`ModelBundle.score` is the one way a bundle scores rows: training's evaluation,
``ml-predict``, ``ml-evaluate``, the server and the MLflow pyfunc all call it.

Beside it, :meth:`ModelBundle.save` writes ``<file>.sha256`` (the ``sha256sum`` format, so
``sha256sum -c model.joblib.sha256`` checks it too). :meth:`ModelBundle.load` verifies the file
against it *before* unpickling: a bundle is a pickle, and a changed one would run whatever it
now contains.
"""

from __future__ import annotations

import hashlib
import io
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import joblib
import numpy as np
import pandas as pd

from mlsys.calibration import Calibrator
from mlsys.data import FeatureSchema, coerce_features
from mlsys.errors import BundleError
from mlsys.features import FeatureTransformer
from mlsys.files import atomic_path, file_sha256, write_text
from mlsys.models._estimators import ConversionModel

if TYPE_CHECKING:
    from mlsys.monitoring import DataProfile

__all__ = ["BUNDLE_FORMAT", "ModelBundle", "checksum_path", "read_checksum"]

log = logging.getLogger(__name__)

#: 2: the fitted objects own their scoring (``transform_columns``, ``predict_matrix``).
BUNDLE_FORMAT = 2
FloatArray = np.ndarray[Any, np.dtype[np.float64]]


@dataclass
class ModelBundle:
    """A fitted, calibrated conversion model with its schema and threshold.

    ``profile`` is what the training split looked like (``None`` in bundles written before
    profiles existed: they load, with a warning, and drift cannot be checked against them).

    Example:
        >>> bundle = ModelBundle.load("outputs/2026-11-26/10-00-00/model.joblib")  # doctest: +SKIP
        >>> bundle.score(leads_frame)  # doctest: +SKIP
        array([0.0412, 0.1873, ...])
    """

    features: FeatureTransformer
    model: ConversionModel
    calibrator: Calibrator
    threshold: float
    schema: FeatureSchema
    metadata: dict[str, Any] = field(default_factory=dict)
    profile: DataProfile | None = None

    def score(
        self, rows: pd.DataFrame | Mapping[str, Any], *, calibrated: bool = True
    ) -> FloatArray:
        """Conversion probability per row: the one scoring path of every caller.

        Args:
            rows: A frame of raw values (coerced to the schema's types first; extra columns
                are ignored), or validated column arrays as the server and batch scoring hold
                them (see :data:`mlsys.features.ColumnData`), used as they are.
            calibrated: ``False`` gives the model's uncalibrated scores (what the calibrator
                is fitted on).
        """
        if isinstance(rows, pd.DataFrame):
            rows = coerce_features(rows, self.schema)
        if _empty(rows, self.schema.columns):  # scikit-learn refuses zero-row input
            return np.zeros(0, dtype=np.float64)
        raw = self.model.predict_matrix(self.features.transform_columns(rows))
        if not calibrated:
            return raw
        return np.asarray(self.calibrator.transform(raw), dtype=np.float64)

    def predict_proba(self, frame: pd.DataFrame) -> FloatArray:
        """Calibrated conversion probability per row of ``frame``: :meth:`score`'s frame form."""
        return self.score(frame)

    def decide(self, probabilities: FloatArray) -> np.ndarray[Any, np.dtype[np.int64]]:
        """1 where the probability reaches the decision threshold."""
        return (np.asarray(probabilities) >= self.threshold).astype(np.int64)

    def predict(self, frame: pd.DataFrame) -> np.ndarray[Any, np.dtype[np.int64]]:
        """Decisions at the bundle's threshold."""
        return self.decide(self.predict_proba(frame))

    def save(self, path: str | Path) -> Path:
        """Write the bundle to one file (joblib, compressed) and its ``.sha256`` beside it."""
        target = Path(path)
        payload = {"format": BUNDLE_FORMAT, "bundle": self}
        with atomic_path(target) as tmp:
            joblib.dump(payload, tmp, compress=3)
        write_text(checksum_path(target), f"{file_sha256(target)}  {target.name}\n")
        return target

    @classmethod
    def load(cls, path: str | Path, sha256: str | None = None) -> ModelBundle:
        """Read a bundle written by :meth:`save`, failing clearly when it is not one.

        The file is checked against ``sha256`` when given, else against its ``.sha256`` file
        when there is one (bundles from before checksums have none), before it is unpickled.
        Only load bundles from a source you trust: like every pickle-based format, loading
        runs code from the file. mlsys only loads from the configured registry or path.
        """
        source = Path(path)
        if not source.is_file():
            raise BundleError(
                f"model bundle '{source}' not found. Fix: pass the model.joblib of a training "
                "run (outputs/<date>/<time>/model.joblib)."
            )
        data = source.read_bytes()  # checked and unpickled from the same bytes
        _verify(source, data, sha256)
        try:
            payload = joblib.load(io.BytesIO(data))
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
                f"format {BUNDLE_FORMAT}. Fix: re-train it with this version "
                "(python -m mlsys.train, with the run's config), or score it with the mlsys "
                "version it was trained with."
            )
        bundle: ModelBundle = payload["bundle"]
        if bundle.profile is None:  # older bundles unpickle to the class default
            log.warning(
                "model bundle '%s' carries no training profile: its inputs cannot be checked "
                "for drift. Fix: re-train with this mlsys version to store one.",
                source,
            )
        return bundle


def _empty(rows: pd.DataFrame | Mapping[str, Any], columns: tuple[str, ...]) -> bool:
    if isinstance(rows, pd.DataFrame):
        return len(rows) == 0
    first = rows.get(columns[0]) if columns else None
    if first is None:
        return False  # the transform names what is missing
    return (len(first) if hasattr(first, "__len__") else len(first.codes)) == 0


def checksum_path(bundle: Path) -> Path:
    """The checksum file of a bundle file: ``model.joblib`` -> ``model.joblib.sha256``."""
    return bundle.with_name(f"{bundle.name}.sha256")


def read_checksum(path: Path) -> str:
    """The hex digest in a ``.sha256`` file (``sha256sum`` format); BundleError if damaged."""
    fields = path.read_text(errors="replace").split()
    digest = fields[0].lower() if fields else ""
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise BundleError(
            f"model bundle checksum file '{path}' is damaged. Fix: restore it and the bundle "
            "from the run's artifacts, or re-train."
        )
    return digest


def _verify(source: Path, data: bytes, expected: str | None) -> None:
    """Fail unless ``data`` (read from ``source``) has the expected digest.

    The digest is ``expected`` when given, else the one in the checksum file beside
    ``source``. Without either the bundle loads unchecked, with a warning.
    """
    if expected is None:
        recorded = checksum_path(source)
        if not recorded.is_file():
            log.warning(
                "model bundle '%s' has no %s beside it: loaded without an integrity check.",
                source,
                recorded.name,
            )
            return
        expected = read_checksum(recorded)
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected.lower():
        raise BundleError(
            f"model bundle '{source}' does not match its recorded sha256 (file {actual[:12]}..., "
            f"recorded {expected[:12]}...): it changed after training, so it was not loaded (a "
            "bundle is a pickle and would run whatever it now contains). Fix: restore it from "
            "the run's artifacts, or re-train."
        )
