"""Conversion models behind one protocol, and the bundle that ships a fitted model."""

from __future__ import annotations

from mlsys.models._bundle import BUNDLE_FORMAT, ModelBundle, checksum_path, read_checksum
from mlsys.models._estimators import (
    CatBoostModel,
    ConversionModel,
    HistGradientBoostingModel,
    LogisticRegressionModel,
    RandomForestModel,
    XGBoostModel,
)

__all__ = [
    "BUNDLE_FORMAT",
    "CatBoostModel",
    "ConversionModel",
    "HistGradientBoostingModel",
    "LogisticRegressionModel",
    "ModelBundle",
    "RandomForestModel",
    "XGBoostModel",
    "checksum_path",
    "read_checksum",
]
