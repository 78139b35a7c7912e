"""Read a CSV or Parquet file of any size as a stream of fixed-size chunks.

Memory is bounded by the chunk size, not the file size: CSV is parsed by Arrow's streaming
reader (every column as text, so one bad value rejects one row instead of failing the file),
Parquet with ``ParquetFile.iter_batches``. Each chunk carries the 1-based data row number of
each of its rows (the header is not a row), so a rejected or scored row can be found again in
the input.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from mlsys.data import MISSING_MARKERS, check_file_format, csv_field
from mlsys.errors import DataError

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "Chunk",
    "CsvReader",
    "Malformed",
    "ParquetReader",
    "TableReader",
    "first_chunk_size",
    "open_table",
]

IntArray = np.ndarray[Any, np.dtype[np.int64]]

#: Rows per chunk. Larger chunks buy nothing: at 20,000 rows the feature matrix of a chunk
#: (rows x model inputs x 8 bytes) stays small enough to be reused instead of re-allocated, and
#: scoring measured faster than with 50,000 (docs/benchmarks/predict.md).
DEFAULT_CHUNK_SIZE = 20_000
PARQUET_SUFFIXES = (".parquet", ".pq")
_COMPRESSION = {".gz": "gzip", ".bz2": "bz2", ".zst": "zstd"}
#: Formats read besides CSV text, by the extensions that announce them (see check_file_format).
_READS = {"gzip": (".gz",), "bzip2": (".bz2",), "zstd": (".zst",), "parquet": PARQUET_SUFFIXES}
#: Arrow parses this many bytes at a time, and reads a few blocks ahead: larger blocks buy no
#: speed but hold more memory. Chunks are assembled from these blocks.
_BLOCK_BYTES = 256 << 10
#: Bytes read from the start of a CSV to tell text from a binary file before Arrow parses it.
_SNIFF_BYTES = 64 << 10


#: Files that are often given a .csv name by mistake: their first bytes, and what to do.
@dataclass(frozen=True)
class Malformed:
    """A CSV line that could not be split into the header's fields."""

    row: int
    reason: str


@dataclass
class Chunk:
    """Consecutive rows of the input with every input column, as read.

    Attributes:
        table: The rows; CSV columns are text, Parquet columns keep their types.
        rows: 1-based data row number of each row of ``table``.
        malformed: Lines skipped since the previous chunk because they were not valid CSV.
    """

    table: pa.Table
    rows: IntArray
    malformed: list[Malformed] = field(default_factory=list)


class TableReader(Protocol):
    """A file read in chunks: its columns, its chunks, and how far reading has got."""

    path: Path
    columns: list[str]
    types: dict[str, pa.DataType]
    #: Progress is counted in ``unit`` (``rows`` or ``B``) up to ``total`` (``None``: unknown).
    total: int | None
    unit: str

    def position(self) -> int:
        """Progress so far, in ``unit``."""
        ...

    def chunks(self) -> Iterator[Chunk]:
        """The file's rows, ``chunk_size`` at a time (the last chunk may be shorter)."""
        ...


