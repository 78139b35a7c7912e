"""The leakage screen: one feature's ROC-AUC against the label, on levels or ranks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlsys.features import leakage_warnings, leaky_features

pytestmark = pytest.mark.unit


def test_a_feature_equal_to_the_label_is_reported_once_with_its_fix() -> None:
    y = np.array([0, 1] * 50)
    X = pd.DataFrame({"won": y.astype(float), "noise": np.arange(100.0) % 7})
    assert leaky_features(X, y, min_auc=0.95) == [("won", 1.0)]
    (warning,) = leakage_warnings(X, y, min_auc=0.95)
    assert "Feature 'won'" in warning
    assert "data.drop_columns" in warning


def test_rank_auc_matches_scikit_learn() -> None:
    from sklearn.metrics import roc_auc_score

    from mlsys.features._leakage import _rank_auc

    rng = np.random.default_rng(3)
    for _ in range(20):
        y = rng.integers(0, 2, 500)
        score = np.round(rng.normal(size=500) + 0.7 * y, 1)  # rounded: many ties
        assert _rank_auc(y, score) == pytest.approx(roc_auc_score(y, score), abs=1e-12)


def test_level_auc_equals_the_auc_of_the_target_mean_encoded_column() -> None:
    from sklearn.metrics import roc_auc_score

    from mlsys.features._leakage import _level_auc

    rng = np.random.default_rng(5)
    for _ in range(20):
        levels = rng.choice(["a", "b", "c", "d", None], size=400)
        y = (rng.random(400) < np.where(levels == "a", 0.6, 0.2)).astype(int)
        column = pd.Series(levels, dtype="str")
        filled = column.fillna("__missing__")
        encoded = filled.map(pd.Series(y).groupby(filled).mean()).to_numpy(dtype=float)
        expected = roc_auc_score(y, encoded)
        assert _level_auc(column, y == 1) == pytest.approx(expected, abs=1e-12)


def test_single_feature_auc_is_one_half_when_only_one_class_is_present() -> None:
    from mlsys.features._leakage import _level_auc, _rank_auc

    assert _rank_auc(np.ones(5, dtype=int), np.arange(5.0)) == 0.5
    assert _level_auc(pd.Series(list("abcab")), np.zeros(5, dtype=bool)) == 0.5


def test_a_large_training_split_is_screened_on_a_seeded_sample() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 3_000)
    X = pd.DataFrame({"won": y.astype(float), "noise": rng.normal(size=3_000)})
    X.loc[:999, "won"] = 0.0  # leaks on two thirds of the rows only: the sample's AUC differs

    full = leaky_features(X, y, min_auc=0.5, max_rows=3_000)
    sampled = leaky_features(X, y, min_auc=0.5, max_rows=1_000, seed=1)

    assert sampled == leaky_features(X, y, min_auc=0.5, max_rows=1_000, seed=1)  # seeded
    assert dict(sampled)["won"] != dict(full)["won"]
    assert abs(dict(sampled)["won"] - dict(full)["won"]) < 0.05
    (warning, *_) = leakage_warnings(X, y, min_auc=0.8, max_rows=1_000)
    assert "on the training split (1,000-row sample)" in warning
