"""Batch scoring: resolve a model, read any file in chunks, validate rows, write scores.

``python -m mlsys.predict`` and ``python -m mlsys.evaluate`` are thin command lines over
these pieces; a notebook can use them directly::

    from mlsys.scoring import resolve_model, score_file

    summary = score_file("new_leads.csv", "scores.parquet", resolve_model("champion"))
"""

from __future__ import annotations

from mlsys.scoring._batch import (
    ChunkScorer,
    ScoreStats,
    ScoringSummary,
    default_rejects_path,
    iter_scored,
    score_file,
)
from mlsys.scoring._reader import NA_VALUES, Chunk, Malformed, TableReader, open_table
from mlsys.scoring._resolve import ResolvedModel, resolve_model
from mlsys.scoring._rows import RowValidator, ValidatedChunk
from mlsys.scoring._writer import TableWriter, output_format

__all__ = [
    "NA_VALUES",
    "Chunk",
    "ChunkScorer",
    "Malformed",
    "ResolvedModel",
    "RowValidator",
    "ScoreStats",
    "ScoringSummary",
    "TableReader",
    "TableWriter",
    "ValidatedChunk",
    "default_rejects_path",
    "iter_scored",
    "open_table",
    "output_format",
    "resolve_model",
    "score_file",
]
