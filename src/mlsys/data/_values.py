"""The value rules: how a raw value becomes a typed feature value, and a label becomes 0/1.

One module, used by every entry point, so a rule changes in one place:

* ``CsvSource`` (training, pandas) through :func:`coerce_features` and :class:`LabelMatcher`;
* batch scoring and ``ml-evaluate`` (Arrow) through :func:`parse_numbers`,
  :func:`parse_booleans`, :func:`parse_categories`, :data:`MISSING_MARKERS` and
  :class:`LabelMatcher`;
* the REST validator (JSON) through :func:`json_type` (what a record's msgspec decoder accepts),
  :func:`json_problem` (why a value is refused) and :func:`json_column`.

The rules:

* **Missing**: a CSV field spelled as one of :data:`MISSING_MARKERS` (pandas' defaults: empty,
  ``NA``, ``NaN``, ``null``, ``None``, ...) plus the source's own ``na_values``; ``null`` in
  JSON. A missing feature value is imputed by the model; it is never an error.
* **Numbers**: decimal or scientific notation with an optional sign, surrounding spaces
  ignored (``" 5"``, ``"1e3"``, ``"+.5"``); a spelling of NaN is missing. An infinity
  (``inf``, ``-Infinity``, ``1e999``, JSON ``1e400``) is refused everywhere as "not a finite
  number": no model can use one and no measurement is one. Training fails naming the column
  and the fix (``data.na_values``); scoring rejects the row; the REST API answers 422.
* **Booleans**: ``true/false``, ``yes/no``, ``y/n``, ``t/f``, ``1/0`` (and ``1.0/0.0``), any
  case, surrounding spaces ignored; JSON ``true``/``false``. They become 1.0/0.0.
* **Categories**: text as read (leading spaces dropped, as CSV is read); numbers spelled
  shortest (``3.0`` -> ``"3"``); booleans as ``"True"``/``"False"``.
* **Labels**: when the positive label is a number and every label value is one, they compare
  as numbers (``1`` and ``1.0`` are one class); otherwise as trimmed, case-insensitive text
  (``Yes`` and ``yes `` are one class).
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Sequence
from decimal import Decimal
from typing import Annotated, Any

import msgspec
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from mlsys.data._dataset import FeatureSchema
from mlsys.errors import SchemaError

__all__ = [
    "FALSE_SPELLINGS",
    "MISSING_MARKERS",
    "NOT_A_BOOLEAN",
    "NOT_A_NUMBER",
    "NOT_FINITE",
    "TRUE_SPELLINGS",
    "LabelMatcher",
    "coerce_features",
    "csv_field",
    "json_column",
    "json_problem",
    "json_type",
    "parse_booleans",
    "parse_categories",
    "parse_numbers",
]

BoolArray = np.ndarray[Any, np.dtype[np.bool_]]
FloatArray = np.ndarray[Any, np.dtype[np.float64]]

#: CSV fields read as missing: pandas' default markers, written out so every reader uses them.
MISSING_MARKERS: tuple[str, ...] = (
    "",
    "#N/A",
    "#N/A N/A",
    "#NA",
    "-1.#IND",
    "-1.#QNAN",
    "-NaN",
    "-nan",
    "1.#IND",
    "1.#QNAN",
    "<NA>",
    "N/A",
    "NA",
    "NULL",
    "NaN",
    "None",
    "n/a",
    "nan",
    "null",
)
#: Boolean spellings (compared trimmed and case-insensitively), the usual ones first.
TRUE_SPELLINGS: tuple[str, ...] = ("true", "yes", "1", "y", "t", "1.0")
FALSE_SPELLINGS: tuple[str, ...] = ("false", "no", "0", "n", "f", "0.0")
_BOOLEAN = {**dict.fromkeys(TRUE_SPELLINGS, 1.0), **dict.fromkeys(FALSE_SPELLINGS, 0.0)}
#: What each rule calls a value it refuses.
NOT_A_NUMBER = "not a number"
NOT_FINITE = "not a finite number"
NOT_A_BOOLEAN = "not a boolean"
#: The number grammar Arrow's cast accepts; only looked at when a cast fails.
_NUMBER = re.compile(r"[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|(?i:inf|infinity|nan))")
# The largest float read as the decimal the OpenAPI document writes, for integer JSON literals,
# which are compared with it exactly (one a little beyond would round to the float).
_LARGEST_INTEGER = int(Decimal(repr(sys.float_info.max)))


def _is_text(dtype: pa.DataType) -> bool:
    return bool(
        pa.types.is_string(dtype)
        or pa.types.is_large_string(dtype)
        or pa.types.is_string_view(dtype)
    )


def csv_field(array: pa.ChunkedArray, markers: Sequence[str]) -> pa.ChunkedArray:
    """A column of CSV text as ``CsvSource`` reads it: leading spaces skipped, then markers null.

    pandas reads with ``skipinitialspace=True``, so ``" NA"`` is missing and ``" a"`` is
    ``"a"``. Arrow matches markers exactly, so a column is only touched when a value in it
    starts with a space (rare): the usual chunk pays one vectorised check.

    Args:
        array: A column of CSV text, exact markers already null.
        markers: The missing markers (:data:`MISSING_MARKERS` plus the source's own).
    """
    if not _is_text(array.type) or not pc.any(pc.starts_with(array, " ")).as_py():
        return array
    stripped = pc.utf8_ltrim(array, characters=" ")
    missing = pc.is_in(stripped, value_set=pa.array(list(markers), stripped.type))
    return pc.if_else(missing, pa.scalar(None, stripped.type), stripped)


def parse_numbers(array: pa.Array) -> tuple[FloatArray, dict[str, BoolArray]]:
    """Float64 values (NaN for missing and refused values) and the refused ones per reason.

    Args:
        array: Text, numbers, booleans or nulls, missing values already null.

    Returns:
        The values, and a mask per reason (:data:`NOT_A_NUMBER`, :data:`NOT_FINITE`) for
        the reasons that occur.

    Example:
        >>> values, problems = parse_numbers(pa.array(["1.5", " 2", None, "inf", "abc"]))
        >>> values.tolist()[:3], sorted(problems)
        ([1.5, 2.0, nan], ['not a finite number', 'not a number'])
    """
    problems: dict[str, BoolArray] = {}
    if _is_text(array.type):
        values = _text_numbers(array, problems)
    elif pa.types.is_null(array.type):
        values = np.full(len(array), np.nan)
    else:
        values = pc.cast(array, pa.float64(), safe=False).to_numpy(zero_copy_only=False)
    values = np.asarray(values, dtype=np.float64)
    infinite = np.isinf(values)
    if infinite.any():
        problems[NOT_FINITE] = infinite
        values = np.where(infinite, np.nan, values)
    return values, problems


def _text_numbers(text: pa.Array, problems: dict[str, BoolArray]) -> FloatArray:
    """Text to float64 in Arrow: one cast when every value is a number (the usual case)."""
    try:
        return _floats(pc.cast(text, pa.float64()))
    except pa.ArrowInvalid:
        pass
    trimmed = pc.utf8_trim_whitespace(text)
    try:
        return _floats(pc.cast(trimmed, pa.float64()))
    except pa.ArrowInvalid:
        pass
    valid = pc.match_substring_regex(trimmed, f"^(?:{_NUMBER.pattern})$")
    # A field of spaces only is missing, as an empty one is.
    wrong = pc.and_(pc.invert(valid), pc.not_equal(trimmed, ""))
    refused = np.asarray(wrong.fill_null(False).to_numpy(zero_copy_only=False))
    if refused.any():
        problems[NOT_A_NUMBER] = refused
    return _floats(pc.cast(pc.if_else(valid, trimmed, None), pa.float64()))


def _floats(array: pa.Array) -> FloatArray:
    return np.asarray(array.to_numpy(zero_copy_only=False), dtype=np.float64)


def parse_booleans(array: pa.Array) -> tuple[FloatArray, dict[str, BoolArray]]:
    """1.0 / 0.0 (NaN for missing and refused values) and the refused ones per reason.

    Example:
        >>> values, problems = parse_booleans(pa.array(["Yes", " n", None, "maybe"]))
        >>> values.tolist()[:3], sorted(problems)
        ([1.0, 0.0, nan], ['not a boolean'])
    """
    if pa.types.is_boolean(array.type) or pa.types.is_null(array.type):
        return parse_numbers(array)
    if _is_text(array.type):
        # Few distinct spellings: decide each once, then index by the dictionary codes.
        encoded = pc.dictionary_encode(array)
        decided = [_boolean_word(w) for w in encoded.dictionary.to_pylist()]
        lookup = np.array([value for value, _ in decided] + [np.nan])
        codes = pc.fill_null(encoded.indices, len(decided)).to_numpy(zero_copy_only=False)
        values = lookup[codes]
        problems: dict[str, BoolArray] = {}
        for reason in (NOT_FINITE, NOT_A_BOOLEAN):
            refused = np.array([why == reason for _, why in decided] + [False])[codes]
            if refused.any():
                problems[reason] = refused
        return np.asarray(values, dtype=np.float64), problems
    values, problems = parse_numbers(array)
    wrong = ~np.isnan(values) & (values != 0.0) & (values != 1.0)
    if wrong.any():
        problems[NOT_A_BOOLEAN] = wrong
    return np.asarray(np.where(wrong, np.nan, values), dtype=np.float64), problems


def _boolean_word(word: str) -> tuple[float, str | None]:
    """One boolean spelling's value (NaN when missing or refused) and why it is refused.

    A number is read as one too (``-0``, ``1e0``): the value of a column pandas read as
    numbers, so text and numbers follow one rule.
    """
    text = word.strip().casefold()
    if text in _BOOLEAN:
        return _BOOLEAN[text], None
    if not text:
        return np.nan, None
    if not _NUMBER.fullmatch(text):
        return np.nan, NOT_A_BOOLEAN
    number = float(text)
    if math.isinf(number):
        return np.nan, NOT_FINITE
    if math.isnan(number) or number in (0.0, 1.0):
        return number, None
    return np.nan, NOT_A_BOOLEAN


def parse_categories(
    array: pa.Array,
) -> tuple[np.ndarray[Any, np.dtype[np.intp]], np.ndarray[Any, np.dtype[np.object_]]]:
    """A categorical column as ``levels[codes]``: distinct ``str`` levels (``None`` last).

    Categorical values are never refused (a level the model never saw is scored as a rare
    one). Each distinct level is decoded once, so there is no Python string per row.

    Example:
        >>> codes, levels = parse_categories(pa.array(["a", " b", None, "a"]))
        >>> levels[codes].tolist()
        ['a', 'b', None, 'a']
    """
    if pa.types.is_null(array.type):
        return np.zeros(len(array), dtype=np.intp), np.array([None], dtype=object)
    if pa.types.is_boolean(array.type):
        array = pc.if_else(array, "True", "False")
    encoded = pc.dictionary_encode(array)
    distinct = encoded.dictionary
    words: list[str | None]
    if pa.types.is_floating(distinct.type):
        # Codes read as floats (a missing value makes pandas do that): 3.0 -> "3".
        words = [f"{v:g}" for v in distinct.to_pylist()]
    elif _is_text(distinct.type):
        # CSV is read with leading spaces skipped, and an empty field is missing.
        words = [v.lstrip(" ") or None for v in distinct.to_pylist()]
    else:
        words = [str(v) for v in distinct.cast(pa.string()).to_pylist()]
    levels = np.empty(len(words) + 1, dtype=object)
    levels[:-1] = words
    levels[-1] = None
    codes = pc.fill_null(encoded.indices, len(words)).to_numpy(zero_copy_only=False)
    return np.asarray(codes, dtype=np.intp), levels


def json_problem(kind: str, value: Any) -> str | None:
    """Why a JSON value cannot be a value of ``kind`` (``None`` when it can).

    ``null`` is always accepted (the model imputes it). Kept to a few ``isinstance`` checks:
    the server runs it on every field of every request.
    """
    if value is None:
        return None
    if kind == "numeric":
        return _json_number_problem(value)
    if kind == "boolean":
        return None if isinstance(value, bool) else _expected("true, false", value)
    return None if isinstance(value, str) else _expected("a string", value)


def _json_number_problem(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return _expected("a number", value)
    if isinstance(value, int):
        out_of_range = abs(value) > _LARGEST_INTEGER
    else:
        out_of_range = not math.isfinite(value)
    return f"{NOT_FINITE}; send a number, or null if unknown" if out_of_range else None


def _expected(what: str, value: Any) -> str:
    return f"expected {what} or null, got {type(value).__name__}"


# Open bounds: an integer literal a little beyond the largest float rounds to it (and
# json_problem refuses it), so the largest float itself is left to json_problem too.
_FINITE = Annotated[float, msgspec.Meta(gt=-sys.float_info.max, lt=sys.float_info.max)]
_JSON_TYPES: dict[str, Any] = {
    "numeric": _FINITE | None,
    "boolean": bool | None,
    "categorical": str | None,
}


def json_type(kind: str) -> Any:
    """The msgspec type of a JSON value of ``kind``: what a record decoder accepts in C.

    Never wider than :func:`json_problem` (a value it accepts has no problem there); it may be
    narrower at the edges, where the caller asks :func:`json_problem` to explain the refusal
    (the server does: a refused record is decoded again and every problem listed).

    Example:
        >>> msgspec.json.decode(b"3", type=json_type("numeric"))
        3.0
    """
    return _JSON_TYPES.get(kind, _JSON_TYPES["categorical"])


def json_column(kind: str, values: Sequence[Any]) -> np.ndarray[Any, Any]:
    """Validated JSON values of one column as model input: float64 (NaN for null) or objects."""
    if kind == "categorical":
        return np.array(values, dtype=object)
    # numpy reads None as NaN and true/false as 1.0/0.0, in C.
    return np.array(values, dtype=np.float64)


def coerce_features(frame: pd.DataFrame, schema: FeatureSchema) -> pd.DataFrame:
    """The schema's columns of ``frame`` with the dtypes every model expects.

    Categorical columns become strings (``str`` dtype, missing kept), numeric and boolean
    columns become float64 (booleans as 0/1). Used at load time and again at predict time, so
    a model sees the same types in training and in production.

    Raises:
        SchemaError: A numeric value that is not a finite number, or a boolean value outside
            the accepted spellings; the message names the column and the fix.
    """
    schema.check_frame(frame, where="input")
    out = pd.DataFrame(index=frame.index)
    for name, kind in zip(schema.columns, schema.kinds, strict=True):
        column = frame[name]
        if kind == "categorical":
            codes, levels = parse_categories(arrow_column(column))
            text = pd.Series(levels[codes], index=frame.index, dtype=object)
            out[name] = text.astype("str").where(text.notna(), np.nan).astype("str")
        else:
            parse = parse_numbers if kind == "numeric" else parse_booleans
            out[name] = _checked(name, kind, *parse(arrow_column(column)), column)
    return out


def arrow_column(column: pd.Series) -> pa.Array:
    """A pandas column as an Arrow array, NaN/None/NA as null; mixed objects as text."""
    try:
        return pa.array(column.to_numpy(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return pa.array([None if pd.isna(v) else str(v) for v in column], pa.string())


def _checked(
    name: str, kind: str, values: FloatArray, problems: dict[str, BoolArray], column: pd.Series
) -> pd.Series:
    """The values as a float64 column, or a :class:`SchemaError` for the first problem."""
    for reason, mask in problems.items():
        shown = list(dict.fromkeys(str(v) for v in column[mask]))
        count = int(mask.sum())
        if reason == NOT_A_BOOLEAN:
            raise SchemaError(
                f"data.boolean: column '{name}' has value {column[mask].iloc[0]!r}, not a boolean "
                f"(accepted: {sorted(_BOOLEAN)}). Fix: declare data.categorical=['{name}']."
            )
        if reason == NOT_FINITE:
            raise SchemaError(
                f"data: column '{name}' has {count} value(s) that are not a finite number "
                f"({', '.join(sorted(shown))}); no model can use them, and ml-predict and the "
                "REST API refuse them too. Fix: read them as missing with "
                f"{list_override('data.na_values', ['inf', '-inf'])}, or clean the file."
            )
        raise SchemaError(
            f"data.{kind}: column '{name}' has {count} value(s) that are not a number (e.g. "
            f"{shown[:3]}). Fix: read them as missing with "
            f"{list_override('data.na_values', shown[:10])}, or declare "
            f"data.categorical=[{name}]."
        )
    return pd.Series(values, index=column.index, dtype="float64")


def list_override(key: str, values: list[str]) -> str:
    """``"key=['a','b']"``: a list override of strings, quoted for Hydra and the shell."""
    quoted = ",".join("'" + str(v).replace("\\", "\\\\").replace("'", "\\'") + "'" for v in values)
    return f'"{key}=[{quoted}]"'


class LabelMatcher:
    """0/1 labels from label values, and the distinct classes seen (over several calls).

    Args:
        positive: The label value meaning converted.

    Example:
        >>> labels = LabelMatcher("yes")
        >>> labels.encode(pa.array(["Yes", "no", " yes"])).tolist()
        [1, 0, 1]
        >>> labels.classes
        {'yes': 'Yes', 'no': 'no'}
    """

    def __init__(self, positive: str) -> None:
        self.positive = positive.strip()
        try:
            self.positive_number: float | None = float(self.positive)
        except ValueError:
            self.positive_number = None
        #: Matching key -> the value as first spelled.
        self.classes: dict[str, str] = {}

    @property
    def positive_key(self) -> str:
        """The positive label's matching key (in :attr:`classes` when it occurs)."""
        if self.positive_number is not None:
            return f"{self.positive_number:g}"
        return self.positive.casefold()

    def encode(self, values: pa.Array) -> np.ndarray[Any, np.dtype[np.int8]]:
        """1 where the value is the positive label, else 0; records the distinct classes.

        Args:
            values: Label values, none missing.
        """
        numbers = _all_numbers(values) if self.positive_number is not None else None
        if numbers is not None:
            uniques, codes = np.unique(numbers, return_inverse=True)
            spelled = keys = [f"{v:g}" for v in uniques]
            hits = [v == self.positive_number for v in uniques]
        else:
            if pa.types.is_boolean(values.type):
                text = pc.if_else(values, "True", "False")  # as pandas spells booleans
            else:
                text = values.cast(pa.string())
            encoded = pc.dictionary_encode(text)
            spelled = [str(v).strip() for v in encoded.dictionary.to_pylist()]
            keys = [v.casefold() for v in spelled]
            hits = [k == self.positive.casefold() for k in keys]
            codes = encoded.indices.to_numpy(zero_copy_only=False)
        for key, value in zip(keys, spelled, strict=True):
            self.classes.setdefault(key, value)
        return np.asarray(hits, dtype=np.int8)[np.asarray(codes, dtype=np.intp)]


def _all_numbers(values: pa.Array) -> FloatArray | None:
    """The values as floats if every one of them is a number, else ``None``."""
    if pa.types.is_integer(values.type) or pa.types.is_floating(values.type):
        return _floats(values.cast(pa.float64()))
    if pa.types.is_boolean(values.type):
        return None
    try:
        return _floats(pc.utf8_trim_whitespace(values.cast(pa.string())).cast(pa.float64()))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
