"""Rebalancers: keep the real rows, add or drop only what they promise, reproducibly."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from mlsys.data import Dataset
from mlsys.errors import ConfigError
from mlsys.features import (
    MISSING,
    OTHER,
    ClassWeight,
    NativeFeatures,
    NoRebalance,
    Rebalancer,
    Smote,
    SmoteNC,
    TabularFeatures,
    Undersample,
)

pytestmark = pytest.mark.unit

Rows = tuple[pd.DataFrame, np.ndarray[Any, Any]]


@pytest.fixture(scope="module")
def tabular(leads: Dataset) -> Rows:
    return TabularFeatures().fit(leads.features).transform(leads.features), leads.target


@pytest.fixture(scope="module")
def native(leads: Dataset) -> Rows:
    return NativeFeatures().fit(leads.features).transform(leads.features), leads.target


def _ratio(y: np.ndarray[Any, Any]) -> float:
    return float((y == 1).sum() / (y == 0).sum())


@pytest.mark.parametrize(
    "rebalancer",
    [NoRebalance(), ClassWeight(), Smote(), SmoteNC(), Undersample()],
    ids=lambda r: type(r).__name__,
)
def test_every_rebalancer_satisfies_the_protocol(rebalancer: Rebalancer) -> None:
    assert isinstance(rebalancer, Rebalancer)


def test_no_rebalance_is_the_identity(native: Rows) -> None:
    X, y = native

    out = NoRebalance().rebalance(X, y)

    assert out.X is X
    assert out.y is y
    assert out.sample_weight is None


def test_class_weight_balances_by_default(native: Rows) -> None:
    X, y = native

    out = ClassWeight().rebalance(X, y)

    assert out.X is X
    assert out.sample_weight is not None
    balanced = (y == 0).sum() / (y == 1).sum()
    np.testing.assert_allclose(out.sample_weight[y == 1], balanced)
    np.testing.assert_array_equal(out.sample_weight[y == 0], 1.0)
    # Each class now carries the same total weight.
    assert out.sample_weight[y == 1].sum() == pytest.approx(out.sample_weight[y == 0].sum())


def test_class_weight_uses_an_explicit_weight(native: Rows) -> None:
    X, y = native

    out = ClassWeight(positive_weight=3.0).rebalance(X, y)

    assert out.sample_weight is not None
    assert set(np.unique(out.sample_weight[y == 1])) == {3.0}
    assert out.sample_weight.dtype == np.float64


def test_class_weight_rejects_non_positive_weight(native: Rows) -> None:
    with pytest.raises(ConfigError, match=r"imbalance\.positive_weight: got 0\.0 \(float\)"):
        ClassWeight(positive_weight=0.0).rebalance(*native)


def _assert_originals_first(X: pd.DataFrame, y: Any, out_X: pd.DataFrame, out_y: Any) -> None:
    n = len(X)
    pd.testing.assert_frame_equal(out_X.iloc[:n], X.reset_index(drop=True))
    np.testing.assert_array_equal(out_y[:n], y)
    assert (np.asarray(out_y[n:]) == 1).all(), "only positives are synthesised"


def test_smote_adds_positives_up_to_the_ratio(tabular: Rows) -> None:
    X, y = tabular
    assert _ratio(y) < 0.2

    out = Smote(sampling_strategy=0.5, seed=0).rebalance(X, y)

    assert _ratio(out.y) == pytest.approx(0.5, abs=0.005)
    assert (out.y == 0).sum() == (y == 0).sum()
    _assert_originals_first(X, y, out.X, out.y)
    synthetic = out.X.iloc[len(X) :]
    positives = X[y == 1]
    # Interpolated rows stay inside the positives' bounding box.
    assert (synthetic >= positives.min() - 1e-9).all().all()
    assert (synthetic <= positives.max() + 1e-9).all().all()
    assert out.sample_weight is None


def test_smote_refuses_categorical_columns(native: Rows) -> None:
    with pytest.raises(ConfigError, match="imbalance=smote") as info:
        Smote().rebalance(*native)

    assert "features=tabular" in str(info.value)
    assert "'industry'" in str(info.value)


def test_smote_refuses_missing_values() -> None:
    X = pd.DataFrame({"x": [1.0, np.nan, 3.0, 4.0] * 5})
    y = np.array([0, 0, 0, 1] * 5)

    with pytest.raises(ConfigError, match=r"needs imputed features\. Fix: use features=tabular"):
        Smote(k_neighbors=2).rebalance(X, y)


def test_smotenc_keeps_originals_and_makes_valid_categories(native: Rows) -> None:
    X, y = native
    assert X["annual_revenue_musd"].isna().any()

    out = SmoteNC(sampling_strategy=0.5, seed=0).rebalance(X, y)

    assert _ratio(out.y) == pytest.approx(0.5, abs=0.005)
    _assert_originals_first(X, y, out.X, out.y)  # originals keep their missing values
    synthetic = out.X.iloc[len(X) :]
    assert len(synthetic) > 0
    for name in X.columns:
        assert out.X[name].dtype == X[name].dtype, name
    for name in ("industry", "seniority", "utm_campaign"):
        levels = set(X.loc[y == 1, name])
        assert set(synthetic[name]) <= levels, name
        assert not synthetic[name].isna().any()
    assert not synthetic.select_dtypes("number").isna().to_numpy().any()
    assert {OTHER, MISSING} <= set(out.X["industry"].cat.categories)


def test_smotenc_refuses_all_numeric_features(tabular: Rows) -> None:
    with pytest.raises(ConfigError, match="imbalance=smotenc needs categorical columns") as info:
        SmoteNC().rebalance(*tabular)

    assert "features=native" in str(info.value)


def test_undersample_drops_negatives_only(native: Rows) -> None:
    X, y = native
    tagged = X.assign(row=np.arange(len(X)))

    out = Undersample(sampling_strategy=0.5, seed=0).rebalance(tagged, y)

    assert _ratio(out.y) == pytest.approx(0.5, abs=0.005)
    assert (out.y == 1).sum() == (y == 1).sum()
    rows = out.X["row"].to_numpy()
    assert (np.diff(rows) > 0).all(), "kept rows stay in their original order"
    pd.testing.assert_frame_equal(out.X, tagged.iloc[rows].reset_index(drop=True))
    np.testing.assert_array_equal(out.y, y[rows])


@pytest.mark.parametrize(
    ("make", "rows"),
    [
        (lambda seed: Smote(seed=seed), "tabular"),
        (lambda seed: SmoteNC(seed=seed), "native"),
        (lambda seed: Undersample(seed=seed), "native"),
    ],
    ids=["smote", "smotenc", "undersample"],
)
def test_resamplers_are_deterministic_per_seed(
    make: Any, rows: str, request: pytest.FixtureRequest
) -> None:
    X, y = request.getfixturevalue(rows)

    first = make(1).rebalance(X, y)
    again = make(1).rebalance(X, y)
    other = make(2).rebalance(X, y)

    pd.testing.assert_frame_equal(first.X, again.X)
    np.testing.assert_array_equal(first.y, again.y)
    assert not first.X.equals(other.X)
