"""Imbalance handling, applied to the transformed training split only, never at predict time.

Resamplers change which rows the model sees; class weights change how much each row counts.
Both leave validation, calibration and test rows untouched, so every reported metric is
measured on the data's real class balance.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Annotated, Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd
from pydantic import Field

from mlsys._params import Seed, check_instance
from mlsys.errors import ConfigError
from mlsys.features._transformers import categorical_columns

__all__ = [
    "ClassWeight",
    "NoRebalance",
    "Rebalanced",
    "Rebalancer",
    "Smote",
    "SmoteNC",
    "Undersample",
]

log = logging.getLogger(__name__)
FloatArray = np.ndarray[Any, np.dtype[np.float64]]
IntArray = np.ndarray[Any, np.dtype[Any]]
#: imbalanced-learn's ratio of positive to negative rows after resampling.
Ratio = Annotated[float, Field(gt=0, le=1)]


@dataclass(frozen=True)
class Rebalanced:
    """Training rows after rebalancing, with optional per-row weights."""

    X: pd.DataFrame
    y: IntArray
    sample_weight: FloatArray | None = None


@runtime_checkable
class Rebalancer(Protocol):
    """Rebalance the training split; called once, on training rows only."""

    def rebalance(self, X: pd.DataFrame, y: IntArray) -> Rebalanced:
        """Return the rows (and weights) the model is fitted on."""
        ...


def _log(name: str, before: IntArray, after: IntArray) -> None:
    log.info(
        "Imbalance <%s>: %d rows (%.1f%% positive) -> %d rows (%.1f%% positive)",
        name,
        len(before),
        100 * float(np.mean(before)),
        len(after),
        100 * float(np.mean(after)),
    )


class NoRebalance:
    """Fit on the training rows as they are (the default; calibration fixes the scale)."""

    def rebalance(self, X: pd.DataFrame, y: IntArray) -> Rebalanced:
        """Return the rows unchanged."""
        return Rebalanced(X, y)


class ClassWeight:
    """Weight rows so each class carries ``positive_weight`` times its natural share.

    Args:
        positive_weight: Weight of a positive row relative to a negative one;
            ``None`` means "balanced" (n_negative / n_positive).
    """

    def __init__(self, positive_weight: Annotated[float, Field(gt=0)] | None = None) -> None:
        self.positive_weight = positive_weight

    def rebalance(self, X: pd.DataFrame, y: IntArray) -> Rebalanced:
        """Keep the rows, attach weights."""
        check_instance(self, "imbalance")
        positives = max(int(np.sum(y)), 1)
        weight = self.positive_weight
        if weight is None:
            weight = (len(y) - positives) / positives
        sample_weight = np.where(y == 1, float(weight), 1.0).astype(np.float64)
        log.info("Imbalance <class_weight>: positive rows weigh %.2f", weight)
        return Rebalanced(X, y, sample_weight)


def _require_numeric(X: pd.DataFrame, option: str) -> None:
    categorical = categorical_columns(X)
    if categorical:
        raise ConfigError(
            f"imbalance={option} interpolates numeric rows but the features include categorical "
            f"columns {categorical[:5]}. Fix: use features=tabular with imbalance={option}, "
            "or imbalance=smotenc with features=native."
        )


class Smote:
    """SMOTE oversampling of the positive class (numeric features: use ``features=tabular``).

    Args:
        sampling_strategy: Desired positive/negative ratio after resampling.
        k_neighbors: Neighbours used to synthesise a row.
        seed: Seed of the sampler.
    """

    def __init__(
        self,
        sampling_strategy: Ratio = 0.5,
        k_neighbors: Annotated[int, Field(ge=1)] = 5,
        seed: Seed = 0,
    ) -> None:
        self.sampling_strategy = sampling_strategy
        self.k_neighbors = k_neighbors
        self.seed = seed

    def rebalance(self, X: pd.DataFrame, y: IntArray) -> Rebalanced:
        """Add synthetic positive rows."""
        from imblearn.over_sampling import SMOTE

        check_instance(self, "imbalance")
        _require_numeric(X, "smote")
        if X.isna().to_numpy().any():
            raise ConfigError("imbalance=smote needs imputed features. Fix: use features=tabular.")
        sampler = SMOTE(
            sampling_strategy=self.sampling_strategy,
            k_neighbors=self.k_neighbors,
            random_state=self.seed,
        )
        X_res, y_res = sampler.fit_resample(X, y)
        _log("smote", y, y_res)
        return Rebalanced(pd.DataFrame(X_res, columns=X.columns), np.asarray(y_res))


class SmoteNC(Smote):
    """SMOTE-NC: oversampling for mixed categorical and numeric rows (``features=native``).

    Neighbours are found on median-imputed numeric values; the original rows keep their
    missing values, only the synthetic rows are built from imputed neighbours. Parameters as
    :class:`Smote`'s.
    """

    def rebalance(self, X: pd.DataFrame, y: IntArray) -> Rebalanced:
        """Add synthetic positive rows, keeping categorical levels valid."""
        from imblearn.over_sampling import SMOTENC

        check_instance(self, "imbalance")
        categorical = categorical_columns(X)
        if not categorical:
            raise ConfigError(
                "imbalance=smotenc needs categorical columns, but the features are all numeric. "
                "Fix: use features=native with imbalance=smotenc, or imbalance=smote."
            )
        numeric = [c for c in X.columns if c not in categorical]
        filled = X.copy()
        filled[numeric] = filled[numeric].fillna(filled[numeric].median())
        sampler = SMOTENC(
            categorical_features=[X.columns.get_loc(c) for c in categorical],
            sampling_strategy=self.sampling_strategy,
            k_neighbors=self.k_neighbors,
            random_state=self.seed,
        )
        X_res, y_res = sampler.fit_resample(filled.astype(dict.fromkeys(categorical, object)), y)
        synthetic = pd.DataFrame(X_res, columns=X.columns).iloc[len(X) :]
        # imbalanced-learn appends synthetic rows after the originals, in order.
        combined = pd.concat([X, synthetic], ignore_index=True)
        for name in categorical:
            combined[name] = pd.Categorical(combined[name], categories=X[name].cat.categories)
        for name in numeric:
            combined[name] = combined[name].astype("float64")
        _log("smotenc", y, np.asarray(y_res))
        return Rebalanced(combined, np.asarray(y_res))


class Undersample:
    """Random undersampling of the negative class.

    Args:
        sampling_strategy: Desired positive/negative ratio after resampling.
        seed: Seed of the sampler.
    """

    def __init__(self, sampling_strategy: Ratio = 0.5, seed: Seed = 0) -> None:
        self.sampling_strategy = sampling_strategy
        self.seed = seed

    def rebalance(self, X: pd.DataFrame, y: IntArray) -> Rebalanced:
        """Drop negative rows at random."""
        from imblearn.under_sampling import RandomUnderSampler

        check_instance(self, "imbalance")
        sampler = RandomUnderSampler(
            sampling_strategy=self.sampling_strategy, random_state=self.seed
        )
        sampler.fit_resample(np.zeros((len(y), 1)), y)
        kept = np.sort(sampler.sample_indices_)
        _log("undersample", y, y[kept])
        return Rebalanced(X.iloc[kept].reset_index(drop=True), y[kept])
