"""The server's live drift window: bounded, thread-safe, cheap to feed.

What "window" means here: the last ``window`` observed rows, kept as a ring of ``blocks`` blocks
of bin counts (default 10 blocks of 1,000 rows). Requests add their counts to the current
block; when it holds ``window / blocks`` rows the ring moves on and the oldest block is
zeroed, so the window always holds between 90 % and 100 % of ``window`` rows once full (a
request larger than a block stays whole in its block). Counts, not decayed weights: the
index of ``n`` rows has a known noise level (about ``(bins - 1) / n``), so the thresholds
calibrated for a window of ``n`` rows mean the same thing on every server, and "the last
10,000 leads" is what an operator can reason about. Exponential decay would weigh a burst of
traffic more than the quiet hours before it, by request rate rather than by rows.

Memory is ``blocks x bins`` 64-bit counters (under 16 KB for the leads model). ``observe``
bins a request's columns with numpy only (no pandas, no allocation per row) and holds the lock
for one vector addition; ``snapshot`` sums the ring and computes the PSI per column, off the
request path (at scrape time, from :class:`~mlsys.monitoring.DriftCollector`).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping
from typing import Any

import numpy as np

from mlsys.monitoring._bins import BinLayout
from mlsys.monitoring._drift import DriftReport, DriftThresholds, build_report
from mlsys.monitoring._profile import DataProfile

__all__ = ["DEFAULT_BLOCKS", "DEFAULT_WINDOW", "RollingDrift"]

DEFAULT_WINDOW = 10_000
"""Rows in the live window; the calibration (docs/MONITORING.md) measured noise at this size."""
DEFAULT_BLOCKS = 10
"""Blocks the window is kept in: it forgets its oldest tenth at a time."""


class RollingDrift:
    """Bin counts of the last ``window`` scored rows, and their PSI against training.

    Args:
        profile: The served model's training profile.
        window: Rows the window holds.
        blocks: Blocks the window is kept in (its granularity).
        thresholds: The limits of the snapshot's verdicts; ``min_rows`` also gates the PSI.

    Example:
        >>> drift = RollingDrift(profile, window=10_000)  # doctest: +SKIP
        >>> drift.observe(columns, probabilities)  # per request, after scoring  # doctest: +SKIP
        >>> drift.snapshot().psi  # at scrape time  # doctest: +SKIP
    """

    def __init__(
        self,
        profile: DataProfile,
        *,
        window: int = DEFAULT_WINDOW,
        blocks: int = DEFAULT_BLOCKS,
        thresholds: DriftThresholds | None = None,
    ) -> None:
        if blocks < 1 or window < blocks:
            raise ValueError(f"need window >= blocks >= 1 (got window={window}, blocks={blocks})")
        self.layout = BinLayout(profile)
        self.window = window
        self.thresholds = thresholds or DriftThresholds()
        self._block_rows = math.ceil(window / blocks)
        self._ring = np.zeros((blocks, self.layout.size), dtype=np.int64)
        self._rows = np.zeros(blocks, dtype=np.int64)
        self._current = 0
        self._lock = threading.Lock()

    def observe(self, columns: Mapping[str, Any], scores: Any = None) -> None:
        """Count one request's rows: typed columns (float64 / ``str`` or ``None``) and scores.

        Raises:
            SchemaError: A profiled column is missing.
            DataError: Columns differ in length.
        """
        counts, rows = self.layout.count(columns, scores)
        if not rows:
            return
        with self._lock:
            current = self._current
            self._ring[current] += counts
            self._rows[current] += rows
            if self._rows[current] >= self._block_rows:
                current = (current + 1) % len(self._rows)
                self._ring[current] = 0
                self._rows[current] = 0
                self._current = current

    @property
    def rows(self) -> int:
        """Rows in the window now."""
        with self._lock:
            return int(self._rows.sum())

    def snapshot(self) -> DriftReport:
        """The window's drift report (PSI per column and of the scores)."""
        with self._lock:
            counts = self._ring.sum(axis=0)
            rows = int(self._rows.sum())
        return build_report(self.layout, counts, rows, self.thresholds)
