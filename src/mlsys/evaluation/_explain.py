"""Which input columns drive the model: global importance for every model, SHAP for trees.

Everything is reported per raw input column (``industry``), never per one-hot column
(``cat__industry_saas``): a scientist thinks in the columns of the file. Importances of the
columns a transformer derives from one input (one-hot levels, missing-value indicators) are
summed back into it; SHAP values are additive, so their sum is exact.

* Feature importance uses the model's own where it has one (XGBoost and HistGradientBoosting
  total split gain, CatBoost prediction-value change, random forest impurity decrease) and
  scikit-learn's permutation importance otherwise (logistic regression, any other model): the
  drop in ROC-AUC on the scored rows when one raw column is shuffled.
* SHAP values are opt-in: XGBoost (``pred_contribs=True``) and CatBoost (``ShapValues``)
  compute them natively; scikit-learn forests go through ``shap.TreeExplainer`` (imported only
  then: it takes seconds to import). Other models get a clear reason instead.
"""

from __future__ import annotations

import importlib
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from mlsys.models import ModelBundle

__all__ = [
    "FeatureImportance",
    "ShapSummary",
    "feature_importance",
    "plot_importance",
    "plot_shap_summary",
    "raw_column_map",
    "shap_summary",
]

FloatArray = np.ndarray[Any, np.dtype[np.float64]]
#: Permuted rows scored in all (rows x repeats x columns): fewer rows on wide data, so the cost
#: stays bounded for slow models. Depends on shapes only, so results stay reproducible.
_PERMUTED_ROWS_BUDGET = 60_000
_MIN_PERMUTATION_ROWS = 200


@dataclass(frozen=True)
class FeatureImportance:
    """Global importance per raw input column, largest first.

    Attributes:
        method: ``native`` (the model's own), ``permutation``, or ``unavailable``.
        description: What the numbers measure, for the report.
        values: Raw column to importance, largest first. Native importances are shares that
            sum to 1; permutation importances are ROC-AUC drops (can be slightly negative).
        rows: Rows the importance was measured on (0 for native importances, which come from
            training).
        reason: Why there are no importances, when there are none.
    """

    method: Literal["native", "permutation", "unavailable"]
    description: str
    values: dict[str, float] = field(default_factory=dict)
    rows: int = 0
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form, as written to ``feature_importance.json`` (largest first)."""
        # Spelled out, like SegmentReport.to_dict: each file's keys are its documented format.
        return {
            "method": self.method,
            "description": self.description,
            "rows": self.rows,
            "reason": self.reason,
            "importance": [{"column": k, "value": v} for k, v in self.values.items()],
        }


@dataclass(frozen=True)
class ShapSummary:
    """SHAP values of a row sample, summed per raw input column.

    Attributes:
        method: How they were computed (``xgboost pred_contribs``, ``catboost ShapValues``,
            ``shap.TreeExplainer``), or ``unavailable``.
        output: Units of the values: ``log-odds`` or ``probability`` (of the uncalibrated model).
        columns: Raw input columns, most important first.
        mean_abs: Mean absolute SHAP value per raw column, largest first.
        values: SHAP values, shape (rows, columns), in the order of ``columns``.
        feature_values: The sampled raw rows, for colouring the summary plot.
        rows: Rows explained.
        seconds: Wall time of the computation.
        reason: Why there are no SHAP values, when there are none.
    """

    method: str
    output: str = ""
    columns: tuple[str, ...] = ()
    mean_abs: dict[str, float] = field(default_factory=dict)
    values: FloatArray = field(default_factory=lambda: np.empty((0, 0)))
    feature_values: pd.DataFrame = field(default_factory=pd.DataFrame)
    rows: int = 0
    seconds: float = 0.0
    reason: str | None = None

    @property
    def available(self) -> bool:
        """Whether SHAP values were computed."""
        return self.reason is None

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly summary: mean |SHAP| per column, largest first (no per-row values)."""
        return {
            "method": self.method,
            "output": self.output,
            "rows": self.rows,
            "seconds": round(self.seconds, 3),
            "reason": self.reason,
            "mean_abs_shap": [{"column": k, "value": v} for k, v in self.mean_abs.items()],
        }


