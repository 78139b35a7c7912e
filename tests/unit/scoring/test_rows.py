"""Row validation: model inputs for good rows, a reason for every rejected row."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mlsys.data import FeatureSchema
from mlsys.errors import SchemaError
from mlsys.scoring import RowValidator, ValidatedChunk, open_table

pytestmark = pytest.mark.unit

SCHEMA = FeatureSchema(
    ("industry", "employees", "is_free_email"), ("categorical", "numeric", "boolean")
)


def _validate(
    tmp_path: Path, text: str, *, required: tuple[str, ...] = (), keep: tuple[str, ...] = ()
) -> ValidatedChunk:
    path = tmp_path / "in.csv"
    path.write_text(text)
    reader = open_table(path)
    validator = RowValidator(SCHEMA, required=required, keep=keep)
    validator.check_columns(reader)
    (chunk,) = reader.chunks()
    return validator.validate(chunk)


def test_good_rows_become_model_inputs_like_the_training_loader(tmp_path: Path) -> None:
    out = _validate(
        tmp_path,
        "id,industry,employees,is_free_email,extra\n"
        "a, retail, 12 ,TRUE,x\n"
        "b,,NA,no,y\n"
        "c,tech ,1e3,,z\n",
        keep=("id",),
    )
    assert out.n_rejected == 0
    assert out.columns["industry"].tolist() == ["retail", None, "tech "]
    np.testing.assert_array_equal(out.columns["employees"], [12.0, np.nan, 1000.0])
    np.testing.assert_array_equal(out.columns["is_free_email"], [1.0, 0.0, np.nan])
    assert out.kept["id"].to_pylist() == ["a", "b", "c"]
    assert out.rows.tolist() == [1, 2, 3]


def test_bad_values_reject_only_their_row_with_every_reason(tmp_path: Path) -> None:
    out = _validate(
        tmp_path,
        "id,industry,employees,is_free_email\n"
        "a,retail,abc,maybe\n"
        "b,retail,5,true\n"
        ",retail,inf,false\n",
        required=("id",),
        keep=("id",),
    )
    assert out.rows.tolist() == [2]
    assert out.columns["employees"].tolist() == [5.0]
    rejects = out.rejects.to_pydict()
    assert rejects["row"] == [1, 3]
    assert rejects["reason"] == [
        "employees: 'abc' is not a number; is_free_email: 'maybe' is not a boolean "
        "(true/yes/false/no/1/0)",
        "employees: 'inf' is not a finite number; id: missing value (required)",
    ]
    assert rejects["employees"] == ["abc", "inf"]  # the original values, as read
    assert dict(out.reasons) == {
        "employees: not a number": 1,
        "employees: not a finite number": 1,
        "is_free_email: not a boolean": 1,
        "id: missing value": 1,
    }


def test_malformed_lines_are_rejects_with_empty_columns(tmp_path: Path) -> None:
    out = _validate(tmp_path, "industry,employees,is_free_email\nretail,1\nretail,2,true\n")
    assert out.rows.tolist() == [2]
    assert out.rejects.column("row").to_pylist() == [1]
    assert out.rejects.column("industry").to_pylist() == [None]
    assert out.reasons == {"malformed CSV line": 1}


def test_missing_model_columns_fail_the_whole_file_naming_them(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("industry,other\nretail,1\n")
    with pytest.raises(SchemaError, match=r"lacks the model's column\(s\) \['employees', 'is_f"):
        RowValidator(SCHEMA).check_columns(open_table(path))
    validator = RowValidator(FeatureSchema(("industry",), ("categorical",)), keep=["lead_id"])
    reader = open_table(path)
    with pytest.raises(SchemaError, match=r"lacks column\(s\) \['lead_id'\]"):
        validator.check_columns(reader)


def test_parquet_types_are_read_as_their_kind(tmp_path: Path) -> None:
    path = tmp_path / "in.parquet"
    pd.DataFrame(
        {
            "industry": pd.array([3, None, 7], dtype="Int64"),
            "employees": [1, 2, 3],
            "is_free_email": [True, False, None],
        }
    ).to_parquet(path)
    reader = open_table(path)
    validator = RowValidator(SCHEMA)
    validator.check_columns(reader)
    (chunk,) = reader.chunks()
    out = validator.validate(chunk)
    assert out.columns["industry"].tolist() == ["3", None, "7"]
    np.testing.assert_array_equal(out.columns["employees"], [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(out.columns["is_free_email"], [1.0, 0.0, np.nan])


def test_a_parquet_column_that_cannot_hold_its_kind_fails_the_file(tmp_path: Path) -> None:
    path = tmp_path / "in.parquet"
    table = pa.table(
        {
            "industry": ["a"],
            "employees": pa.array([[1, 2]], pa.list_(pa.int64())),
            "is_free_email": [True],
        }
    )
    pq.write_table(table, path)
    with pytest.raises(SchemaError, match=r"column 'employees' .* cannot hold numeric"):
        RowValidator(SCHEMA).check_columns(open_table(path))


def test_validate_needs_the_input_columns_first(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="check_columns"):
        _ = RowValidator(SCHEMA).reject_schema
