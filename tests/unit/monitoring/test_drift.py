"""Drift and data-quality reports: exact counts, PSI verdicts, any input form, any chunking."""

from __future__ import annotations

import itertools
import json
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from mlsys.data import Dataset, FeatureSchema
from mlsys.errors import DataError, SchemaError
from mlsys.monitoring import (
    BOOLEAN_PSI_ALERT,
    BOOLEAN_PSI_WARNING,
    FEATURE_PSI_ALERT,
    FEATURE_PSI_WARNING,
    SCORE_PSI_ALERT,
    SCORE_PSI_WARNING,
    CategoricalProfile,
    DataProfile,
    DriftAccumulator,
    DriftThresholds,
    NumericProfile,
    drift_report,
    psi_noise_floor,
)
from mlsys.scoring import Coded

pytestmark = pytest.mark.unit

FloatArray = np.ndarray[Any, np.dtype[np.float64]]


def _numpy_columns(frame: pd.DataFrame, schema: FeatureSchema) -> dict[str, Any]:
    """What the server and batch scoring build: float64 arrays and object arrays of str/None."""
    out: dict[str, Any] = {}
    for name, kind in zip(schema.columns, schema.kinds, strict=True):
        if kind == "categorical":
            out[name] = np.array(
                [None if pd.isna(v) else str(v) for v in frame[name]], dtype=object
            )
        else:
            out[name] = frame[name].to_numpy(dtype=np.float64, na_value=np.nan)
    return out


def test_the_training_rows_show_no_drift(
    profile: DataProfile, leads: Dataset, scores: FloatArray
) -> None:
    report = drift_report(profile, leads.features, scores=scores)
    assert report.rows == len(leads) == report.score_rows
    assert all(abs(psi or 0.0) < 1e-12 for psi in report.psi.values())
    assert {c.severity for c in report.columns} == {"stable"}
    assert report.alerts == ()
    assert not report.drifted
    assert all(c.out_of_range == 0 and c.unseen == 0 for c in report.columns)


def test_out_of_range_values_are_counted_on_each_side(profile: DataProfile, leads: Dataset) -> None:
    column = profile.columns["web_visits_30d"]
    assert isinstance(column, NumericProfile)
    assert column.min is not None
    assert column.max is not None
    frame = leads.features.copy()
    frame.loc[:29, "web_visits_30d"] = column.max + 1
    frame.loc[30:49, "web_visits_30d"] = column.min - 1
    report = drift_report(profile, frame)
    entry = report.column("web_visits_30d")
    assert (entry.below_min, entry.above_max) == (20, 30)
    (alert,) = [a for a in report.alerts if a.check == "out_of_range"]
    assert alert.column == "web_visits_30d"
    assert alert.severity == "alert"
    assert "50 of 1,500 values (3.3%) outside the training range" in alert.message
    assert "(20 below, 30 above)" in alert.message
    assert report.drifted


def test_unseen_levels_are_counted_with_examples(profile: DataProfile, leads: Dataset) -> None:
    frame = leads.features.copy()
    frame.loc[:39, "industry"] = "quantum"
    frame.loc[40:44, "industry"] = "space | mining"
    report = drift_report(profile, frame)
    entry = report.column("industry")
    assert entry.unseen == 45
    assert entry.unseen_examples == {"quantum": 40, "space | mining": 5}
    (alert,) = [a for a in report.alerts if a.check == "unseen"]
    assert alert.message.startswith("industry: 45 of 1,500 values (3.0%) at levels never seen")
    assert "'quantum' (40)" in alert.message


def test_a_long_tail_keeps_bringing_new_levels_without_drift(
    profile: DataProfile, leads: Dataset
) -> None:
    """New campaigns replacing rare ones leave the PSI alone; they are counted, not blamed."""
    column = profile.columns["utm_campaign"]
    assert isinstance(column, CategoricalProfile)
    assert column.unseen_share > 0  # campaigns seen once in 1,500 leads
    frame = leads.features.copy()
    rare = frame["utm_campaign"].isin(column.other_levels)
    frame.loc[rare, "utm_campaign"] = "new_" + frame.loc[rare, "utm_campaign"]
    entry = drift_report(profile, frame).column("utm_campaign")
    assert entry.unseen == int(rare.sum())
    assert entry.expected_unseen_rate == column.unseen_share
    assert entry.psi == pytest.approx(0.0, abs=1e-12)
    # Within the expected share plus the tolerance: no alert; beyond it: an alert that says so.
    few = leads.features.copy()
    few.loc[few.index[: int(len(few) * column.unseen_share)], "utm_campaign"] = "new"
    assert not [a for a in drift_report(profile, few).alerts if a.check == "unseen"]
    (alert,) = [a for a in drift_report(profile, frame).alerts if a.check == "unseen"]
    assert "expected from training's long tail" in alert.message