def raw_column_map(transformed: Sequence[str], raw: Sequence[str]) -> dict[str, str]:
    """The raw input column each transformed column derives from.

    Handles scikit-learn's ``ColumnTransformer`` names (``num__age``,
    ``num__missingindicator_age``, ``cat__industry_saas``): the transformer prefix and the
    indicator prefix are dropped, then the longest raw column that the rest equals or starts
    with (followed by ``_``) wins. A column that matches none maps to itself.

    Example:
        >>> raw_column_map(["num__age", "cat__lead_source_web"], ["age", "lead", "lead_source"])
        {'num__age': 'age', 'cat__lead_source_web': 'lead_source'}
    """
    known = set(raw)
    longest_first = sorted(raw, key=len, reverse=True)
    out = {}
    for name in transformed:
        base = name
        if base not in known and "__" in base:
            base = base.split("__", 1)[1]
        base = base.removeprefix("missingindicator_")
        if base in known:
            out[name] = base
            continue
        out[name] = next((c for c in longest_first if base.startswith(f"{c}_")), name)
    return out


def feature_importance(
    bundle: ModelBundle | None,
    frame: pd.DataFrame | None,
    y: Any,
    *,
    rows: int = 2000,
    repeats: int = 3,
    seed: int = 0,
) -> FeatureImportance:
    """Global importance per raw input column of the bundle's model.

    Args:
        bundle: The fitted model bundle.
        frame: Scored rows with the model's input columns (for permutation importance).
        y: Labels of ``frame``, 0/1.
        rows: Rows sampled for permutation importance.
        repeats: Shuffles per column; the drop is averaged over them.
        seed: Seed of the row sample and the shuffles.

    Returns:
        The model's native importances when it has them, else permutation importance; with a
        reason instead when neither can be computed.

    Example:
        >>> imp = feature_importance(bundle, rows_frame, rows_frame["converted"])  # doctest: +SKIP
        >>> imp.method, list(imp.values)[:3]  # doctest: +SKIP
        ('native', ['web_visits_30d', 'industry', 'employees'])
    """
    if bundle is None:
        return FeatureImportance(
            "unavailable",
            "",
            reason="Feature importance needs the model bundle: pass bundle= to the report.",
        )
    native = _native_importance(bundle)
    if native is not None:
        return native
    return _permutation_importance(bundle, frame, y, rows=rows, repeats=repeats, seed=seed)


def _transformed_names(bundle: ModelBundle) -> list[str]:
    names = getattr(bundle.features, "get_feature_names_out", None)
    if names is not None:
        return [str(n) for n in names()]
    return list(bundle.schema.columns)


def _native_importance(bundle: ModelBundle) -> FeatureImportance | None:
    from mlsys.models import (
        CatBoostModel,
        HistGradientBoostingModel,
        RandomForestModel,
        XGBoostModel,
    )

    model = bundle.model
    fitted = getattr(model, "model_", None)
    if fitted is None:
        return None
    names = _transformed_names(bundle)
    if isinstance(model, XGBoostModel):
        scores = fitted.get_booster().get_score(importance_type="total_gain")
        per_column = {str(k): float(v) for k, v in scores.items()}
        what = "XGBoost total gain: loss reduction of every split on the column, as a share"
    elif isinstance(model, CatBoostModel):
        values = fitted.get_feature_importance(type="PredictionValuesChange")
        per_column = {str(k): float(v) for k, v in zip(fitted.feature_names_, values, strict=True)}
        what = "CatBoost prediction-values change: how much predictions move with the column"
    elif isinstance(model, HistGradientBoostingModel) and _hist_gb_gains(fitted) is not None:
        gains = _hist_gb_gains(fitted)
        assert gains is not None
        per_column = {n: float(v) for n, v in zip(names, gains, strict=True)}
        what = "HistGradientBoosting total split gain: loss reduction of every split, as a share"
    elif isinstance(model, RandomForestModel):
        values = fitted.feature_importances_
        per_column = {n: float(v) for n, v in zip(names, values, strict=True)}
        what = "Random forest mean decrease in impurity (on training rows), as a share"
    else:
        return None
    summed = _sum_to_raw(per_column, bundle.schema.columns)
    total = sum(summed.values())
    shares = {k: v / total for k, v in summed.items()} if total > 0 else summed
    return FeatureImportance("native", what, _ranked(shares))


