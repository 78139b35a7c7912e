"""Experiment trackers: record a finished run somewhere people can browse and compare it."""

from __future__ import annotations

from mlsys.tracking._mlflow import (
    MlflowTracker,
    default_tracking_uri,
    pip_requirements,
    resolve_tracking_uri,
)
from mlsys.tracking._protocol import NullTracker, RunRecord, Tracker

__all__ = [
    "MlflowTracker",
    "NullTracker",
    "RunRecord",
    "Tracker",
    "default_tracking_uri",
    "pip_requirements",
    "resolve_tracking_uri",
]
