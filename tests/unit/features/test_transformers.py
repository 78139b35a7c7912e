"""Feature transformers learn from training rows only and never fail on new levels."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from pandas.api import types as ptypes
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import NotFittedError
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from mlsys.data import Dataset
from mlsys.errors import ConfigError, SchemaError
from mlsys.features import (
    MISSING,
    OTHER,
    FeatureTransformer,
    NativeFeatures,
    TabularFeatures,
    categorical_columns,
)

pytestmark = pytest.mark.unit

NUMERIC = "annual_revenue_musd"  # about 15% missing in the synthetic set


@pytest.fixture(scope="module")
def halves(leads: Dataset) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Training rows and other rows of the leads set, with fresh indices."""
    features = leads.features
    return features.iloc[:1000].reset_index(drop=True), features.iloc[1000:].reset_index(drop=True)


def test_categorical_columns_detects_text_and_category_columns() -> None:
    frame = pd.DataFrame(
        {
            "s": pd.Series(["a", "b"], dtype="str"),
            "o": pd.Series(["a", None], dtype=object),
            "c": pd.Categorical(["a", "b"]),
            "f": [1.0, 2.0],
            "i": [1, 2],
            "b": [True, False],
        }
    )

    assert categorical_columns(frame) == ["s", "o", "c"]


