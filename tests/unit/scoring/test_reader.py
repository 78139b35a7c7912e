"""Chunked reading of CSV and Parquet: chunk sizes, row numbers, malformed lines, bad files."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from mlsys.errors import DataError
from mlsys.scoring import open_table
from mlsys.scoring._reader import first_chunk_size

pytestmark = pytest.mark.unit


def _rows(path: Path, chunk_size: int) -> tuple[list[int], list[int], list[int]]:
    """Chunk sizes, every row number, and malformed row numbers, in reading order."""
    sizes, rows, malformed = [], [], []
    for chunk in open_table(path, chunk_size=chunk_size).chunks():
        sizes.append(chunk.table.num_rows)
        rows += chunk.rows.tolist()
        malformed += [m.row for m in chunk.malformed]
    return sizes, rows, malformed


def test_csv_chunks_have_the_asked_size_and_number_rows_from_one(leads_file: Path) -> None:
    sizes, rows, malformed = _rows(leads_file, chunk_size=150)
    assert sizes == [150, 150, 100]
    assert rows == list(range(1, 401))
    assert malformed == []


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_small_first_chunk_starts_the_pipeline_sooner(
    small_leads_csv: Path, tmp_path: Path, suffix: str
) -> None:
    path = small_leads_csv
    if suffix == ".parquet":
        path = tmp_path / "leads.parquet"
        pd.read_csv(small_leads_csv).to_parquet(path)
    assert first_chunk_size(50_000) == 10_000
    assert first_chunk_size(2_000) == 1_000
    assert first_chunk_size(500) == 500
    sizes, rows, _ = _rows(path, chunk_size=2_000)
    assert sizes == [1_000, 1_000, 1_000] if suffix == ".parquet" else [1_000, 2_000]
    assert rows == list(range(1, 3001))


def test_csv_values_are_kept_as_text(leads_file: Path) -> None:
    reader = open_table(leads_file, chunk_size=1000)
    table = next(reader.chunks()).table
    assert reader.columns == list(pd.read_csv(leads_file, nrows=0).columns)
    assert all(pa.types.is_string(t) for t in table.schema.types)
    assert (
        table.column("employees")[0].as_py()
        == pd.read_csv(leads_file, dtype=str)["employees"].iloc[0]
    )


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 10])
def test_malformed_lines_are_reported_in_place_and_later_rows_keep_their_number(
    tmp_path: Path, chunk_size: int
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("a,b,c\n1,2,3\n4,5\n6,7,8\n9,10,11,12\n13,14,15\n")
    sizes, rows, malformed = _rows(path, chunk_size)
    assert rows == [1, 3, 5]
    assert malformed == [2, 4]
    assert sum(sizes) == 3


def test_malformed_reason_names_the_field_counts_and_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("a,b,c\n4,5\n")
    (chunk,) = open_table(path).chunks()
    assert chunk.malformed[0].reason == "malformed line: expected 3 fields, got 2: 4,5"


def test_gzip_csv_is_read_and_progress_counts_compressed_bytes(
    tmp_path: Path, leads_file: Path
) -> None:
    path = tmp_path / "leads.csv.gz"
    path.write_bytes(gzip.compress(leads_file.read_bytes()))
    reader = open_table(path, chunk_size=1000)
    assert sum(c.table.num_rows for c in reader.chunks()) == 400
    assert reader.unit == "B"
    assert reader.total == path.stat().st_size


def test_parquet_is_read_in_batches_with_its_types(tmp_path: Path, leads_file: Path) -> None:
    path = tmp_path / "leads.parquet"
    pd.read_csv(leads_file).to_parquet(path, row_group_size=100)
    reader = open_table(path, chunk_size=64)
    chunks = list(reader.chunks())
    assert sum(c.table.num_rows for c in chunks) == 400
    assert max(c.table.num_rows for c in chunks) <= 64
    assert np.concatenate([c.rows for c in chunks]).tolist() == list(range(1, 401))
    assert pa.types.is_integer(reader.types["employees"]) or pa.types.is_floating(
        reader.types["employees"]
    )
    assert reader.position() == reader.total == 400


def test_header_only_csv_gives_no_rows(tmp_path: Path) -> None:
    path = tmp_path / "header.csv"
    path.write_text("a,b\n")
    reader = open_table(path)
    assert reader.columns == ["a", "b"]
    assert list(reader.chunks()) == []


@pytest.mark.parametrize(
    ("content", "message"),
    [("", r"is empty \(no header line\)"), ("a;b;c\n1;2;3\n", "--sep")],
)
def test_unreadable_csv_is_a_data_error(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "in.csv"
    path.write_text(content)
    with pytest.raises(DataError, match=message):
        open_table(path)


def test_missing_file_directory_and_bad_parquet_are_data_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not found"):
        open_table(tmp_path / "nope.csv")
    with pytest.raises(DataError, match="is a directory"):
        open_table(tmp_path)
    bad = tmp_path / "bad.parquet"
    bad.write_text("not parquet")
    with pytest.raises(DataError, match="not a readable Parquet file"):
        open_table(bad)
    with pytest.raises(DataError, match="--chunk-size"):
        open_table(bad, chunk_size=0)


def test_invalid_utf8_is_a_data_error_naming_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("a,b\nné,1\n".encode("latin-1"))
    with pytest.raises(DataError, match="UTF-8"):
        list(open_table(path).chunks())


def test_a_header_wider_than_the_first_block_is_read(tmp_path: Path) -> None:
    names = [f"column_with_a_long_name_{i:06d}" for i in range(4000)]
    path = tmp_path / "wide.csv"
    path.write_text(",".join(names) + "\n" + ",".join("1" for _ in names) + "\n")
    reader = open_table(path)
    assert reader.columns == names
    assert sum(c.table.num_rows for c in reader.chunks()) == 1
