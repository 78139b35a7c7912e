"""Binning: a few rows binned as one matrix agree with the per-column passes, value by value."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlsys.monitoring._bins import _NumberBlock, bin_numbers

pytestmark = pytest.mark.unit

FloatArray = np.ndarray[Any, np.dtype[np.float64]]

value = st.one_of(
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
    st.sampled_from([float("nan"), float("inf"), float("-inf")]),
    st.sampled_from([0.0, 1.0, 2.5]),  # values on an edge
)
edges = st.lists(
    st.sampled_from([-3.0, 0.0, 0.5, 1.0, 2.5, 7.0, 1e5]), unique=True, max_size=6
).map(sorted)


@settings(max_examples=150, deadline=None, database=None)
@given(
    columns=st.lists(edges, min_size=1, max_size=5),
    rows=st.integers(min_value=0, max_value=12),
    data=st.data(),
)
def test_one_matrix_gives_the_per_column_counts(
    columns: list[list[float]], rows: int, data: st.DataObject
) -> None:
    specs: list[tuple[str, FloatArray, int]] = []
    start = 0
    for i, column_edges in enumerate(columns):
        specs.append((f"c{i}", np.array(column_edges, dtype=np.float64), start))
        start += len(column_edges) + 2
    values = [
        np.array(data.draw(st.lists(value, min_size=rows, max_size=rows)), dtype=np.float64)
        for _ in columns
    ]
    counts = np.zeros(start, dtype=np.int64)
    _NumberBlock.of(specs).count(values, counts)
    expected = np.concatenate(
        [bin_numbers(v, e) for (_, e, _), v in zip(specs, values, strict=True)]
    )
    assert counts.tolist() == expected.tolist()


def test_bins_follow_the_edges() -> None:
    counts = bin_numbers(np.array([-1.0, 0.0, 0.5, 1.0, 9.0, np.nan]), np.array([0.0, 1.0]))
    # below 0 | [0, 1) | 1 and above | missing
    assert counts.tolist() == [1, 2, 2, 1]
