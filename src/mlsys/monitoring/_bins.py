"""Values to bin counts: the one rule every profile check uses.

:class:`BinLayout` lays the bins of every profiled column (and of the scores) end to end in one
flat vector of counts: counts of several batches add up, and a report is a function of the
counts alone. The rule per value:

* a number (float64, NaN for missing): the bin after the last of the column's edges
  (:meth:`NumericProfile.edges`) at or below it; NaN into the missing bin (:func:`bin_numbers`);
* a level: a ``dict`` lookup from the string to its bin; ``None`` (or a NaN from pandas) is
  missing; a string not in the dict is unseen (or ``other``, for a column with too many levels
  to remember them all).

What a request or a chunk carries is accepted as it is: numpy arrays (float64 numbers, object
arrays of ``str``/``None`` levels, as the server and batch scoring build them), Arrow arrays,
pandas Series, or lists. No pandas call on numpy input: the server's path stays numpy-only.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mlsys.errors import DataError, SchemaError
from mlsys.monitoring._profile import (
    CategoricalProfile,
    DataProfile,
    NumericProfile,
    bin_numbers,
)

__all__ = ["SCORE_COLUMN", "BinLayout", "ColumnBins", "bin_levels", "bin_numbers", "level_bins"]

FloatArray = np.ndarray[Any, np.dtype[np.float64]]
CountArray = np.ndarray[Any, np.dtype[np.int64]]

SCORE_COLUMN: Final = "score"
"""Name the scores go by in reports and alerts."""
MAX_EXAMPLES: Final = 10
"""Distinct unseen levels remembered per column, for the report's examples."""
_UNKNOWN: Final = -1
_SMALL_BATCH: Final = 256
"""Up to this many rows, one comparison matrix for all columns beats a pass per edge."""


@dataclass(frozen=True)
class _NumberBlock:
    """Several numeric columns' edges as one matrix, for batches of a few rows.

    A request of one record would otherwise pay numpy's call overhead a dozen times per
    column; here every column is binned by the same few calls. Rows of edges are padded; every
    number counts as below a padding edge, so the bins the padding makes are empty, and
    ``keep`` drops them.

    Attributes:
        edges: ``(columns, widest)`` edges, padded with +inf.
        padded: The same shape: which edges are padding.
        keep: ``(columns, widest + 1)``: which differences are real bins.
        targets: Flat positions of the kept bins, row by row.
        missing: Flat position of each column's missing bin.
    """

    edges: FloatArray
    padded: np.ndarray[Any, np.dtype[np.bool_]]
    keep: np.ndarray[Any, np.dtype[np.bool_]]
    targets: np.ndarray[Any, np.dtype[np.intp]]
    missing: np.ndarray[Any, np.dtype[np.intp]]

    @classmethod
    def of(cls, specs: list[tuple[str, FloatArray, int]]) -> _NumberBlock:
        widest = max((len(edges) for _, edges, _ in specs), default=0)
        edges = np.full((len(specs), widest), np.inf)
        padded = np.ones((len(specs), widest), dtype=bool)
        keep = np.zeros((len(specs), widest + 1), dtype=bool)
        targets: list[int] = []
        for row, (_, column_edges, start) in enumerate(specs):
            edges[row, : len(column_edges)] = column_edges
            padded[row, : len(column_edges)] = False
            keep[row, : len(column_edges) + 1] = True
            targets.extend(range(start, start + len(column_edges) + 1))
        missing = [start + len(column_edges) + 1 for _, column_edges, start in specs]
        return cls(
            edges, padded, keep, np.array(targets, dtype=np.intp), np.array(missing, dtype=np.intp)
        )

    def count(self, values: list[FloatArray], counts: CountArray) -> None:
        """Add the columns' bin counts (one array per row of ``edges``) into ``counts``."""
        matrix = np.concatenate(values).reshape(len(values), -1)
        missing = np.isnan(matrix).sum(axis=1)
        present = (matrix.shape[1] - missing)[:, None]
        below = (matrix[:, :, None] < self.edges[:, None, :]).sum(axis=1)
        # Below a padding edge, and below the end of a row, lies every number (+inf too).
        below = np.concatenate((np.where(self.padded, present, below), present), axis=1)
        counts[self.targets] = np.diff(below, axis=1, prepend=0)[self.keep]
        counts[self.missing] = missing


