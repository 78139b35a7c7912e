"""Feature importance per raw column for every model; SHAP for trees, with reasons otherwise."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.inspection import permutation_importance
from sklearn.pipeline import make_pipeline

from mlsys.data import Dataset, coerce_features
from mlsys.evaluation import _explain as explain
from mlsys.evaluation import feature_importance, raw_column_map, shap_summary
from mlsys.evaluation._explain import plot_importance, plot_shap_summary
from mlsys.features import TabularFeatures
from mlsys.models import LogisticRegressionModel, ModelBundle

from .helpers import MODELS, fit_bundle, png_size

pytestmark = pytest.mark.unit


def test_raw_column_map_undoes_column_transformer_names() -> None:
    mapping = raw_column_map(
        [
            "num__age",
            "num__missingindicator_age",
            "cat__lead_source_web",
            "cat__lead_source_infrequent_sklearn",
            "cat__lead_x",
            "plain",
            "unknown__thing",
        ],
        ["age", "lead", "lead_source", "plain"],
    )

    assert mapping == {
        "num__age": "age",
        "num__missingindicator_age": "age",
        "cat__lead_source_web": "lead_source",  # the longest matching column wins
        "cat__lead_source_infrequent_sklearn": "lead_source",
        "cat__lead_x": "lead",
        "plain": "plain",
        "unknown__thing": "unknown__thing",
    }


@pytest.mark.parametrize(
    ("model", "method"),
    [
        ("xgboost", "native"),
        ("catboost", "native"),
        ("random_forest", "native"),
        ("hist_gb", "native"),
        ("logreg", "permutation"),
    ],
)
def test_every_model_gets_importance_per_raw_column(
    model: str, method: str, bundles: dict[str, ModelBundle], signal: Dataset
) -> None:
    importance = feature_importance(
        bundles[model], signal.frame, signal.target, rows=400, repeats=2
    )

    assert importance.method == method
    assert set(importance.values) == {"signal", "noise", "channel"}  # never one-hot columns
    assert next(iter(importance.values)) == "signal"
    assert importance.values["signal"] > 5 * abs(importance.values["noise"])
    if method == "native":
        assert sum(importance.values.values()) == pytest.approx(1.0)
        assert importance.rows == 0
    else:
        assert importance.rows == 400
        assert "ROC-AUC" in importance.description
    ranked = importance.to_dict()["importance"]  # a list: JSON keeps the ranking
    assert [(r["column"], r["value"]) for r in ranked] == list(importance.values.items())


def test_permutation_importance_is_scikit_learns_on_the_sampled_rows(
    bundles: dict[str, ModelBundle], signal: Dataset
) -> None:
    # The reference: scikit-learn's own roc_auc scorer on the bundle's features and model as
    # a Pipeline, on the documented row sample (sorted draw from default_rng(seed)).
    bundle, rows, repeats, seed = bundles["logreg"], 300, 2, 5
    take = np.sort(np.random.default_rng(seed).choice(len(signal), size=rows, replace=False))
    raw = coerce_features(signal.frame.iloc[take].reset_index(drop=True), bundle.schema)
    expected = permutation_importance(
        make_pipeline(bundle.features, bundle.model),
        raw,
        signal.target[take],
        scoring="roc_auc",
        n_repeats=repeats,
        random_state=seed,
    ).importances_mean

    importance = feature_importance(
        bundle, signal.frame, signal.target, rows=rows, repeats=repeats, seed=seed
    )

    assert importance.values == pytest.approx(
        dict(zip(signal.schema.columns, expected, strict=True)), abs=1e-12
    )
    assert importance.rows == rows


class _Mixing(TabularFeatures):
    """A transformer whose outputs each depend on several inputs (like PCA)."""

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        wide = super().transform(X)
        return pd.DataFrame({"mix_0": wide.sum(axis=1), "mix_1": wide.iloc[:, 0]}, index=X.index)


def test_mixing_transformers_are_permuted_in_the_raw_columns(signal: Dataset) -> None:
    bundle = fit_bundle(signal, LogisticRegressionModel(), _Mixing())

    importance = feature_importance(bundle, signal.frame, signal.target, rows=300, repeats=2)

    assert importance.method == "permutation"
    assert set(importance.values) == {"signal", "noise", "channel"}
    assert next(iter(importance.values)) == "signal"


def test_permutation_rows_shrink_to_the_budget_on_wide_data(
    bundles: dict[str, ModelBundle], signal: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(explain, "_PERMUTED_ROWS_BUDGET", 2_700)  # 300 rows x 3 shuffles x 3

    importance = feature_importance(bundles["logreg"], signal.frame, signal.target, rows=500)

    assert importance.rows == 300


def test_permutation_importance_is_seeded(bundles: dict[str, ModelBundle], signal: Dataset) -> None:
    def run(seed: int) -> dict[str, float]:
        return feature_importance(
            bundles["logreg"], signal.frame, signal.target, rows=300, seed=seed
        ).values

    assert run(1) == run(1)
    assert run(1) != run(2)


def test_importance_says_why_when_it_cannot_be_measured(
    bundles: dict[str, ModelBundle], signal: Dataset
) -> None:
    one_class = feature_importance(bundles["logreg"], signal.frame, np.zeros(len(signal)))
    no_rows = feature_importance(bundles["logreg"], None, signal.target)
    no_bundle = feature_importance(None, signal.frame, signal.target)

    assert one_class.method == "unavailable"
    assert "needs both classes" in str(one_class.reason)
    assert "pass frame=" in str(no_rows.reason)
    assert "pass bundle=" in str(no_bundle.reason)
    # Native importances come from training and need neither rows nor both classes.
    assert feature_importance(bundles["xgboost"], None, np.zeros(3)).method == "native"


@pytest.mark.parametrize("model", ["xgboost", "catboost"])
def test_native_shap_values_add_up_to_the_margin(
    model: str, bundles: dict[str, ModelBundle], signal: Dataset
) -> None:
    bundle = bundles[model]

    summary = shap_summary(bundle, signal.frame, rows=120, seed=0)

    assert summary.available
    assert summary.output == "log-odds"
    assert summary.values.shape == (120, 3)
    assert set(summary.columns) == {"signal", "noise", "channel"}
    assert summary.columns[0] == "signal"
    take = np.sort(np.random.default_rng(0).choice(len(signal), size=120, replace=False))
    p = bundle.score(signal.frame.iloc[take], calibrated=False)
    margin = np.log(p / (1 - p))
    # Margin = expected value + sum of SHAP values, the same expected value for every row.
    assert np.ptp(margin - summary.values.sum(axis=1)) < 1e-4
    assert list(summary.feature_values.columns) == list(summary.columns)


def test_shap_for_a_linear_model_says_why_not(
    bundles: dict[str, ModelBundle], signal: Dataset
) -> None:
    summary = shap_summary(bundles["logreg"], signal.frame)

    assert not summary.available
    assert "tree models only" in str(summary.reason)
    assert summary.to_dict()["reason"] == summary.reason


def test_shap_needs_the_rows() -> None:
    assert "pass bundle= and frame=" in str(shap_summary(None, None).reason)


@pytest.mark.slow
@pytest.mark.parametrize("model", ["random_forest", "hist_gb"])
def test_sklearn_trees_go_through_shap_tree_explainer(model: str, signal: Dataset) -> None:
    make, _ = MODELS[model]
    bundle = fit_bundle(
        signal, make(), TabularFeatures()
    )  # numeric columns: shap reads every split

    summary = shap_summary(bundle, signal.frame, rows=60, seed=0)

    assert summary.method == "shap.TreeExplainer", summary.reason
    assert summary.values.shape == (60, 3)
    assert summary.columns[0] == "signal"
    take = np.sort(np.random.default_rng(0).choice(len(signal), size=60, replace=False))
    p = bundle.score(signal.frame.iloc[take], calibrated=False)
    if model == "random_forest":
        assert summary.output == "probability"
        output = p
    else:
        assert summary.output == "log-odds"
        output = np.log(p / (1 - p))
    assert np.ptp(output - summary.values.sum(axis=1)) < 1e-6


def test_native_categorical_hist_gb_says_why_shap_cannot_read_it(
    bundles: dict[str, ModelBundle], signal: Dataset
) -> None:
    summary = shap_summary(bundles["hist_gb"], signal.frame, rows=30)

    assert not summary.available
    assert "native categorical splits (on ['channel'])" in str(summary.reason)
    assert "features=tabular" in str(summary.reason)


def test_importance_and_shap_plots_are_pngs(
    bundles: dict[str, ModelBundle], signal: Dataset, tmp_path: Path
) -> None:
    importance = feature_importance(bundles["xgboost"], signal.frame, signal.target)
    summary = shap_summary(bundles["xgboost"], signal.frame, rows=50)

    width, _ = png_size(plot_importance(importance, tmp_path / "fi.png", dpi=50))
    shap_width, _ = png_size(plot_shap_summary(summary, tmp_path / "shap.png", dpi=50))

    assert width == 240
    assert shap_width == 270
