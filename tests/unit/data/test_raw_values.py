"""One rule for raw numeric values: what training refuses, scoring rejects, and the reverse.

The same raw text in a numeric column goes through the training loader (``CsvSource``) and the
batch scorer (``open_table`` + ``RowValidator``); both accept it, or both refuse it in the same
words. Infinities, in any spelling pandas or Arrow reads as one, are "not a finite number" to
both and to the REST API.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mlsys.data import CsvSource, FeatureSchema
from mlsys.errors import SchemaError
from mlsys.scoring import RowValidator, open_table
from mlsys.serving import RecordValidator

pytestmark = pytest.mark.unit

SCHEMA = FeatureSchema(("x",), ("numeric",))
NOT_FINITE = "not a finite number"

NOT_A_NUMBER = "not a number"

#: Raw value -> what every reader says about it: None when it is a valid numeric value (a
#: number, or missing, which the model imputes).
RAW_VALUES = {
    "1.5": None,
    " 2": None,
    "1e3": None,
    "+5": None,
    "-0": None,
    "": None,
    "NA": None,
    "NaN": None,
    "inf": NOT_FINITE,
    "-inf": NOT_FINITE,
    "+inf": NOT_FINITE,
    "Infinity": NOT_FINITE,
    "-Infinity": NOT_FINITE,
    "INF": NOT_FINITE,
    "1e999": NOT_FINITE,
    "abc": NOT_A_NUMBER,
    "0x10": NOT_A_NUMBER,
    "1_000": NOT_A_NUMBER,
}


def _file(tmp_path: Path, raw: str) -> Path:
    path = tmp_path / "rows.csv"
    path.write_text(f"x,y\n1,1\n{raw},0\n3,0\n4,1\n")
    return path


def _training_accepts(path: Path) -> tuple[bool, str]:
    try:
        CsvSource(str(path), target="y", numeric=["x"]).load()
    except SchemaError as exc:
        return False, str(exc)
    return True, ""


def _scoring_accepts(path: Path) -> tuple[bool, str]:
    reader = open_table(path)
    validator = RowValidator(SCHEMA)
    validator.check_columns(reader)
    (chunk,) = reader.chunks()
    result = validator.validate(chunk)
    reasons = result.rejects.to_pydict()["reason"]
    return 2 not in result.rejects.to_pydict()["row"], "; ".join(reasons)


@pytest.mark.parametrize("raw", sorted(RAW_VALUES))
def test_training_and_scoring_accept_and_refuse_the_same_raw_values(
    tmp_path: Path, raw: str
) -> None:
    path = _file(tmp_path, raw)

    trained, training_says = _training_accepts(path)
    scored, scoring_says = _scoring_accepts(path)

    expected = RAW_VALUES[raw]
    assert (trained, scored) == (expected is None, expected is None)
    if expected is not None:
        assert expected in training_says
        assert expected in scoring_says


def test_the_rest_api_says_it_the_same_way() -> None:
    validator = RecordValidator(SCHEMA)

    for value in (float("inf"), float("-inf"), float("nan"), 10**400):
        (error,) = validator.errors({"x": value}, None)
        assert error.message.startswith(NOT_FINITE), value