def test_missing_rate_far_above_training_is_an_alert(profile: DataProfile, leads: Dataset) -> None:
    frame = leads.features.copy()
    frame.loc[:299, "seniority"] = np.nan
    report = drift_report(profile, frame)
    (alert,) = [a for a in report.alerts if a.check == "missing_rate"]
    entry = report.column("seniority")
    assert entry.missing == int(frame["seniority"].isna().sum())
    assert alert.message == (
        f"seniority: {entry.missing:,} of 1,500 values missing ({entry.missing_rate:.1%}; "
        f"{entry.training_missing_rate:.1%} in training)"
    )


def test_the_verdict_is_one_line_naming_the_alerts(
    profile: DataProfile, leads: Dataset, scores: FloatArray
) -> None:
    assert drift_report(profile, leads.features, scores=scores).verdict() == (
        "data quality: no alert in 1,500 rows against the training profile"
    )
    frame = leads.features.copy()
    frame.loc[:299, "seniority"] = np.nan
    verdict = drift_report(profile, frame).verdict()
    assert verdict == "data quality: DRIFT, 2 alerts in 1,500 rows (seniority: psi, missing rate)"


def test_psi_severity_follows_the_thresholds(profile: DataProfile, leads: Dataset) -> None:
    frame = leads.features.copy()
    frame["employees"] = frame["employees"] * 3
    strict = DriftThresholds(feature_psi_warning=0.01, feature_psi_alert=0.02, min_rows=100)
    lenient = DriftThresholds(feature_psi_warning=50, feature_psi_alert=100, min_rows=100)
    entry = drift_report(profile, frame, thresholds=strict).column("employees")
    assert entry.psi is not None
    assert entry.psi > 0.1
    assert entry.severity == "major"
    psi_alerts = [
        a for a in drift_report(profile, frame, thresholds=strict).alerts if a.check == "psi"
    ]
    assert [a.column for a in psi_alerts] == ["employees"]
    # 1,500 rows against 1,500 training rows: the noise floor is above the 0.02 asked for.
    floor = psi_noise_floor(len(profile.columns["employees"].expected()) - 3, 1500, 1500)
    assert entry.psi_threshold == pytest.approx(max(0.02, floor))
    assert psi_alerts[0].message.startswith(
        f"employees: PSI {entry.psi:.3f} >= {entry.psi_threshold:.3g}, a major"
    )
    assert drift_report(profile, frame, thresholds=lenient).column("employees").severity == "stable"


def test_boolean_columns_have_their_own_lower_threshold(
    profile: DataProfile, leads: Dataset
) -> None:
    """Two values move a PSI less: 15 % of demo requests flipped is below 0.1, yet major."""
    frame = leads.features.copy()
    flip = np.random.default_rng(0).random(len(frame)) < 0.15
    frame.loc[flip, "requested_demo"] = 1.0 - frame.loc[flip, "requested_demo"]
    thresholds = DriftThresholds(min_rows=100)
    entry = drift_report(profile, frame, thresholds=thresholds).column("requested_demo")
    assert entry.psi is not None
    assert thresholds.boolean_psi_alert <= entry.psi < thresholds.feature_psi_warning
    assert entry.severity == "major"
    assert thresholds.psi_limits("boolean") == (BOOLEAN_PSI_WARNING, BOOLEAN_PSI_ALERT)
    assert thresholds.psi_limits("numeric") == (FEATURE_PSI_WARNING, FEATURE_PSI_ALERT)
    assert thresholds.psi_limits("categorical") == (FEATURE_PSI_WARNING, FEATURE_PSI_ALERT)
    assert thresholds.psi_limits("score") == (SCORE_PSI_WARNING, SCORE_PSI_ALERT)


def test_no_threshold_is_below_the_noise_floor(profile: DataProfile, leads: Dataset) -> None:
    """Unshifted samples do not alert, however low the thresholds asked for."""
    eager = DriftThresholds(
        feature_psi_warning=1e-6,
        feature_psi_alert=1e-6,
        boolean_psi_warning=1e-6,
        boolean_psi_alert=1e-6,
        min_rows=100,
    )
    for rows in (slice(0, 200), slice(500, 1500)):
        report = drift_report(profile, leads.features.iloc[rows], thresholds=eager)
        assert not [a for a in report.alerts if a.check == "psi"], report.alerts
        assert all(c.psi_threshold > 1e-6 for c in report.columns)
    # The floor shrinks with the rows: 200 rows need a larger index than 1,000.
    small = drift_report(profile, leads.features.iloc[:200], thresholds=eager)
    large = drift_report(profile, leads.features.iloc[:1000], thresholds=eager)
    assert small.column("region").psi_threshold > large.column("region").psi_threshold


def test_too_few_rows_give_no_psi_verdict(profile: DataProfile, leads: Dataset) -> None:
    small = leads.features.iloc[:50].copy()
    small["employees"] = small["employees"] * 10
    report = drift_report(profile, small)
    assert {c.severity for c in report.columns} == {"too_few_rows"}
    assert report.column("employees").psi is not None  # computed, just not judged
    assert not [a for a in report.alerts if a.check == "psi"]


