"""Check each row of a chunk against the model's schema; build model inputs for the good ones.

Whole-file problems (a model column missing from the file, a column of a type that cannot hold
its kind) raise before anything is scored. Row problems reject only the row, with a reason:

* a numeric value that is not a number, or not finite (``abc``, ``inf``);
* a boolean value outside the accepted spellings (``true``/``false``/``yes``/``no``/``1``/``0``);
* a missing value in a column that must have one (the id column, the label when evaluating);
* a CSV line with the wrong number of fields.

A missing *feature* value is not a problem: the model imputes it, exactly as the server does
for ``null``. Values follow the rules of ``mlsys.data`` (``parse_numbers``, ``parse_booleans``,
``parse_categories``), the ones ``CsvSource`` and the server use, so a row scores the same in
training, serving and batch.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from mlsys.data import (
    FALSE_SPELLINGS,
    NOT_A_BOOLEAN,
    NOT_A_NUMBER,
    NOT_FINITE,
    TRUE_SPELLINGS,
    FeatureSchema,
    parse_booleans,
    parse_categories,
    parse_numbers,
)
from mlsys.errors import SchemaError
from mlsys.scoring._reader import Chunk, TableReader

__all__ = ["Coded", "RowValidator", "ValidatedChunk"]

Columns = dict[str, np.ndarray[Any, Any]]
BoolArray = np.ndarray[Any, np.dtype[np.bool_]]


@dataclass
class ValidatedChunk:
    """The outcome of validating one chunk.

    Attributes:
        columns: Model input per schema column for the good rows: float64 arrays (NaN for
            missing) for numeric and boolean columns, object arrays of ``str`` (``None`` for
            missing) for categorical ones; what ``ModelBundle.score`` takes.
        kept: The good rows' values of the kept columns (id, label, segment), as read.
        rows: 1-based data row numbers of the good rows.
        rejects: Rejected rows: ``row``, ``reason`` and every input column as text.
        reasons: Rejected rows per problem (``"employees: not a number"``).
        codes: The same categorical columns as integer codes into their distinct levels
            (``columns[c]`` is ``levels[codes]``), so scorers can map levels once per chunk.
    """

    columns: Columns
    kept: dict[str, pa.Array]
    rows: np.ndarray[Any, np.dtype[np.int64]]
    rejects: pa.Table
    reasons: Counter[str] = field(default_factory=Counter)
    codes: dict[str, Coded] = field(default_factory=dict)

    @property
    def n_good(self) -> int:
        """Rows that passed."""
        return len(self.rows)

    @property
    def n_rejected(self) -> int:
        """Rows that failed."""
        return int(self.rejects.num_rows)


@dataclass(frozen=True)
class Coded:
    """A categorical column as ``levels[codes]``: distinct values (``None`` last) and codes."""

    codes: np.ndarray[Any, np.dtype[np.intp]]
    levels: np.ndarray[Any, np.dtype[np.object_]]


@dataclass
class _Problem:
    """Rows of one column with one kind of problem."""

    column: str
    kind: str
    mask: BoolArray
    describe: Callable[[Any], str]


class RowValidator:
    """Validates chunks against a model's feature schema.

    Args:
        schema: The model's feature columns and kinds.
        required: Columns whose value must not be missing (id, label); rows without one are
            rejected.
        keep: Columns (besides features) to carry through for the good rows.

    Example:
        >>> validator = RowValidator(schema, keep=["lead_id"])  # doctest: +SKIP
        >>> validator.check_columns(reader)  # doctest: +SKIP
        >>> good = validator.validate(chunk)  # doctest: +SKIP
    """

    def __init__(
        self, schema: FeatureSchema, *, required: Sequence[str] = (), keep: Sequence[str] = ()
    ) -> None:
        self.schema = schema
        self.required = list(dict.fromkeys(required))
        self.keep = list(dict.fromkeys(keep))
        self.kinds = dict(zip(schema.columns, schema.kinds, strict=True))
        self._reject_schema: pa.Schema | None = None

    def check_columns(self, reader: TableReader, *, what: str = "input") -> None:
        """Raise :class:`SchemaError` for whole-file problems: missing or mistyped columns."""
        present = set(reader.columns)
        missing = [c for c in self.schema.columns if c not in present]
        if missing:
            raise SchemaError(
                f"{what}: '{reader.path}' lacks the model's column(s) {missing}. The model was "
                f"trained on {list(self.schema.columns)}. Fix: add the missing columns (empty "
                "values are fine: the model imputes them); extra columns are ignored."
            )
        others = [c for c in (*self.required, *self.keep) if c not in present]
        if others:
            raise SchemaError(
                f"{what}: '{reader.path}' lacks column(s) {others} (columns: {reader.columns}). "
                "Fix: name a column of the file."
            )
        for column, kind in self.kinds.items():
            dtype = reader.types[column]
            if not _readable(dtype, kind):
                raise SchemaError(
                    f"{what}: column '{column}' of '{reader.path}' has type {dtype}, which "
                    f"cannot hold {kind} values. Fix: store it as "
                    f"{'text' if kind == 'categorical' else 'a number, boolean or text'}."
                )
        self._reject_schema = pa.schema(
            [("row", pa.int64()), ("reason", pa.string())]
            + [(c, pa.string()) for c in reader.columns]
        )

    @property
    def reject_schema(self) -> pa.Schema:
        """Columns of the rejects table: ``row``, ``reason``, then every input column as text."""
        if self._reject_schema is None:
            raise RuntimeError("call check_columns(reader) first: it learns the input columns")
        return self._reject_schema

    def validate(self, chunk: Chunk) -> ValidatedChunk:
        """Model inputs for the chunk's good rows, and the rejected rows with their reasons."""
        table = chunk.table
        n = table.num_rows
        columns: Columns = {}
        codes: dict[str, Coded] = {}
        problems: list[_Problem] = []
        for column, kind in self.kinds.items():
            if kind == "categorical":
                codes[column] = Coded(*parse_categories(_plain(table.column(column))))
                columns[column] = codes[column].levels[codes[column].codes]
                continue
            values, found = _PARSERS[kind](_plain(table.column(column)))
            columns[column] = values
            problems.extend(_problems(column, found))
        for column in self.required:
            missing = table.column(column).is_null().to_numpy(zero_copy_only=False)
            if missing.any():
                problems.append(_Problem(column, "missing value", missing, _missing(column)))
        bad = np.zeros(n, dtype=bool)
        for problem in problems:
            bad |= problem.mask
        good = ~bad
        all_good = bool(good.all())
        if not all_good:
            columns = {c: v[good] for c, v in columns.items()}
            codes = {c: Coded(v.codes[good], v.levels) for c, v in codes.items()}
        kept_table = table.select(self.keep)
        if not all_good:
            kept_table = kept_table.filter(pa.array(good))
        kept = {c: kept_table.column(c).combine_chunks() for c in self.keep}
        rejects, reasons = self._rejects(chunk, bad, problems)
        return ValidatedChunk(
            columns=columns,
            kept=kept,
            rows=chunk.rows[good] if not all_good else chunk.rows,
            rejects=rejects,
            reasons=reasons,
            codes=codes,
        )

    def _rejects(
        self, chunk: Chunk, bad: BoolArray, problems: list[_Problem]
    ) -> tuple[pa.Table, Counter[str]]:
        schema = self.reject_schema
        reasons: Counter[str] = Counter()
        index = np.flatnonzero(bad)
        if not len(index) and not chunk.malformed:
            return schema.empty_table(), reasons
        messages: list[list[str]] = [[] for _ in index]
        position = {int(i): k for k, i in enumerate(index)}
        for problem in problems:
            rows = np.flatnonzero(problem.mask)
            values = chunk.table.column(problem.column).take(pa.array(rows)).to_pylist()
            reasons[f"{problem.column}: {problem.kind}"] += len(rows)
            for row, value in zip(rows, values, strict=True):
                messages[position[int(row)]].append(problem.describe(value))
        originals = chunk.table.take(pa.array(index))
        data: dict[str, Any] = {
            "row": pa.array(chunk.rows[index], pa.int64()),
            "reason": pa.array(["; ".join(m) for m in messages], pa.string()),
        }
        for name in schema.names[2:]:
            data[name] = _as_text(originals.column(name))
        table = pa.table(data, schema=schema)
        if chunk.malformed:
            reasons["malformed CSV line"] += len(chunk.malformed)
            lines = pa.table(
                {
                    "row": pa.array([m.row for m in chunk.malformed], pa.int64()),
                    "reason": pa.array([m.reason for m in chunk.malformed], pa.string()),
                    **{c: pa.nulls(len(chunk.malformed), pa.string()) for c in schema.names[2:]},
                },
                schema=schema,
            )
            table = pa.concat_tables([lines, table]).sort_by("row")
        return table, reasons


