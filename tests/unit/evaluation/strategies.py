"""Hypothesis strategies shared by the evaluation tests."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import settings
from hypothesis import strategies as st

# No example database: nothing is written into the working tree.
FAST = settings(max_examples=60, deadline=None, database=None)

probability = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


@st.composite
def labelled_scores(draw: st.DrawFn) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Labels holding both classes, with scores that often tie."""
    n = draw(st.integers(min_value=2, max_value=60))
    labels = draw(
        st.lists(st.integers(0, 1), min_size=n, max_size=n).filter(lambda v: 0 < sum(v) < n)
    )
    coarse = draw(st.booleans())  # coarse scores make many ties
    element = st.integers(0, 4).map(lambda k: k / 4) if coarse else probability
    scores = draw(st.lists(element, min_size=n, max_size=n))
    return np.array(labels, dtype=np.int64), np.array(scores, dtype=np.float64)
