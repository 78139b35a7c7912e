"""Fixtures of the evaluation tests: one small data set and a fitted bundle per model."""

from __future__ import annotations

from pathlib import Path

import pytest
from matplotlib.figure import Figure

from mlsys.data import Dataset
from mlsys.evaluation import _plots
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


@pytest.fixture
def drawn_text(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every title and legend entry of the figures the plots save while the test runs."""
    texts: list[str] = []
    save = _plots._save

    def spy(fig: Figure, path: str | Path) -> Path:
        for ax in fig.axes:
            texts.append(ax.get_title())
            legend = ax.get_legend()
            if legend is not None:
                texts.extend(t.get_text() for t in legend.get_texts())
        return save(fig, path)

    monkeypatch.setattr(_plots, "_save", spy)
    return texts
