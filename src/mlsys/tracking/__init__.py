"""Experiment trackers: record a finished run somewhere people can browse and compare it."""

from __future__ import annotations

from mlsys.tracking._mlflow import (
    MlflowTracker,
    check_store,
    default_tracking_uri,
    mark_killed_runs,
    pip_requirements,
    redact_uri,
    resolve_tracking_uri,
    store_lock,
)
from mlsys.tracking._protocol import NullTracker, RunRecord, Tracker

__all__ = [
    "MlflowTracker",
    "NullTracker",
    "RunRecord",
    "Tracker",
    "check_store",
    "default_tracking_uri",
    "mark_killed_runs",
    "pip_requirements",
    "redact_uri",
    "resolve_tracking_uri",
    "store_lock",
]
