"""Bootstrap intervals: exact per resample, seeded, vectorised, honest about skipped resamples."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from mlsys.errors import ConfigError
from mlsys.evaluation import ConfidenceInterval, bootstrap_intervals
from mlsys.evaluation._bootstrap import bootstrap_values

from .strategies import FAST, labelled_scores

# Each example checks every resample against two scikit-learn calls: fewer, smaller examples.
FEW = settings(FAST, max_examples=15)

pytestmark = pytest.mark.unit

Data = tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]


def _scored(n: int, seed: int = 0, rate: float = 0.1) -> Data:
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < rate).astype(np.int64)
    return y, np.clip(rng.normal(0.3 + 0.2 * y, 0.2), 0, 1)


@FEW
@given(labelled_scores(), st.integers(0, 2**16))
def test_each_resample_matches_sklearn_on_the_same_rows(data: Data, seed: int) -> None:
    y, p = data
    resamples = 6
    # The documented draw: one (resamples, n) block from default_rng(seed) on small data.
    rows = np.random.default_rng(seed).integers(0, len(y), size=(resamples, len(y)))
    both = [r for r in rows if 0 < y[r].sum() < len(y)]

    values, skipped = bootstrap_values(y, p, resamples=resamples, seed=seed)

    assert skipped == resamples - len(both)
    np.testing.assert_allclose(
        values["roc_auc"], [skm.roc_auc_score(y[r], p[r]) for r in both], atol=1e-12
    )
    np.testing.assert_allclose(
        values["pr_auc"], [skm.average_precision_score(y[r], p[r]) for r in both], atol=1e-12
    )


def test_interval_contains_the_estimate_and_is_deterministic_for_a_seed() -> None:
    y, p = _scored(2000)

    first = bootstrap_intervals(y, p, resamples=300, seed=3)
    again = bootstrap_intervals(y, p, resamples=300, seed=3)
    other = bootstrap_intervals(y, p, resamples=300, seed=4)

    assert first == again
    assert first["roc_auc"] != other["roc_auc"]
    for metric in ("roc_auc", "pr_auc"):
        interval = first[metric]
        assert interval.low is not None
        assert interval.high is not None
        assert interval.low < interval.estimate < interval.high
        assert interval.skipped == 0
        assert interval.used == 300
    assert first["roc_auc"].estimate == pytest.approx(skm.roc_auc_score(y, p))
    assert first["pr_auc"].estimate == pytest.approx(skm.average_precision_score(y, p))


def test_wider_confidence_and_fewer_rows_widen_the_interval() -> None:
    y, p = _scored(4000, seed=1)

    def width(interval: ConfidenceInterval) -> float:
        assert interval.low is not None
        assert interval.high is not None
        return interval.high - interval.low

    narrow = bootstrap_intervals(y, p, resamples=400, confidence=0.8)["roc_auc"]
    wide = bootstrap_intervals(y, p, resamples=400, confidence=0.99)["roc_auc"]
    small = bootstrap_intervals(y[:400], p[:400], resamples=400, confidence=0.8)["roc_auc"]

    assert width(narrow) < width(wide)
    assert width(narrow) < width(small)


def test_resamples_with_one_class_are_skipped_and_counted() -> None:
    # One converter in 8 rows: a resample misses it with probability (7/8)^8, about 34 %.
    y = np.array([0, 0, 0, 1, 0, 0, 0, 0])
    p = np.linspace(0.1, 0.8, 8)

    interval = bootstrap_intervals(y, p, resamples=500, seed=0)["roc_auc"]

    assert 100 < interval.skipped < 250
    assert interval.used == 500 - interval.skipped
    assert interval.to_dict()["used"] == interval.used
    assert interval.reason is None


@pytest.mark.parametrize("label", [0, 1])
def test_single_class_labels_give_no_interval_with_a_reason(label: int) -> None:
    intervals = bootstrap_intervals(np.full(20, label), np.linspace(0, 1, 20), resamples=50)

    for interval in intervals.values():
        assert interval.estimate is None
        assert interval.low is None
        assert interval.high is None
        assert interval.skipped == 50
        assert "single class" in str(interval.reason)


def test_zero_resamples_gives_estimates_without_bounds() -> None:
    y, p = _scored(300)

    interval = bootstrap_intervals(y, p, resamples=0)["pr_auc"]

    assert interval.estimate == pytest.approx(skm.average_precision_score(y, p))
    assert interval.low is None
    assert interval.reason == "no bootstrap resamples requested"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"resamples": -1}, "evaluation.report.bootstrap: got -1"),
        ({"confidence": 1.0}, "evaluation.report.confidence: got 1.0"),
        ({"confidence": 0.0}, "expected a value in"),
    ],
)
def test_bad_settings_are_config_errors(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        bootstrap_intervals([0, 1], [0.2, 0.8], **kwargs)


def test_a_thousand_resamples_of_ten_thousand_rows_are_all_used() -> None:
    # How fast is benchmarks/bootstrap.py's question (about 0.2 s of CPU); a test asserts no time.
    y, p = _scored(10_000, seed=2)

    intervals = bootstrap_intervals(y, p, resamples=1000, seed=0)

    for interval in intervals.values():
        assert interval.used == 1000
        assert interval.low is not None
        assert interval.high is not None
        assert interval.low < interval.estimate < interval.high
