"""What a data file really is, from its first bytes, whatever its name says.

A gzip, zip, Parquet or Excel file handed over as ``leads.csv`` reaches a CSV parser, which
reports it as bad text ("not UTF-8", "wrong number of fields"): true, and no help. The readers
(:class:`~mlsys.data.CsvSource` for training, :func:`mlsys.scoring.open_table` for scoring) ask
:func:`check_file_format` first, which recognises the file by its signature and says what it is
and how to hand it over.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from mlsys.errors import DataError

__all__ = ["FileFormat", "check_file_format", "sniff_format"]


@dataclass(frozen=True)
class FileFormat:
    """A binary file format recognised by its signature.

    Attributes:
        name: Short name (``gzip``, ``parquet``, ``xlsx``, ...).
        description: What the file is, for messages (``a gzip-compressed file``).
        suffix: The extension readers recognise it by (``.gz``).
        unpack: How to turn it into plain CSV text by hand.
    """

    name: str
    description: str
    suffix: str
    unpack: str


_CONVERT = (
    'convert it: python -c "import pandas as pd; '
    "pd.{reader}('{src}').to_csv('{dst}', index=False)\""
)
_SAVE_AS = "open it and save the sheet as 'CSV UTF-8' (File > Save As)"

#: Leading bytes of each format. bzip2 and Parquet signatures are printable, so they are
#: matched with what follows (bzip2's block magic) or ends (Parquet's footer) as well.
_SIGNATURES: tuple[tuple[bytes, FileFormat], ...] = (
    (b"\x1f\x8b", FileFormat("gzip", "a gzip-compressed file", ".gz", "decompress it (gzip -d)")),
    (b"\xfd7zXZ\x00", FileFormat("xz", "an xz-compressed file", ".xz", "decompress it (xz -d)")),
    (
        b"\x28\xb5\x2f\xfd",
        FileFormat("zstd", "a zstd-compressed file", ".zst", "decompress it (zstd -d)"),
    ),
    (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
        FileFormat("xls", "an Excel 97-2003 workbook", ".xls", _SAVE_AS),
    ),
)
_BZIP2 = re.compile(rb"BZh[1-9]\x31\x41\x59\x26\x53\x59")
_BZIP2_FORMAT = FileFormat("bzip2", "a bzip2-compressed file", ".bz2", "decompress it (bzip2 -d)")
_PARQUET = b"PAR1"
_ZIP = b"PK\x03\x04"


def sniff_format(path: Path) -> FileFormat | None:
    """The binary format of ``path`` by its signature, or ``None`` (text, as far as it shows).

    Example:
        >>> import gzip, tempfile
        >>> path = Path(tempfile.mkdtemp()) / "leads.csv"
        >>> _ = path.write_bytes(gzip.compress(b"x,y"))
        >>> sniff_format(path).description
        'a gzip-compressed file'
    """
    with path.open("rb") as file:
        head = file.read(16)
        if head.startswith(_PARQUET) and path.stat().st_size >= 12:
            file.seek(-4, 2)
            if file.read(4) == _PARQUET:
                return FileFormat(
                    "parquet",
                    "a Parquet file",
                    ".parquet",
                    _CONVERT.format(reader="read_parquet", src=path, dst=_csv_name(path)),
                )
    if head.startswith(_ZIP):
        return _zip_format(path)
    if _BZIP2.match(head):
        return _BZIP2_FORMAT
    for signature, found in _SIGNATURES:
        if head.startswith(signature):
            return found
    return None


def check_file_format(path: Path, *, key: str, reads: Mapping[str, tuple[str, ...]]) -> None:
    """Refuse a file that is not what its name tells the reader it is.

    Args:
        path: The file.
        key: What error messages name (``data.path``, ``input``).
        reads: The formats the reader handles besides CSV text, by name, each with the
            extensions it recognises the format by (``{"gzip": (".gz",)}``).

    Raises:
        DataError: The file is a binary format the reader does not read, or reads only under
            another name; or it is named like a compressed file but is not one.
    """
    found = sniff_format(path)
    suffix = path.suffix.lower()
    if found is None:
        announced = [n for n, ext in reads.items() if suffix in ext and n != "parquet"]
        if announced:
            raise DataError(
                f"{key}: '{path}' is named '{suffix}' but is not {announced[0]}-compressed "
                f"(it looks like plain text). Fix: rename it without '{suffix}', or compress it."
            )
        return
    wanted = reads.get(found.name)
    if wanted is not None and suffix in wanted:
        return
    if wanted is not None:
        renamed = f"{path.stem if found.name == 'parquet' else path.name}{wanted[0]}"
        raise DataError(
            f"{key}: '{path}' is {found.description}, but its name does not say so: a file "
            f"is read by its extension. Fix: rename it '{path.with_name(renamed)}', or "
            f"{found.unpack}."
        )
    raise DataError(
        f"{key}: '{path}' is {found.description}, not CSV text. Fix: {found.unpack}; then "
        f"point {key} at the CSV."
    )


def _zip_format(path: Path) -> FileFormat:
    try:
        with zipfile.ZipFile(path) as archive:
            members = [m for m in archive.namelist() if not m.endswith("/")]
    except (zipfile.BadZipFile, OSError):
        members = []
    if "xl/workbook.xml" in members:
        return FileFormat("xlsx", "an Excel workbook (.xlsx)", ".xlsx", _SAVE_AS)
    if "content.xml" in members and "mimetype" in members:
        return FileFormat("ods", "an OpenDocument spreadsheet (.ods)", ".ods", _SAVE_AS)
    if len(members) == 1:
        return FileFormat("zip", f"a zip archive of '{members[0]}'", ".zip", "unzip it")
    shown = ", ".join(members[:5]) + (", ..." if len(members) > 5 else "")
    # Read by no reader: which member would it be?
    return FileFormat(
        "zip-archive", f"a zip archive of {len(members)} files ({shown})", ".zip", "unzip it"
    )


def _csv_name(path: Path) -> Path:
    """Where a conversion to CSV can write: ``x.csv`` beside ``x.parquet``, never ``path``."""
    target = path.with_suffix(".csv")
    return target if target != path else path.with_name(f"{path.stem}.converted.csv")
