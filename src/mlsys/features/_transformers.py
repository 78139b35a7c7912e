"""Feature transformers: fitted on the training split only, applied unchanged everywhere else."""

from __future__ import annotations

from typing import Any, Protocol, Self, runtime_checkable

import numpy as np
import pandas as pd
from pandas.api import types as ptypes
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.utils.validation import check_is_fitted

from mlsys.errors import SchemaError

__all__ = [
    "MISSING",
    "OTHER",
    "FeatureTransformer",
    "NativeFeatures",
    "TabularFeatures",
    "categorical_columns",
]

MISSING = "__missing__"
OTHER = "__other__"


@runtime_checkable
class FeatureTransformer(Protocol):
    """Learns its statistics in ``fit`` (training rows only) and applies them in ``transform``."""

    def fit(self, X: pd.DataFrame, y: Any = None) -> Self:
        """Learn statistics from training rows."""
        ...

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        """Apply the learned statistics."""
        ...


def categorical_columns(X: pd.DataFrame) -> list[str]:
    """Columns holding strings or categories (everything else is numeric after loading)."""
    return [
        str(c)
        for c in X.columns
        if ptypes.is_string_dtype(X[c])
        or isinstance(X[c].dtype, pd.CategoricalDtype)
        or ptypes.is_object_dtype(X[c])
    ]


def _check_columns(fitted: list[str], X: pd.DataFrame) -> None:
    missing = [c for c in fitted if c not in X.columns]
    if missing:
        raise SchemaError(
            f"features: input lacks column(s) {missing} seen in training. "
            "Fix: pass every feature column of the model's schema."
        )


class TabularFeatures(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Impute, one-hot encode and scale: a dense numeric matrix any model can use.

    Numeric columns get median imputation (plus a missing-indicator column where training had
    missing values) and standard scaling. Categorical columns get a ``__missing__`` level, a
    one-hot encoding in which rare levels (below ``min_frequency``) are pooled into one
    "infrequent" column, and levels never seen in training map to that same column.

    Args:
        min_frequency: Levels rarer than this count (int) or share (float) are pooled.
        max_categories: Upper bound on one-hot columns per feature (tames high cardinality).
        scale: Standard-scale numeric columns (needed by logistic regression).
        add_indicator: Add "was missing" indicator columns for numeric features.
    """

    def __init__(
        self,
        min_frequency: float = 20,
        max_categories: int | None = 30,
        scale: bool = True,
        add_indicator: bool = True,
    ) -> None:
        self.min_frequency = min_frequency
        self.max_categories = max_categories
        self.scale = scale
        self.add_indicator = add_indicator

    def fit(self, X: pd.DataFrame, y: Any = None) -> Self:
        """Learn medians, levels and scales from the training rows."""
        self.categorical_ = categorical_columns(X)
        self.numeric_ = [str(c) for c in X.columns if str(c) not in self.categorical_]
        self.columns_ = [str(c) for c in X.columns]
        min_frequency = self.min_frequency
        if isinstance(min_frequency, float) and min_frequency.is_integer() and min_frequency >= 1:
            min_frequency = int(min_frequency)
        numeric_steps: list[tuple[str, Any]] = [
            ("impute", SimpleImputer(strategy="median", add_indicator=self.add_indicator))
        ]
        if self.scale:
            numeric_steps.append(("scale", StandardScaler()))
        categorical_steps: list[tuple[str, Any]] = [
            ("impute", SimpleImputer(strategy="constant", fill_value=MISSING)),
            (
                "onehot",
                OneHotEncoder(
                    handle_unknown="infrequent_if_exist",
                    min_frequency=min_frequency,
                    max_categories=self.max_categories,
                    sparse_output=False,
                    dtype=np.float64,
                ),
            ),
        ]
        self.transformer_ = ColumnTransformer(
            [
                ("num", Pipeline(numeric_steps), self.numeric_),
                ("cat", Pipeline(categorical_steps), self.categorical_),
            ],
            verbose_feature_names_out=True,
        )
        self.transformer_.fit(self._as_object(X))
        self.feature_names_out_ = [str(n) for n in self.transformer_.get_feature_names_out()]
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        """A float64 frame with one column per output feature."""
        check_is_fitted(self, "transformer_")
        _check_columns(self.columns_, X)
        values = self.transformer_.transform(self._as_object(X[self.columns_]))
        return pd.DataFrame(values, columns=self.feature_names_out_, index=X.index)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray[Any, Any]:
        """Names of the output columns."""
        check_is_fitted(self, "transformer_")
        return np.asarray(self.feature_names_out_, dtype=object)

    def _as_object(self, X: pd.DataFrame) -> pd.DataFrame:
        # scikit-learn's imputer wants object arrays with np.nan for strings.
        out = X.copy()
        for name in getattr(self, "categorical_", []):
            column = out[name]
            out[name] = column.astype(object).where(column.notna(), np.nan)
        return out


class NativeFeatures(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Keep categoricals as categories for models that split on them natively.

    Levels are fixed at fit time from the training rows: the ``max_categories - 2`` most
    frequent keep their own level, the rest (and anything unseen later) become ``__other__``,
    and missing becomes ``__missing__``. Numeric columns pass through with missing values kept,
    for CatBoost, XGBoost and HistGradientBoosting to handle as they were built to.

    Args:
        max_categories: Levels per column, including ``__other__`` and ``__missing__``;
            HistGradientBoosting accepts at most 255.
        min_frequency: Levels seen fewer times than this in training become ``__other__``.
    """

    def __init__(self, max_categories: int = 64, min_frequency: int = 5) -> None:
        self.max_categories = max_categories
        self.min_frequency = min_frequency

    def fit(self, X: pd.DataFrame, y: Any = None) -> Self:
        """Learn each categorical column's kept levels from the training rows."""
        if self.max_categories < 3:
            raise SchemaError(
                "features.max_categories must be >= 3 (room for __other__/__missing__)"
            )
        self.columns_ = [str(c) for c in X.columns]
        self.categorical_ = categorical_columns(X)
        self.categories_: dict[str, list[str]] = {}
        for name in self.categorical_:
            counts = X[name].dropna().astype(str).value_counts()
            frequent = {str(k): int(v) for k, v in counts.items() if v >= self.min_frequency}
            # Sort by count, then by level, so ties never depend on row order.
            ranked = sorted(frequent.items(), key=lambda kv: (-kv[1], kv[0]))
            kept = sorted(level for level, _ in ranked[: self.max_categories - 2])
            self.categories_[name] = [*kept, OTHER, MISSING]
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        """Numeric columns as float64, categoricals as fixed-level ``category`` columns."""
        check_is_fitted(self, "categories_")
        _check_columns(self.columns_, X)
        out = X.loc[:, self.columns_].copy()
        for name in self.columns_:
            if name in self.categories_:
                levels = self.categories_[name]
                known = set(levels)
                text = out[name].astype(object)
                mapped = [
                    MISSING if pd.isna(v) else (s if (s := str(v)) in known else OTHER)
                    for v in text
                ]
                out[name] = pd.Categorical(mapped, categories=levels)
            else:
                out[name] = pd.to_numeric(out[name], errors="coerce").astype("float64")
        return out

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray[Any, Any]:
        """Names of the output columns (same as the input)."""
        check_is_fitted(self, "categories_")
        return np.asarray(self.columns_, dtype=object)
