"""The served model: loading (registry alias, version or bundle file) and a probe before use.

Requests are scored by :meth:`mlsys.models.ModelBundle.score` on the validated column arrays
(no pandas frame for ``features=tabular``): the same path as training, batch scoring and the
MLflow pyfunc. Before a bundle is served, it scores a few probe rows, calibrator included.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from mlsys.errors import BundleError, MlsysError, ModelError, TrackingError
from mlsys.files import file_sha256
from mlsys.models import ModelBundle, checksum_path, read_checksum

__all__ = ["LoadedModel", "ModelSource", "PathSource", "RegistrySource"]

log = logging.getLogger(__name__)
Columns = dict[str, np.ndarray[Any, Any]]
FloatArray = np.ndarray[Any, np.dtype[np.float64]]


@dataclass(frozen=True)
class LoadedModel:
    """A bundle ready to serve, with where it came from."""

    bundle: ModelBundle
    name: str
    version: str
    alias: str | None
    run_id: str | None
    source: str
    loaded_at: float = field(default_factory=time.time)
    bundle_sha256: str | None = None

    def info(self) -> dict[str, Any]:
        """What ``GET /model/info`` returns."""
        meta = self.bundle.metadata
        return {
            "name": self.name,
            "version": self.version,
            "alias": self.alias,
            "run_id": self.run_id,
            "source": self.source,
            "bundle_sha256": self.bundle_sha256,
            "model": meta.get("model"),
            "trained_at": meta.get("trained_at"),
            "metrics": meta.get("metrics", {}),
            "training_data_sha256": meta.get("data", {}).get("sha256"),
            "target": meta.get("data", {}).get("target"),
            "feature_schema": self.bundle.schema.to_dict(),
            "threshold": self.bundle.threshold,
        }


def _probe_columns(bundle: ModelBundle, n: int = 12) -> Columns:
    """Rows mixing unseen levels, missing values and typical numbers."""
    rng = np.random.default_rng(0)
    out: Columns = {}
    for column, kind in zip(bundle.schema.columns, bundle.schema.kinds, strict=True):
        if kind == "categorical":
            out[column] = np.array([("__unseen__", None)[i % 2] for i in range(n)], dtype=object)
        elif kind == "boolean":
            out[column] = np.array([0.0, 1.0, np.nan, *rng.integers(0, 2, n - 3)], dtype=float)
        else:
            out[column] = np.array([0.0, np.nan, *rng.normal(0, 10, n - 2)], dtype=float)
    return out


class ModelSource(Protocol):
    """Where the server loads models from; nothing else is ever loaded."""

    def load(self, version: str | None = None) -> LoadedModel:
        """Load the current model (or a named version) and probe it."""
        ...

    def current_version(self) -> str | None:
        """The version the source points at now (for polling), if it has versions."""
        ...


def _require_probabilities(values: FloatArray, n: int, what: str) -> None:
    """Raise ModelError unless ``values`` are ``n`` finite numbers in [0, 1]."""
    values = np.asarray(values, dtype=np.float64)
    bad = values.shape != (n,) or not np.all(np.isfinite(values))
    if bad or values.min() < 0 or values.max() > 1:
        shown = np.array2string(values.ravel()[:4], precision=3)
        raise ModelError(
            f"model failed its probe prediction: its {what} are not probabilities in [0, 1] "
            f"(got {shown} for {n} probe rows), so it was not served. Fix: re-train, or check "
            "the bundle's model and calibrator."
        )


def _ready(bundle: ModelBundle, **kwargs: Any) -> LoadedModel:
    """Probe a bundle and wrap it; raise if it cannot score.

    The probe runs the whole path a request takes, calibrator included: a bundle whose
    probabilities are not finite numbers in [0, 1] is refused, not served as null.
    """
    probe = _probe_columns(bundle)
    n = len(next(iter(probe.values())))
    try:
        raw = bundle.score(probe, calibrated=False)
    except Exception as exc:
        raise ModelError(f"model failed its probe prediction: {exc}") from exc
    _require_probabilities(raw, n, "raw scores")
    try:
        probabilities = bundle.score(probe)
    except Exception as exc:
        raise ModelError(
            f"model failed its probe prediction: its calibrator failed: {exc}"
        ) from exc
    _require_probabilities(probabilities, n, "calibrated probabilities")
    return LoadedModel(bundle=bundle, **kwargs)


class PathSource:
    """A bundle file (``model.joblib``): serving without MLflow."""

    def __init__(self, path: str | Path, name: str = "conversion") -> None:
        self.path = Path(path)
        self.name = name

    def load(self, version: str | None = None) -> LoadedModel:
        """Load the file (a named version is not supported for files).

        Its version is ``file:<name>@<first 12 hex of its sha256>``, so two bundles at the same
        path (before and after a reload) tell apart; ``/model/info`` has the whole digest.
        """
        if version is not None:
            raise BundleError("model.path serving has no versions; reload without a version.")
        recorded = checksum_path(self.path)
        if recorded.is_file():
            # Loaded against this digest, so the digest reported is the one of what was loaded.
            digest = read_checksum(recorded)
            bundle = ModelBundle.load(self.path, sha256=digest)
        else:
            bundle = ModelBundle.load(self.path)  # warns: no checksum file to check against
            digest = file_sha256(self.path)
        return _ready(
            bundle,
            name=self.name,
            version=f"file:{self.path.name}@{digest[:12]}",
            alias=None,
            run_id=None,
            source=str(self.path),
            bundle_sha256=digest,
        )

    def current_version(self) -> str | None:
        """Files have no versions to poll."""
        return None


class RegistrySource:
    """The MLflow registry: an alias (``champion``) or an explicit version."""

    def __init__(self, name: str, alias: str = "champion", uri: str | None = None) -> None:
        from mlsys.registry import MlflowRegistry

        self.registry = MlflowRegistry(name=name, uri=uri)
        self.name = name
        self.alias = alias

    def current_version(self) -> str | None:
        """The version the alias points at."""
        return self.registry.get_alias(self.alias)

    def load(self, version: str | None = None) -> LoadedModel:
        """Load the alias's version (or the named one) from the registry."""
        try:
            return self._load(version)
        except MlsysError:
            raise
        except Exception as exc:
            # An MLflow or network error (an artifact gone from the store, a server down) is a
            # failed load like any other: the caller keeps serving what it has.
            raise TrackingError(
                f"model '{self.name}' version {version or self.alias} could not be loaded from "
                f"the registry ({type(exc).__name__}: {exc}). Fix: check that the store and its "
                "artifacts are reachable (python -m mlsys.registry list), or serve another version."
            ) from exc

    def _load(self, version: str | None) -> LoadedModel:
        target = version or self.current_version()
        if target is None:
            raise TrackingError(
                f"no '{self.alias}' registered for model '{self.name}' yet. Fix: train one "
                "(python -m mlsys.train), or promote a version (python -m mlsys.registry promote)."
            )
        info = next((v for v in self.registry.versions() if v.version == target), None)
        if info is None:
            raise TrackingError(f"model '{self.name}' has no version {target}.")
        bundle = self.registry.load_bundle(target)
        return _ready(
            bundle,
            name=self.name,
            version=target,
            alias=self.alias if version is None else None,
            run_id=info.run_id,
            source=f"models:/{self.name}/{target}",
        )