def _numbers(values: Any, column: str) -> FloatArray:
    """Float64 values, NaN for missing, from whatever a caller holds."""
    if isinstance(values, np.ndarray) and values.dtype == np.float64:
        return values
    try:
        if isinstance(values, pa.ChunkedArray | pa.Array):
            cast = pc.cast(values, pa.float64())
            return np.asarray(cast.to_numpy(zero_copy_only=False), dtype=np.float64)
        if hasattr(values, "to_numpy") and not isinstance(values, np.ndarray):  # pandas
            return np.asarray(values.to_numpy(dtype=np.float64, na_value=np.nan))
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError, pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise DataError(
            f"drift check: column '{column}' holds values that are not numbers ({exc}). "
            "Fix: pass the typed columns (float64, NaN for missing) the model scores."
        ) from exc


def bin_levels(
    values: Any,
    lookup: Mapping[Any, int],
    unseen: int,
    missing: int,
    examples: Counter[str] | None = None,
) -> CountArray:
    """Counts of levels per bin (``missing + 1`` bins); unseen levels go into ``examples``.

    Args:
        values: Levels: an object array or list of ``str`` (``None`` or NaN for missing), an
            Arrow array, a pandas Series, or a coded column (``codes`` into ``levels``, as
            batch scoring's ``Coded`` holds them: each distinct level is then looked up once).
        lookup: Level to bin index; ``None`` maps to ``missing``.
        unseen: Bin of a level not in ``lookup``.
        missing: Bin of a missing value, the last one.
        examples: Where to count unseen levels (at most :data:`MAX_EXAMPLES` distinct ones).
    """
    size = missing + 1
    if hasattr(values, "codes") and hasattr(values, "levels"):
        levels = [_level(v) for v in values.levels]
        return _bin_coded(levels, np.asarray(values.codes), lookup, unseen, size, examples)
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    elif not isinstance(values, np.ndarray | list | tuple | pa.Array):
        values = pa.array(values, from_pandas=True)  # pandas: NaN and None become null
    if isinstance(values, pa.Array):
        encoded = values if pa.types.is_dictionary(values.type) else pc.dictionary_encode(values)
        dictionary = encoded.dictionary
        if not (pa.types.is_string(dictionary.type) or pa.types.is_large_string(dictionary.type)):
            dictionary = dictionary.cast(pa.string())
        levels = [*dictionary.to_pylist(), None]
        codes = pc.fill_null(encoded.indices, len(levels) - 1).to_numpy(zero_copy_only=False)
        return _bin_coded(levels, codes, lookup, unseen, size, examples)
    bins = level_bins(values, lookup, unseen, missing, examples)
    return np.bincount(bins, minlength=size).astype(np.int64, copy=False)


def level_bins(
    values: Any,
    lookup: Mapping[Any, int],
    unseen: int,
    missing: int,
    examples: Counter[str] | None = None,
) -> list[int]:
    """The bin of each level of a sequence (an object array or a list), as :func:`bin_levels`."""
    bins = [lookup.get(v, _UNKNOWN) for v in values]
    if _UNKNOWN in bins:  # rare: unseen levels, NaN in arrays pandas built
        for i, found in enumerate(bins):
            if found == _UNKNOWN:
                level = _level(values[i])
                bins[i] = missing if level is None else unseen
                if level is not None:
                    _remember(examples, level, 1)
    return bins


