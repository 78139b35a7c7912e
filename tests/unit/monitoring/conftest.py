"""A profile of the shared synthetic leads, learned once per session."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from mlsys.data import Dataset
from mlsys.monitoring import DataProfile


@pytest.fixture(scope="session")
def scores(leads: Dataset) -> np.ndarray[Any, np.dtype[np.float64]]:
    """Score-like probabilities, one per lead, higher for converters."""
    rng = np.random.default_rng(3)
    return np.clip(rng.beta(1, 8, len(leads)) + 0.2 * leads.target, 0, 1)


@pytest.fixture(scope="session")
def profile(leads: Dataset, scores: np.ndarray[Any, np.dtype[np.float64]]) -> DataProfile:
    """The profile of the 1,500 synthetic leads and their scores."""
    return DataProfile.learn(leads.features, leads.schema, scores=scores)
