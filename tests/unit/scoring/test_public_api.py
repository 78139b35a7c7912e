"""Pin the public names of mlsys.scoring (the other packages are pinned in test_public_api)."""

from __future__ import annotations

import pytest

import mlsys.scoring

pytestmark = pytest.mark.unit


def test_scoring_exports_exactly_its_public_api() -> None:
    assert mlsys.scoring.__all__ == [
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
    assert all(hasattr(mlsys.scoring, name) for name in mlsys.scoring.__all__)
