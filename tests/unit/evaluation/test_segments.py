"""Segments: metrics per value, small segments flagged, undefined metrics explained."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from mlsys.errors import ConfigError, DataError
from mlsys.evaluation import segment_breakdown

pytestmark = pytest.mark.unit


def _data(n: int = 1200, seed: int = 0) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    region = pd.Series(rng.choice(["EU", "US", "APAC"], size=n, p=[0.5, 0.4, 0.1]))
    y = (rng.random(n) < 0.15).astype(np.int64)
    p = np.clip(rng.normal(0.2 + 0.3 * y, 0.15), 0, 1)
    return region, y, p


def test_metrics_per_segment_match_sklearn_on_the_segment_rows() -> None:
    region, y, p = _data()

    report = segment_breakdown(region, y, p, 0.35, column="region")

    assert [s.segment for s in report.segments] == ["EU", "US", "APAC"]  # largest first
    for s in report.segments:
        rows = (region == s.segment).to_numpy()
        called = p[rows] >= 0.35
        assert s.rows == rows.sum()
        assert s.positives == y[rows].sum()
        assert s.roc_auc == pytest.approx(skm.roc_auc_score(y[rows], p[rows]))
        assert s.pr_auc == pytest.approx(skm.average_precision_score(y[rows], p[rows]))
        assert s.precision == pytest.approx(y[rows][called].mean())
        assert s.recall == pytest.approx(y[rows][called].sum() / y[rows].sum())
        assert s.mean_probability == pytest.approx(p[rows].mean())
    assert report.column == "region"
    assert sum(s.rows for s in report.segments) == len(y)


def test_segments_with_too_few_converters_or_non_converters_are_flagged() -> None:
    values = ["big"] * 100 + ["few_pos"] * 30 + ["few_neg"] * 12
    y = np.array([0, 1] * 50 + [1] * 3 + [0] * 27 + [1] * 9 + [0] * 3)
    p = np.linspace(0.01, 0.99, len(y))

    report = segment_breakdown(values, y, p, 0.5, min_positives=5, min_negatives=5)

    by_name = {s.segment: s for s in report.segments}
    assert not by_name["big"].too_few
    assert by_name["few_pos"].too_few
    assert "only 3 converters (< 5): too few to trust" in by_name["few_pos"].notes
    assert by_name["few_neg"].too_few
    assert "only 3 non-converters (< 5): too few to trust" in by_name["few_neg"].notes
    assert by_name["few_pos"].roc_auc is not None  # flagged, still computed
    assert report.flagged == ["few_pos", "few_neg"]


def test_one_class_segment_reports_undefined_metrics_with_the_reason() -> None:
    values = ["a"] * 6 + ["b"] * 4
    y = np.array([0, 1, 0, 1, 0, 1, 0, 0, 0, 0])
    p = np.array([0.1, 0.9, 0.2, 0.8, 0.3, 0.7, 0.1, 0.2, 0.3, 0.4])

    report = segment_breakdown(values, y, p, 0.5, min_positives=1, min_negatives=1)

    b = report.segments[1]
    assert b.segment == "b"
    assert b.roc_auc is None
    assert b.pr_auc is None
    assert b.recall is None
    assert b.precision is None  # nobody in b reaches 0.5
    assert "no converters: ROC-AUC and PR-AUC need both classes" in b.notes
    assert "no converters: recall is undefined" in b.notes
    assert any("no row reaches the threshold" in n for n in b.notes)
    assert b.to_dict()["notes"] == list(b.notes)


def test_segments_beyond_the_cap_are_pooled_into_other() -> None:
    values = ["a"] * 40 + ["b"] * 30 + ["c"] * 20 + ["d"] * 5 + ["e"] * 5
    y = np.tile([0, 1], 50)
    p = np.linspace(0, 1, 100)

    report = segment_breakdown(values, y, p, 0.5, max_segments=2, min_positives=0)

    assert [s.segment for s in report.segments] == ["a", "b", "(other: 3 values)"]
    assert report.segments[-1].rows == 30
    assert report.pooled_values == 3


def test_missing_values_are_a_segment_and_ties_in_size_sort_by_name() -> None:
    values = pd.Series(["x", None, "y", None, "x", "y"])

    report = segment_breakdown(values, [0, 1, 0, 1, 1, 0], [0.5] * 6, 0.5, min_positives=0)

    assert [s.segment for s in report.segments] == ["(missing)", "x", "y"]


def test_many_valued_numeric_columns_become_ordered_quantile_bins() -> None:
    rng = np.random.default_rng(1)
    amount = rng.lognormal(size=500)
    amount[:7] = np.nan
    y = (rng.random(500) < 0.3).astype(np.int64)

    report = segment_breakdown(
        amount, y, rng.random(500), 0.5, max_segments=4, numeric_bins=4, column="amount"
    )

    assert report.binned
    names = [s.segment for s in report.segments]
    assert names[-1] == "(missing)"
    lows = [float(n.split(",")[0].lstrip("(")) for n in names[:-1]]
    assert lows == sorted(lows)
    assert len(names) == 5


def test_few_valued_numbers_stay_values() -> None:
    report = segment_breakdown([1.0, 2.0, 1.0, 2.0], [0, 1, 1, 0], [0.1, 0.9, 0.8, 0.2], 0.5)

    assert [s.segment for s in report.segments] == ["1", "2"]
    assert not report.binned


def test_bad_input_is_a_clear_error() -> None:
    with pytest.raises(DataError, match="column 'region' has 2 values for 3 labels"):
        segment_breakdown(["a", "b"], [0, 1, 0], [0.1, 0.2, 0.3], 0.5, column="region")
    with pytest.raises(ConfigError, match="max_segments=0"):
        segment_breakdown(["a"], [0], [0.1], 0.5, max_segments=0)


def test_to_dict_and_to_frame() -> None:
    region, y, p = _data(200)

    report = segment_breakdown(region, y, p, 0.3, column="region")

    assert report.to_dict()["segments"][0]["segment"] == report.segments[0].segment
    assert list(report.to_frame()["segment"]) == [s.segment for s in report.segments]
