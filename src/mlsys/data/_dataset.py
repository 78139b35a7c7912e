"""The in-memory data set every stage after loading works on."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from mlsys.errors import SchemaError

__all__ = ["ColumnKind", "Dataset", "FeatureSchema"]

ColumnKind = Literal["categorical", "numeric", "boolean"]


@dataclass(frozen=True)
class FeatureSchema:
    """Feature columns in file order, each with its kind.

    The schema travels with the fitted model: serving and batch scoring validate input against
    it, and the registry refuses to compare models whose schemas differ.
    """

    columns: tuple[str, ...]
    kinds: tuple[ColumnKind, ...]

    def __post_init__(self) -> None:
        if len(self.columns) != len(self.kinds):
            raise ValueError("columns and kinds must have the same length")

    def of_kind(self, kind: ColumnKind) -> list[str]:
        """Names of the columns of one kind, in schema order."""
        return [c for c, k in zip(self.columns, self.kinds, strict=True) if k == kind]

    @property
    def categorical(self) -> list[str]:
        """Categorical (string-valued) feature names."""
        return self.of_kind("categorical")

    @property
    def numeric(self) -> list[str]:
        """Numeric feature names."""
        return self.of_kind("numeric")

    @property
    def boolean(self) -> list[str]:
        """Boolean feature names (0/1 after loading)."""
        return self.of_kind("boolean")

    def to_dict(self) -> dict[str, str]:
        """Column name to kind, in order; JSON-friendly."""
        return dict(zip(self.columns, self.kinds, strict=True))

    @classmethod
    def from_dict(cls, mapping: dict[str, Any]) -> FeatureSchema:
        """Inverse of :meth:`to_dict`."""
        kinds: list[ColumnKind] = []
        for name, kind in mapping.items():
            if kind not in ("categorical", "numeric", "boolean"):
                raise SchemaError(f"column '{name}' has unknown kind '{kind}'")
            kinds.append(kind)
        return cls(tuple(mapping), tuple(kinds))

    def check_frame(self, frame: pd.DataFrame, *, where: str) -> None:
        """Raise :class:`SchemaError` when ``frame`` lacks any schema column."""
        missing = [c for c in self.columns if c not in frame.columns]
        if missing:
            raise SchemaError(
                f"{where}: missing model input column(s) {missing}; the model was trained on "
                f"{list(self.columns)}. "
                "Fix: supply every schema column (extra columns are ignored)."
            )


@dataclass(frozen=True)
class Dataset:
    """A loaded, validated data set.

    Attributes:
        name: Short name used in logs and artifacts.
        frame: Every kept column except the target: features plus id, date and group columns.
        target: Binary label, 1 for the positive (converted) class.
        schema: The feature columns and their kinds.
        target_name: Name of the label column in the source file.
        positive_label: The source value that means "converted".
        id_column: Column identifying a row, if any.
        source: Where the data came from (a path).
        sha256: Digest of the source file's bytes; a replay refuses a file whose digest changed.
        leaky_columns: Columns documented as known only after the outcome.
        raw_dtypes: pandas dtype of each column as read from the source, before typing; the
            tracked model's input signature uses them so raw rows validate as they are.
        warnings: What loading warned about that a person should read (rows without a label,
            a column of numbers read as text, repeated ids, ...); a training run repeats them
            under its summary and records them in ``metadata.json``.
    """

    name: str
    frame: pd.DataFrame
    target: np.ndarray[Any, np.dtype[np.int8]]
    schema: FeatureSchema
    target_name: str
    positive_label: str
    id_column: str | None
    source: str
    sha256: str
    leaky_columns: tuple[str, ...] = field(default_factory=tuple)
    raw_dtypes: dict[str, str] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def features(self) -> pd.DataFrame:
        """The feature columns only, in schema order."""
        return self.frame.loc[:, list(self.schema.columns)]

    @property
    def positive_rate(self) -> float:
        """Share of positive rows."""
        return float(self.target.mean()) if len(self.target) else float("nan")

    def column(self, name: str, *, purpose: str) -> pd.Series:
        """Return a kept column, or fail naming the purpose and the available columns."""
        if name not in self.frame.columns:
            raise SchemaError(
                f"{purpose}: column '{name}' is not in data set '{self.name}' "
                f"(columns: {list(self.frame.columns)}). Fix: name one of those columns."
            )
        return self.frame[name]

    def raw_rows(self, rows: pd.DataFrame) -> pd.DataFrame:
        """Feature rows cast back to their source dtypes where lossless (ints, booleans)."""
        out = rows.copy()
        for name in out.columns:
            dtype = self.raw_dtypes.get(str(name), "")
            if dtype == "int64" and not out[name].isna().any():
                out[name] = out[name].astype("int64")
            elif dtype == "bool" and not out[name].isna().any():
                out[name] = out[name].astype("bool")
        return out

    def summary(self) -> dict[str, Any]:
        """A JSON-friendly description for logs and metadata."""
        return {
            "name": self.name,
            "source": self.source,
            "sha256": self.sha256,
            "rows": len(self),
            "positive_rate": round(self.positive_rate, 6),
            "target": self.target_name,
            "positive_label": self.positive_label,
            "id_column": self.id_column,  # scoring copies it to its output, bundle alone or not
            "schema": self.schema.to_dict(),
        }
