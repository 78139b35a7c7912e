"""Load any CSV of labelled rows into a validated :class:`Dataset`."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
import pyarrow as pa
from pandas.api import types as ptypes
from pydantic import Field

from mlsys._params import check_instance
from mlsys.data._dataset import ColumnKind, Dataset, FeatureSchema
from mlsys.data._formats import check_file_format
from mlsys.data._values import (
    MISSING_MARKERS,
    LabelMatcher,
    arrow_column,
    coerce_features,
    csv_field,
    list_override,
)
from mlsys.errors import DataError, SchemaError
from mlsys.files import file_sha256

__all__ = ["CsvSource", "file_sha256"]

log = logging.getLogger(__name__)

#: Compressed files pandas reads by their extension (a zip of one file only).
_COMPRESSED = {"gzip": (".gz",), "bzip2": (".bz2",), "xz": (".xz",), "zip": (".zip",)}
#: A text column whose non-missing values are numbers but for at most this share is almost
#: always a numeric column with a few odd markers ("?", "unknown"): it gets a warning.
_STRAY_TEXT_SHARE = 0.05
Text = Annotated[str, Field(min_length=1)]


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
        na_values: Extra strings read as missing, on top of ``MISSING_MARKERS``.
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
        path: Text | Path,
        target: Text,
        positive_label: str | int | bool = "1",
        name: Text | None = None,
        sep: Annotated[str, Field(min_length=1, description="a separator, e.g. ',' or ';'")] = ",",
        id_column: Text | None = None,
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
        self._warnings: list[str] = []  # said while loading; they end in Dataset.warnings

    def load(self) -> Dataset:
        """Read, validate and type the file."""
        self._warnings = []
        check_instance(self, "data")
        path = self._resolve_path()
        return self.from_frame(
            self._read(path), path=path, sha256=file_sha256(path), warnings=self._warnings
        )

    def from_frame(
        self, raw: pd.DataFrame, *, path: Path, sha256: str, warnings: Sequence[str] = ()
    ) -> Dataset:
        """Validate and type an already-read frame as if it came from ``path``.

        Args:
            raw: The rows as read, target included.
            path: Where they came from, for messages and the data set's ``source``.
            sha256: Digest of the source.
            warnings: Warnings already given while reading; the data set carries them on.
        """
        self._warnings = list(warnings)
        self._check_columns(raw, path)
        raw = raw.drop(columns=self.drop_columns)
        raw = self._drop_unlabelled(raw, path)
        raw = self._drop_empty_columns(raw, path)
        target = self._encode_target(raw[self.target], path)
        kept = raw.drop(columns=[self.target])
        self._check_ids(kept, path)
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
            warnings=tuple(self._warnings),
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

        self._warn(
            f"!!! data.path '{path}' does not exist: GENERATING the synthetic leads data set "
            "there because data.generate_if_missing=true. This is NOT your data. !!!"
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        return write_leads(path)

    def _warn(self, message: str) -> None:
        """Log a warning and keep it for the data set, so the run repeats it at the end."""
        log.warning("%s", message)
        self._warnings.append(message)

    def _read(self, path: Path) -> pd.DataFrame:
        check_file_format(path, key="data.path", reads=_COMPRESSED)
        try:
            frame = pd.read_csv(
                path,
                sep=self.sep,
                na_values=[*MISSING_MARKERS, *self.na_values],
                keep_default_na=False,
                # A declared categorical column is text as written ("03", "1.0", "true"), as
                # batch scoring and the REST API read it, not the numbers pandas would infer.
                dtype=dict.fromkeys(self.categorical, str),
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
        self._check_header(path)
        return self._quoted_spaces(frame)

    def _quoted_spaces(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``csv_field``'s rule for quoted text too (``" NA"``), as batch scoring applies it.

        ``skipinitialspace`` skips spaces before a field, not inside its quotes; the Arrow
        reader of batch scoring cannot tell the two apart, so both read them one way.
        """
        markers = [*MISSING_MARKERS, *self.na_values]
        for name in frame.columns:
            if not (ptypes.is_string_dtype(frame[name]) or ptypes.is_object_dtype(frame[name])):
                continue
            text = arrow_column(frame[name])
            read = csv_field(text, markers)
            if read is not text:
                frame[name] = pd.Series(read.to_pandas(), index=frame.index)
        return frame

    def _check_header(self, path: Path) -> None:
        """Refuse empty or repeated names in the header line, which pandas renames silently.

        pandas reads a second ``x`` as ``x.1`` and an empty name as ``Unnamed: 3``, so the
        names are checked as the file spells them.
        """
        header = pd.read_csv(
            path,
            sep=self.sep,
            header=None,
            nrows=1,
            dtype=str,
            keep_default_na=False,
            skipinitialspace=True,
        )
        _check_names([str(v) for v in header.iloc[0]], path)

    def _check_columns(self, frame: pd.DataFrame, path: Path) -> None:
        _check_names([str(c) for c in frame.columns], path)
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
            self._warn(
                f"data.target: {int(missing.sum())} of {len(frame)} rows in '{path}' have no "
                f"label in '{self.target}'; they are left out of training and evaluation."
            )
            frame = frame.loc[~missing].reset_index(drop=True)
        if frame.empty:
            raise DataError(f"data.target: no row of '{path}' has a label in '{self.target}'.")
        return frame

    def _drop_empty_columns(self, frame: pd.DataFrame, path: Path) -> pd.DataFrame:
        """Leave out feature columns without a single value: nothing to learn, nothing to ask."""
        kept = {self.target, self.id_column, *self.date_columns, *self.non_feature_columns}
        empty = [c for c in frame.columns if c not in kept and frame[c].isna().all()]
        if empty:
            drop = list_override("data.drop_columns", [*self.drop_columns, *empty])
            self._warn(
                f"data: column(s) {[str(c) for c in empty]} of '{path}' are empty on all "
                f"{len(frame)} labelled rows, so they are left out of the features (the model "
                "and scoring do not use them). Fix: check the export; list them in "
                f"{drop} to drop them without this warning."
            )
        return frame.drop(columns=empty)

    def _check_ids(self, frame: pd.DataFrame, path: Path) -> None:
        """Warn about rows without an id and about ids on several rows."""
        if not self.id_column:
            return
        ids = frame[self.id_column]
        blank = int(ids.isna().sum())
        if blank:
            self._warn(
                f"data.id_column: {blank} of {len(ids)} rows of '{path}' have no "
                f"'{self.id_column}'; they train and are evaluated as usual, but their rows in "
                "test_predictions.csv have an empty id. Fix: fill in the ids."
            )
        counts = ids.dropna().value_counts()
        repeated = counts[counts > 1]
        if len(repeated):
            shown = ", ".join(f"{v!s} ({_count(n, 'row')})" for v, n in repeated.head(3).items())
            self._warn(
                f"data.id_column: '{self.id_column}' in '{path}' repeats "
                f"{_count(len(repeated), 'id')} on {int(repeated.sum())} rows (e.g. {shown}). "
                "Rows of one lead in both the training and the test split make test metrics "
                "optimistic. "
                "Fix: de-duplicate the file, or keep each id's rows in one split with "
                f"split=group split.column={self.id_column}."
            )

    def _encode_target(self, column: pd.Series, path: Path) -> np.ndarray[Any, np.dtype[np.int8]]:
        labels = LabelMatcher(str(self.positive_label))
        positive = labels.positive
        numeric = ptypes.is_numeric_dtype(column) and not ptypes.is_bool_dtype(column)
        if numeric and labels.positive_number is None:
            raise SchemaError(
                f"data.positive_label: '{positive}' is not a number but target "
                f"'{self.target}' is numeric. "
                "Fix: data.positive_label=1 (or the positive code)."
            )
        is_positive = labels.encode(pa.array(column.to_numpy(), from_pandas=True))
        values = sorted(labels.classes.values())
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
        self._matched_label = labels.classes[labels.positive_key]
        return is_positive

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
            self._warn(
                f"data: column '{name}' holds dates, so it is parsed as one and not used as a "
                f"feature (every day would be a category of its own). split=time "
                f"split.column={name} can use it; data.categorical=[{name}] makes it a feature "
                "anyway."
            )
        non_features.update(self._inferred_dates)
        columns: list[str] = []
        kinds: list[ColumnKind] = []
        for name in frame.columns:
            if name in non_features:
                continue
            columns.append(str(name))
            kinds.append(self._kind_of(frame[name]))
            if kinds[-1] == "categorical" and name not in self.categorical:
                self._warn_stray_text(frame[name])
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

    def _warn_stray_text(self, column: pd.Series) -> None:
        """Warn when a few text values made pandas read a column of numbers as text."""
        values = column.dropna().astype(str).str.strip()
        # Parsed once per distinct value, not per row: pandas parses text in Python, which
        # took 2 s per 200,000 rows of six text columns (docs/DESIGN_DECISIONS.md).
        levels = values.value_counts()  # most frequent first, ties in order of appearance
        text = pd.Series(levels.index, dtype=object)
        counts = levels[pd.to_numeric(text, errors="coerce").isna().to_numpy()]
        stray = int(counts.sum())
        if not stray or stray > _STRAY_TEXT_SHARE * len(values):
            return
        name = str(column.name)
        shown = ", ".join(f"{v!r} ({_count(n, 'row')})" for v, n in counts.head(10).items())
        more = f" and {len(counts) - 10} more" if len(counts) > 10 else ""
        self._warn(
            f"data: column '{name}' holds numbers except for {stray} of {len(values)} "
            f"values ({shown}{more}), so it is read as categorical: every distinct number is a "
            "category of its own. Fix: if it is a number, pass "
            f"{list_override('data.numeric', [*self.numeric, name])} "
            f"{list_override('data.na_values', [*self.na_values, *counts.index])} to read "
            "those values as missing."
        )

    def _normalise(self, frame: pd.DataFrame, schema: FeatureSchema) -> pd.DataFrame:
        out = frame.copy()
        for name in [*self.date_columns, *self._inferred_dates]:
            out[name] = pd.to_datetime(out[name], errors="coerce")
            bad = int(out[name].isna().sum())
            if bad:
                self._warn(f"data.date_columns: {bad} rows of '{name}' are not dates")
        coerced = coerce_features(out, schema)
        for name in schema.columns:
            out[name] = coerced[name]
        return out.reset_index(drop=True)

    def _warn_leaky(self, schema: FeatureSchema) -> None:
        for name in self.leaky_columns:
            if name in schema.columns:
                self._warn(
                    f"LEAKAGE: column '{name}' is known only after the outcome and is being used "
                    "as a feature; test metrics will be optimistic and the model useless in "
                    "production. Fix: add it to data.drop_columns."
                )


