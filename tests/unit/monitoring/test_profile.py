"""DataProfile: what is learned per column kind, the JSON contract, and bad input."""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mlsys.data import Dataset, FeatureSchema
from mlsys.errors import BundleError, DataError, SchemaError
from mlsys.monitoring import (
    PROFILE_FORMAT,
    BooleanProfile,
    CategoricalProfile,
    DataProfile,
    NumericProfile,
)
from mlsys.monitoring._profile import MAX_KNOWN_LEVELS, TOP_LEVELS

pytestmark = pytest.mark.unit

SCHEMA = FeatureSchema(("amount", "flag", "colour"), ("numeric", "boolean", "categorical"))


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "amount": [1.0, 2.0, 2.0, 3.0, np.nan, 10.0, 4.0, 5.0, 6.0, 7.0],
            "flag": [1.0, 0.0, 0.0, 1.0, 0.0, np.nan, 0.0, 0.0, 0.0, 1.0],
            "colour": pd.Series(
                ["red", "red", "red", "blue", "blue", None, "green", "red", "blue", "pink"],
                dtype="str",
            ),
        }
    )


def test_numeric_range_bins_and_missing_rate() -> None:
    column = DataProfile.learn(_frame(), SCHEMA).columns["amount"]
    assert isinstance(column, NumericProfile)
    assert (column.min, column.max, column.missing_rate) == (1.0, 10.0, 0.1)
    assert list(column.cuts) == sorted(set(column.cuts))
    assert all(1.0 < c <= 10.0 for c in column.cuts)
    # Shares of the bins plus the missing rate account for every row.
    assert sum(column.shares) + column.missing_rate == pytest.approx(1.0)
    assert len(column.shares) == len(column.cuts) + 1
    # The first bin [min, cuts[0]) holds exactly the values below the first cut.
    below = sum(1 for v in [1.0, 2.0, 2.0, 3.0, 10.0, 4.0, 5.0, 6.0, 7.0] if v < column.cuts[0])
    assert column.shares[0] == pytest.approx(below / 10)


def test_boolean_share_of_ones_and_missing_rate() -> None:
    column = DataProfile.learn(_frame(), SCHEMA).columns["flag"]
    assert isinstance(column, BooleanProfile)
    assert column.shares == pytest.approx((0.6, 0.3))
    assert column.missing_rate == pytest.approx(0.1)
    assert column.true_rate == pytest.approx(1 / 3)


def test_categorical_levels_by_frequency_with_the_rest_pooled() -> None:
    column = DataProfile.learn(_frame(), SCHEMA, top_levels=2, min_level_rows=1).columns["colour"]
    assert isinstance(column, CategoricalProfile)
    assert column.levels == ("red", "blue")
    assert column.shares == pytest.approx((0.4, 0.3))
    # green and pink tie at one row each: ordered by name, pooled, still known.
    assert column.other_levels == ("green", "pink")
    assert column.other_share == pytest.approx(0.2)
    assert column.missing_rate == pytest.approx(0.1)
    assert column.all_levels_known


def test_levels_seen_a_few_times_are_pooled_not_profiled_alone() -> None:
    """A level's share from a handful of rows is noise: it would make every sample drift."""
    column = DataProfile.learn(_frame(), SCHEMA, min_level_rows=3).columns["colour"]
    assert isinstance(column, CategoricalProfile)
    assert column.levels == ("red", "blue")  # 4 and 3 rows; green and pink have 1
    assert set(column.other_levels) == {"green", "pink"}
    # Good-Turing: two of ten rows have a level seen once, so one row in five is expected to
    # bring a level training never saw.
    assert column.unseen_share == pytest.approx(0.2)
    assert DataProfile.learn(_frame(), SCHEMA).columns["colour"].levels == ()  # type: ignore[union-attr]


def test_a_column_with_too_many_levels_keeps_only_its_top_ones() -> None:
    n = MAX_KNOWN_LEVELS + 5
    frame = pd.DataFrame({"colour": pd.Series([f"c{i:05d}" for i in range(n)], dtype="str")})
    schema = FeatureSchema(("colour",), ("categorical",))
    column = DataProfile.learn(frame, schema, min_level_rows=1).columns["colour"]
    assert isinstance(column, CategoricalProfile)
    assert len(column.levels) == TOP_LEVELS
    assert column.other_levels == ()
    assert not column.all_levels_known


