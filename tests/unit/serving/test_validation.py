"""The record validator: one typed decode for valid bodies, every problem listed otherwise."""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from typing import Any

import numpy as np
import pytest

from mlsys.data import FeatureSchema, json_problem, json_type
from mlsys.serving import RecordValidator

pytestmark = pytest.mark.unit

SCHEMA = FeatureSchema(
    columns=("industry", "employees", "requested_demo", "not an identifier"),
    kinds=("categorical", "numeric", "boolean", "numeric"),
)
RECORD = {"industry": "saas", "employees": 12, "requested_demo": True, "not an identifier": None}
LARGEST = int(Decimal(repr(sys.float_info.max)))
EDGES: list[Any] = [
    None, True, False, 0, 1, -1, 1.5, "1", "", [], {}, [1], {"a": 1},
    10**400, -(10**400), LARGEST, LARGEST + 1, sys.float_info.max, 2**64, -(2**63),
]  # fmt: skip


@pytest.mark.parametrize("kind", ["numeric", "boolean", "categorical"])
@pytest.mark.parametrize("value", EDGES, ids=repr)
def test_the_typed_decoder_accepts_nothing_the_value_rules_refuse(kind: str, value: Any) -> None:
    """msgspec's decision is never wider than json_problem's (it may be narrower at edges)."""
    import msgspec

    try:
        msgspec.json.decode(json.dumps(value).encode(), type=json_type(kind))
    except msgspec.ValidationError:
        return
    assert json_problem(kind, value) is None


def test_a_valid_body_is_decoded_without_the_per_value_rules(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The hot path: a valid batch never reaches the Python per-field checks."""
    validator = RecordValidator(SCHEMA)

    def fail(*_: Any) -> None:
        raise AssertionError("json_problem called for a valid body")

    monkeypatch.setattr("mlsys.serving._validation.json_problem", fail)
    body = json.dumps([RECORD, dict(RECORD, employees=None, industry=None)]).encode()
    columns = validator.decode_columns(body, batch=True)
    assert columns is not None
    np.testing.assert_array_equal(columns["employees"], [12.0, np.nan])
    assert columns["industry"].tolist() == ["saas", None]
    np.testing.assert_array_equal(columns["requested_demo"], [1.0, 1.0])
    assert validator.decode_columns(json.dumps({"records": [RECORD]}).encode(), batch=True)
    single = validator.decode_columns(json.dumps(RECORD).encode(), batch=False)
    assert single is not None
    assert single["employees"].tolist() == [12.0]


@pytest.mark.parametrize(
    "body",
    [
        b"[]",
        b"{}",
        b"not json",
        json.dumps([dict(RECORD, extra=1)]).encode(),
        json.dumps([{k: v for k, v in RECORD.items() if k != "industry"}]).encode(),
        json.dumps([dict(RECORD, employees="12")]).encode(),
        json.dumps({"records": [RECORD], "other": 1}).encode(),
        b'{"a":' * 5_000 + b"1" + b"}" * 5_000,
    ],
)
def test_anything_else_is_left_to_validate(body: bytes) -> None:
    """``None``: the caller decodes the body generically and lists every problem."""
    assert RecordValidator(SCHEMA).decode_columns(body, batch=True) is None


def test_columns_are_the_same_on_both_paths() -> None:
    validator = RecordValidator(SCHEMA)
    records = [RECORD, dict(RECORD, employees=3.25, requested_demo=None)]
    typed = validator.decode_columns(json.dumps(records).encode(), batch=True)
    generic = validator.columns_of(validator.validate(records))
    assert typed is not None
    for column in SCHEMA.columns:
        np.testing.assert_array_equal(typed[column], generic[column])
        assert typed[column].dtype == generic[column].dtype
