"""Conversion models: scikit-learn-contract wrappers that early-stop on the validation split.

Each wrapper keeps the library's own estimator in ``model_`` and adds what mlsys needs on top:
one ``fit`` signature with an optional validation set for early stopping, deterministic
seeding, and a clear error when a model is paired with features it cannot use.

To add a model, write a class like these (keyword params, ``fit`` returning ``self``,
``predict_proba``) and one YAML file in ``conf/model/``; see ``docs/ARCHITECTURE.md``.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any, Literal, Protocol, Self, runtime_checkable

import numpy as np
import pandas as pd
from pydantic import Field
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from mlsys._params import Seed, check_instance
from mlsys.errors import ConfigError, ModelError
from mlsys.features import categorical_columns

__all__ = [
    "CatBoostModel",
    "ConversionModel",
    "HistGradientBoostingModel",
    "LogisticRegressionModel",
    "RandomForestModel",
    "XGBoostModel",
]

log = logging.getLogger(__name__)
FloatArray = np.ndarray[Any, np.dtype[np.float64]]
ValidationSet = tuple[pd.DataFrame, Any]
#: Parallel threads: a count, -1 for every core, or null for the library's default.
Threads = Annotated[int, Field(ge=1)] | Literal[-1] | None


@runtime_checkable
class ConversionModel(Protocol):
    """A binary classifier fitted on training rows, optionally early-stopped on validation."""

    def fit(
        self,
        X: pd.DataFrame,
        y: Any,
        sample_weight: Any = None,
        eval_set: ValidationSet | None = None,
    ) -> Self:
        """Fit on training rows; ``eval_set`` is the validation split for early stopping."""
        ...

    def predict_proba(self, X: pd.DataFrame) -> FloatArray:
        """Uncalibrated class probabilities, shape (n, 2)."""
        ...

    def predict_matrix(self, X: Any) -> FloatArray:
        """Uncalibrated positive-class scores of the features' output (a matrix or a frame)."""
        ...