def _level(value: Any) -> str | None:
    """A level as the lookup knows it: ``None`` for missing (NaN too), else the string."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return str(value)


def _bin_coded(
    levels: list[str | None],
    codes: np.ndarray[Any, Any],
    lookup: Mapping[Any, int],
    unseen: int,
    size: int,
    examples: Counter[str] | None,
) -> CountArray:
    """Rows counted per distinct level, then each level's count added to its bin."""
    per_level = np.bincount(codes, minlength=len(levels))
    table = np.array([lookup.get(v, unseen) for v in levels], dtype=np.intp)
    if examples is not None:
        for position in np.flatnonzero((table == unseen) & (per_level > 0)):
            level = levels[position]
            if level is not None:
                _remember(examples, level, int(per_level[position]))
    counts = np.bincount(table, weights=per_level, minlength=size)
    return counts.astype(np.int64)


def _remember(examples: Counter[str] | None, level: str, count: int) -> None:
    if examples is not None and (level in examples or len(examples) < MAX_EXAMPLES):
        examples[level] += count


@dataclass(frozen=True)
class ColumnBins:
    """Where one column's bins sit in the flat vector, and what its special bins mean.

    Attributes:
        column: Column name (:data:`SCORE_COLUMN` for the scores).
        kind: ``numeric``, ``boolean``, ``categorical`` or ``score``.
        start: First bin's position in the flat vector.
        stop: One past the last bin's position.
        below: Relative bin of values below the training minimum (numeric, score).
        above: Relative bin of values above the training maximum (numeric, score).
        unseen: Relative bin of levels never seen in training (categorical).
    """

    column: str
    kind: Literal["numeric", "boolean", "categorical", "score"]
    start: int
    stop: int
    below: int | None = None
    above: int | None = None
    unseen: int | None = None

    @property
    def slice(self) -> slice:
        """This column's part of the flat vector."""
        return slice(self.start, self.stop)

    @property
    def missing(self) -> int:
        """Relative bin of missing values: always the last."""
        return self.stop - self.start - 1


@dataclass(frozen=True)
class _LevelBins:
    """A categorical column's lookup; bin indices are relative to ``start``.

    ``flat`` is the same lookup with positions in the whole vector, so a small batch's levels
    of every column can be counted by one ``np.bincount``.
    """

    column: str
    start: int
    lookup: dict[Any, int]
    unseen: int
    missing: int
    flat: dict[Any, int]


