"""Feature transformers and imbalance handling, fitted on the training split only."""

from __future__ import annotations

from mlsys.features._imbalance import (
    ClassWeight,
    NoRebalance,
    Rebalanced,
    Rebalancer,
    Smote,
    SmoteNC,
    Undersample,
)
from mlsys.features._leakage import leakage_warnings, leaky_features
from mlsys.features._transformers import (
    MISSING,
    OTHER,
    CodedColumn,
    ColumnData,
    FeatureTransformer,
    NativeFeatures,
    TabularFeatures,
    categorical_columns,
)

__all__ = [
    "MISSING",
    "OTHER",
    "ClassWeight",
    "CodedColumn",
    "ColumnData",
    "FeatureTransformer",
    "NativeFeatures",
    "NoRebalance",
    "Rebalanced",
    "Rebalancer",
    "Smote",
    "SmoteNC",
    "TabularFeatures",
    "Undersample",
    "categorical_columns",
    "leakage_warnings",
    "leaky_features",
]
