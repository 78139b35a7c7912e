"""Leakage screening: a feature that alone nearly separates the classes may leak the outcome.

Each feature is scored on its own against the label with ROC-AUC (a categorical column by each
level's positive rate, a numeric one by its value, missing values ranked lowest); a score at or
above the threshold (either direction) is reported. Beyond :data:`MAX_ROWS` rows the screen runs
on a seeded random sample of that many rows: an AUC on 200,000 rows has a standard error under
0.002, far inside the distance between an honest feature and a leaky one, and the screen then
costs the same at 1M or 5M rows as at 200k.

Example:
    >>> import numpy as np, pandas as pd
    >>> X = pd.DataFrame({"won_date_set": [0.0, 0.0, 1.0, 1.0], "calls": [1.0, 3.0, 2.0, 4.0]})
    >>> [name for name, _ in leaky_features(X, np.array([0, 0, 1, 1]), min_auc=0.95)]
    ['won_date_set']
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from mlsys.features._transformers import categorical_columns

__all__ = ["MAX_ROWS", "leakage_warnings", "leaky_features"]

log = logging.getLogger(__name__)

#: Rows the screen looks at, at most (a seeded sample of larger training splits).
MAX_ROWS = 200_000


def leaky_features(
    X: pd.DataFrame,
    y: np.ndarray[Any, Any],
    *,
    min_auc: float,
    max_rows: int = MAX_ROWS,
    seed: int = 0,
) -> list[tuple[str, float]]:
    """Features that alone separate the classes with ROC-AUC >= ``min_auc``, with that AUC.

    More than ``max_rows`` rows: the AUCs are those of ``max_rows`` rows drawn without
    replacement by ``numpy.random.default_rng(seed)`` (same rows and seed, same result).
    """
    if len(X) > max_rows:
        keep = np.sort(np.random.default_rng(seed).choice(len(X), size=max_rows, replace=False))
        X, y = X.iloc[keep], np.asarray(y)[keep]
    leaky = []
    categorical = set(categorical_columns(X))
    positives = np.asarray(y) == 1
    for name in X.columns:
        column = X[name]
        if name in categorical:
            auc = _level_auc(column, positives)
        else:
            numbers = column.to_numpy(dtype=np.float64)
            missing = np.isnan(numbers)
            floor = np.nanmin(numbers) - 1 if (~missing).any() else 0.0
            auc = _rank_auc(positives, np.where(missing, floor, numbers))
        auc = max(auc, 1 - auc)
        if auc >= min_auc:
            leaky.append((str(name), auc))
    return leaky


def leakage_warnings(
    X: pd.DataFrame,
    y: np.ndarray[Any, Any],
    *,
    min_auc: float,
    max_rows: int = MAX_ROWS,
    seed: int = 0,
) -> list[str]:
    """One logged warning per leaky feature of the training rows: what a person should read."""
    warnings = []
    rows = "" if len(X) <= max_rows else f" ({max_rows:,}-row sample)"
    for name, auc in leaky_features(X, y, min_auc=min_auc, max_rows=max_rows, seed=seed):
        warnings.append(
            f"LEAKAGE? Feature '{name}' alone separates converters on the training split{rows} "
            f"with ROC-AUC {auc:.3f}. If it is recorded after the outcome, add it to "
            "data.drop_columns."
        )
        log.warning("%s", warnings[-1])
    return warnings


def _rank_auc(y: np.ndarray[Any, Any], score: np.ndarray[Any, Any]) -> float:
    """ROC-AUC with ties counted half (the Mann-Whitney statistic), from one sort of the scores.

    About 10x cheaper than scikit-learn's validated ``roc_auc_score``, with the same value.
    """
    values, inverse = np.unique(score, return_inverse=True)
    return _tied_auc(np.bincount(inverse, weights=y == 1, minlength=len(values)), inverse)


def _level_auc(column: pd.Series, positives: np.ndarray[Any, Any]) -> float:
    """ROC-AUC of a categorical column scored by each level's positive rate (missing is a level).

    The exact value the rank formula gives on the target-mean-encoded column, computed on the
    levels instead of the rows: an id-like or outcome-like column scores near 1.0.
    """
    codes, _ = pd.factorize(column, use_na_sentinel=False)
    rows = np.bincount(codes)
    hits = np.bincount(codes, weights=positives, minlength=len(rows))
    rates, level_of_rate = np.unique(hits / rows, return_inverse=True)
    return _tied_auc(
        np.bincount(level_of_rate, weights=hits, minlength=len(rates)),
        level_of_rate,
        np.bincount(level_of_rate, weights=rows, minlength=len(rates)),
    )


def _tied_auc(
    positives: np.ndarray[Any, Any],
    group: np.ndarray[Any, Any],
    counts: np.ndarray[Any, Any] | None = None,
) -> float:
    """AUC from positives per distinct score (ascending); ``counts`` default to group sizes."""
    totals = np.bincount(group, minlength=len(positives)) if counts is None else counts
    negatives = totals - positives
    n_pos, n_neg = float(positives.sum()), float(negatives.sum())
    if n_pos == 0 or n_neg == 0:
        return 0.5
    below = np.cumsum(negatives) - negatives
    return float((positives * (below + 0.5 * negatives)).sum() / (n_pos * n_neg))
