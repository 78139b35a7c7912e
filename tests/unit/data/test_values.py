"""One set of value rules: CSV (training), Arrow (batch scoring) and JSON (REST) agree.

The same values, written as a CSV file, a Parquet file and JSON records, come out of
``CsvSource``, ``open_table`` + ``RowValidator`` and ``RecordValidator`` as the same typed
model inputs; the same raw CSV text is accepted or refused alike by training and scoring.
"""

from __future__ import annotations

import csv
import json
import math
import string
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlsys.data import (
    FALSE_SPELLINGS,
    MISSING_MARKERS,
    NOT_A_BOOLEAN,
    NOT_A_NUMBER,
    NOT_FINITE,
    TRUE_SPELLINGS,
    CsvSource,
    FeatureSchema,
    LabelMatcher,
    parse_booleans,
    parse_numbers,
)
from mlsys.errors import SchemaError
from mlsys.scoring import RowValidator, open_table
from mlsys.serving import RecordValidator

pytestmark = pytest.mark.unit

SCHEMA = FeatureSchema(("n", "b", "c"), ("numeric", "boolean", "categorical"))
PROPERTY = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

numbers = st.one_of(
    st.none(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=False, allow_infinity=False),
)
booleans = st.one_of(st.none(), st.booleans())
# Text that is a category in every format: not a CSV missing marker, no leading space (CSV is
# read with leading spaces skipped), no line breaks.
categories = st.one_of(
    st.none(),
    st.text(string.ascii_letters + string.digits + " .,-_'\"", min_size=1, max_size=8).filter(
        lambda v: not v.startswith(" ") and v not in MISSING_MARKERS
    ),
)
rows = st.lists(st.tuples(numbers, booleans, categories), min_size=1, max_size=8)


def _csv_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _write_csv(path: Path, table: list[tuple[Any, Any, Any]]) -> Path:
    with path.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["n", "b", "c", "y"])
        for i, row in enumerate(table):
            out.writerow([*(_csv_text(v) for v in row), i % 2])
        # Two rows with a value in every column and both labels: training needs them.
        out.writerow(["0", "true", "z", 0])
        out.writerow(["1", "false", "z", 1])
    return path


def _typed(columns: dict[str, Any]) -> dict[str, list[Any]]:
    """Model inputs as plain lists, NaN and None both read as None."""
    out: dict[str, list[Any]] = {}
    for name in SCHEMA.columns:
        out[name] = [
            None if v is None or (isinstance(v, float) and math.isnan(v)) else v
            for v in list(columns[name])
        ]
    return out


def _training(path: Path) -> dict[str, list[Any]]:
    source = CsvSource(path, target="y", numeric=["n"], boolean=["b"], categorical=["c"])
    return _typed({c: source.load().frame[c].tolist() for c in SCHEMA.columns})


def _scoring(path: Path) -> dict[str, list[Any]]:
    reader = open_table(path)
    validator = RowValidator(SCHEMA)
    validator.check_columns(reader)
    (chunk,) = reader.chunks()
    validated = validator.validate(chunk)
    assert validated.n_rejected == 0, validated.rejects.to_pylist()
    return _typed(validated.columns)


def _serving(table: list[tuple[Any, Any, Any]]) -> dict[str, list[Any]]:
    records = [dict(zip(SCHEMA.columns, row, strict=True)) for row in table]
    records += [{"n": 0, "b": True, "c": "z"}, {"n": 1, "b": False, "c": "z"}]
    records = json.loads(json.dumps(records))
    validator = RecordValidator(SCHEMA)
    return _typed(validator.columns_of(validator.validate(records)))


