"""Load any CSV of labelled rows into a validated :class:`Dataset`."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from mlsys.data._dataset import ColumnKind, Dataset, FeatureSchema
from mlsys.errors import DataError, SchemaError
from mlsys.files import file_sha256

__all__ = ["CsvSource", "coerce_features", "file_sha256"]

log = logging.getLogger(__name__)

_TRUE = frozenset({"true", "yes", "y", "1", "t"})
_FALSE = frozenset({"false", "no", "n", "0", "f"})


class CsvSource:
    """A labelled CSV file: the data source behind ``data=csv``, ``data=leads`` and friends.

    Args:
        path: CSV file, relative to the directory the command runs from, or absolute.
        target: Label column.
        positive_label: Value of ``target`` meaning "converted" (compared case-insensitively,
            or numerically when the column is numeric).
        name: Short name for logs; defaults to the file stem.
        sep: Field separator.
        id_column: Row identifier, kept for outputs but never used as a feature.
        date_columns: Columns parsed as dates and kept for time splits, not used as features.
        non_feature_columns: Other columns kept for splitting (e.g. a group id) but not features.
        drop_columns: Columns removed right after loading (leaky or useless ones).
        na_values: Extra strings read as missing, on top of pandas' defaults.
        categorical: Force these columns to be categorical (e.g. numeric codes).
        numeric: Force these columns to be numeric.
        boolean: Force these columns to be boolean.
        leaky_columns: Columns known only after the outcome; a loud warning fires if any of them
            is still a feature after ``drop_columns``.
        generate_if_missing: When the file does not exist, generate the synthetic leads data set
            there instead of failing. Only sensible for ``data=leads``.

    Example:
        >>> source = CsvSource("data/leads.csv", target="converted", positive_label="1")
        >>> dataset = source.load()  # doctest: +SKIP
    """

    def __init__(
        self,
        path: str,
        target: str,
        positive_label: str | int | bool = "1",
        name: str | None = None,
        sep: str = ",",
        id_column: str | None = None,
        date_columns: Sequence[str] = (),
        non_feature_columns: Sequence[str] = (),
        drop_columns: Sequence[str] = (),
        na_values: Sequence[str] = (),
        categorical: Sequence[str] = (),
        numeric: Sequence[str] = (),
        boolean: Sequence[str] = (),
        leaky_columns: Sequence[str] = (),
        generate_if_missing: bool = False,
    ) -> None:
        self.path = path
        self.target = target
        self.positive_label = positive_label
        self.name = name
        self.sep = sep
        self.id_column = id_column
        self.date_columns = list(date_columns)
        self.non_feature_columns = list(non_feature_columns)
        self.drop_columns = list(drop_columns)
        self.na_values = list(na_values)
        self.categorical = list(categorical)
        self.numeric = list(numeric)
        self.boolean = list(boolean)
        self.leaky_columns = list(leaky_columns)
        self.generate_if_missing = generate_if_missing
        self._inferred_dates: list[str] = []  # text columns found to hold ISO dates, on load

    def load(self) -> Dataset:
        """Read, validate and type the file."""
        path = self._resolve_path()
        return self.from_frame(self._read(path), path=path, sha256=file_sha256(path))

    def from_frame(self, raw: pd.DataFrame, *, path: Path, sha256: str) -> Dataset:
        """Validate and type an already-read frame as if it came from ``path``."""
        self._check_columns(raw, path)
        raw = raw.drop(columns=self.drop_columns)
        raw = self._drop_unlabelled(raw, path)
        target = self._encode_target(raw[self.target], path)
        kept = raw.drop(columns=[self.target])
        schema = self._infer_schema(kept)
        frame = self._normalise(kept, schema)
        self._warn_leaky(schema)
        dataset = Dataset(
            name=self.name or path.stem,
            frame=frame,
            target=target,
            schema=schema,
            target_name=self.target,
            positive_label=getattr(self, "_matched_label", str(self.positive_label)),
            id_column=self.id_column,
            source=str(path),
            sha256=sha256,
            leaky_columns=tuple(c for c in self.leaky_columns if c in schema.columns),
            raw_dtypes={str(c): str(kept[c].dtype) for c in schema.columns},
        )
        log.info(
            "Loaded %s: %d rows, %d features (%d categorical, %d numeric, %d boolean), "
            "positive rate %.2f%%",
            dataset.name,
            len(dataset),
            len(schema.columns),
            len(schema.categorical),
            len(schema.numeric),
            len(schema.boolean),
            100 * dataset.positive_rate,
        )
        return dataset

    def _resolve_path(self) -> Path:
        path = Path(self.path).expanduser()
        if path.is_file():
            return path
        if path.exists():
            raise DataError(
                f"data.path: '{path}' is a directory, not a CSV file. Fix: name a file."
            )
        if not self.generate_if_missing:
            raise DataError(
                f"data.path: file '{self.path}' not found (looked at '{path.resolve()}'). "
                "Fix: point data.path at an existing CSV (data.path=/abs/path.csv), or for the "
                "synthetic leads set data.generate_if_missing=true."
            )
        from mlsys.data._synthetic import write_leads

        log.warning(
            "!!! data.path '%s' does not exist: GENERATING the synthetic leads data set there "
            "because data.generate_if_missing=true. This is NOT your data. !!!",
            path,
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        return write_leads(path)

    def _read(self, path: Path) -> pd.DataFrame:
        try:
            frame = pd.read_csv(
                path,
                sep=self.sep,
                na_values=self.na_values or None,
                low_memory=False,
                skipinitialspace=True,
            )
        except pd.errors.EmptyDataError as exc:
            raise DataError(
                f"data.path: '{path}' is empty (no header, no rows). Fix: point data.path at a "
                "CSV with a header line and labelled rows."
            ) from exc
        except pd.errors.ParserError as exc:
            raise DataError(
                f"data.path: '{path}' is not a valid CSV with separator {self.sep!r}: {exc}. "
                "Fix: check data.sep and that every row has as many fields as the header."
            ) from exc
        except UnicodeDecodeError as exc:
            raise DataError(
                f"data.path: '{path}' is not UTF-8 text ({exc.reason}). Fix: re-save it as UTF-8."
            ) from exc
        if frame.empty:
            raise DataError(
                f"data.path: '{path}' has a header but no rows. Fix: supply labelled rows."
            )
        if len(frame.columns) == 1 and self.sep not in ("\t",) and ";" in str(frame.columns[0]):
            raise DataError(
                f"data.sep: '{path}' parsed as a single column '{frame.columns[0]}'. "
                "Fix: pass \"data.sep=';'\" (quoted for the shell), or the file's real separator."
            )
        return frame

    def _check_columns(self, frame: pd.DataFrame, path: Path) -> None:
        columns = list(frame.columns)
        if self.target not in columns:
            raise SchemaError(
                f"data.target: column '{self.target}' not found in '{path}'. "
                f"Fix: data.target=<one of {columns}>."
            )
        named: list[tuple[str, list[str]]] = [
            ("data.id_column", [self.id_column] if self.id_column else []),
            ("data.date_columns", self.date_columns),
            ("data.non_feature_columns", self.non_feature_columns),
            ("data.drop_columns", self.drop_columns),
            ("data.categorical", self.categorical),
            ("data.numeric", self.numeric),
            ("data.boolean", self.boolean),
        ]
        for key, wanted in named:
            missing = [c for c in wanted if c not in columns]
            if missing:
                raise SchemaError(
                    f"{key}: column(s) {missing} not found in '{path}'. "
                    f"Fix: use names from {columns} or remove them from {key}."
                )
        if self.target in self.drop_columns:
            raise SchemaError(
                f"data.drop_columns: drops the target '{self.target}'. Fix: remove it."
            )

    def _drop_unlabelled(self, frame: pd.DataFrame, path: Path) -> pd.DataFrame:
        missing = frame[self.target].isna()
        if missing.any():
            log.warning(
                "data.target: %d of %d rows in '%s' have no label in '%s'; they are left out of "
                "training and evaluation.",
                int(missing.sum()),
                len(frame),
                path,
                self.target,
            )
            frame = frame.loc[~missing].reset_index(drop=True)
        if frame.empty:
            raise DataError(f"data.target: no row of '{path}' has a label in '{self.target}'.")
        return frame

    def _encode_target(self, column: pd.Series, path: Path) -> np.ndarray[Any, np.dtype[np.int8]]:
        positive = str(self.positive_label).strip()
        classes = column
        if ptypes.is_numeric_dtype(column) and not ptypes.is_bool_dtype(column):
            try:
                is_positive = column.astype(float) == float(positive)
            except ValueError as exc:
                raise SchemaError(
                    f"data.positive_label: '{positive}' is not a number but target "
                    f"'{self.target}' is numeric. "
                    "Fix: data.positive_label=1 (or the positive code)."
                ) from exc
        else:
            # Count classes the way the label is matched: "Yes" and "yes " are one class.
            classes = column.astype(str).str.strip().str.casefold()
            is_positive = classes == positive.casefold()
        values = sorted({str(v) for v in classes.unique()})
        if len(values) > 2:
            raise SchemaError(
                f"data.target: column '{self.target}' in '{path}' has {len(values)} distinct "
                f"values ({values[:10]}); mlsys trains binary conversion models. "
                "Fix: map it to two values or choose another data.target."
            )
        if is_positive.all() or len(values) < 2:
            raise DataError(
                f"data.target: column '{self.target}' in '{path}' has a single class "
                f"({values[0]!r} on all {len(column)} rows); a conversion model needs both "
                "converted and non-converted rows. Fix: supply a file with both outcomes."
            )
        if not is_positive.any():
            raise SchemaError(
                f"data.positive_label: '{positive}' never occurs in target '{self.target}' "
                f"(values: {values}). Fix: data.positive_label=<one of {values}>."
            )
        # Record the label as the file spells it (matching ignores case and spaces).
        self._matched_label = str(column[is_positive].iloc[0]).strip()
        return np.asarray(is_positive, dtype=np.int8)

    def _infer_schema(self, frame: pd.DataFrame) -> FeatureSchema:
        non_features = set(self.date_columns) | set(self.non_feature_columns)
        if self.id_column:
            non_features.add(self.id_column)
        forced = {*self.categorical, *self.numeric, *self.boolean}
        self._inferred_dates = [
            str(name)
            for name in frame.columns
            if name not in non_features and name not in forced and _looks_like_dates(frame[name])
        ]
        for name in self._inferred_dates:
            log.warning(
                "data: column '%s' holds dates, so it is parsed as one and not used as a feature "
                "(every day would be a category of its own). split=time split.column=%s can use "
                "it; data.categorical=[%s] makes it a feature anyway.",
                name,
                name,
                name,
            )
        non_features.update(self._inferred_dates)
        columns: list[str] = []
        kinds: list[ColumnKind] = []
        for name in frame.columns:
            if name in non_features:
                continue
            columns.append(str(name))
            kinds.append(self._kind_of(frame[name]))
        if not columns:
            raise SchemaError(
                "data: no feature columns are left after removing the id, date, non-feature and "
                "dropped columns. Fix: drop fewer columns."
            )
        return FeatureSchema(tuple(columns), tuple(kinds))

    def _kind_of(self, column: pd.Series) -> ColumnKind:
        name = str(column.name)
        if name in self.categorical:
            return "categorical"
        if name in self.numeric:
            return "numeric"
        if name in self.boolean or ptypes.is_bool_dtype(column):
            return "boolean"
        if ptypes.is_numeric_dtype(column):
            return "numeric"
        # pandas reads a true/false column with blanks as object holding bools, not bool dtype.
        if ptypes.infer_dtype(column, skipna=True) == "boolean":
            return "boolean"
        return "categorical"

    def _normalise(self, frame: pd.DataFrame, schema: FeatureSchema) -> pd.DataFrame:
        out = frame.copy()
        for name in [*self.date_columns, *self._inferred_dates]:
            out[name] = pd.to_datetime(out[name], errors="coerce")
            bad = int(out[name].isna().sum())
            if bad:
                log.warning("data.date_columns: %d rows of '%s' are not dates", bad, name)
        coerced = coerce_features(out, schema)
        for name in schema.columns:
            out[name] = coerced[name]
        return out.reset_index(drop=True)

    def _warn_leaky(self, schema: FeatureSchema) -> None:
        for name in self.leaky_columns:
            if name in schema.columns:
                log.warning(
                    "LEAKAGE: column '%s' is known only after the outcome and is being used as a "
                    "feature; test metrics will be optimistic and the model useless in production. "
                    "Fix: add it to data.drop_columns.",
                    name,
                )


def coerce_features(frame: pd.DataFrame, schema: FeatureSchema) -> pd.DataFrame:
    """The schema's columns of ``frame`` with the dtypes every model expects.

    Categorical columns become strings (``str`` dtype, missing kept), numeric and boolean
    columns become float64 (booleans as 0/1). Used at load time and again at predict time, so
    a model sees the same types in training and in production.
    """
    schema.check_frame(frame, where="input")
    out = pd.DataFrame(index=frame.index)
    for name, kind in zip(schema.columns, schema.kinds, strict=True):
        if kind == "categorical":
            out[name] = _as_category_strings(frame[name])
        elif kind == "numeric":
            out[name] = _as_numeric(frame[name], name)
        else:
            out[name] = _as_boolean(frame[name], name)
    return out


def _as_category_strings(column: pd.Series) -> pd.Series:
    """Categorical values as strings (``str`` dtype), missing kept as missing."""
    if ptypes.is_float_dtype(column):
        # Codes read as floats because of missing values: 3.0 -> "3".
        text = column.map(lambda v: v if pd.isna(v) else f"{v:g}")
    else:
        text = column
    return text.astype("str").where(column.notna(), np.nan).astype("str")


def _as_numeric(column: pd.Series, name: str) -> pd.Series:
    if ptypes.is_bool_dtype(column):
        return column.astype("float64")
    converted = pd.to_numeric(column, errors="coerce")
    bad = int((converted.isna() & column.notna()).sum())
    if bad:
        examples = column[converted.isna() & column.notna()].astype(str).unique()[:3]
        raise SchemaError(
            f"data.numeric: column '{name}' has {bad} non-numeric values (e.g. {list(examples)}). "
            f"Fix: add them to data.na_values, or declare data.categorical=['{name}']."
        )
    return converted.astype("float64")


def _as_boolean(column: pd.Series, name: str) -> pd.Series:
    if ptypes.is_bool_dtype(column):
        return column.astype("float64")

    def parse(value: object) -> float:
        if pd.isna(value):  # type: ignore[call-overload]
            return float("nan")
        text = str(value).strip().casefold()
        if text in _TRUE or text == "1.0":
            return 1.0
        if text in _FALSE or text == "0.0":
            return 0.0
        raise SchemaError(
            f"data.boolean: column '{name}' has value {value!r}, not a boolean "
            f"(accepted: {sorted(_TRUE | _FALSE)}). Fix: declare data.categorical=['{name}']."
        )

    return column.map(parse).astype("float64")


_ISO_DATE = r"^\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(?:Z|[+-]\d{2}:?\d{2})?$"


def _looks_like_dates(column: pd.Series) -> bool:
    """Whether a text column holds ISO dates (``2024-01-31``, ``2024-01-31T09:30:00``) only."""
    if ptypes.is_numeric_dtype(column) or ptypes.is_bool_dtype(column):
        return False
    sample = column.dropna().head(500).astype(str).str.strip()
    if sample.empty or not sample.str.fullmatch(_ISO_DATE).all():
        return False
    return bool(pd.to_datetime(sample, format="ISO8601", errors="coerce").notna().all())
