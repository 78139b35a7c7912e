"""Request validation built from the model's own input schema.

Every record must carry every feature column (``null`` for an unknown value: the model imputes
it), no other field, and values of the column's kind (``mlsys.data.json_type`` and
``json_problem``, the value rules shared with training and batch scoring). A body of valid
records is decoded and checked in one pass by a msgspec decoder built from the schema
(:meth:`RecordValidator.decode_columns`); a body it refuses is decoded again, generically, to
list every problem (:meth:`RecordValidator.validate`). The problems of a request are reported at
once, each naming the record and the field, so a client can fix a payload in one round trip;
at most :data:`MAX_REPORTED_ERRORS` of them are listed, with the total count, so that a body with
half a million unknown keys costs neither the server nor the client a 45 MB answer.
"""

from __future__ import annotations

import itertools
import sys
from dataclasses import dataclass
from typing import Any

import msgspec
import numpy as np

from mlsys.data import FeatureSchema, json_column, json_problem, json_type

__all__ = [
    "LARGEST_NUMBER",
    "MAX_REPORTED_ERRORS",
    "FieldError",
    "RecordValidator",
    "ValidationFailed",
]

#: Field errors listed in one 422 answer; the answer also carries the total count.
MAX_REPORTED_ERRORS = 20
#: Largest magnitude of a numeric field, the largest float (the OpenAPI ``maximum``).
LARGEST_NUMBER = sys.float_info.max
#: Longest field name echoed back in an error (a client's key may be megabytes long).
_MAX_NAME_CHARS = 100


def _name(key: str) -> str:
    return key if len(key) <= _MAX_NAME_CHARS else key[:_MAX_NAME_CHARS] + "..."


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
    """A request failed validation.

    Attributes:
        errors: The first field errors (at most :data:`MAX_REPORTED_ERRORS` from the validator).
        total: How many problems the request has in all (``len(errors)`` or more).
    """

    def __init__(self, errors: list[FieldError], total: int | None = None) -> None:
        self.total = len(errors) if total is None else total
        super().__init__(f"{self.total} invalid field(s)")
        self.errors = errors


class RecordValidator:
    """Validates JSON records against a feature schema and builds the model's input columns."""

    def __init__(self, schema: FeatureSchema) -> None:
        self.schema = schema
        self.columns = list(schema.columns)
        self.kinds = dict(zip(schema.columns, schema.kinds, strict=True))
        self._known = frozenset(self.columns)
        # Fields f0, f1, ... renamed to the columns: a column name need not be an identifier.
        record = msgspec.defstruct(
            "LeadRecord",
            [(f"f{i}", json_type(kind)) for i, kind in enumerate(schema.kinds)],
            rename={f"f{i}": column for i, column in enumerate(self.columns)},
            forbid_unknown_fields=True,
        )
        # Unknown keys are refused, not skipped: skipping recurses into whatever they hold.
        envelope = msgspec.defstruct(
            "LeadBatch",
            [("records", list[record])],  # type: ignore[valid-type]
            forbid_unknown_fields=True,
        )
        self._one = msgspec.json.Decoder(record)
        self._many = msgspec.json.Decoder(list[record] | envelope)  # type: ignore[valid-type]

    def decode_columns(self, body: bytes, batch: bool) -> dict[str, np.ndarray[Any, Any]] | None:
        """The columns of a body of valid records, decoded and checked in C; else ``None``.

        ``None`` (not an error) when anything is refused: the body is not JSON, not a record
        (``batch``: a non-empty list of records or ``{"records": [...]}``), or a record has
        a problem. :meth:`validate` on the generically decoded body then names every problem.
        """
        decoded: Any
        try:
            decoded = (self._many if batch else self._one).decode(body)
        except (msgspec.DecodeError, UnicodeDecodeError):  # ValidationError is a DecodeError
            return None
        records: list[Any] = [decoded]
        if batch:
            records = decoded if isinstance(decoded, list) else decoded.records
        if not records:
            return None
        values = zip(*map(msgspec.structs.astuple, records), strict=True)
        return {c: json_column(k, v) for (c, k), v in zip(self.kinds.items(), values, strict=True)}

    def errors(self, record: Any, index: int | None) -> list[FieldError]:
        """Every problem of one record (empty when it is valid)."""
        return self._problems(record, index, limit=None)[0]

    def _problems(
        self, record: Any, index: int | None, limit: int | None
    ) -> tuple[list[FieldError], int]:
        """The first ``limit`` problems of one record (all if ``None``) and how many it has."""
        if not isinstance(record, dict):
            found = [FieldError(index, "$", f"expected an object, got {type(record).__name__}")]
            return found[:limit], 1
        # Counted, not listed: a record may carry hundreds of thousands of unknown keys.
        present = sum(column in record for column in self.columns)
        total = len(record) - present
        unknown = (key for key in record if key not in self._known)
        found = [
            FieldError(
                index, _name(str(key)), "unknown field; the model's fields are listed in the schema"
            )
            for key in itertools.islice(unknown, limit)
        ]
        for column in self.columns:
            if column not in record:
                message: str | None = "missing required field (send null if unknown)"
            else:
                message = json_problem(self.kinds[column], record[column])
            if message:
                total += 1
                if limit is None or len(found) < limit:
                    found.append(FieldError(index, column, message))
        return found, total

    def columns_of(self, records: list[dict[str, Any]]) -> dict[str, np.ndarray[Any, Any]]:
        """Column arrays for validated records: floats (NaN for null) or objects (strings)."""
        out: dict[str, np.ndarray[Any, Any]] = {}
        for column in self.columns:
            out[column] = json_column(self.kinds[column], [r[column] for r in records])
        return out

    def validate(self, records: list[Any]) -> list[dict[str, Any]]:
        """Return the records, or raise :class:`ValidationFailed` with the first errors.

        At most :data:`MAX_REPORTED_ERRORS` errors are listed; every one is counted.
        """
        errors: list[FieldError] = []
        total = 0
        single = len(records) == 1
        for i, record in enumerate(records):
            found, count = self._problems(
                record, None if single else i, MAX_REPORTED_ERRORS - len(errors)
            )
            errors.extend(found)
            total += count
        if total:
            raise ValidationFailed(errors, total)
        return records
