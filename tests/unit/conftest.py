"""Fixtures shared by the unit tests: one small synthetic data set, single-threaded natives."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis.configuration import set_hypothesis_home_dir
from threadpoolctl import threadpool_limits

from mlsys.data import Dataset, FrameSource, generate_leads

#: How conf/data/leads.yaml loads the synthetic set: id, date and group kept, leak dropped.
LEADS_OPTIONS = {
    "id_column": "lead_id",
    "date_columns": ["created_at"],
    "non_feature_columns": ["account_id"],
    "drop_columns": ["opportunity_amount"],
    "leaky_columns": ["opportunity_amount"],
}

_HYPOTHESIS_HOME = pytest.StashKey[Path]()


def pytest_configure(config: pytest.Config) -> None:
    """Point Hypothesis's cache at a temporary folder instead of ``./.hypothesis``.

    Its pytest plugin writes that cache while collecting, before any fixture could run.
    """
    home = Path(tempfile.mkdtemp(prefix="mlsys-hypothesis-"))
    config.stash[_HYPOTHESIS_HOME] = home
    set_hypothesis_home_dir(home)


def pytest_unconfigure(config: pytest.Config) -> None:
    set_hypothesis_home_dir(None)
    home = config.stash.get(_HYPOTHESIS_HOME, None)
    if home is not None:
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(autouse=True, scope="session")
def _single_threaded_natives() -> Iterator[None]:
    """One OpenMP/BLAS thread: on a busy 2-core runner, spinning OpenMP workers of
    HistGradientBoosting and XGBoost take seconds per fit instead of tens of milliseconds."""
    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="session")
def leads() -> Dataset:
    """1,500 synthetic leads loaded like ``data=leads`` (about 10% positive)."""
    frame, _ = generate_leads(n_rows=1500)
    return FrameSource(frame, target="converted", name="leads", **LEADS_OPTIONS).load()
