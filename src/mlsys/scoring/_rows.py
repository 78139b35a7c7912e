"""Check each row of a chunk against the model's schema; build model inputs for the good ones.

Whole-file problems (a model column missing from the file, a column of a type that cannot hold
its kind) raise before anything is scored. Row problems reject only the row, with a reason:

* a numeric value that is not a number, or not finite (``abc``, ``inf``);
* a boolean value outside the accepted spellings (``true``/``false``/``yes``/``no``/``1``/``0``);
* a missing value in a column that must have one (the id column, the label when evaluating);
* a CSV line with the wrong number of fields.

A missing *feature* value is not a problem: the model imputes it, exactly as the server does
for ``null``. Values are read as ``CsvSource`` reads a training file (pandas' missing-value
markers, leading spaces skipped), so a row scores the same in training, serving and batch.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from mlsys.data import FeatureSchema
from mlsys.errors import SchemaError
from mlsys.scoring._reader import Chunk, TableReader

__all__ = ["Coded", "RowValidator", "ValidatedChunk"]

Columns = dict[str, np.ndarray[Any, Any]]
BoolArray = np.ndarray[Any, np.dtype[np.bool_]]
FloatArray = np.ndarray[Any, np.dtype[np.float64]]

# The spellings CsvSource accepts for boolean columns.
_TRUE = ("true", "yes", "y", "1", "t", "1.0")
_FALSE = ("false", "no", "n", "0", "f", "0.0")
_BOOLEAN = {**dict.fromkeys(_TRUE, 1.0), **dict.fromkeys(_FALSE, 0.0)}


@dataclass
class ValidatedChunk:
    """The outcome of validating one chunk.

    Attributes:
        columns: Model input per schema column for the good rows: float64 arrays (NaN for
            missing) for numeric and boolean columns, object arrays of ``str`` (``None`` for
            missing) for categorical ones; what ``compile_scorer`` scorers take.
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
                codes[column] = _categories(_plain(table.column(column)))
                columns[column] = codes[column].levels[codes[column].codes]
                continue
            values, found = _PARSERS[kind](_plain(table.column(column)), column)
            columns[column] = values
            problems.extend(found)
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


def _numbers(array: pa.Array, column: str) -> tuple[FloatArray, list[_Problem]]:
    """Float64 values (NaN for missing); non-numbers and infinities are problems."""
    problems: list[_Problem] = []
    if _is_text(array.type):
        try:
            values = _cast_numbers(array)
        except pa.ArrowInvalid:
            # Rare: find the bad values with pandas' parser, as training would have read them.
            text = pc.utf8_trim_whitespace(array)
            raw = pd.Series(text.to_numpy(zero_copy_only=False), dtype=object)
            parsed = pd.to_numeric(raw.where(raw != "", None), errors="coerce")
            values = parsed.to_numpy(dtype=np.float64, na_value=np.nan)
            wrong = np.asarray(parsed.isna() & raw.notna() & (raw != ""), dtype=bool)
            problems.append(
                _Problem(
                    column, "not a number", wrong, lambda v: f"{column}: {v!r} is not a number"
                )
            )
            values = np.where(wrong, np.nan, values)
    elif pa.types.is_null(array.type):
        values = np.full(len(array), np.nan)
    else:
        values = pc.cast(array, pa.float64(), safe=False).to_numpy(zero_copy_only=False)
    values = np.asarray(values, dtype=np.float64)
    infinite = np.isinf(values)
    if infinite.any():
        problems.append(
            _Problem(
                column,
                "not a finite number",
                infinite,
                lambda v: f"{column}: {v!r} is not a finite number",
            )
        )
        values = np.where(infinite, np.nan, values)
    return values, problems


def _cast_numbers(text: pa.Array) -> FloatArray:
    """Text to float64 in Arrow; padded numbers (" 5 ", as pandas reads them) on a second try."""
    try:
        values = pc.cast(text, pa.float64())
    except pa.ArrowInvalid:
        values = pc.cast(pc.utf8_trim_whitespace(text), pa.float64())
    return np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.float64)


def _booleans(array: pa.Array, column: str) -> tuple[FloatArray, list[_Problem]]:
    """1.0 / 0.0 (NaN for missing); other values are problems."""
    if pa.types.is_boolean(array.type) or pa.types.is_null(array.type):
        return _numbers(array, column)
    if _is_text(array.type):
        # Few distinct spellings: decide each once, then index by the dictionary codes.
        encoded = pc.dictionary_encode(array)
        words = encoded.dictionary.to_pylist()
        lookup = np.array(
            [_BOOLEAN.get(w.strip().casefold(), np.inf if w.strip() else np.nan) for w in words]
            + [np.nan]
        )
        codes = pc.fill_null(encoded.indices, len(words)).to_numpy(zero_copy_only=False)
        values = lookup[codes]
        wrong = np.isinf(values)
        values = np.where(wrong, np.nan, values)
    else:
        numbers, _ = _numbers(array, column)
        wrong = ~np.isnan(numbers) & (numbers != 0.0) & (numbers != 1.0)
        values = np.where(wrong, np.nan, numbers)
    problems = []
    if wrong.any():
        accepted = "/".join(_TRUE[:2] + _FALSE[:2] + ("1", "0"))
        problems.append(
            _Problem(
                column,
                "not a boolean",
                wrong,
                lambda v: f"{column}: {v!r} is not a boolean ({accepted})",
            )
        )
    return np.asarray(values, dtype=np.float64), problems


def _categories(array: pa.Array) -> Coded:
    """Distinct levels as ``str`` (``None`` for missing) and a code per row.

    Values match what the server's validator builds; categorical values are never rejected
    (a level the model never saw is scored as a rare one).
    """
    if pa.types.is_null(array.type):
        return Coded(np.zeros(len(array), dtype=np.intp), np.array([None], dtype=object))
    if pa.types.is_boolean(array.type):
        array = pc.if_else(array, "True", "False")  # as str(True) in pandas
    elif not _is_text(array.type):
        array = array.cast(pa.string())
    # Decode each distinct level once, then index: no Python string per row.
    encoded = pc.dictionary_encode(array)
    levels = np.empty(len(encoded.dictionary) + 1, dtype=object)
    # pandas (skipinitialspace=True, as training reads) drops leading spaces only.
    levels[:-1] = [v.lstrip(" ") or None for v in encoded.dictionary.to_pylist()]
    levels[-1] = None
    codes = pc.fill_null(encoded.indices, len(levels) - 1).to_numpy(zero_copy_only=False)
    return Coded(np.asarray(codes, dtype=np.intp), levels)


_PARSERS: dict[str, Callable[[pa.Array, str], tuple[np.ndarray[Any, Any], list[_Problem]]]] = {
    "numeric": _numbers,
    "boolean": _booleans,
}