def test_scores_are_profiled_like_a_numeric_column(profile: DataProfile, leads: Dataset) -> None:
    assert profile.scores is not None
    assert profile.score_rows == len(leads)
    assert 0.0 <= profile.scores.min <= profile.scores.max <= 1.0  # type: ignore[operator]
    assert len(profile.scores.shares) >= 5
    assert list(profile.columns) == list(leads.schema.columns)
    assert profile.rows == len(leads)


def test_learning_is_deterministic(leads: Dataset, profile: DataProfile, scores: Any) -> None:
    again = DataProfile.learn(leads.features, leads.schema, scores=scores)
    assert again.to_dict() == profile.to_dict()


def test_json_round_trip_is_exact(profile: DataProfile) -> None:
    text = json.dumps(profile.to_dict())
    assert DataProfile.from_dict(json.loads(text)) == profile
    assert DataProfile.model_validate_json(profile.model_dump_json()) == profile
    assert profile.to_dict()["format"] == PROFILE_FORMAT


def test_profile_is_immutable(profile: DataProfile) -> None:
    with pytest.raises(ValueError, match="frozen"):
        profile.rows = 3  # type: ignore[misc]


def test_another_format_is_refused_with_the_fix(profile: DataProfile) -> None:
    data = {**profile.to_dict(), "format": 2}
    with pytest.raises(BundleError, match=r"profile format 2 is not 1.*Fix: retrain"):
        DataProfile.from_dict(data, where="bundle model.joblib")


def test_a_malformed_profile_names_the_key(profile: DataProfile) -> None:
    data = profile.to_dict()
    data["columns"]["employees"]["shares"] = [0.5]
    with pytest.raises(BundleError, match=r"malformed profile at 'columns\.employees"):
        DataProfile.from_dict(data)
    data = profile.to_dict()
    data["columns"]["region"]["colour"] = "typo"
    with pytest.raises(BundleError, match="region"):
        DataProfile.from_dict(data)


@pytest.mark.parametrize(
    ("column", "message"),
    [
        ({"kind": "numeric", "min": 5.0, "max": 1.0, "missing_rate": 0.0}, "above max"),
        (
            {"kind": "numeric", "min": 0, "max": 9, "cuts": [5, 3], "shares": [0.2, 0.3, 0.5]},
            "increase strictly",
        ),
        (
            {"kind": "numeric", "min": 0, "max": 9, "cuts": [5], "shares": [0.2, 0.3]},
            "sum to 1",
        ),
        (
            {"kind": "categorical", "levels": ["a", "a"], "shares": [0.5, 0.5], "other_share": 0},
            "listed twice",
        ),
    ],
)
def test_inconsistent_columns_are_refused(column: dict[str, Any], message: str) -> None:
    column.setdefault("missing_rate", 0.0)
    with pytest.raises(ValueError, match=message):
        DataProfile.model_validate({"rows": 10, "columns": {"x": column}})


def test_no_rows_or_non_probability_scores_are_data_errors() -> None:
    with pytest.raises(DataError, match="no rows"):
        DataProfile.learn(_frame().iloc[:0], SCHEMA)
    with pytest.raises(DataError, match=r"probabilities in \[0, 1\]"):
        DataProfile.learn(_frame(), SCHEMA, scores=np.array([0.2, 1.5]))
    with pytest.raises(SchemaError, match="amount"):
        DataProfile.learn(_frame().drop(columns="amount"), SCHEMA)


def test_an_all_missing_numeric_column_is_profiled() -> None:
    frame = _frame().assign(amount=np.nan)
    column = DataProfile.learn(frame, SCHEMA).columns["amount"]
    assert isinstance(column, NumericProfile)
    assert (column.min, column.max, column.missing_rate) == (None, None, 1.0)


def test_summary_has_a_line_per_column_and_the_scores(profile: DataProfile) -> None:
    lines = {s.column: s for s in profile.summary()}
    assert len(lines) == len(profile.columns) + 1
    assert re.fullmatch(r"\d+ levels; top: cmp_\d+ .*", lines["utm_campaign"].description)
    assert lines["requested_demo"].description.endswith("% true")
    assert " to " in lines["employees"].description
    assert lines["calibrated score (validation)"].kind == "score"
