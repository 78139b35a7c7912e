"""A compressed, Parquet or Excel file handed over as CSV is named for what it is."""

from __future__ import annotations

import bz2
import gzip
import lzma
import zipfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from mlsys.data import CsvSource, sniff_format
from mlsys.errors import DataError
from mlsys.scoring import open_table

pytestmark = pytest.mark.unit

CSV = b"x,y\n1,1\n2,0\n3,0\n4,1\n"


def _zip(path: Path, **members: bytes) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name.replace("__", "/"), data)
    return path


def _parquet(path: Path) -> Path:
    pd.DataFrame({"x": [1, 2, 3, 4], "y": [1, 0, 0, 1]}).to_parquet(path)
    return path


WRITERS: dict[str, Callable[[Path], Path]] = {
    "gzip": lambda p: _bytes(p, gzip.compress(CSV)),
    "bzip2": lambda p: _bytes(p, bz2.compress(CSV)),
    "xz": lambda p: _bytes(p, lzma.compress(CSV)),
    "zstd": lambda p: _bytes(p, b"\x28\xb5\x2f\xfd" + b"\x00" * 16),
    "zip": lambda p: _zip(p, **{"leads.csv": CSV}),
    "zip-archive": lambda p: _zip(p, **{"a.csv": CSV, "b.csv": CSV}),
    "xlsx": lambda p: _zip(p, **{"[Content_Types].xml": b"", "xl__workbook.xml": b""}),
    "xls": lambda p: _bytes(p, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504),
    "parquet": _parquet,
}


def _bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _train(path: Path) -> None:
    CsvSource(str(path), target="y").load()


@pytest.mark.parametrize("name", sorted(WRITERS))
def test_each_format_is_recognised_by_its_bytes_whatever_its_name(
    tmp_path: Path, name: str
) -> None:
    found = sniff_format(WRITERS[name](tmp_path / "leads.csv"))

    assert found is not None
    assert found.name == name


@pytest.mark.parametrize(
    "text",
    [CSV, b"", b"BZh,PAR1,PK\n1,2,3\n", b"PAR1,y\n1,0\n"],
    ids=["csv", "empty", "printable-signatures", "header-starting-PAR1"],
)
def test_text_is_not_mistaken_for_a_format(tmp_path: Path, text: bytes) -> None:
    assert sniff_format(_bytes(tmp_path / "t.csv", text)) is None


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("gzip", "is a gzip-compressed file, but its name does not say so"),
        ("bzip2", "is a bzip2-compressed file, but its name does not say so"),
        ("xz", "is an xz-compressed file, but its name does not say so"),
        ("zip", "is a zip archive of 'leads.csv', but its name does not say so"),
        ("zstd", "is a zstd-compressed file, not CSV text. Fix: decompress it (zstd -d)"),
        ("zip-archive", "is a zip archive of 2 files (a.csv, b.csv), not CSV text"),
        ("xlsx", "is an Excel workbook (.xlsx), not CSV text. Fix: open it and save the sheet"),
        ("xls", "is an Excel 97-2003 workbook, not CSV text"),
        ("parquet", "is a Parquet file, not CSV text. Fix: convert it: python -c"),
    ],
)
def test_training_says_what_a_file_named_csv_really_is(
    tmp_path: Path, name: str, fragment: str
) -> None:
    path = WRITERS[name](tmp_path / "leads.csv")

    with pytest.raises(DataError, match=r"^data\.path: ") as info:
        _train(path)

    assert fragment in str(info.value)
    assert "not UTF-8 text" not in str(info.value)


@pytest.mark.parametrize(("name", "suffix"), [("gzip", ".gz"), ("bzip2", ".bz2"), ("zip", ".zip")])
def test_the_rename_training_suggests_makes_the_file_readable(
    tmp_path: Path, name: str, suffix: str
) -> None:
    path = WRITERS[name](tmp_path / "leads.csv")
    with pytest.raises(DataError, match=f"Fix: rename it '{path}{suffix}'"):
        _train(path)

    renamed = path.rename(f"{path}{suffix}")

    assert len(CsvSource(str(renamed), target="y").load()) == 4


def test_the_parquet_conversion_training_suggests_works(tmp_path: Path) -> None:
    path = _parquet(tmp_path / "leads.parquet")
    with pytest.raises(DataError) as info:
        _train(path)
    command = str(info.value).split('python -c "')[1].split('"')[0]

    exec(command)  # the one-liner the message prints, as the user would paste it

    assert len(CsvSource(str(tmp_path / "leads.csv"), target="y").load()) == 4


def test_text_named_like_a_compressed_file_is_refused(tmp_path: Path) -> None:
    path = _bytes(tmp_path / "leads.csv.gz", CSV)

    with pytest.raises(DataError, match=r"is named '\.gz' but is not gzip-compressed"):
        _train(path)


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("gzip", "is a gzip-compressed file, but its name does not say so"),
        ("parquet", "is a Parquet file, but its name does not say so"),
        ("xlsx", "is an Excel workbook (.xlsx), not CSV text"),
        ("zip", "is a zip archive of 'leads.csv', not CSV text. Fix: unzip it"),
    ],
)
def test_scoring_says_what_a_file_named_csv_really_is(
    tmp_path: Path, name: str, fragment: str
) -> None:
    path = WRITERS[name](tmp_path / "leads.csv")

    with pytest.raises(DataError, match=r"^input: ") as info:
        open_table(path)

    assert fragment in str(info.value)


def test_scoring_reads_parquet_under_either_extension(tmp_path: Path) -> None:
    for suffix in (".parquet", ".pq"):
        reader = open_table(_parquet(tmp_path / f"leads{suffix}"))
        assert reader.columns == ["x", "y"]
