"""Fitted bundles and a PNG reader shared by the evaluation tests."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlsys.calibration import NoCalibration
from mlsys.data import Dataset, FrameSource
from mlsys.features import NativeFeatures, TabularFeatures
from mlsys.models import (
    CatBoostModel,
    HistGradientBoostingModel,
    LogisticRegressionModel,
    ModelBundle,
    RandomForestModel,
    XGBoostModel,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from the IHDR chunk, after checking the file is a whole PNG."""
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, f"{path.name} is not a PNG"
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR"
    assert length == 13
    width, height = struct.unpack(">II", data[16:24])
    assert data.endswith(b"IEND\xaeB`\x82"), "truncated PNG"
    return width, height


def signal_dataset(n: int = 600) -> Dataset:
    """Rows where only ``signal`` (and a little ``channel``) drives conversion."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "signal": rng.normal(size=n),
            "noise": rng.normal(size=n),
            "channel": rng.choice(["web", "event", "partner"], size=n),
        }
    )
    logit = -1.5 + 2.0 * frame["signal"] + 0.4 * (frame["channel"] == "web")
    frame["converted"] = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    frame.loc[rng.choice(n, 30, replace=False), "noise"] = np.nan  # adds an indicator column
    return FrameSource(frame, target="converted", name="signal").load()


def fit_bundle(data: Dataset, model: Any, features: Any) -> ModelBundle:
    """A bundle of ``model`` fitted on every row (no calibration, threshold 0.5)."""
    X, y = data.features, data.target
    features.fit(X, y)
    model.fit(features.transform(X), y)
    return ModelBundle(
        features=features,
        model=model,
        calibrator=NoCalibration().fit(np.zeros(2), np.array([0, 1])),
        threshold=0.5,
        schema=data.schema,
    )


#: Small, single-threaded versions of every model, each with the features it is used with.
MODELS: dict[str, tuple[Any, Any]] = {
    "xgboost": (lambda: XGBoostModel(n_estimators=40, max_depth=3, n_jobs=1), TabularFeatures),
    "catboost": (lambda: CatBoostModel(iterations=40, depth=3, thread_count=1), NativeFeatures),
    "random_forest": (lambda: RandomForestModel(n_estimators=20, max_depth=4), TabularFeatures),
    "logreg": (LogisticRegressionModel, TabularFeatures),
    "hist_gb": (lambda: HistGradientBoostingModel(max_iter=30), NativeFeatures),
}