class _Base(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """Shared plumbing: fitted check, classes, probability output."""

    native_categoricals = False
    display_name = "model"

    def predict_proba(self, X: pd.DataFrame) -> FloatArray:
        """Class probabilities, shape (n, 2)."""
        check_is_fitted(self, "model_")
        return np.asarray(self.model_.predict_proba(self._matrix(X)), dtype=np.float64)

    def predict_matrix(self, X: Any) -> FloatArray:
        """Uncalibrated positive-class scores of what the features produce, one per row.

        ``X`` is a feature transformer's ``transform_columns`` output: a float matrix in
        ``feature_names_out_`` order (``features=tabular``) or a frame (``features=native``).
        This is the model call of :meth:`mlsys.models.ModelBundle.score`.
        """
        return self.predict_proba(X)[:, 1]

    def predict(self, X: pd.DataFrame) -> np.ndarray[Any, Any]:
        """Class labels at a 0.5 cut-off (mlsys uses a tuned threshold instead)."""
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(np.int64)

    def _matrix(self, X: Any) -> Any:
        """What the library estimator is fitted on and predicts from.

        A frame of numeric columns becomes a plain float matrix, so a scikit-learn estimator
        records no column names and checks none on each call (a name check costs more than a
        small prediction). The wrapper keeps the names (``feature_names_in_``) and puts a
        frame's columns in their order; frames with ``category`` columns pass unchanged.
        """
        if not isinstance(X, pd.DataFrame) or categorical_columns(X):
            return X
        return X[list(self.feature_names_in_)].to_numpy(dtype=np.float64)

    def _params(self, seed: str = "random_state", **fixed: Any) -> dict[str, Any]:
        """The wrapper's parameters as the library estimator's keyword arguments.

        Each ``__init__`` stores its parameters under the library's own names (and only stores
        them: scikit-learn's estimator contract), so they pass through as they are; ``seed`` is
        renamed to the library's word for it and ``fixed`` adds what mlsys does not expose.
        """
        params: dict[str, Any] = self.get_params()
        params[seed] = params.pop("seed")
        return params | fixed

    def _prepare(self, X: pd.DataFrame, y: Any) -> np.ndarray[Any, Any]:
        check_instance(self, "model")
        labels = np.asarray(y)
        if len(np.unique(labels)) != 2:
            raise ModelError(f"{self.display_name}: training labels must hold both classes.")
        self.classes_ = np.array([0, 1])
        self.feature_names_in_ = np.asarray([str(c) for c in X.columns], dtype=object)
        categorical = categorical_columns(X)
        if categorical and not self.native_categoricals:
            raise ConfigError(
                f"model={self.display_name} needs numeric features but got categorical columns "
                f"{categorical[:5]}. Fix: use features=tabular with this model."
            )
        return labels


class XGBoostModel(_Base):
    """Gradient-boosted trees (XGBoost, ``hist``), early-stopped on validation log-loss.

    Accepts native ``category`` columns (``features=native``) as well as a numeric matrix.
    """

    native_categoricals = True
    display_name = "xgboost"

    # Only stores its parameters: scikit-learn's estimator contract (clone, get_params).
    def __init__(
        self,
        n_estimators: Annotated[int, Field(ge=1)] = 2000,
        learning_rate: Annotated[float, Field(gt=0, le=1)] = 0.05,
        max_depth: Annotated[int, Field(ge=1)] = 5,
        min_child_weight: Annotated[float, Field(ge=0)] = 1.0,
        subsample: Annotated[float, Field(gt=0, le=1)] = 0.8,
        colsample_bytree: Annotated[float, Field(gt=0, le=1)] = 0.8,
        reg_lambda: Annotated[float, Field(ge=0)] = 1.0,
        reg_alpha: Annotated[float, Field(ge=0)] = 0.0,
        gamma: Annotated[float, Field(ge=0)] = 0.0,
        max_cat_to_onehot: Annotated[int, Field(ge=1)] = 4,
        scale_pos_weight: Annotated[float, Field(gt=0)] = 1.0,
        early_stopping_rounds: Annotated[int, Field(ge=1)] | None = 100,
        n_jobs: Threads = None,
        seed: Seed = 0,
    ) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.max_depth = max_depth
        self.min_child_weight = min_child_weight
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.reg_lambda = reg_lambda
        self.reg_alpha = reg_alpha
        self.gamma = gamma
        self.max_cat_to_onehot = max_cat_to_onehot
        self.scale_pos_weight = scale_pos_weight
        self.early_stopping_rounds = early_stopping_rounds
        self.n_jobs = n_jobs
        self.seed = seed

    def fit(
        self,
        X: pd.DataFrame,
        y: Any,
        sample_weight: Any = None,
        eval_set: ValidationSet | None = None,
    ) -> Self:
        """Fit, stopping when validation log-loss stops improving."""
        from xgboost import XGBClassifier

        labels = self._prepare(X, y)
        stopping = self.early_stopping_rounds if eval_set is not None else None
        self.model_ = XGBClassifier(
            **self._params(
                early_stopping_rounds=stopping,
                tree_method="hist",
                enable_categorical=True,
                eval_metric="logloss",
            )
        )
        eval_sets = [(eval_set[0], np.asarray(eval_set[1]))] if eval_set is not None else None
        self.model_.fit(X, labels, sample_weight=sample_weight, eval_set=eval_sets, verbose=False)
        self.best_iteration_ = int(getattr(self.model_, "best_iteration", self.n_estimators - 1))
        log.info(
            "xgboost: stopped after %d rounds, best iteration %d",
            self.model_.get_booster().num_boosted_rounds(),
            self.best_iteration_,
        )
        return self

    def predict_proba(self, X: pd.DataFrame) -> FloatArray:
        """Class probabilities, shape (n, 2)."""
        check_is_fitted(self, "model_")
        return np.asarray(self.model_.predict_proba(X), dtype=np.float64)

    def predict_matrix(self, X: Any) -> FloatArray:
        """Positive-class scores; a float matrix goes straight to the booster.

        ``inplace_predict`` on the matrix, with the trees ``predict_proba`` uses (up to the
        best iteration), skips the DMatrix and the column-name check: the matrix is in the
        columns' fitted order by construction (``TabularFeatures.transform_columns``).
        """
        if not isinstance(X, np.ndarray):
            return self.predict_proba(X)[:, 1]
        check_is_fitted(self, "model_")
        best = getattr(self.model_, "best_iteration", None)
        scores = self.model_.get_booster().inplace_predict(
            X,
            iteration_range=(0, best + 1) if best is not None else (0, 0),
            missing=self.model_.missing,
            validate_features=False,
        )
        return np.asarray(scores, dtype=np.float64)


class CatBoostModel(_Base):
    """CatBoost with native categorical handling, early-stopped on validation log-loss."""

    native_categoricals = True
    display_name = "catboost"

    # Only stores its parameters: scikit-learn's estimator contract (clone, get_params).
    def __init__(
        self,
        iterations: Annotated[int, Field(ge=1)] = 2000,
        learning_rate: Annotated[float, Field(gt=0)] = 0.05,
        depth: Annotated[int, Field(ge=1, le=16)] = 6,
        l2_leaf_reg: Annotated[float, Field(ge=0)] = 3.0,
        border_count: Annotated[int, Field(ge=1, le=65535)] = 254,
        one_hot_max_size: Annotated[int, Field(ge=0)] = 4,
        auto_class_weights: Literal["Balanced", "SqrtBalanced"] | None = None,
        early_stopping_rounds: Annotated[int, Field(ge=1)] | None = 100,
        thread_count: Annotated[int, Field(ge=1)] | Literal[-1] = -1,
        seed: Seed = 0,
    ) -> None:
        self.iterations = iterations
        self.learning_rate = learning_rate
        self.depth = depth
        self.l2_leaf_reg = l2_leaf_reg
        self.border_count = border_count
        self.one_hot_max_size = one_hot_max_size
        self.auto_class_weights = auto_class_weights
        self.early_stopping_rounds = early_stopping_rounds
        self.thread_count = thread_count
        self.seed = seed

    def fit(
        self,
        X: pd.DataFrame,
        y: Any,
        sample_weight: Any = None,
        eval_set: ValidationSet | None = None,
    ) -> Self:
        """Fit, stopping when validation log-loss stops improving."""
        from catboost import CatBoostClassifier

        labels = self._prepare(X, y)
        self.cat_features_ = categorical_columns(X)
        params = self._params("random_seed", allow_writing_files=False, verbose=False)
        del params["early_stopping_rounds"]  # a fit argument here: only with a validation set
        self.model_ = CatBoostClassifier(**params, loss_function="Logloss")
        eval_data = None
        if eval_set is not None:
            eval_data = (self._cats(eval_set[0]), np.asarray(eval_set[1]))
        self.model_.fit(
            self._cats(X),
            labels,
            cat_features=self.cat_features_ or None,
            sample_weight=sample_weight,
            eval_set=eval_data,
            early_stopping_rounds=self.early_stopping_rounds if eval_data else None,
            use_best_model=eval_data is not None,
        )
        best = self.model_.get_best_iteration()  # 0 is a valid best iteration, None is "no eval"
        self.best_iteration_ = int(best) if best is not None else self.iterations - 1
        log.info("catboost: best iteration %d", self.best_iteration_)
        return self

    def predict_proba(self, X: pd.DataFrame) -> FloatArray:
        """Class probabilities, shape (n, 2)."""
        check_is_fitted(self, "model_")
        return np.asarray(self.model_.predict_proba(self._cats(X)), dtype=np.float64)

    def _cats(self, X: pd.DataFrame) -> pd.DataFrame:
        # CatBoost wants categorical values as strings, not pandas categories.
        if not self.cat_features_:
            return X
        out = X.copy()
        for name in self.cat_features_:
            out[name] = out[name].astype(str)
        return out


class HistGradientBoostingModel(_Base):
    """scikit-learn's histogram gradient boosting, early-stopped on the validation split."""

    native_categoricals = True
    display_name = "hist_gb"

    # Only stores its parameters: scikit-learn's estimator contract (clone, get_params).
    def __init__(
        self,
        learning_rate: Annotated[float, Field(gt=0)] = 0.05,
        max_iter: Annotated[int, Field(ge=1)] = 1000,
        max_leaf_nodes: Annotated[int, Field(ge=2)] = 31,
        max_depth: Annotated[int, Field(ge=1)] | None = None,
        min_samples_leaf: Annotated[int, Field(ge=1)] = 20,
        l2_regularization: Annotated[float, Field(ge=0)] = 0.0,
        max_features: Annotated[float, Field(gt=0, le=1)] = 1.0,
        n_iter_no_change: Annotated[int, Field(ge=1)] = 50,
        seed: Seed = 0,
    ) -> None:
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.max_leaf_nodes = max_leaf_nodes
        self.max_depth = max_depth
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.max_features = max_features
        self.n_iter_no_change = n_iter_no_change
        self.seed = seed

    def fit(
        self,
        X: pd.DataFrame,
        y: Any,
        sample_weight: Any = None,
        eval_set: ValidationSet | None = None,
    ) -> Self:
        """Fit, stopping when validation log-loss stops improving."""
        from sklearn.ensemble import HistGradientBoostingClassifier

        labels = self._prepare(X, y)
        self.model_ = HistGradientBoostingClassifier(
            **self._params(
                categorical_features="from_dtype",
                early_stopping=eval_set is not None,
                scoring="loss",
            )
        )
        if eval_set is None:
            self.model_.fit(self._matrix(X), labels, sample_weight=sample_weight)
        else:
            self.model_.fit(
                self._matrix(X),
                labels,
                sample_weight=sample_weight,
                X_val=self._matrix(eval_set[0]),
                y_val=np.asarray(eval_set[1]),
            )
        self.best_iteration_ = int(self.model_.n_iter_)
        log.info("hist_gb: %d iterations", self.best_iteration_)
        return self


class LogisticRegressionModel(_Base):
    """L2-regularised logistic regression: the transparent baseline (``features=tabular``)."""

    display_name = "logreg"

    # Only stores its parameters: scikit-learn's estimator contract (clone, get_params).
    def __init__(
        self,
        C: Annotated[float, Field(gt=0)] = 1.0,
        max_iter: Annotated[int, Field(ge=1)] = 2000,
        class_weight: Literal["balanced"] | None = None,
        seed: Seed = 0,
    ) -> None:
        self.C = C
        self.max_iter = max_iter
        self.class_weight = class_weight
        self.seed = seed

    def fit(
        self,
        X: pd.DataFrame,
        y: Any,
        sample_weight: Any = None,
        eval_set: ValidationSet | None = None,
    ) -> Self:
        """Fit; logistic regression has nothing to early-stop, so ``eval_set`` is unused."""
        from sklearn.linear_model import LogisticRegression

        labels = self._prepare(X, y)
        self.model_ = LogisticRegression(**self._params())
        self.model_.fit(self._matrix(X), labels, sample_weight=sample_weight)
        return self


class RandomForestModel(_Base):
    """Random forest (``features=tabular``); bagging needs no early stopping."""

    display_name = "random_forest"

    # Only stores its parameters: scikit-learn's estimator contract (clone, get_params).
    def __init__(
        self,
        n_estimators: Annotated[int, Field(ge=1)] = 300,
        max_depth: Annotated[int, Field(ge=1)] | None = None,
        min_samples_leaf: Annotated[int, Field(ge=1)] = 5,
        # scikit-learn's meaning: an int counts features, a float is a share of them.
        max_features: Annotated[int, Field(ge=1)]
        | Annotated[float, Field(gt=0, le=1)]
        | Literal["sqrt", "log2"]
        | None = "sqrt",
        class_weight: Literal["balanced", "balanced_subsample"] | None = None,
        n_jobs: Threads = None,
        seed: Seed = 0,
    ) -> None:
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.min_samples_leaf = min_samples_leaf
        self.max_features = max_features
        self.class_weight = class_weight
        self.n_jobs = n_jobs
        self.seed = seed

    def fit(
        self,
        X: pd.DataFrame,
        y: Any,
        sample_weight: Any = None,
        eval_set: ValidationSet | None = None,
    ) -> Self:
        """Fit the forest; ``eval_set`` is unused."""
        from sklearn.ensemble import RandomForestClassifier

        labels = self._prepare(X, y)
        self.model_ = RandomForestClassifier(**self._params())
        self.model_.fit(self._matrix(X), labels, sample_weight=sample_weight)
        return self