def _is_text(dtype: pa.DataType) -> bool:
    return bool(
        pa.types.is_string(dtype)
        or pa.types.is_large_string(dtype)
        or pa.types.is_string_view(dtype)
    )


def _is_number(dtype: pa.DataType) -> bool:
    return bool(
        pa.types.is_integer(dtype) or pa.types.is_floating(dtype) or pa.types.is_decimal(dtype)
    )


def _readable(dtype: pa.DataType, kind: str) -> bool:
    if pa.types.is_dictionary(dtype):
        dtype = dtype.value_type
    simple = _is_text(dtype) or _is_number(dtype) or pa.types.is_boolean(dtype)
    if kind == "categorical":
        return bool(simple or pa.types.is_temporal(dtype) or pa.types.is_null(dtype))
    return bool(simple or pa.types.is_null(dtype))


def _plain(column: pa.ChunkedArray) -> pa.Array:
    array = column.combine_chunks()
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    return array


def _as_text(column: pa.ChunkedArray) -> pa.Array:
    array = _plain(column)
    if _is_text(array.type):
        return array.cast(pa.string())
    try:
        return array.cast(pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return pa.array([None if v is None else str(v) for v in array.to_pylist()], pa.string())


def _missing(column: str) -> Callable[[Any], str]:
    return lambda value: f"{column}: missing value (required)"


_PARSERS = {"numeric": parse_numbers, "boolean": parse_booleans}
#: How a rejected row's reason spells each problem, after the column name.
_DESCRIBE = {
    NOT_A_NUMBER: "{value!r} is not a number",
    NOT_FINITE: "{value!r} is not a finite number",
    NOT_A_BOOLEAN: "{value!r} is not a boolean ("
    + "/".join(TRUE_SPELLINGS[:2] + FALSE_SPELLINGS[:2] + ("1", "0"))
    + ")",
}


def _problems(column: str, found: dict[str, BoolArray]) -> list[_Problem]:
    return [
        _Problem(column, kind, mask, _describe(column, _DESCRIBE[kind]))
        for kind, mask in found.items()
    ]


def _describe(column: str, template: str) -> Callable[[Any], str]:
    return lambda value: f"{column}: " + template.format(value=value)