def first_chunk_size(chunk_size: int) -> int:
    """Rows of the first chunk: a fifth of ``chunk_size`` (at least 1,000, at most all of it).

    Scoring of a chunk overlaps with reading the next one, except for the first chunk, which
    has to be read before anything else can happen; a small first chunk gets the pipeline
    going sooner.
    """
    return min(chunk_size, max(1_000, chunk_size // 5))


def open_table(
    path: str | Path,
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    sep: str = ",",
    na_values: Sequence[str] = (),
    what: str = "input",
) -> TableReader:
    """A chunked reader for a CSV (optionally .gz/.bz2/.zst) or Parquet file.

    Args:
        path: The file; ``.parquet`` / ``.pq`` is read as Parquet, anything else as CSV.
        chunk_size: Rows per chunk.
        sep: CSV field separator.
        na_values: Extra CSV strings meaning "missing", on top of ``mlsys.data.MISSING_MARKERS``.
        what: How error messages name the file (``input``, ``--data``).

    Raises:
        DataError: The file is missing, empty (no header) or not a CSV / Parquet file.

    Example:
        >>> reader = open_table("leads.csv", chunk_size=10_000)  # doctest: +SKIP
        >>> sum(len(chunk.rows) for chunk in reader.chunks())  # doctest: +SKIP
        20000
    """
    source = Path(path).expanduser()
    if chunk_size < 1:
        raise DataError(f"--chunk-size: must be at least 1, got {chunk_size}.")
    if not source.is_file():
        kind = "a directory" if source.is_dir() else "not found"
        raise DataError(
            f"{what}: '{source}' is {kind} (looked at '{source.resolve()}'). "
            "Fix: pass an existing CSV or Parquet file."
        )
    check_file_format(source, key=what, reads=_READS)
    if source.suffix.lower() in PARQUET_SUFFIXES:
        return ParquetReader(source, chunk_size, what)
    return CsvReader(source, chunk_size, sep, na_values, what)


class CsvReader:
    """Arrow's streaming CSV reader, every column as text, re-chunked to ``chunk_size`` rows.

    Lines with the wrong number of fields are skipped by the parser and reported as
    :class:`Malformed` with their row number (single-threaded parsing keeps line numbers).
    """

    unit = "B"

    def __init__(
        self, path: Path, chunk_size: int, sep: str, na_values: Sequence[str], what: str
    ) -> None:
        self.path = path
        self.chunk_size = chunk_size
        self.sep = sep
        self.na_values = [*MISSING_MARKERS, *na_values]
        self.what = what
        self.total: int | None = path.stat().st_size
        self._raw: pa.NativeFile | None = None
        self._position = 0
        self.block = _BLOCK_BYTES
        self._check_text()
        self.columns = self._header()
        self.types: dict[str, pa.DataType] = {c: pa.string() for c in self.columns}

    def position(self) -> int:
        """Bytes of the file read so far (compressed bytes for compressed files).

        Arrow reads a few blocks ahead of the rows handed out, so this runs slightly ahead.
        """
        raw = self._raw
        if raw is not None:
            # The reading thread may close the file at any moment (the last chunk was read).
            with contextlib.suppress(pa.ArrowInvalid, OSError, ValueError):
                self._position = max(self._position, raw.tell())
        return self._position

    @contextlib.contextmanager
    def _stream(self) -> Iterator[pa.NativeFile]:
        raw = pa.OSFile(str(self.path))
        codec = _COMPRESSION.get(self.path.suffix.lower())
        self._raw = raw
        try:
            yield pa.CompressedInputStream(raw, codec) if codec else raw
        finally:
            raw.close()

    def _check_text(self) -> None:
        """Refuse a binary file before Arrow parses it (it would echo undecodable bytes)."""
        try:
            with self._stream() as stream:
                head = stream.read(_SNIFF_BYTES)
        except (pa.ArrowInvalid, OSError) as exc:  # a corrupt .gz, .bz2 or .zst
            raise self._unreadable(exc) from exc
        problem = _binary(head)
        if problem:
            raise DataError(f"{self.what}: '{self.path}' is not a CSV text file: {problem}.")

    def _header(self) -> list[str]:
        # The header comes with the first block; a small one keeps opening cheap. A header
        # longer than that (thousands of columns) gets a second try, and reading then uses
        # blocks that large too.
        small, large = 64 << 10, 64 << 20
        try:
            return self._names(small)
        except pa.ArrowInvalid:
            pass
        try:
            names = self._names(large)
        except pa.ArrowInvalid as exc:
            if "Empty CSV file" in str(exc):
                raise DataError(
                    f"{self.what}: '{self.path}' is empty (no header line). Fix: pass a CSV "
                    "with a header line naming the model's columns."
                ) from exc
            raise self._unreadable(exc) from exc
        self.block = large
        return names

    def _names(self, block: int) -> list[str]:
        with self._stream() as stream:
            reader = pcsv.open_csv(
                stream,
                read_options=pcsv.ReadOptions(use_threads=False, block_size=block),
                parse_options=pcsv.ParseOptions(
                    delimiter=self.sep,
                    newlines_in_values=True,
                    invalid_row_handler=lambda row: "skip",
                ),
            )
            names = [str(name) for name in reader.schema.names]
        if len(names) == 1 and self.sep != ";" and ";" in names[0]:
            raise DataError(
                f"--sep: '{self.path}' parsed as a single column '{names[0]}'. "
                "Fix: pass --sep ';' (or the file's real separator)."
            )
        return names

    def chunks(self) -> Iterator[Chunk]:
        """Chunks of ``chunk_size`` rows, except the first (:func:`first_chunk_size`) and last."""
        skipped: list[pcsv.InvalidRow] = []

        def on_invalid(row: pcsv.InvalidRow) -> str:
            skipped.append(row)
            return "skip"

        numbering = _RowNumbering()
        with self._stream() as stream, self._translated():
            reader = pcsv.open_csv(
                stream,
                read_options=pcsv.ReadOptions(use_threads=False, block_size=self.block),
                parse_options=pcsv.ParseOptions(
                    delimiter=self.sep, newlines_in_values=True, invalid_row_handler=on_invalid
                ),
                convert_options=pcsv.ConvertOptions(
                    column_types=self.types,
                    null_values=self.na_values,
                    strings_can_be_null=True,
                    quoted_strings_can_be_null=True,
                ),
            )
            pending: list[pa.RecordBatch] = []
            size, wanted = 0, first_chunk_size(self.chunk_size)
            for batch in self._batches(reader):
                pending.append(batch)
                size += batch.num_rows
                while size >= wanted:
                    table = pa.Table.from_batches(pending)
                    rest = table.slice(wanted)
                    pending, size = rest.to_batches(), rest.num_rows
                    yield self._chunk(table.slice(0, wanted), numbering, skipped)
                    wanted = self.chunk_size
            if size or skipped or numbering.waiting:
                table = pa.Table.from_batches(pending, schema=reader.schema)
                yield self._chunk(table, numbering, skipped, last=True)

    @staticmethod
    def _batches(reader: pcsv.CSVStreamingReader) -> Iterator[pa.RecordBatch]:
        while True:
            try:
                yield reader.read_next_batch()
            except StopIteration:
                return

    @contextlib.contextmanager
    def _translated(self) -> Iterator[None]:
        try:
            yield
        except pa.ArrowInvalid as exc:
            raise self._unreadable(exc) from exc

    def _unreadable(self, exc: Exception) -> DataError:
        # Arrow quotes the offending line; a binary one would put raw bytes on the terminal.
        reason = re.sub(r"(got \d+): .*", r"\1", str(exc), flags=re.DOTALL)
        reason = "".join(c if c.isprintable() else "?" for c in reason)
        return DataError(
            f"{self.what}: '{self.path}' cannot be read as CSV with separator {self.sep!r} "
            f"({reason}). Fix: re-save it as UTF-8 CSV, or pass the right --sep."
        )

    def _chunk(
        self,
        table: pa.Table,
        numbering: _RowNumbering,
        skipped: list[pcsv.InvalidRow],
        last: bool = False,
    ) -> Chunk:
        numbering.skip(
            [
                Malformed(
                    row=(line.number - 1) if line.number else 0,
                    reason=(
                        f"malformed line: expected {line.expected_columns} fields, got "
                        f"{line.actual_columns}: {line.text[:200]}"
                    ),
                )
                for line in skipped
            ]
        )
        skipped.clear()
        rows = numbering.next(table.num_rows)
        until = None if last or not len(rows) else int(rows[-1])
        for i, column in enumerate(table.columns):
            read = csv_field(column, self.na_values)
            if read is not column:
                table = table.set_column(i, table.field(i), read)
        return Chunk(table=table, rows=rows, malformed=numbering.release(until))


def _binary(head: bytes) -> str:
    """What makes the first bytes of a file binary rather than CSV text ('' for text).

    Known formats (gzip, Parquet, zip, ...) are named earlier by :func:`check_file_format`;
    this catches the rest: NUL bytes and bytes that are not UTF-8.
    """
    fix = "Fix: re-save it as UTF-8 CSV, or pass a Parquet file (.parquet)"
    nul = head.find(b"\0")
    if nul >= 0:
        return f"it holds binary data (byte {nul} is NUL). {fix}"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 3:  # not a character cut in two at the end of the sample
            return f"byte {exc.start} is not UTF-8 text. {fix}"
    return ""


class _RowNumbering:
    """Data row numbers of parsed rows, counting the malformed lines skipped between them.

    The parser reports a malformed line when it parses its block, possibly before the rows in
    front of it are handed out; it is kept back until the chunk that reaches its row.
    """

    def __init__(self) -> None:
        self.parsed = 0
        self.skipped = np.zeros(0, dtype=np.int64)
        self.waiting: list[Malformed] = []

    def skip(self, lines: list[Malformed]) -> None:
        if lines:
            rows = np.asarray([m.row for m in lines], dtype=np.int64)
            self.skipped = np.sort(np.concatenate([self.skipped, rows]))
            self.waiting.extend(lines)

    def release(self, until: int | None) -> list[Malformed]:
        """Malformed lines before row ``until`` (all of them for ``None``), in row order."""
        ready = [m for m in self.waiting if until is None or m.row < until]
        self.waiting = [m for m in self.waiting if until is not None and m.row >= until]
        return sorted(ready, key=lambda m: m.row)

    def next(self, n: int) -> IntArray:
        ordinals = np.arange(self.parsed + 1, self.parsed + n + 1, dtype=np.int64)
        self.parsed += n
        if not len(self.skipped):
            return ordinals
        # The j-th skipped row (0-based) has skipped[j] - j - 1 parsed rows before it.
        before = self.skipped - np.arange(len(self.skipped))
        return ordinals + np.searchsorted(before, ordinals, side="right")


class ParquetReader:
    """Record batches of ``chunk_size`` rows; memory is bounded by one row group."""

    unit = "rows"

    def __init__(self, path: Path, chunk_size: int, what: str) -> None:
        self.path = path
        self.chunk_size = chunk_size
        try:
            self._file = pq.ParquetFile(path)
        except (pa.ArrowInvalid, OSError) as exc:
            raise DataError(
                f"{what}: '{path}' is not a readable Parquet file ({exc}). Fix: pass a valid "
                ".parquet file, or a CSV (any other extension is read as CSV)."
            ) from exc
        schema = self._file.schema_arrow
        self.columns = [str(name) for name in schema.names]
        self.types = {str(f.name): f.type for f in schema}
        self.total: int | None = self._file.metadata.num_rows
        self._done = 0

    def position(self) -> int:
        """Rows read so far."""
        return self._done

    def chunks(self) -> Iterator[Chunk]:
        """The file's record batches as chunks."""
        first = first_chunk_size(self.chunk_size)
        for batch in self._file.iter_batches(batch_size=self.chunk_size):
            table = pa.Table.from_batches([batch])
            parts = [table.slice(0, first), table.slice(first)] if self._done == 0 else [table]
            for part in parts:
                if part.num_rows:
                    rows = np.arange(self._done + 1, self._done + part.num_rows + 1)
                    self._done += part.num_rows
                    yield Chunk(table=part, rows=rows.astype(np.int64))