@PROPERTY
@given(table=rows)
def test_csv_arrow_parquet_and_json_give_the_same_typed_values(
    table: list[tuple[Any, Any, Any]],
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = _write_csv(Path(folder) / "rows.csv", table)
        parquet = Path(folder) / "rows.parquet"
        typed = pa.table(
            {
                "n": pa.array([r[0] for r in table] + [0, 1], pa.float64()),
                "b": pa.array([r[1] for r in table] + [True, False], pa.bool_()),
                "c": pa.array([r[2] for r in table] + ["z", "z"], pa.string()),
            }
        )
        pq.write_table(typed, parquet)

        training = _training(path)
        assert _scoring(path) == training
        assert _scoring(parquet) == training
        assert _serving(table) == training


#: Raw CSV text: the usual, the odd and the refused spellings, and random short strings.
raw_texts = st.one_of(
    st.sampled_from(
        [
            *MISSING_MARKERS,
            *TRUE_SPELLINGS,
            *FALSE_SPELLINGS,
            "TRUE",
            " Yes",
            "1.5",
            " 2",
            "2 ",
            "1e3",
            "+.5",
            "-0",
            "5.",
            "inf",
            "-Infinity",
            "1e999",
            "NAN",
            "abc",
            "0x10",
            "1_000",
            "2.0",
            "  ",
            " NA",
            " nan",
        ]
    ),
    st.text("0123456789.eE+-infatyesno ", min_size=1, max_size=6),
)


def _verdict(load: Any) -> tuple[str | None, list[Any] | None]:
    """What a reader says about the file: the values, or the reason it refuses the value."""
    try:
        return None, load()
    except (SchemaError, AssertionError) as exc:
        message = str(exc)
        for reason in (NOT_FINITE, NOT_A_NUMBER, NOT_A_BOOLEAN):
            if reason in message:
                return reason, None
        raise


@PROPERTY
@given(raw=raw_texts, kind=st.sampled_from(["numeric", "boolean"]))
def test_training_and_scoring_read_the_same_raw_text_alike(raw: str, kind: str) -> None:
    schema = FeatureSchema(("x",), (kind,))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "rows.csv"
        path.write_text(f'x,y\n1,1\n"{raw}",0\n0,0\n1,1\n')

        def training() -> list[Any]:
            source = CsvSource(path, target="y", **{kind: ["x"]})  # type: ignore[arg-type]
            return _typed_one(source.load().frame["x"].tolist())

        def scoring() -> list[Any]:
            reader = open_table(path)
            validator = RowValidator(schema)
            validator.check_columns(reader)
            (chunk,) = reader.chunks()
            validated = validator.validate(chunk)
            reasons = validated.rejects.to_pydict()["reason"]
            assert not reasons, "; ".join(reasons)
            return _typed_one(validated.columns["x"].tolist())

        assert _verdict(scoring) == _verdict(training)


def _typed_one(values: list[Any]) -> list[Any]:
    return [None if isinstance(v, float) and math.isnan(v) else v for v in values]


@PROPERTY
@given(raw=raw_texts)
def test_a_number_is_a_value_or_one_refusal_never_both(raw: str) -> None:
    values, problems = parse_numbers(pa.array([raw]))
    refused = [reason for reason, mask in problems.items() if mask[0]]

    assert len(refused) <= 1
    assert not (refused and not np.isnan(values[0]))
    if not refused and not np.isnan(values[0]):
        assert math.isfinite(values[0])


def test_every_spelling_of_a_boolean_is_accepted_in_any_case() -> None:
    words = [*TRUE_SPELLINGS, *FALSE_SPELLINGS]
    spelled = [*words, *(w.upper() for w in words), *(f" {w} " for w in words)]

    values, problems = parse_booleans(pa.array(spelled))

    assert not problems
    assert values.tolist() == [1.0] * 6 + [0.0] * 6 + ([1.0] * 6 + [0.0] * 6) * 2


@pytest.mark.parametrize(
    ("positive", "values", "expected"),
    [
        ("1", pa.array([1, 0, 1]), [1, 0, 1]),
        ("1", pa.array(["1.0", " 0", "1"]), [1, 0, 1]),
        ("yes", pa.array(["Yes", "no ", " YES"]), [1, 0, 1]),
        ("True", pa.array([True, False]), [1, 0]),
    ],
)
def test_labels_match_as_numbers_or_as_trimmed_caseless_text(
    positive: str, values: pa.Array, expected: list[int]
) -> None:
    assert LabelMatcher(positive).encode(values).tolist() == expected


@PROPERTY
@given(
    labels=st.lists(st.sampled_from(["1", "0", "1.0", " 0", "yes", "No"]), min_size=2),
    positive=st.sampled_from(["1", "yes"]),
)
def test_training_and_ml_evaluate_encode_labels_alike(labels: list[str], positive: str) -> None:
    """``CsvSource`` and ``ml-evaluate`` both go through ``LabelMatcher``: one rule, one answer."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "rows.csv"
        path.write_text("x,y\n" + "".join(f'{i},"{v}"\n' for i, v in enumerate(labels)))
        expected = LabelMatcher(positive).encode(pa.array(labels))
        try:
            dataset = CsvSource(path, target="y", positive_label=positive).load()
        except Exception:
            return
        assert dataset.target.tolist() == expected.tolist()


@pytest.mark.parametrize(
    ("raw", "kind", "expected"),
    [(" NA", "numeric", None), ("  null", "boolean", None), (" a", "categorical", "a")],
)
def test_leading_spaces_are_skipped_before_missing_markers_everywhere(
    tmp_path: Path, raw: str, kind: str, expected: Any
) -> None:
    path = tmp_path / "rows.csv"
    path.write_text(f"x,y\n1,1\n{raw},0\n0,0\n1,1\n")
    schema = FeatureSchema(("x",), (kind,))
    source = CsvSource(path, target="y", **{kind: ["x"]})  # type: ignore[arg-type]
    reader = open_table(path)
    validator = RowValidator(schema)
    validator.check_columns(reader)
    (chunk,) = reader.chunks()

    trained = _typed_one(source.load().frame["x"].tolist())[1]
    scored = _typed_one(validator.validate(chunk).columns["x"].tolist())[1]

    assert trained == scored == expected