def _hist_gb_gains(fitted: Any) -> FloatArray | None:
    """Total split gain per feature of a fitted HistGradientBoostingClassifier.

    scikit-learn keeps the trees in the private ``_predictors`` (a ``nodes`` record array per
    tree, with ``gain`` and ``feature_idx`` in the order of its private ``_preprocessor``'s
    output); ``None`` if a future version changes that, and the caller falls back to
    permutation importance.
    """
    try:
        n = int(fitted.n_features_in_)
        gains = np.zeros(n)
        for iteration in fitted._predictors:
            for tree in iteration:
                split = ~tree.nodes["is_leaf"].astype(bool)
                np.add.at(gains, tree.nodes["feature_idx"][split], tree.nodes["gain"][split])
        order = np.arange(n)
        preprocessor = getattr(fitted, "_preprocessor", None)
        if preprocessor is not None:
            # With categorical features the trees see the categorical columns first.
            masks = [np.asarray(c) for _, t, c in preprocessor.transformers_ if t != "drop"]
            order = np.concatenate([np.flatnonzero(m) if m.dtype == bool else m for m in masks])
    except (AttributeError, KeyError, ValueError, IndexError, TypeError):
        return None
    if sorted(order.tolist()) != list(range(n)):
        return None
    out = np.zeros(n)
    out[order] = gains
    return out


def _sum_to_raw(per_column: dict[str, float], raw: Sequence[str]) -> dict[str, float]:
    mapping = raw_column_map(list(per_column), raw)
    out = dict.fromkeys(raw, 0.0)
    for name, value in per_column.items():
        out[mapping[name]] = out.get(mapping[name], 0.0) + value
    return out


def _ranked(values: dict[str, float]) -> dict[str, float]:
    return dict(sorted(values.items(), key=lambda kv: (-kv[1], kv[0])))


def _permutation_importance(
    bundle: ModelBundle,
    frame: pd.DataFrame | None,
    y: Any,
    *,
    rows: int,
    repeats: int,
    seed: int,
) -> FeatureImportance:
    from sklearn.inspection import permutation_importance
    from sklearn.pipeline import Pipeline

    from mlsys.data import coerce_features

    what = (
        "Permutation importance: drop in ROC-AUC on the scored rows when the column is "
        f"shuffled (mean of {repeats})"
    )
    model_name = type(bundle.model).__name__
    if frame is None:
        return FeatureImportance(
            "unavailable",
            what,
            reason=f"{model_name} has no built-in importance and permutation importance needs "
            "the scored rows: pass frame= to the report.",
        )
    labels = np.asarray(y).astype(np.int64)
    if not 0 < labels.sum() < len(labels):
        return FeatureImportance(
            "unavailable",
            what,
            reason=f"{model_name} has no built-in importance and permutation importance "
            "measures the ROC-AUC drop, which needs both classes in the scored rows.",
        )
    columns = list(bundle.schema.columns)
    budget = max(_MIN_PERMUTATION_ROWS, _PERMUTED_ROWS_BUDGET // (repeats * len(columns)))
    rng = np.random.default_rng(seed)
    size = min(rows, budget, len(labels))
    take = np.sort(rng.choice(len(labels), size=size, replace=False))
    if not 0 < labels[take].sum() < size:
        return FeatureImportance(
            "unavailable",
            what,
            reason=f"the {size} rows sampled for permutation importance hold a single class; "
            "raise evaluation.report.importance_rows so that they include both.",
        )
    raw = coerce_features(frame.iloc[take].reset_index(drop=True), bundle.schema)
    # The bundle's uncalibrated scoring path, as scikit-learn composes it: every shuffled copy
    # is transformed (also by a transformer that mixes columns) and scored. The rows are
    # coerced once above, not once per copy as bundle.score would.
    model = Pipeline([("features", bundle.features), ("model", bundle.model)])
    result = permutation_importance(
        model, raw, labels[take], scoring=_roc_auc, n_repeats=repeats, random_state=seed
    )
    drops = {c: float(v) for c, v in zip(columns, result.importances_mean, strict=True)}
    return FeatureImportance("permutation", what, _ranked(drops), rows=size)


def _roc_auc(model: Any, X: pd.DataFrame, y: np.ndarray[Any, Any]) -> float:
    """The scorer: ROC-AUC of the uncalibrated positive-class probability.

    Uncalibrated, as calibration is monotone and would only add ties. A callable rather than
    ``scoring="roc_auc"``, which accepts only scikit-learn classifiers; a model of the
    ``ConversionModel`` protocol need only have ``predict_proba``.
    """
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, model.predict_proba(X)[:, 1]))