class BinLayout:
    """Every column's bins of a profile, end to end, and the training share of each bin.

    Args:
        profile: The training profile.

    Attributes:
        columns: Per column (features in schema order, then the scores if profiled), where its
            bins are.
        expected: Training share of every bin, as one flat vector.
        size: Number of bins.
    """

    def __init__(self, profile: DataProfile) -> None:
        self.profile = profile
        columns: list[ColumnBins] = []
        expected: list[FloatArray] = []
        self._numbers: list[tuple[str, FloatArray, int]] = []
        self._levels: list[_LevelBins] = []
        start = 0
        for name, column in profile.columns.items():
            shares = column.expected()
            stop = start + len(shares)
            if isinstance(column, CategoricalProfile):
                columns.append(ColumnBins(name, "categorical", start, stop, unseen=len(shares) - 2))
                self._levels.append(_level_bins(name, column, start))
            elif isinstance(column, NumericProfile):
                columns.append(_numeric_bins(name, "numeric", column, start, stop))
                self._numbers.append((name, column.edges(), start))
            else:
                columns.append(ColumnBins(name, "boolean", start, stop))
                self._numbers.append((name, column.edges(), start))
            expected.append(shares)
            start = stop
        self._score: tuple[FloatArray, int] | None = None
        if profile.scores is not None:
            shares = profile.scores.expected()
            stop = start + len(shares)
            columns.append(_numeric_bins(SCORE_COLUMN, "score", profile.scores, start, stop))
            self._score = (profile.scores.edges(), start)
            expected.append(shares)
            start = stop
        self.columns: tuple[ColumnBins, ...] = tuple(columns)
        self.expected: FloatArray = np.concatenate(expected) if expected else np.zeros(0)
        self.size = start
        score = [(SCORE_COLUMN, *self._score)] if self._score else []
        self._blocks = {
            False: _NumberBlock.of(self._numbers),
            True: _NumberBlock.of([*self._numbers, *score]),
        }

    def count(
        self,
        columns: Mapping[str, Any],
        scores: Any = None,
        examples: Mapping[str, Counter[str]] | None = None,
    ) -> tuple[CountArray, int]:
        """Bin counts of a batch of rows, and its number of rows.

        Args:
            columns: Every profiled column's values (extra columns are ignored).
            scores: The rows' calibrated scores, if any; ignored when the profile has none.
            examples: Per categorical column, where to count unseen levels.

        Raises:
            SchemaError: A profiled column is missing.
            DataError: Columns (or the scores) differ in length, or numbers are not numbers.
        """
        counts = np.zeros(self.size, dtype=np.int64)
        specs = list(self._numbers)
        values = [_numbers(_column(columns, name, self), name) for name, _, _ in specs]
        with_score = scores is not None and self._score is not None
        if with_score and self._score is not None:
            specs.append((SCORE_COLUMN, *self._score))
            values.append(_numbers(scores, SCORE_COLUMN))
        lengths = {name: len(v) for (name, _, _), v in zip(specs, values, strict=True)}
        rows = _same_length(lengths)
        if not values:
            pass
        elif rows <= _SMALL_BATCH:
            self._blocks[with_score].count(values, counts)
        else:
            for (_, edges, start), column in zip(specs, values, strict=True):
                counts[start : start + len(edges) + 2] = bin_numbers(column, edges)
        small: list[int] = []  # bins of every small column, counted at once
        for spec in self._levels:
            found = (examples or {}).get(spec.column)
            levels = _column(columns, spec.column, self)
            if isinstance(levels, np.ndarray | list | tuple) and len(levels) <= _SMALL_BATCH:
                start = spec.start
                small += level_bins(
                    levels, spec.flat, start + spec.unseen, start + spec.missing, found
                )
            else:
                level_counts = bin_levels(levels, spec.lookup, spec.unseen, spec.missing, found)
                counts[spec.start : spec.start + spec.missing + 1] = level_counts
                levels = range(int(level_counts.sum()))
            lengths[spec.column] = len(levels)
        if small:
            counts += np.bincount(small, minlength=self.size)
        return counts, _same_length(lengths)


def _numeric_bins(
    name: str, kind: Literal["numeric", "score"], column: NumericProfile, start: int, stop: int
) -> ColumnBins:
    if column.min is None:  # no training values: any value is out of range, bin 0
        return ColumnBins(name, kind, start, stop, below=0, above=0)
    return ColumnBins(name, kind, start, stop, below=0, above=stop - start - 2)


def _level_bins(name: str, column: CategoricalProfile, start: int) -> _LevelBins:
    other = len(column.levels)
    lookup: dict[Any, int] = {level: i for i, level in enumerate(column.levels)}
    lookup.update(dict.fromkeys(column.other_levels, other))
    missing = other + 2
    lookup[None] = missing
    unseen = other + 1 if column.all_levels_known else other
    flat = {level: start + i for level, i in lookup.items()}
    return _LevelBins(name, start, lookup, unseen, missing, flat)


def _column(columns: Mapping[str, Any], name: str, layout: BinLayout) -> Any:
    try:
        return columns[name]
    except KeyError:
        missing = [
            c.column for c in layout.columns if c.kind != "score" and c.column not in columns
        ]
        raise SchemaError(
            f"drift check: column(s) {missing} of the training profile are missing from the "
            f"input (got: {sorted(columns)[:20]}). Fix: pass every feature column the model "
            "scores."
        ) from None


def _same_length(lengths: dict[str, int]) -> int:
    sizes = set(lengths.values())
    if len(sizes) == 1:
        return sizes.pop()
    first: dict[int, str] = {}
    for name, size in lengths.items():
        first.setdefault(size, name)
    if len(first) > 1:
        shown = ", ".join(f"'{name}' has {size:,}" for size, name in first.items())
        raise DataError(
            f"drift check: columns differ in length ({shown} values). Fix: pass one value per "
            "row in every column, and one score per row."
        )
    return next(iter(first), 0)