def test_scores_drift_is_reported(profile: DataProfile, leads: Dataset, scores: Any) -> None:
    report = drift_report(profile, leads.features, scores=np.clip(scores + 0.3, 0, 1))
    assert report.score is not None
    assert report.score.kind == "score"
    assert report.score.severity == "major"
    assert report.psi["score"] == report.score.psi
    assert any(a.column == "score" and a.check == "psi" for a in report.alerts)
    # Without scores, no score entry.
    assert drift_report(profile, leads.features).score is None


@settings(max_examples=25, deadline=None, database=None)
@given(cuts=st.lists(st.integers(min_value=0, max_value=1500), max_size=6))
def test_chunks_add_up_to_the_one_shot_report(
    profile: DataProfile, leads: Dataset, scores: FloatArray, cuts: list[int]
) -> None:
    frame = leads.features.copy()
    frame.loc[:99, "industry"] = "quantum"
    frame.loc[100:199, "employees"] = 1e9
    whole = drift_report(profile, frame, scores=scores)
    counter = DriftAccumulator(profile)
    bounds = [0, *sorted(cuts), len(frame)]
    for start, stop in itertools.pairwise(bounds):
        counter.add(frame.iloc[start:stop], scores=scores[start:stop])
    assert counter.report() == whole


def test_every_input_form_gives_the_same_counts(
    profile: DataProfile, leads: Dataset, scores: FloatArray
) -> None:
    frame = leads.features.copy()
    frame.loc[:9, "region"] = "MARS"
    columns = _numpy_columns(frame, leads.schema)
    arrow = {
        name: pa.array(values, from_pandas=True) if values.dtype == object else pa.array(values)
        for name, values in columns.items()
    }
    coded = dict(columns)
    for name in leads.schema.categorical:
        levels, codes = np.unique(columns[name].astype(str), return_inverse=True)
        levels = np.array([None if v == "None" else v for v in levels], dtype=object)
        coded[name] = Coded(codes.astype(np.intp), levels)
    lists = {name: list(values) for name, values in columns.items()}
    expected = drift_report(profile, frame, scores=scores)
    for form in (columns, arrow, coded, lists):
        assert drift_report(profile, form, scores=list(scores)) == expected
    assert expected.column("region").unseen == 10


def test_object_arrays_may_hold_nan_for_missing(profile: DataProfile, leads: Dataset) -> None:
    columns = _numpy_columns(leads.features, leads.schema)
    seniority = columns["seniority"].copy()
    seniority[[v is None for v in seniority]] = np.nan
    assert drift_report(profile, dict(columns, seniority=seniority)) == drift_report(
        profile, columns
    )


def test_a_missing_column_or_ragged_columns_are_refused(
    profile: DataProfile, leads: Dataset
) -> None:
    columns = _numpy_columns(leads.features, leads.schema)
    with pytest.raises(SchemaError, match=r"column\(s\) \['region'\] of the training profile"):
        drift_report(profile, {k: v for k, v in columns.items() if k != "region"})
    with pytest.raises(DataError, match=r"differ in length \('employees' has 1,500.*1,499"):
        drift_report(profile, {**columns, "region": columns["region"][1:]})
    with pytest.raises(DataError, match="'employees' holds values that are not numbers"):
        drift_report(profile, {**columns, "employees": np.array(["a"] * len(leads), dtype=object)})
    with pytest.raises(TypeError, match="DataFrame or a mapping"):
        drift_report(profile, [1, 2, 3])


def test_report_serialises_and_renders(profile: DataProfile, leads: Dataset) -> None:
    frame = leads.features.copy()
    frame.loc[:99, "industry"] = "a | b"
    report = drift_report(profile, frame)
    data = json.loads(json.dumps(report.to_dict()))
    assert data["drifted"] is True
    assert data["rows"] == 1500
    assert [c["column"] for c in data["columns"]] == list(leads.schema.columns)
    text = report.to_markdown()
    assert "| column | kind | PSI | status |" in text
    assert "| industry | categorical |" in text
    assert "- **alert**: industry: 100 of 1,500 values (6.7%) at levels never seen" in text


def test_markdown_table_cells_are_escaped() -> None:
    schema = FeatureSchema(("a|b",), ("numeric",))
    profile = DataProfile.learn(pd.DataFrame({"a|b": np.arange(20.0)}), schema)
    text = drift_report(profile, {"a|b": np.arange(20.0)}).to_markdown()
    assert "| a\\|b | numeric | 0.000 | too few rows |" in text


def test_training_without_values_counts_any_value_as_out_of_range() -> None:
    schema = FeatureSchema(("amount",), ("numeric",))
    profile = DataProfile.learn(pd.DataFrame({"amount": [np.nan] * 20}), schema)
    report = drift_report(profile, {"amount": np.array([1.0, 2.0, np.nan])})
    entry = report.column("amount")
    assert (entry.out_of_range, entry.missing) == (2, 1)


def test_thresholds_must_be_ordered() -> None:
    with pytest.raises(ValidationError, match=r"feature_psi_warning 0\.3 is above"):
        DriftThresholds(feature_psi_warning=0.3, feature_psi_alert=0.2)