def _check_names(names: list[str], path: Path) -> None:
    """Refuse empty and repeated column names."""
    empty = [i for i, name in enumerate(names, start=1) if not name.strip()]
    if empty:
        raise SchemaError(
            f"data.path: column(s) {empty} of '{path}' have no name in the header line. Fix: "
            "name them, or remove them (an unnamed first column of 0, 1, 2, ... is a saved "
            "DataFrame index: save with index=False; an unnamed last one comes from a separator "
            "at the end of every line)."
        )
    seen: dict[str, list[int]] = {}
    for i, name in enumerate(names, start=1):
        seen.setdefault(name, []).append(i)
    repeated = {name: at for name, at in seen.items() if len(at) > 1}
    if repeated:
        shown = "; ".join(f"'{name}' in columns {at}" for name, at in repeated.items())
        raise SchemaError(
            f"data.path: '{path}' has repeated column names ({shown}); they cannot both be "
            "features under one name. Fix: rename them in the header line so that each is unique."
        )


def _count(n: int, noun: str) -> str:
    """``1 row``, ``2 rows``."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


_ISO_DATE = r"^\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(?:Z|[+-]\d{2}:?\d{2})?$"


def _looks_like_dates(column: pd.Series) -> bool:
    """Whether a text column holds ISO dates (``2024-01-31``, ``2024-01-31T09:30:00``) only."""
    if ptypes.is_numeric_dtype(column) or ptypes.is_bool_dtype(column):
        return False
    sample = column.dropna().head(500).astype(str).str.strip()
    if sample.empty or not sample.str.fullmatch(_ISO_DATE).all():
        return False
    return bool(pd.to_datetime(sample, format="ISO8601", errors="coerce").notna().all())
