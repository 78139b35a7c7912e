"""Wall time per named part of a job: one stopwatch for every place that reports timings.

Example:
    >>> watch = Stopwatch()
    >>> with watch("load"):
    ...     pass
    >>> list(watch.seconds)
    ['load']
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["Stopwatch"]


class Stopwatch:
    """Adds up the wall seconds spent in each named part, rounded to 0.1 ms.

    A part timed twice accumulates (the report's plots are drawn in two batches, say). Time is
    recorded when the block ends, also when it raises, so a failed part still shows its cost.

    Attributes:
        seconds: Seconds per part, in the order the parts were first timed.
    """

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        """Time the block under ``name``."""
        start = time.perf_counter()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - start
            self.seconds[name] = round(self.seconds.get(name, 0.0) + elapsed, 4)
