"""Atomic CSV / Parquet output: nothing appears under the final name until commit."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from mlsys.errors import DataError
from mlsys.scoring import TableWriter, output_format

pytestmark = pytest.mark.unit

SCHEMA = pa.schema([("lead_id", pa.string()), ("probability", pa.float64())])


def _table(n: int) -> pa.Table:
    return pa.table(
        {"lead_id": [f"L{i}" for i in range(n)], "probability": [i / 10 for i in range(n)]}
    )


@pytest.mark.parametrize("name", ["scores.csv", "scores.parquet"])
def test_chunks_are_appended_and_renamed_into_place_on_commit(tmp_path: Path, name: str) -> None:
    target = tmp_path / "sub" / name
    with TableWriter(target, SCHEMA) as out:
        out.write(_table(3))
        out.write(_table(0))
        out.write(_table(2))
        assert not target.exists()
        out.commit()
    frame = pd.read_csv(target) if name.endswith(".csv") else pd.read_parquet(target)
    assert frame["lead_id"].tolist() == ["L0", "L1", "L2", "L0", "L1"]
    assert frame["probability"].tolist() == [0.0, 0.1, 0.2, 0.0, 0.1]
    assert out.rows == 5
    assert [p.name for p in target.parent.iterdir()] == [name]


def _write_then_fail(target: Path) -> None:
    with TableWriter(target, SCHEMA) as out:
        out.write(_table(3))
        raise RuntimeError("killed half way")


def test_a_failed_run_leaves_the_previous_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "scores.csv"
    target.write_text("previous\n")
    with pytest.raises(RuntimeError, match="half way"):
        _write_then_fail(target)
    assert target.read_text() == "previous\n"
    assert [p.name for p in tmp_path.iterdir()] == ["scores.csv"]


def test_an_empty_csv_still_has_its_header(tmp_path: Path) -> None:
    target = tmp_path / "empty.csv"
    with TableWriter(target, SCHEMA) as out:
        out.commit()
    assert target.read_text() == '"lead_id","probability"\n'


def test_unknown_extension_is_refused_with_the_choices(tmp_path: Path) -> None:
    assert output_format(tmp_path / "a.PARQUET") == "parquet"
    with pytest.raises(DataError, match=r"--output: cannot tell the format .*\['\.csv'"):
        output_format(tmp_path / "scores.xlsx")
