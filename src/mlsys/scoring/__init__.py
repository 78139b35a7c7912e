"""Batch scoring: resolve a model, read any file in chunks, validate rows, write scores.

``python -m mlsys.predict`` and ``python -m mlsys.evaluate`` are thin command lines over
these pieces; a notebook can use them directly::

    from mlsys.scoring import resolve_model, score_file

    summary = score_file("new_leads.csv", "scores.parquet", resolve_model("champion"))

Names are imported lazily, so a command line can reject a bad input file before it pays for
importing the model libraries.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlsys._lazy import lazy_exports

if TYPE_CHECKING:
    from mlsys.scoring._batch import (
        ScoreStats,
        ScoringSummary,
        default_rejects_path,
        iter_scored,
        score_file,
    )
    from mlsys.scoring._quality import (
        DRIFT_EXIT_CODE,
        NO_PROFILE,
        default_quality_path,
        drift_counter,
        quality_dict,
        quality_markdown,
        quality_verdict,
        require_profile,
    )
    from mlsys.scoring._reader import (
        DEFAULT_CHUNK_SIZE,
        Chunk,
        Malformed,
        TableReader,
        open_table,
    )
    from mlsys.scoring._resolve import ResolvedModel, resolve_model
    from mlsys.scoring._rows import Coded, RowValidator, ValidatedChunk
    from mlsys.scoring._writer import TableWriter, output_format

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "DRIFT_EXIT_CODE",
    "NO_PROFILE",
    "Chunk",
    "Coded",
    "Malformed",
    "ResolvedModel",
    "RowValidator",
    "ScoreStats",
    "ScoringSummary",
    "TableReader",
    "TableWriter",
    "ValidatedChunk",
    "default_quality_path",
    "default_rejects_path",
    "drift_counter",
    "iter_scored",
    "open_table",
    "output_format",
    "quality_dict",
    "quality_markdown",
    "quality_verdict",
    "require_profile",
    "resolve_model",
    "score_file",
]

_LAZY = {
    **dict.fromkeys(
        [
            "ScoreStats",
            "ScoringSummary",
            "default_rejects_path",
            "iter_scored",
            "score_file",
        ],
        "mlsys.scoring._batch",
    ),
    **dict.fromkeys(
        ["DEFAULT_CHUNK_SIZE", "Chunk", "Malformed", "TableReader", "open_table"],
        "mlsys.scoring._reader",
    ),
    **dict.fromkeys(
        [
            "DRIFT_EXIT_CODE",
            "NO_PROFILE",
            "default_quality_path",
            "drift_counter",
            "quality_dict",
            "quality_markdown",
            "quality_verdict",
            "require_profile",
        ],
        "mlsys.scoring._quality",
    ),
    **dict.fromkeys(["ResolvedModel", "resolve_model"], "mlsys.scoring._resolve"),
    **dict.fromkeys(["Coded", "RowValidator", "ValidatedChunk"], "mlsys.scoring._rows"),
    **dict.fromkeys(["TableWriter", "output_format"], "mlsys.scoring._writer"),
}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)
