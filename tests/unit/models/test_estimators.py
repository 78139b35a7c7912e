"""Model wrappers: one contract, checked once and parametrised over every model."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from mlsys.data import Dataset
from mlsys.errors import ConfigError, ModelError
from mlsys.features import NativeFeatures, TabularFeatures
from mlsys.models import (
    CatBoostModel,
    ConversionModel,
    HistGradientBoostingModel,
    LogisticRegressionModel,
    RandomForestModel,
    XGBoostModel,
)

pytestmark = pytest.mark.unit

Split = tuple[pd.DataFrame, np.ndarray[Any, Any]]

# Small and single-threaded: a fit takes a fraction of a second.
MODELS: dict[str, tuple[Callable[..., Any], str]] = {
    "xgboost": (lambda **kw: XGBoostModel(n_estimators=50, n_jobs=1, **kw), "native"),
    "catboost": (lambda **kw: CatBoostModel(iterations=50, thread_count=1, **kw), "native"),
    "hist_gb": (lambda **kw: HistGradientBoostingModel(max_iter=50, **kw), "native"),
    "logreg": (LogisticRegressionModel, "tabular"),
    "random_forest": (lambda **kw: RandomForestModel(n_estimators=50, n_jobs=1, **kw), "tabular"),
}
NAMES = list(MODELS)


@pytest.fixture(scope="module")
def frames(leads: Dataset) -> dict[str, tuple[Split, Split]]:
    """(train, validation) per feature kind, features fitted on the training rows."""
    X, y = leads.features, leads.target
    train, valid = slice(0, 1000), slice(1000, None)
    out = {}
    for kind, transformer in (("native", NativeFeatures()), ("tabular", TabularFeatures())):
        transformer.fit(X.iloc[train])
        Xt = transformer.transform(X).reset_index(drop=True)
        out[kind] = ((Xt.iloc[train], y[train]), (Xt.iloc[valid], y[valid]))
    return out


def _model(name: str, **params: Any) -> Any:
    return MODELS[name][0](**params)


def _data(name: str, frames: dict[str, tuple[Split, Split]]) -> tuple[Split, Split]:
    return frames[MODELS[name][1]]


@pytest.mark.parametrize("name", NAMES)
def test_fit_and_predict_proba(name: str, frames: dict[str, tuple[Split, Split]]) -> None:
    (X, y), (X_val, y_val) = _data(name, frames)
    model = _model(name)

    with pytest.raises(NotFittedError):
        model.predict_proba(X_val)
    assert model.fit(X, y, eval_set=(X_val, y_val)) is model
    proba = model.predict_proba(X_val)

    assert isinstance(model, ConversionModel)
    assert proba.shape == (len(X_val), 2)
    assert proba.dtype == np.float64
    assert ((proba >= 0) & (proba <= 1)).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(model.classes_, [0, 1])
    assert set(np.unique(model.predict(X_val))) <= {0, 1}
    # Better than chance on the synthetic leads (true AUC about 0.85).
    assert proba[y_val == 1, 1].mean() > proba[y_val == 0, 1].mean()


@pytest.mark.parametrize("name", NAMES)
def test_clone_and_params_round_trip(name: str, frames: dict[str, tuple[Split, Split]]) -> None:
    (X, y), _ = _data(name, frames)
    model = _model(name, seed=11).fit(X, y)
    params = model.get_params()

    copy = clone(model)
    rebuilt = type(model)(**params)

    assert copy.get_params() == params
    assert rebuilt.get_params() == params
    assert params["seed"] == 11
    assert not hasattr(copy, "model_")  # clone drops the fitted state
    assert copy.set_params(seed=12).get_params()["seed"] == 12


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_probabilities(name: str, frames: dict[str, tuple[Split, Split]]) -> None:
    (X, y), (X_val, y_val) = _data(name, frames)

    first = _model(name, seed=3).fit(X, y, eval_set=(X_val, y_val)).predict_proba(X_val)
    again = _model(name, seed=3).fit(X, y, eval_set=(X_val, y_val)).predict_proba(X_val)

    np.testing.assert_array_equal(first, again)


@pytest.mark.parametrize("name", NAMES)
def test_sample_weight_is_used(name: str, frames: dict[str, tuple[Split, Split]]) -> None:
    (X, y), (X_val, _) = _data(name, frames)
    heavy_positives = np.where(y == 1, 10.0, 1.0)

    plain = _model(name).fit(X, y).predict_proba(X_val)[:, 1]
    weighted = _model(name).fit(X, y, sample_weight=heavy_positives).predict_proba(X_val)[:, 1]

    assert weighted.mean() > plain.mean() + 0.05


@pytest.mark.parametrize("name", NAMES)
def test_single_class_labels_are_a_model_error(
    name: str, frames: dict[str, tuple[Split, Split]]
) -> None:
    (X, y), _ = _data(name, frames)

    with pytest.raises(ModelError, match="training labels must hold both classes"):
        _model(name).fit(X, np.zeros_like(y))


@pytest.mark.parametrize("name", ["logreg", "random_forest"])
def test_numeric_only_models_reject_categorical_columns(
    name: str, frames: dict[str, tuple[Split, Split]]
) -> None:
    (X, y), _ = frames["native"]

    with pytest.raises(ConfigError, match=f"model={name} needs numeric features") as info:
        _model(name).fit(X, y)

    assert "Fix: use features=tabular" in str(info.value)
    assert "'industry'" in str(info.value)


# --- early stopping ---------------------------------------------------------------------------

BOOSTERS: dict[str, tuple[Callable[[], Any], int]] = {
    "xgboost": (
        lambda: XGBoostModel(
            n_estimators=300, learning_rate=0.3, early_stopping_rounds=10, n_jobs=1
        ),
        300,
    ),
    "catboost": (
        lambda: CatBoostModel(
            iterations=300, learning_rate=0.3, early_stopping_rounds=10, thread_count=1
        ),
        300,
    ),
    "hist_gb": (
        lambda: HistGradientBoostingModel(max_iter=300, learning_rate=0.3, n_iter_no_change=10),
        300,
    ),
}


def _easy(n: int, seed: int, flip: bool = False) -> Split:
    """One informative column among noise; ``flip`` reverses the relation."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, 4)), columns=["signal", "a", "b", "c"])
    y = ((X["signal"] + 0.5 * rng.normal(size=n) > 0) != flip).astype(np.int64).to_numpy()
    return X, y


@pytest.mark.parametrize("name", list(BOOSTERS))
def test_boosters_early_stop_on_the_validation_set(name: str) -> None:
    make, rounds = BOOSTERS[name]
    (X, y), validation = _easy(400, seed=0), _easy(200, seed=1)

    stopped = make().fit(X, y, eval_set=validation)
    full = make().fit(X, y)

    assert stopped.best_iteration_ < rounds // 2
    assert full.best_iteration_ >= rounds - 1  # nothing to stop on without a validation set


@pytest.mark.parametrize("name", ["xgboost", "catboost"])
def test_best_iteration_zero_is_reported(name: str) -> None:
    make, _ = BOOSTERS[name]
    # Validation labels contradict training: the first tree is the best one.
    (X, y), validation = _easy(400, seed=0), _easy(200, seed=1, flip=True)

    model = make().fit(X, y, eval_set=validation)

    assert model.best_iteration_ == 0