@pytest.mark.parametrize(
    "transformer", [TabularFeatures(), NativeFeatures()], ids=lambda t: type(t).__name__
)
def test_transformers_follow_the_contract(
    transformer: FeatureTransformer, halves: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    train, other = halves
    fresh = clone(transformer)

    with pytest.raises(NotFittedError):
        fresh.transform(other)
    assert isinstance(fresh, FeatureTransformer)
    assert fresh.fit(train) is fresh
    out = fresh.transform(other)
    assert out.index.equals(other.index)
    assert list(out.columns) == list(fresh.get_feature_names_out())
    with pytest.raises(SchemaError, match=r"input lacks column\(s\) \['industry'\]"):
        fresh.transform(other.drop(columns=["industry"]))


@pytest.mark.parametrize(
    "transformer", [TabularFeatures(), NativeFeatures()], ids=lambda t: type(t).__name__
)
def test_transformers_ignore_column_order_and_extra_columns(
    transformer: FeatureTransformer, halves: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    train, other = halves
    transformer.fit(train)

    shuffled = other[other.columns[::-1]].assign(unused=1)

    pd.testing.assert_frame_equal(transformer.transform(shuffled), transformer.transform(other))


# --- TabularFeatures --------------------------------------------------------------------------


def test_tabular_imputer_medians_come_from_training_rows_only(
    halves: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    train, _ = halves
    features = TabularFeatures().fit(train)

    medians = features.medians_

    expected = [np.nanmedian(train[name].to_numpy()) for name in features.numeric_]
    np.testing.assert_allclose(medians, expected)


def test_tabular_scaler_statistics_come_from_training_rows_only(
    halves: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    train, _ = halves
    features = TabularFeatures().fit(train)

    # The scaler sees the imputed columns (missing -> training median), then the indicators.
    imputed = train[features.numeric_].fillna(train[features.numeric_].median())
    n = len(features.numeric_)
    assert features.mean_ is not None
    assert features.scale_ is not None
    np.testing.assert_allclose(features.mean_[:n], imputed.mean().to_numpy())
    np.testing.assert_allclose(features.scale_[:n], imputed.std(ddof=0).to_numpy())


def test_tabular_fitted_state_does_not_depend_on_other_rows(
    halves: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    train, other = halves
    poisoned = other.copy()
    poisoned[NUMERIC] = 1e9
    poisoned["industry"] = "never-seen"

    on_train = TabularFeatures().fit(train)
    on_train_again = TabularFeatures().fit(train.copy())
    on_all = TabularFeatures().fit(pd.concat([train, poisoned], ignore_index=True))

    probe = other.head(50)
    pd.testing.assert_frame_equal(on_train.transform(probe), on_train_again.transform(probe))
    assert not on_train.transform(probe).equals(on_all.transform(probe))
    # Transforming other rows, however extreme, leaves the fitted statistics alone.
    before = on_train.transform(probe)
    on_train.transform(poisoned)
    pd.testing.assert_frame_equal(on_train.transform(probe), before)


def test_tabular_output_is_dense_float_without_missing_values(
    halves: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    train, other = halves
    assert train[NUMERIC].isna().any()
    assert train["industry"].isna().any()

    out = TabularFeatures().fit(train).transform(other)

    assert all(ptypes.is_float_dtype(out[c]) for c in out.columns)
    assert not out.isna().to_numpy().any()
    assert f"num__missingindicator_{NUMERIC}" in out.columns


def test_tabular_unseen_level_maps_to_the_infrequent_column() -> None:
    train = pd.DataFrame(
        {
            "plan": pd.Series(["a"] * 30 + ["b"] * 30 + ["rare"] * 2, dtype="str"),
            "x": np.arange(62.0),
        }
    )
    new = pd.DataFrame({"plan": pd.Series(["zzz", "a", "rare"], dtype="str"), "x": [1.0] * 3})

    out = TabularFeatures(min_frequency=20).fit(train).transform(new)

    plan = out[[c for c in out.columns if c.startswith("cat__plan_")]]
    assert list(plan.columns) == ["cat__plan_a", "cat__plan_b", "cat__plan_infrequent_sklearn"]
    np.testing.assert_array_equal(plan.to_numpy(), [[0, 0, 1], [1, 0, 0], [0, 0, 1]])


def test_tabular_unseen_level_without_infrequent_column_is_all_zero() -> None:
    train = pd.DataFrame(
        {"plan": pd.Series(["a"] * 30 + ["b"] * 30, dtype="str"), "x": np.arange(60.0)}
    )
    new = pd.DataFrame({"plan": pd.Series(["zzz", None], dtype="str"), "x": [1.0, np.nan]})

    out = TabularFeatures().fit(train).transform(new)

    np.testing.assert_array_equal(out[["cat__plan_a", "cat__plan_b"]].to_numpy(), np.zeros((2, 2)))
    assert not out.isna().to_numpy().any()


def _sklearn_reference(
    train: pd.DataFrame, min_frequency: float, max_categories: int | None
) -> tuple[ColumnTransformer, list[str]]:
    """The scikit-learn pipeline TabularFeatures reimplements, fitted the same way."""
    categorical = categorical_columns(train)
    numeric = [c for c in train.columns if c not in categorical]
    reference = ColumnTransformer(
        [
            (
                "num",
                Pipeline(
                    [
                        ("impute", SimpleImputer(strategy="median", add_indicator=True)),
                        ("scale", StandardScaler()),
                    ]
                ),
                numeric,
            ),
            (
                "cat",
                Pipeline(
                    [
                        ("impute", SimpleImputer(strategy="constant", fill_value=MISSING)),
                        (
                            "onehot",
                            OneHotEncoder(
                                handle_unknown="infrequent_if_exist",
                                min_frequency=min_frequency,
                                max_categories=max_categories,
                                sparse_output=False,
                            ),
                        ),
                    ]
                ),
                categorical,
            ),
        ]
    )
    reference.fit(_as_objects(train, categorical))
    return reference, categorical


def _as_objects(frame: pd.DataFrame, categorical: list[str]) -> pd.DataFrame:
    out = frame.copy()
    for name in categorical:
        out[name] = out[name].astype(object).where(out[name].notna(), np.nan)
    return out


@pytest.mark.parametrize(
    ("min_frequency", "max_categories"), [(20, 30), (0.01, None), (5, 3), (1, 1), (1, None)]
)
def test_tabular_matches_scikit_learn_column_for_column(
    halves: tuple[pd.DataFrame, pd.DataFrame], min_frequency: float, max_categories: int | None
) -> None:
    train, other = halves
    other = other.head(3000).copy()
    other.loc[other.index[:5], "industry"] = "never-seen"  # unseen levels too

    ours = TabularFeatures(min_frequency=min_frequency, max_categories=max_categories).fit(train)
    reference, categorical = _sklearn_reference(train, min_frequency, max_categories)

    assert ours.feature_names_out_ == list(reference.get_feature_names_out())
    np.testing.assert_allclose(
        ours.transform(other).to_numpy(),
        reference.transform(_as_objects(other, categorical)),
        rtol=1e-9,
        atol=1e-9,
    )


def test_tabular_names_the_raw_column_behind_every_output() -> None:
    train = pd.DataFrame(
        {"plan": pd.Series(["a"] * 30 + ["b"] * 2, dtype="str"), "x": [1.0, np.nan] * 16}
    )

    features = TabularFeatures().fit(train)

    assert dict(zip(features.feature_names_out_, features.feature_sources_, strict=True)) == {
        "num__x": "x",
        "num__missingindicator_x": "x",
        "cat__plan_a": "plan",
        "cat__plan_infrequent_sklearn": "plan",
    }


def test_tabular_without_scaling_keeps_raw_values() -> None:
    train = pd.DataFrame({"x": [1.0, 2.0, np.nan, 10.0]})

    out = TabularFeatures(scale=False, add_indicator=False).fit(train).transform(train)

    assert list(out.columns) == ["num__x"]
    np.testing.assert_array_equal(out["num__x"], [1.0, 2.0, 2.0, 10.0])


# --- NativeFeatures ---------------------------------------------------------------------------


def test_native_levels_come_from_training_rows_only() -> None:
    train = pd.DataFrame({"plan": pd.Series(["a"] * 6 + ["b"] * 5 + ["c"] * 2, dtype="str")})
    later = pd.DataFrame({"plan": pd.Series(["d"] * 50, dtype="str")})

    features = NativeFeatures(min_frequency=5).fit(train)
    features.transform(later)

    assert features.categories_ == {"plan": ["a", "b", OTHER, MISSING]}


def test_native_keeps_the_most_frequent_levels_up_to_the_cap() -> None:
    counts = {"a": 9, "b": 8, "c": 7, "d": 6}
    train = pd.DataFrame({"plan": pd.Series([k for k, n in counts.items() for _ in range(n)])})

    features = NativeFeatures(max_categories=4, min_frequency=1).fit(train)

    assert features.categories_["plan"] == ["a", "b", OTHER, MISSING]


def test_native_maps_unseen_to_other_and_missing_to_missing() -> None:
    train = pd.DataFrame(
        {"plan": pd.Series(["a"] * 5 + ["b"] * 5, dtype="str"), "x": [1.0, np.nan] * 5}
    )
    new = pd.DataFrame({"plan": pd.Series(["b", "zzz", None], dtype="str"), "x": ["3", None, 1]})

    out = NativeFeatures().fit(train).transform(new)

    assert isinstance(out["plan"].dtype, pd.CategoricalDtype)
    assert list(out["plan"].cat.categories) == ["a", "b", OTHER, MISSING]
    assert out["plan"].tolist() == ["b", OTHER, MISSING]
    assert ptypes.is_float_dtype(out["x"])
    np.testing.assert_array_equal(out["x"], [3.0, np.nan, 1.0])  # numeric missing is kept


def test_native_categories_are_identical_across_splits(
    halves: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    train, other = halves
    features = NativeFeatures().fit(train)

    fitted, applied = features.transform(train), features.transform(other)

    for name in features.categorical_:
        assert fitted[name].dtype == applied[name].dtype, name
        assert not applied[name].isna().any(), name


def test_native_rejects_a_cap_without_room_for_other_and_missing() -> None:
    with pytest.raises(
        ConfigError, match=r"features\.max_categories: got 2 \(int\), expected int >= 3"
    ):
        NativeFeatures(max_categories=2).fit(pd.DataFrame({"x": [1.0]}))


# --- the columnar transform is scikit-learn's ColumnTransformer -------------------------------


def _random_frame(draw: Any, n: int) -> pd.DataFrame:
    from hypothesis import strategies as st

    numbers = st.one_of(st.none(), st.floats(-1e6, 1e6, allow_nan=False, width=32))
    levels = st.one_of(st.none(), st.sampled_from(["a", "b", "c", "d", "e", MISSING, "x y"]))
    return pd.DataFrame(
        {
            "num": pd.Series(draw(st.lists(numbers, min_size=n, max_size=n)), dtype=float),
            "flag": pd.Series(
                draw(st.lists(st.sampled_from([0.0, 1.0, None]), min_size=n, max_size=n)),
                dtype=float,
            ),
            "plan": pd.Series(draw(st.lists(levels, min_size=n, max_size=n)), dtype="str"),
            "region": pd.Series(draw(st.lists(levels, min_size=n, max_size=n)), dtype="str"),
        }
    )


def test_tabular_columnar_transform_equals_scikit_learn_on_random_frames() -> None:
    """Frames, plain column arrays and coded columns all give ColumnTransformer's matrix."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    @settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        data=st.data(),
        min_frequency=st.one_of(st.integers(1, 6), st.floats(0.02, 0.5)),
        max_categories=st.one_of(st.none(), st.integers(1, 6)),
    )
    def check(data: Any, min_frequency: float, max_categories: int | None) -> None:
        train = _random_frame(data.draw, data.draw(st.integers(8, 60)))
        other = _random_frame(data.draw, data.draw(st.integers(1, 30)))
        other.loc[other.index[0], "plan"] = "never seen"
        # A value in every column: scikit-learn's imputers drop an all-missing column.
        train.loc[train.index[0], ["num", "flag"]] = 1.0
        train.loc[train.index[0], ["plan", "region"]] = "a"
        ours = TabularFeatures(min_frequency=min_frequency, max_categories=max_categories)
        ours.fit(train)
        reference, categorical = _sklearn_reference(train, min_frequency, max_categories)
        expected = reference.transform(_as_objects(other, categorical))

        assert ours.feature_names_out_ == list(reference.get_feature_names_out())
        plain = {
            c: other[c].to_numpy(dtype=object, na_value=None)
            if c in categorical
            else other[c].to_numpy(dtype=float, na_value=np.nan)
            for c in other.columns
        }
        coded = {**plain, **{c: _Coded(other[c]) for c in categorical}}
        for rows in (other, plain, coded):
            np.testing.assert_allclose(ours.transform_columns(rows), expected, rtol=1e-9, atol=1e-9)

    check()


class _Coded:
    """A categorical column as ``levels[codes]``, as batch scoring holds it."""

    def __init__(self, column: pd.Series) -> None:
        codes, uniques = pd.factorize(column)
        self.levels = np.array([*uniques, None], dtype=object)
        self.codes = np.where(codes < 0, len(uniques), codes)
