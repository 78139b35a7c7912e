"""FeatureSchema, Dataset and coerce_features: the typing shared by training and serving."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from pandas.api import types as ptypes

from mlsys.data import Dataset, FeatureSchema, FrameSource, coerce_features
from mlsys.errors import SchemaError

pytestmark = pytest.mark.unit

SCHEMA = FeatureSchema(
    columns=("industry", "employees", "code", "demo"),
    kinds=("categorical", "numeric", "categorical", "boolean"),
)


def test_schema_groups_columns_by_kind() -> None:
    assert SCHEMA.categorical == ["industry", "code"]
    assert SCHEMA.numeric == ["employees"]
    assert SCHEMA.boolean == ["demo"]


def test_schema_round_trips_through_json() -> None:
    mapping = json.loads(json.dumps(SCHEMA.to_dict()))

    restored = FeatureSchema.from_dict(mapping)

    assert restored == SCHEMA
    assert list(mapping) == list(SCHEMA.columns)  # order is part of the schema


def test_schema_rejects_unknown_kind() -> None:
    with pytest.raises(SchemaError, match="column 'x' has unknown kind 'text'"):
        FeatureSchema.from_dict({"x": "text"})


def test_schema_rejects_mismatched_lengths() -> None:
    with pytest.raises(ValueError, match="same length"):
        FeatureSchema(columns=("a", "b"), kinds=("numeric",))


def test_check_frame_names_missing_columns_and_ignores_extras() -> None:
    frame = pd.DataFrame({"industry": ["a"], "employees": [1], "demo": [True], "extra": [0]})

    with pytest.raises(SchemaError, match=r"request: missing model input column\(s\) \['code'\]"):
        SCHEMA.check_frame(frame, where="request")
    SCHEMA.check_frame(frame.assign(code="x"), where="request")


def test_coerce_features_types_each_kind() -> None:
    frame = pd.DataFrame(
        {
            "extra": ["ignored", "ignored", "ignored"],
            "demo": ["yes", "False", None],
            "code": [3.0, np.nan, 12.0],
            "employees": ["10", None, "2.5"],
            "industry": ["saas", None, "retail"],
        }
    )

    out = coerce_features(frame, SCHEMA)

    assert list(out.columns) == list(SCHEMA.columns)
    assert ptypes.is_string_dtype(out["industry"])
    assert out["industry"].isna().tolist() == [False, True, False]
    assert out["code"].tolist()[::2] == ["3", "12"]
    assert pd.isna(out["code"].iloc[1])
    assert ptypes.is_float_dtype(out["employees"])
    np.testing.assert_array_equal(out["employees"], [10.0, np.nan, 2.5])
    np.testing.assert_array_equal(out["demo"], [1.0, 0.0, np.nan])


def test_coerce_features_rejects_non_boolean_values() -> None:
    frame = pd.DataFrame({"industry": ["a"], "employees": [1], "code": ["1"], "demo": ["maybe"]})

    with pytest.raises(
        SchemaError, match=r"data\.boolean: column 'demo' has value 'maybe'"
    ) as info:
        coerce_features(frame, SCHEMA)

    assert "Fix:" in str(info.value)


def test_coerce_features_keeps_the_index() -> None:
    frame = pd.DataFrame(
        {"industry": ["a", "b"], "employees": [1, 2], "code": ["1", "2"], "demo": [True, False]},
        index=[10, 20],
    )

    assert coerce_features(frame, SCHEMA).index.tolist() == [10, 20]


@pytest.fixture
def dataset() -> Dataset:
    frame = pd.DataFrame({"grp": ["a", "b", "a", "b"], "x": [1, 2, 3, 4], "y": [0, 1, 0, 1]})
    return FrameSource(frame, target="y", name="tiny", non_feature_columns=["grp"]).load()


def test_dataset_column_error_names_purpose_and_columns(dataset: Dataset) -> None:
    with pytest.raises(SchemaError, match=r"split\.column: column 'account' is not in") as info:
        dataset.column("account", purpose="split.column")

    assert "['grp', 'x']" in str(info.value)


def test_dataset_summary_is_json_ready(dataset: Dataset) -> None:
    summary = json.loads(json.dumps(dataset.summary()))

    assert summary["rows"] == 4
    assert summary["positive_rate"] == 0.5
    assert summary["schema"] == {"x": "numeric"}
    assert summary["name"] == "tiny"
    assert summary["source"] == "<tiny>"
