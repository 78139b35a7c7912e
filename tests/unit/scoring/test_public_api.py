"""Pin the public names of mlsys.scoring (the other packages are pinned in test_public_api)."""

from __future__ import annotations

import pytest

import mlsys.scoring

pytestmark = pytest.mark.unit


def test_scoring_exports_exactly_its_public_api() -> None:
    assert mlsys.scoring.__all__ == [
        "DEFAULT_CHUNK_SIZE",
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
        "default_rejects_path",
        "iter_scored",
        "open_table",
        "output_format",
        "resolve_model",
        "score_file",
    ]
    assert all(hasattr(mlsys.scoring, name) for name in mlsys.scoring.__all__)
