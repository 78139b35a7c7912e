"""Shared fixtures: small data files and fast model settings, all under tmp paths."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlsys.data import write_leads

# One OpenMP thread that sleeps when idle, for this process and every CLI, server and notebook
# kernel a test starts. Those share 2 cores with each other (and with a second pytest worker):
# XGBoost's spinning OpenMP threads then turn a 1 s fit into 20-40 s. Set them to measure
# multi-threaded speed on purpose.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# mlsys sets no variable itself (docs/TROUBLESHOOTING.md): MLflow's download bars stay out of the
# output the CLI tests read, as they do for a user who exports it.
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
# Tests are hermetic: what the caller exported must not change a result. HYDRA_FULL_ERROR adds
# tracebacks to every CLI's output, and mlsys reads MLSYS_* (some at import, hence here, before
# mlsys is imported). A test that needs one passes it to the process it starts. The CI switches
# MLSYS_REQUIRE_* stay: they turn skips into failures. MLFLOW_TRACKING_URI is set per test below.
for _name in [
    name
    for name in os.environ
    if name == "HYDRA_FULL_ERROR" or (name.startswith("MLSYS_") and "_REQUIRE_" not in name)
]:
    del os.environ[_name]

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATASETS = REPO_ROOT.parent / "shared" / "datasets"

#: Overrides that keep each model option quick on a few thousand rows.
FAST_MODEL_OVERRIDES: dict[str, list[str]] = {
    "xgboost": ["model=xgboost", "model.n_estimators=300", "model.early_stopping_rounds=30"],
    "catboost": ["model=catboost", "model.iterations=200", "model.early_stopping_rounds=30"],
    "logreg": ["model=logreg"],
    "hist_gb": ["model=hist_gb", "model.max_iter=200", "model.n_iter_no_change=20"],
    "random_forest": ["model=random_forest", "model.n_estimators=60"],
}
MODEL_OPTIONS = tuple(FAST_MODEL_OVERRIDES)
#: For tests about something else than tracking: skip MLflow (about 3 s a run).
NO_TRACKING = ["tracker=none", "registry=none"]
#: For tests about something else than the evaluation report: keep its metrics, intervals and
#: HTML, skip its costly parts (plots, feature importance).
FAST_REPORT = ["evaluation.report.plots=false", "evaluation.report.importance=false"]


@pytest.fixture(scope="session")
def small_leads_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3,000 synthetic leads (same generator as data/leads.csv, different size)."""
    return write_leads(tmp_path_factory.mktemp("data") / "leads_small.csv", n_rows=3000)


@pytest.fixture
def leads_overrides(small_leads_csv: Path, tmp_path: Path) -> list[str]:
    """Overrides pointing the default data config at the small CSV, without tracking."""
    return [f"data.path={small_leads_csv}", *NO_TRACKING, *FAST_REPORT]


@pytest.fixture(autouse=True)
def _isolated_tracking(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test (and every CLI it spawns) tracks into its own store, never the project's."""
    store = tmp_path / "mlruns-store"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{store / 'mlflow.db'}")
    return store


@pytest.fixture(autouse=True)
def _clean_hydra() -> Iterator[None]:
    """Reset Hydra's global state after each test."""
    yield
    from hydra.core.global_hydra import GlobalHydra

    GlobalHydra.instance().clear()
