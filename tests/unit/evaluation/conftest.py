"""Fixtures of the evaluation tests: one small data set and a fitted bundle per model."""

from __future__ import annotations

import pytest

from mlsys.data import Dataset
from mlsys.models import ModelBundle

from .helpers import MODELS, fit_bundle, signal_dataset


@pytest.fixture(scope="session")
def signal() -> Dataset:
    """600 rows where only ``signal`` (and a little ``channel``) drives conversion."""
    return signal_dataset()


@pytest.fixture(scope="session")
def bundles(signal: Dataset) -> dict[str, ModelBundle]:
    """Every model fitted on ``signal``; tests must not modify them."""
    return {name: fit_bundle(signal, make(), feats()) for name, (make, feats) in MODELS.items()}
