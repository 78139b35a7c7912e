"""Splitters: stratified random, time-based and group-based, all behind one protocol."""

from __future__ import annotations

from mlsys.split._splitters import (
    SPLIT_NAMES,
    GroupSplitter,
    RandomSplitter,
    SplitIndices,
    Splitter,
    TimeSplitter,
)

__all__ = [
    "SPLIT_NAMES",
    "GroupSplitter",
    "RandomSplitter",
    "SplitIndices",
    "Splitter",
    "TimeSplitter",
]
