"""Write tables chunk by chunk to CSV or Parquet, atomically.

Rows go to a hidden temporary file beside the target (``.<name>.<pid>.tmp``, see
:func:`mlsys.files.temporary_name`); only :meth:`TableWriter.commit` renames it into place, so a
run that fails or is killed never leaves a half-written file under the name a downstream job
waits for. A killed run's temporary is removed by the next writer of the same file.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from mlsys.errors import DataError
from mlsys.files import output_error, remove_stale_temporaries, temporary_name

__all__ = ["TableWriter", "output_format"]

_FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


def output_format(path: Path, *, what: str = "--output") -> str:
    """``csv`` or ``parquet`` from the file extension; anything else is an error."""
    found = _FORMATS.get(path.suffix.lower())
    if found is None:
        raise DataError(
            f"{what}: cannot tell the format of '{path}' from its extension. Fix: end the name "
            f"with one of {sorted(_FORMATS)}."
        )
    return found


class TableWriter:
    """Appends Arrow tables of one schema to a CSV or Parquet file, renamed into place at the end.

    Args:
        path: The final file; its extension picks the format.
        schema: The columns every written table has.
        what: How error messages name the file.
        dictionary: Parquet columns to dictionary-encode (few distinct values).

    Example:
        >>> with TableWriter(Path("scores.parquet"), schema) as out:  # doctest: +SKIP
        ...     out.write(table)
        ...     out.commit()
    """

    def __init__(
        self,
        path: Path,
        schema: pa.Schema,
        *,
        what: str = "--output",
        dictionary: Sequence[str] = (),
    ) -> None:
        self.path = path
        self.schema = schema
        self.format = output_format(path, what=what)
        self.rows = 0
        self.what = what
        self.tmp = temporary_name(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            remove_stale_temporaries(path)
            if self.format == "parquet":
                # Dictionary-encoding every column costs 3x the write time on unique values.
                self._writer: pq.ParquetWriter | pcsv.CSVWriter = pq.ParquetWriter(
                    self.tmp, schema, compression="zstd", use_dictionary=list(dictionary)
                )
            else:
                self._writer = pcsv.CSVWriter(
                    str(self.tmp), schema, write_options=pcsv.WriteOptions(quoting_style="needed")
                )
        except OSError as exc:
            raise output_error(path, exc, what) from exc
        self._open = True

    def write(self, table: pa.Table) -> None:
        """Append rows (an empty table writes nothing)."""
        if table.num_rows:
            if table.schema != self.schema:
                table = table.cast(self.schema)
            try:
                self._writer.write_table(table)
            except OSError as exc:  # a full disk
                raise output_error(self.path, exc, self.what) from exc
            self.rows += table.num_rows

    def commit(self) -> Path:
        """Finish the file and move it to its final name."""
        try:
            self._close()
            os.replace(self.tmp, self.path)
        except OSError as exc:
            raise output_error(self.path, exc, self.what) from exc
        return self.path

    def abort(self) -> None:
        """Drop the temporary file; the target (if any) is left as it was."""
        with contextlib.suppress(OSError):  # a full disk cannot flush what is left
            self._close()
        with contextlib.suppress(OSError):
            self.tmp.unlink()

    def _close(self) -> None:
        if self._open:
            self._open = False
            self._writer.close()

    def __enter__(self) -> TableWriter:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._open or self.tmp.exists():
            self.abort()
