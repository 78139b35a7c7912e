"""The data source protocol and an in-memory implementation."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import pandas as pd

from mlsys.data._csv import CsvSource
from mlsys.data._dataset import Dataset

__all__ = ["DataSource", "FrameSource"]


@runtime_checkable
class DataSource(Protocol):
    """Anything that yields a validated :class:`Dataset`."""

    def load(self) -> Dataset:
        """Load and validate the data."""
        ...


class FrameSource:
    """A data source over a DataFrame already in memory (notebooks, tests).

    Applies exactly the validation and typing of :class:`CsvSource`; the digest is computed
    from the frame's CSV rendering so replays can still detect changed data.

    Example:
        >>> frame = pd.DataFrame({"x": [1, 2, 3, 4], "y": [0, 1, 0, 1]})
        >>> FrameSource(frame, target="y").load().positive_rate
        0.5
    """

    def __init__(self, frame: pd.DataFrame, target: str, name: str = "frame", **options: Any):
        self.frame = frame
        self.csv = CsvSource(path=f"<{name}>", target=target, name=name, **options)

    def load(self) -> Dataset:
        """Validate and type the frame."""
        digest = hashlib.sha256(self.frame.to_csv(index=False).encode()).hexdigest()
        return self.csv.from_frame(self.frame.copy(), path=Path(self.csv.path), sha256=digest)
