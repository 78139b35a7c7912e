"""Request validation built from the model's own input schema.

Every record must carry every feature column (``null`` for an unknown value: the model imputes
it), no other field, and values of the column's kind. All problems of a request are reported at
once, each naming the record and the field, so a client can fix a payload in one round trip.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from mlsys.data import FeatureSchema

__all__ = ["FieldError", "RecordValidator", "ValidationFailed"]


@dataclass(frozen=True)
class FieldError:
    """One bad field of one record."""

    record: int | None
    field: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        out: dict[str, Any] = {"field": self.field, "message": self.message}
        if self.record is not None:
            out["record"] = self.record
        return out


class ValidationFailed(Exception):  # noqa: N818 - an outcome, carried to the 422 handler
    """A request failed validation; carries every field error."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__(f"{len(errors)} invalid field(s)")
        self.errors = errors


def _kind_error(kind: str, value: Any) -> str | None:
    if value is None:
        return None
    if kind == "numeric":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"expected a number or null, got {type(value).__name__}"
        try:
            finite = math.isfinite(value)
        except OverflowError:  # an integer literal too large for a float
            finite = False
        if not finite:
            return "not a finite number; send a number, or null if unknown"
        return None
    if kind == "boolean":
        return (
            None
            if isinstance(value, bool)
            else (f"expected true, false or null, got {type(value).__name__}")
        )
    return (
        None if isinstance(value, str) else f"expected a string or null, got {type(value).__name__}"
    )


class RecordValidator:
    """Validates JSON records against a feature schema and builds the model's input columns."""

    def __init__(self, schema: FeatureSchema) -> None:
        self.schema = schema
        self.columns = list(schema.columns)
        self.kinds = dict(zip(schema.columns, schema.kinds, strict=True))
        self._known = frozenset(self.columns)

    def errors(self, record: Any, index: int | None) -> list[FieldError]:
        """Every problem of one record (empty when it is valid)."""
        if not isinstance(record, dict):
            return [FieldError(index, "$", f"expected an object, got {type(record).__name__}")]
        found = [
            FieldError(
                index, str(key), "unknown field; the model's fields are listed in the schema"
            )
            for key in record
            if key not in self._known
        ]
        for column in self.columns:
            if column not in record:
                found.append(
                    FieldError(index, column, "missing required field (send null if unknown)")
                )
                continue
            message = _kind_error(self.kinds[column], record[column])
            if message:
                found.append(FieldError(index, column, message))
        return found

    def columns_of(self, records: list[dict[str, Any]]) -> dict[str, np.ndarray[Any, Any]]:
        """Column arrays for validated records: floats (NaN for null) or objects (strings)."""
        out: dict[str, np.ndarray[Any, Any]] = {}
        for column in self.columns:
            values = [r[column] for r in records]
            if self.kinds[column] == "categorical":
                out[column] = np.array(values, dtype=object)
            else:
                out[column] = np.array(
                    [np.nan if v is None else float(v) for v in values], dtype=np.float64
                )
        return out

    def validate(self, records: list[Any]) -> list[dict[str, Any]]:
        """Return the records, or raise :class:`ValidationFailed` with every error."""
        errors: list[FieldError] = []
        single = len(records) == 1
        for i, record in enumerate(records):
            errors.extend(self.errors(record, None if single else i))
        if errors:
            raise ValidationFailed(errors)
        return records