def shap_summary(
    bundle: ModelBundle | None,
    frame: pd.DataFrame | None,
    *,
    rows: int = 500,
    seed: int = 0,
) -> ShapSummary:
    """SHAP values of a sample of ``frame``'s rows, per raw input column.

    Args:
        bundle: The fitted model bundle; its model must be tree-based.
        frame: Rows with the model's input columns.
        rows: Rows sampled (SHAP costs grow with rows x trees x depth).
        seed: Seed of the row sample.

    Returns:
        The summary, or one whose ``reason`` says why SHAP values are unavailable.

    Example:
        >>> summary = shap_summary(bundle, rows_frame, rows=200)  # doctest: +SKIP
        >>> summary.output, list(summary.mean_abs)[:2]  # doctest: +SKIP
        ('log-odds', ['web_visits_30d', 'industry'])
    """
    from mlsys.data import coerce_features

    if bundle is None or frame is None:
        return ShapSummary(
            "unavailable",
            reason="SHAP needs the model bundle and the scored rows: pass bundle= and frame=.",
        )
    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    take = np.sort(rng.choice(len(frame), size=min(rows, len(frame)), replace=False))
    raw = coerce_features(frame.iloc[take].reset_index(drop=True), bundle.schema)
    X = bundle.features.transform(raw)
    try:
        contributions, method, output = _tree_shap(bundle.model, X)
    except _ShapUnavailableError as exc:
        return ShapSummary("unavailable", reason=str(exc))
    mapping = raw_column_map([str(c) for c in X.columns], bundle.schema.columns)
    columns = list(bundle.schema.columns)
    index = {c: i for i, c in enumerate(columns)}
    summed = np.zeros((len(X), len(columns)))
    for j, name in enumerate(X.columns):
        target = mapping[str(name)]
        if target in index:
            summed[:, index[target]] += contributions[:, j]
    mean_abs = np.abs(summed).mean(axis=0)
    order = np.argsort(-mean_abs, kind="stable")
    return ShapSummary(
        method=method,
        output=output,
        columns=tuple(columns[i] for i in order),
        mean_abs={columns[i]: float(mean_abs[i]) for i in order},
        values=summed[:, order],
        feature_values=raw[[columns[i] for i in order]],
        rows=len(X),
        seconds=time.perf_counter() - start,
    )


class _ShapUnavailableError(Exception):
    """SHAP values cannot be computed for this model; the message says why."""


def _tree_shap(model: Any, X: pd.DataFrame) -> tuple[FloatArray, str, str]:
    """Per transformed column SHAP values (bias column dropped), the method and the units."""
    from mlsys.models import CatBoostModel, LogisticRegressionModel, XGBoostModel

    name = type(model).__name__
    fitted = getattr(model, "model_", None)
    if fitted is None:
        raise _ShapUnavailableError(f"SHAP: {name} is not fitted.")
    if isinstance(model, XGBoostModel):
        from xgboost import DMatrix

        best = int(getattr(model, "best_iteration_", -1))
        values = fitted.get_booster().predict(
            DMatrix(X, enable_categorical=True),
            pred_contribs=True,
            iteration_range=(0, best + 1) if best >= 0 else (0, 0),
        )
        return np.asarray(values, dtype=np.float64)[:, :-1], "xgboost pred_contribs", "log-odds"
    if isinstance(model, CatBoostModel):
        from catboost import Pool

        pool = Pool(model._cats(X), cat_features=model.cat_features_ or None)
        values = fitted.get_feature_importance(pool, type="ShapValues")
        return np.asarray(values, dtype=np.float64)[:, :-1], "catboost ShapValues", "log-odds"
    if isinstance(model, LogisticRegressionModel):
        raise _ShapUnavailableError(
            f"SHAP values are computed for tree models only; {name} is linear: its "
            "permutation importance above ranks the columns instead."
        )
    return _tree_explainer(fitted, X, name)


