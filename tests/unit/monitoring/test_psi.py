"""The population stability index: zero for identical shares, symmetric, finite with empty bins."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlsys.monitoring import PSI_EPSILON, population_stability_index

pytestmark = pytest.mark.unit

FAST = settings(max_examples=80, deadline=None, database=None)

counts = st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=40)


@st.composite
def two_histograms(draw: st.DrawFn) -> tuple[list[int], list[int]]:
    """Two histograms over the same bins, each with at least one row; zeros are common."""
    size = draw(st.integers(min_value=1, max_value=40))
    cell = st.one_of(st.just(0), st.integers(min_value=0, max_value=5_000))
    first = draw(st.lists(cell, min_size=size, max_size=size).filter(lambda v: sum(v) > 0))
    second = draw(st.lists(cell, min_size=size, max_size=size).filter(lambda v: sum(v) > 0))
    return first, second


@FAST
@given(counts.filter(lambda v: sum(v) > 0))
def test_identical_distributions_give_zero(histogram: list[int]) -> None:
    shares = np.array(histogram) / sum(histogram)
    assert population_stability_index(shares, histogram) == pytest.approx(0.0, abs=1e-12)
    # Scaling the counts does not change the shares.
    assert population_stability_index(shares, [3 * c for c in histogram]) == pytest.approx(
        0.0, abs=1e-12
    )


@FAST
@given(two_histograms())
def test_finite_non_negative_and_symmetric(pair: tuple[list[int], list[int]]) -> None:
    first, second = pair
    forward = population_stability_index(np.array(first) / sum(first), second)
    backward = population_stability_index(np.array(second) / sum(second), first)
    assert math.isfinite(forward)
    assert forward >= 0.0
    assert forward == pytest.approx(backward, rel=1e-9, abs=1e-12)


@FAST
@given(two_histograms())
def test_bounded_by_the_floor(pair: tuple[list[int], list[int]]) -> None:
    """No bin adds more than |a - e| * ln(1 / epsilon): empty bins cannot blow it up."""
    first, second = pair
    e, a = np.array(first) / sum(first), np.array(second) / sum(second)
    bound = np.abs(a - e).sum() * math.log(1 / PSI_EPSILON)
    assert population_stability_index(e, second) <= bound + 1e-9


def test_known_values() -> None:
    # (0.6 - 0.5) ln(0.6 / 0.5) + (0.4 - 0.5) ln(0.4 / 0.5)
    expected = 0.1 * math.log(1.2) + 0.1 * math.log(1.25)
    assert population_stability_index([0.5, 0.5], [60, 40]) == pytest.approx(expected)
    # 5 % of rows in a bin training never filled (its share floored at epsilon).
    moved = population_stability_index([1.0, 0.0], [95, 5])
    assert moved == pytest.approx(
        (0.05 - PSI_EPSILON) * math.log(0.05 / PSI_EPSILON) + 0.05 * math.log(1 / 0.95)
    )
    assert moved > 0.25


def test_nothing_observed_is_nan_not_zero() -> None:
    assert math.isnan(population_stability_index([0.5, 0.5], [0, 0]))


@pytest.mark.parametrize(
    ("expected", "actual", "message"),
    [
        ([0.5, 0.5], [1, 2, 3], "same length"),
        ([0.5, 0.5], [1, -1], "non-negative"),
        ([0.5, math.nan], [1, 1], "finite"),
    ],
)
def test_bad_input_is_refused(expected: list[float], actual: list[int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        population_stability_index(expected, actual)
