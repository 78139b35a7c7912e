"""Experiment trackers: record a finished run somewhere people can browse and compare it."""

from __future__ import annotations

from mlsys.tracking._protocol import NullTracker, RunRecord, Tracker

__all__ = ["NullTracker", "RunRecord", "Tracker"]
