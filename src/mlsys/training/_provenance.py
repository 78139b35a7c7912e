"""Provenance: where a run came from (code, data, environment, person), for its metadata.

Written into the bundle (what the model was trained on) and into ``metadata.json`` (what the run
did), so a model found later can be traced to the commit, the data file and the packages.
"""

from __future__ import annotations

import getpass
import platform
from datetime import datetime
from importlib import metadata as importlib_metadata
from typing import Any

from mlsys._paths import git_sha
from mlsys.data import Dataset
from mlsys.split import SplitIndices

__all__ = [
    "VERSIONED_PACKAGES",
    "bundle_metadata",
    "date_ranges",
    "package_version",
    "run_metadata",
]

#: Packages whose versions every run records.
VERSIONED_PACKAGES = (
    "mlsys",
    "numpy",
    "pandas",
    "scikit-learn",
    "xgboost",
    "catboost",
    "imbalanced-learn",
    "hydra-core",
    "omegaconf",
)


def bundle_metadata(
    *,
    name: str,
    model: str,
    seed: int,
    dataset: Dataset,
    metrics: dict[str, Any],
    started: datetime,
) -> dict[str, Any]:
    """What the model bundle says about itself: name, model class, data, headline metrics."""
    return {
        "name": name,
        "model": model,
        "trained_at": started.isoformat(timespec="seconds"),
        "data": dataset.summary(),
        "metrics": {k: v for k, v in metrics.items() if isinstance(v, float)},
        "mlsys_version": package_version("mlsys"),
        "seed": seed,
    }


def run_metadata(
    *,
    name: str,
    seed: int,
    dataset: Dataset,
    splits: SplitIndices,
    stages: dict[str, float],
    started: datetime,
    overrides: list[str],
) -> dict[str, Any]:
    """The run's provenance: git sha, data and split digests, Python and package versions."""
    return {
        "name": name,
        "started_at": started.isoformat(timespec="seconds"),
        "wall_seconds": round(sum(stages.values()), 3),
        "seed": seed,
        "git_sha": git_sha(),
        "data": dataset.summary(),
        "dates": date_ranges(dataset),
        "splits": {"sizes": splits.sizes(), "sha256": splits.digests()},
        "python": platform.python_version(),
        "packages": {package: package_version(package) for package in VERSIONED_PACKAGES},
        "overrides": list(overrides),
        "user": _user(),
    }


def date_ranges(dataset: Dataset) -> dict[str, list[str | None]]:
    """First and last date (ISO) of every date column of the data (the model card shows one)."""
    import pandas as pd

    out: dict[str, list[str | None]] = {}
    for name in dataset.frame.columns:
        column = dataset.frame[name]
        if pd.api.types.is_datetime64_any_dtype(column):
            low, high = column.min(), column.max()
            out[str(name)] = [
                None if pd.isna(low) else low.date().isoformat(),
                None if pd.isna(high) else high.date().isoformat(),
            ]
    return out


def package_version(package: str) -> str | None:
    """The installed version of ``package``, or ``None`` when it is not installed."""
    try:
        return importlib_metadata.version(package)
    except importlib_metadata.PackageNotFoundError:
        return None


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
