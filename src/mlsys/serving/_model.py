"""The served model: loading (registry alias, version or bundle file), probing, fast scoring.

A request must not pay for pandas or pyfunc. For bundles with ``TabularFeatures`` the loader
compiles a scorer that builds the feature matrix with numpy (medians, indicators, scaling and
one-hot positions read from the fitted transformer) and calls the fitted estimator directly.
The compiled scorer is checked against the bundle's own ``predict_proba`` on probe rows at load
time; if they disagree, or the features are not tabular, the bundle's pandas path is used.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from mlsys.errors import BundleError, MlsysError, ModelError, TrackingError
from mlsys.files import file_sha256
from mlsys.models import ModelBundle, checksum_path, read_checksum

__all__ = ["LoadedModel", "ModelSource", "PathSource", "RegistrySource", "compile_scorer"]

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
    fast: bool = False
    scorer: Any = None
    bundle_sha256: str | None = None

    def score(self, columns: Columns) -> FloatArray:
        """Calibrated probabilities for validated column arrays."""
        raw = (
            self.scorer(columns) if self.scorer is not None else _slow_scores(self.bundle, columns)
        )
        return self.bundle.calibrator.transform(raw)

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
            "fast_path": self.fast,
        }


def _slow_scores(bundle: ModelBundle, columns: Columns) -> FloatArray:
    frame = pd.DataFrame({c: columns[c] for c in bundle.schema.columns})
    return bundle.raw_scores(frame)


def _known_levels(bundle: ModelBundle) -> dict[str, list[str]]:
    """Category levels the fitted features know, per categorical column."""
    features: Any = bundle.features
    if hasattr(features, "categories_"):  # NativeFeatures
        return {c: [str(v) for v in levels] for c, levels in features.categories_.items()}
    levels = getattr(features, "levels_", None)
    if isinstance(levels, dict):  # TabularFeatures
        pooled = getattr(features, "infrequent_levels_", {})
        return {c: [*kept, *pooled.get(c, [])] for c, kept in levels.items()}
    return {}


def _probe_columns(bundle: ModelBundle, n: int = 12) -> Columns:
    """Rows mixing known levels, unseen levels, missing values and typical numbers."""
    rng = np.random.default_rng(0)
    known = _known_levels(bundle)
    out: Columns = {}
    for column, kind in zip(bundle.schema.columns, bundle.schema.kinds, strict=True):
        if kind == "categorical":
            levels = known.get(column) or ["level"]
            values: list[Any] = ["__unseen__", None, *(levels[i % len(levels)] for i in range(n))]
            out[column] = np.array(values[:n], dtype=object)
        elif kind == "boolean":
            out[column] = np.array([0.0, 1.0, np.nan, *rng.integers(0, 2, n - 3)], dtype=float)
        else:
            out[column] = np.array([0.0, np.nan, *rng.normal(0, 10, n - 2)], dtype=float)
    return out


def compile_scorer(bundle: ModelBundle) -> Any:
    """A numpy scorer equivalent to ``bundle.raw_scores``, or ``None`` if not possible."""
    from mlsys.features import TabularFeatures

    if not isinstance(bundle.features, TabularFeatures):
        return None
    try:
        scorer = _TabularScorer(bundle)
    except (AttributeError, KeyError, ValueError, IndexError) as exc:
        log.info("Fast path unavailable (%s); using the bundle's pandas path", exc)
        return None
    return scorer


class _TabularScorer:
    """Numpy re-implementation of a fitted ``TabularFeatures`` + a direct estimator call."""

    def __init__(self, bundle: ModelBundle) -> None:
        features: Any = bundle.features
        self.numeric = list(features.numeric_)
        self.medians = np.asarray(features.medians_, dtype=np.float64)
        self.indicator_idx = np.asarray(features.indicator_features_, dtype=np.int64)
        self.mean = features.mean_
        self.scale = features.scale_
        self.categorical = list(features.categorical_)
        self.n_out = len(features.feature_names_out_)
        self.offsets = [_one_hot_positions(features, column) for column in self.categorical]
        self.predict = _matrix_predictor(getattr(bundle.model, "model_", bundle.model))

    def matrix(self, columns: Columns) -> FloatArray:
        """The transformed feature matrix, exactly as ``TabularFeatures.transform``."""
        n = len(next(iter(columns.values())))
        out = np.zeros((n, self.n_out), dtype=np.float64)
        if self.numeric:
            raw = np.column_stack([columns[c] for c in self.numeric]).astype(np.float64)
            missing = np.isnan(raw)
            filled = np.where(missing, self.medians, raw)
            block = filled
            if len(self.indicator_idx):
                block = np.hstack([filled, missing[:, self.indicator_idx].astype(np.float64)])
            if self.mean is not None and self.scale is not None:
                block = (block - self.mean) / self.scale
            out[:, : block.shape[1]] = block
        rows = np.arange(n)
        for column, mapping in zip(self.categorical, self.offsets, strict=True):
            values = columns[column]
            other = mapping[""]
            index = np.fromiter(
                (mapping.get("__missing__" if v is None else v, other) for v in values),
                dtype=np.int64,
                count=n,
            )
            hit = index >= 0
            out[rows[hit], index[hit]] = 1.0
        return out

    def __call__(self, columns: Columns) -> FloatArray:
        scores: FloatArray = self.predict(self.matrix(columns))
        return scores


def _one_hot_positions(features: Any, column: str) -> dict[Any, int]:
    """Level -> output column of one categorical column ('' -> unseen levels; -1: none)."""
    start = features.offsets_[column]
    levels = features.levels_[column]
    mapping: dict[Any, int] = {level: start + i for i, level in enumerate(levels)}
    mapping[""] = start + len(levels) if features.infrequent_levels_[column] else -1
    return mapping


def _matrix_predictor(estimator: Any) -> Any:
    """Positive-class probability from a plain float matrix, without feature-name checks.

    The estimators were fitted on DataFrames; a numpy matrix in the same column order is the
    same input, so the name check (and its warning) is dropped on a private copy.
    """
    import copy

    if type(estimator).__module__.startswith("xgboost"):
        booster = estimator.get_booster().copy()
        booster.feature_names = None
        booster.feature_types = None
        best = getattr(estimator, "best_iteration", None)
        rounds = (0, best + 1) if best is not None else (0, 0)

        def xgb(matrix: FloatArray) -> FloatArray:
            scores = booster.inplace_predict(matrix, iteration_range=rounds)
            return np.asarray(scores, dtype=np.float64)

        return xgb
    private = copy.deepcopy(estimator)
    if hasattr(private, "feature_names_in_"):
        del private.feature_names_in_

    def sk(matrix: FloatArray) -> FloatArray:
        return np.asarray(private.predict_proba(matrix)[:, 1], dtype=np.float64)

    return sk


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
    """Probe a bundle, compile its fast path, and wrap it; raise if it cannot score.

    The probe runs the whole path a request takes, calibrator included: a bundle whose
    calibrated probabilities are not finite numbers in [0, 1] is refused, not served as null.
    """
    probe = _probe_columns(bundle)
    n = len(next(iter(probe.values())))
    try:
        expected = _slow_scores(bundle, probe)
    except Exception as exc:
        raise ModelError(f"model failed its probe prediction: {exc}") from exc
    _require_probabilities(expected, n, "raw scores")
    scorer = compile_scorer(bundle)
    if scorer is not None:
        try:
            fast = scorer(probe)
            if not np.allclose(fast, expected, rtol=1e-6, atol=1e-9):
                log.warning("Fast path disagrees with the bundle on probe rows; using pandas path")
                scorer = None
        except Exception as exc:
            log.warning("Fast path failed on probe rows (%s); using pandas path", exc)
            scorer = None
    model = LoadedModel(bundle=bundle, fast=scorer is not None, scorer=scorer, **kwargs)
    try:
        probabilities = model.score(probe)
    except Exception as exc:
        raise ModelError(
            f"model failed its probe prediction: its calibrator failed: {exc}"
        ) from exc
    _require_probabilities(probabilities, n, "calibrated probabilities")
    return model


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