def _tree_explainer(fitted: Any, X: pd.DataFrame, name: str) -> tuple[FloatArray, str, str]:
    categorical = getattr(fitted, "is_categorical_", None)
    if categorical is not None and np.any(categorical):
        columns = [str(c) for c, is_cat in zip(X.columns, categorical, strict=True) if is_cat]
        raise _ShapUnavailableError(
            f"SHAP: shap.TreeExplainer cannot read {name}'s native categorical splits (on "
            f"{columns}). Fix: features=tabular (one-hot columns), or model=xgboost / "
            "model=catboost, which compute SHAP values natively."
        )
    with warnings.catch_warnings():
        # shap's import touches matplotlib APIs that warn about future deprecations.
        warnings.simplefilter("ignore")
        shap: Any = importlib.import_module("shap")  # untyped, and seconds to import
    try:
        explainer = shap.TreeExplainer(fitted)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            values = explainer.shap_values(X, check_additivity=False)
    except Exception as exc:
        raise _ShapUnavailableError(
            f"SHAP: shap.TreeExplainer cannot explain {name} ({type(exc).__name__}: {exc}); "
            "use the feature importance above, or model=xgboost / model=catboost for native "
            "SHAP values."
        ) from exc
    array = np.asarray(values[1] if isinstance(values, list) else values, dtype=np.float64)
    if array.ndim == 3:  # (rows, features, classes): keep the positive class
        array = array[:, :, 1]
    output = "probability" if hasattr(fitted, "estimators_") else "log-odds"
    return array, "shap.TreeExplainer", output


def plot_importance(
    importance: FeatureImportance, path: str | Path, top: int = 15, *, dpi: int = 80
) -> Path:
    """Bar chart of the ``top`` raw columns by importance."""
    from mlsys.evaluation._plots import plot_feature_importance

    label = "ROC-AUC drop when shuffled" if importance.method == "permutation" else "Share"
    return plot_feature_importance(
        importance.values,
        path,
        title=f"Feature importance ({importance.method})",
        xlabel=label,
        top=top,
        dpi=dpi,
    )


def plot_shap_summary(
    summary: ShapSummary, path: str | Path, top: int = 15, *, dpi: int = 80
) -> Path:
    """Beeswarm-style summary: one dot per row and column, coloured by the column's value.

    Columns are sorted by mean |SHAP| (most important on top); a dot right of zero pushed
    that row's score up. Numeric columns are coloured from blue (low) to red (high) by rank;
    categorical ones are grey.
    """
    from mlsys.evaluation._plots import _figure, _save

    if not summary.available:
        raise ValueError(f"no SHAP values to plot: {summary.reason}")
    shown = min(top, len(summary.columns))
    height = max(2.2, 0.7 + 0.26 * shown)
    fig, ax = _figure((5.4, height), dpi)
    rng = np.random.default_rng(0)
    for position, j in enumerate(range(shown)[::-1]):
        values = summary.values[:, j]
        column = summary.feature_values.iloc[:, j]
        numbers = pd.to_numeric(column, errors="coerce")
        jitter = rng.uniform(-0.28, 0.28, len(values))
        colour: dict[str, Any] = {"color": "#9a9a9a"}  # categorical: no order to colour by
        if numbers.notna().any() and numbers.nunique() > 1:
            rank = numbers.rank(pct=True).fillna(0.5).to_numpy()
            colour = {"c": rank, "cmap": "coolwarm", "vmin": 0, "vmax": 1}
        ax.scatter(values, position + jitter, s=5, linewidths=0, alpha=0.8, **colour)
    names = list(summary.columns[:shown])[::-1]
    ax.set_yticks(range(shown), [n if len(n) <= 28 else n[:27] + "…" for n in names])
    ax.axvline(0, color="#555555", lw=0.8)
    ax.tick_params(labelsize=7)
    ax.set_xlabel(f"SHAP value ({summary.output}); blue = low, red = high value", fontsize=8)
    ax.set_title(f"SHAP summary, {summary.rows} rows", fontsize=9)
    fig.subplots_adjust(left=0.3, right=0.97, bottom=0.65 / height, top=1 - 0.3 / height)
    return _save(fig, path)
