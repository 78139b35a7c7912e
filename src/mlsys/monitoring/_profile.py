"""The training profile: what the model learned to expect of its input, as a typed contract.

A :class:`DataProfile` is learned from the training split (features only, typed as every stage
after loading sees them) and the calibrated scores of the validation split. It is small (a few
kilobytes), JSON round-trippable and versioned (:data:`PROFILE_FORMAT`), so it can travel in a
bundle's metadata, a run's ``profile.json`` and an MLflow model. Every later check (a file's
data-quality section, the server's live PSI) compares counts against it; those checks live in
``_drift`` and ``_bins``, above this module: the contract knows nothing of who reads it.

Each column is cut into bins, and the profile holds the share of training rows per bin:

* numeric: the deciles of the non-missing values (deduplicated) cut ``[min, max]`` into at most
  10 bins; a value below the training minimum or above the maximum, and a missing value, each
  fall into a bin of their own, which training leaves empty (missing: the missing rate);
* boolean: false, true, missing;
* categorical: the :data:`TOP_LEVELS` most frequent levels (each with at least
  :data:`MIN_LEVEL_ROWS` training rows), the rest of the training levels pooled as ``other``, a
  bin for levels never seen in training (empty in training), missing.

The calibrated scores are profiled like a numeric column.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from mlsys.errors import BundleError, DataError
from mlsys.monitoring._markdown import percent

if TYPE_CHECKING:
    import pandas as pd

    from mlsys.data import FeatureSchema

__all__ = [
    "MAX_KNOWN_LEVELS",
    "MIN_LEVEL_ROWS",
    "PROFILE_FORMAT",
    "QUANTILES",
    "TOP_LEVELS",
    "BooleanProfile",
    "CategoricalProfile",
    "ColumnProfile",
    "ColumnSummary",
    "DataProfile",
    "NumericProfile",
    "bin_numbers",
]

FloatArray = np.ndarray[Any, np.dtype[np.float64]]
CountArray = np.ndarray[Any, np.dtype[np.int64]]

PROFILE_FORMAT: Final = 1
"""Version of the profile's JSON layout; a reader refuses a format it does not know."""
QUANTILES: Final = 10
"""Numeric columns are cut at the deciles of their training values."""
TOP_LEVELS: Final = 30
"""Categorical levels profiled one by one; rarer levels are pooled as ``other``."""
MIN_LEVEL_ROWS: Final = 30
"""A level needs this many training rows for a bin of its own: the share of a level seen a
handful of times is itself noise, and would make every later sample look drifted."""
MAX_KNOWN_LEVELS: Final = 1000
"""Up to this many training levels are remembered, so unseen levels can be told from rare ones;
a column with more keeps only its top levels, and unseen levels then count as ``other``."""
_SHARE_TOLERANCE: Final = 1e-6
_CUT_SAMPLE: Final = 50_000
_BOOLEAN_EDGES: Final = np.array([0.5])


class _Contract(BaseModel):
    """Immutable, strict about unknown keys: a typo in a stored profile is an error, not a no-op."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def _check_shares(shares: tuple[float, ...], what: str) -> None:
    if any(s < 0 or not math.isfinite(s) for s in shares):
        raise ValueError(f"{what}: shares must be finite and non-negative (got {shares})")
    total = math.fsum(shares)
    if abs(total - 1.0) > _SHARE_TOLERANCE:
        raise ValueError(f"{what}: shares and missing rate must sum to 1 (got {total})")


class NumericProfile(_Contract):
    """A numeric column (or the scores): range, quantile bins and missing rate.

    Attributes:
        min: Smallest training value (``None`` when every value was missing).
        max: Largest training value.
        cuts: Interior bin edges, strictly increasing, each in ``(min, max]``: the bins are
            ``[min, cuts[0])``, ``[cuts[0], cuts[1])``, ..., ``[cuts[-1], max]``.
        shares: Share of all training rows in each of those bins.
        missing_rate: Share of training rows without a value.
    """

    kind: Literal["numeric"] = "numeric"
    min: float | None
    max: float | None
    cuts: tuple[float, ...] = ()
    shares: tuple[float, ...] = ()
    missing_rate: float

    @model_validator(mode="after")
    def _consistent(self) -> NumericProfile:
        if self.min is None or self.max is None:
            if self.min is not None or self.max is not None or self.cuts or self.shares:
                raise ValueError("a column without values has neither min, max, cuts nor shares")
            _check_shares((self.missing_rate,), "numeric column")
            return self
        if not self.min <= self.max:
            raise ValueError(f"min {self.min} is above max {self.max}")
        edges = (self.min, *self.cuts)
        if any(b <= a for a, b in itertools.pairwise(edges)) or (
            self.cuts and self.cuts[-1] > self.max
        ):
            raise ValueError(f"cuts must increase strictly within (min, max] (got {self.cuts})")
        if len(self.shares) != len(self.cuts) + 1:
            raise ValueError(f"{len(self.cuts)} cuts need {len(self.cuts) + 1} shares")
        _check_shares((*self.shares, self.missing_rate), "numeric column")
        return self

    def edges(self) -> FloatArray:
        """Bin edges ``[min, *cuts, next float above max]`` (see ``bin_numbers``).

        The bins they make: below the minimum, ``len(cuts) + 1`` inside the range, above the
        maximum; then missing. A column without training values has no edges: any value is
        out of range.
        """
        return _numeric_edges(self.min, self.max, self.cuts)

    def expected(self) -> FloatArray:
        """Training share of every bin ``edges`` gives, out-of-range bins included."""
        if self.min is None:
            return np.array([0.0, self.missing_rate])
        return np.array([0.0, *self.shares, 0.0, self.missing_rate])

    def describe(self) -> str:
        """One line: range and inner deciles."""
        if self.min is None or self.max is None:
            return "no values in training"
        cuts = ", ".join(f"{c:.4g}" for c in self.cuts)
        return f"{self.min:.4g} to {self.max:.4g}" + (f"; bin edges {cuts}" if cuts else "")


class BooleanProfile(_Contract):
    """A boolean column (0/1 after loading).

    Attributes:
        shares: Share of all training rows that are false, then true.
        missing_rate: Share of training rows without a value.
    """

    kind: Literal["boolean"] = "boolean"
    shares: tuple[float, float]
    missing_rate: float

    @model_validator(mode="after")
    def _consistent(self) -> BooleanProfile:
        _check_shares((*self.shares, self.missing_rate), "boolean column")
        return self

    @property
    def true_rate(self) -> float | None:
        """Share of 1s among the rows with a value (``None`` if every value was missing)."""
        known = self.shares[0] + self.shares[1]
        return self.shares[1] / known if known > 0 else None

    def edges(self) -> FloatArray:
        """One edge: false below it, true above, then missing (see ``bin_numbers``)."""
        return _BOOLEAN_EDGES.copy()

    def expected(self) -> FloatArray:
        """Training share of false, true, missing."""
        return np.array([*self.shares, self.missing_rate])

    def describe(self) -> str:
        """One line: the share of 1s."""
        rate = self.true_rate
        return "no values in training" if rate is None else f"{percent(rate)} true"


class CategoricalProfile(_Contract):
    """A categorical column: its most frequent levels, the rest pooled.

    Attributes:
        levels: The most frequent training levels, most frequent first.
        shares: Share of all training rows at each of ``levels``.
        other_share: Share of training rows at any other (rarer) level.
        unseen_share: How often a level never seen in training is to be expected: the share
            of training rows whose level occurs once (the Good-Turing estimate). A long tail
            (campaigns, job titles) keeps producing new levels, and that is not drift: for such
            a column the PSI counts new levels with the rare ones, and only new levels well
            beyond this share are reported.
        other_levels: The rarer levels, when every training level is remembered.
        all_levels_known: Every training level is in ``levels`` or ``other_levels``, so a level
            in neither was never seen in training. False for columns with more than
            :data:`MAX_KNOWN_LEVELS` levels: their unseen levels count as ``other``.
        missing_rate: Share of training rows without a value.
    """

    kind: Literal["categorical"] = "categorical"
    levels: tuple[str, ...]
    shares: tuple[float, ...]
    other_share: float
    unseen_share: float = 0.0
    other_levels: tuple[str, ...] = ()
    all_levels_known: bool = True
    missing_rate: float

    @model_validator(mode="after")
    def _consistent(self) -> CategoricalProfile:
        if len(self.shares) != len(self.levels):
            raise ValueError(f"{len(self.levels)} levels need as many shares")
        if len({*self.levels, *self.other_levels}) != len(self.levels) + len(self.other_levels):
            raise ValueError("a level is listed twice")
        _check_shares((*self.shares, self.other_share, self.missing_rate), "categorical column")
        if not 0.0 <= self.unseen_share <= self.other_share + _SHARE_TOLERANCE:
            raise ValueError(f"unseen_share {self.unseen_share} is not within [0, other_share]")
        return self

    def expected(self) -> FloatArray:
        """Training share of each level, other, unseen (none) and missing."""
        return np.array([*self.shares, self.other_share, 0.0, self.missing_rate])

    def describe(self) -> str:
        """One line: number of levels and the three most frequent."""
        known = len(self.levels) + len(self.other_levels)
        count = f"{known:,}" if self.all_levels_known else f"more than {MAX_KNOWN_LEVELS:,}"
        top = ", ".join(
            f"{v} {percent(s)}" for v, s in zip(self.levels[:3], self.shares, strict=False)
        )
        return f"{count} levels" + (f"; top: {top}" if top else "")


ColumnProfile = Annotated[
    NumericProfile | BooleanProfile | CategoricalProfile, Field(discriminator="kind")
]
"""One column's profile; ``kind`` tells which."""


class ColumnSummary(_Contract):
    """One row of a profile's summary (the model card shows them as a table)."""

    column: str
    kind: str
    missing_rate: float
    description: str


class DataProfile(_Contract):
    """The training data's profile: the model's data expectations, learned, not hand-written.

    Attributes:
        format: Layout version (:data:`PROFILE_FORMAT`).
        rows: Training rows profiled.
        columns: Profile of every feature column, in schema order.
        scores: Distribution of the calibrated validation scores, if given.
        score_rows: Validation rows whose scores were profiled.

    Example:
        >>> profile = DataProfile.learn(train, schema, scores=val_scores)  # doctest: +SKIP
        >>> report = drift_report(profile, new_leads_frame, scores=new_scores)  # doctest: +SKIP
        >>> [alert.message for alert in report.alerts]  # doctest: +SKIP
    """

    format: Literal[1] = PROFILE_FORMAT
    rows: int = Field(ge=1)
    columns: dict[str, ColumnProfile]
    scores: NumericProfile | None = None
    score_rows: int = Field(default=0, ge=0)

    @classmethod
    def learn(
        cls,
        frame: pd.DataFrame,
        schema: FeatureSchema,
        *,
        scores: Any = None,
        top_levels: int = TOP_LEVELS,
        min_level_rows: int = MIN_LEVEL_ROWS,
    ) -> DataProfile:
        """Profile the training split's features and the validation split's scores.

        Args:
            frame: Typed training features (``Dataset.features``): numeric and boolean columns
                float64 with NaN for missing, categorical columns strings.
            schema: The feature schema; every column of it is profiled.
            scores: Calibrated probabilities of the validation split (any 1-D array).
            top_levels: Categorical levels profiled one by one, at most.
            min_level_rows: Training rows a level needs to be profiled on its own.

        Raises:
            DataError: No training rows, or scores outside ``[0, 1]``.
        """
        if len(frame) == 0:
            raise DataError("data profile: the training frame has no rows. Fix: train on data.")
        schema.check_frame(frame, where="data profile")
        columns: dict[str, NumericProfile | BooleanProfile | CategoricalProfile] = {}
        for name, kind in zip(schema.columns, schema.kinds, strict=True):
            if kind == "categorical":
                columns[name] = _learn_categorical(frame[name], top_levels, min_level_rows)
            else:
                values = frame[name].to_numpy(dtype=np.float64, na_value=np.nan)
                columns[name] = (
                    _learn_numeric(values) if kind == "numeric" else _learn_boolean(values)
                )
        score_profile, score_rows = None, 0
        if scores is not None:
            values = np.asarray(scores, dtype=np.float64).ravel()
            if len(values) and not ((values >= 0) & (values <= 1)).all():
                raise DataError(
                    "data profile: scores must be probabilities in [0, 1] (got values from "
                    f"{np.nanmin(values):.4g} to {np.nanmax(values):.4g}). Fix: pass the "
                    "calibrated probabilities of the validation split."
                )
            if len(values):
                score_profile, score_rows = _learn_numeric(values), len(values)
        return cls(rows=len(frame), columns=columns, scores=score_profile, score_rows=score_rows)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, where: str = "data profile") -> DataProfile:
        """Read a profile written by :meth:`to_dict` (a bundle's metadata, ``profile.json``).

        Raises:
            BundleError: The mapping is not a profile of a format this version reads.
        """
        found = data.get("format") if isinstance(data, Mapping) else None
        if found != PROFILE_FORMAT:
            raise BundleError(
                f"{where}: profile format {found!r} is not {PROFILE_FORMAT}, the one this mlsys "
                "reads. Fix: retrain the model with this version, or use the mlsys that wrote it."
            )
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            key = ".".join(str(p) for p in first["loc"])
            raise BundleError(
                f"{where}: malformed profile at '{key}': {first['msg']}. Fix: retrain the model "
                "to write a fresh profile."
            ) from exc

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form; :meth:`from_dict` reads it back to an equal profile."""
        return self.model_dump(mode="json")

    def summary(self) -> list[ColumnSummary]:
        """One line per column (and the scores): kind, missing rate and a short description."""
        rows = [
            ColumnSummary(
                column=name,
                kind=profile.kind,
                missing_rate=profile.missing_rate,
                description=profile.describe(),
            )
            for name, profile in self.columns.items()
        ]
        if self.scores is not None:
            rows.append(
                ColumnSummary(
                    column="calibrated score (validation)",
                    kind="score",
                    missing_rate=self.scores.missing_rate,
                    description=self.scores.describe(),
                )
            )
        return rows


def bin_numbers(values: FloatArray, edges: FloatArray) -> CountArray:
    """Counts of ``values`` per bin of the sorted finite ``edges``, and of missing values.

    The bins are ``(-inf, edges[0])``, ``[edges[0], edges[1])``, ..., ``[edges[-1], +inf)``,
    then NaN: ``len(edges) + 2`` counts. A value ``x`` is in the bin after the last edge
    ``<= x``; each count is a difference of "values below an edge" counts, one vectorised
    pass per edge (a few requests' rows go through :class:`_NumberBlock` instead: the same
    counts from one comparison matrix for all columns).
    """
    n = len(values)
    missing = int(np.count_nonzero(np.isnan(values)))
    below = np.fromiter(
        (np.count_nonzero(values < edge) for edge in edges), dtype=np.int64, count=len(edges)
    )
    cumulative = np.concatenate(([0], below, [n - missing]))
    return np.append(np.diff(cumulative), missing).astype(np.int64, copy=False)


def _numeric_edges(low: float | None, high: float | None, cuts: tuple[float, ...]) -> FloatArray:
    if low is None or high is None:
        return np.zeros(0)
    return np.array([low, *cuts, np.nextafter(high, np.inf)])


def _quantile_cuts(values: FloatArray, low: float, high: float) -> tuple[float, ...]:
    """Deciles as cut points, from at most :data:`_CUT_SAMPLE` evenly spaced values.

    The cuts are only where the bins go; every share is then counted on all rows, so a sample
    changes which bins the profile has, never how many training rows fall in them.
    """
    step = -(-len(values) // _CUT_SAMPLE)
    probabilities = np.arange(1, QUANTILES) / QUANTILES
    cuts = np.unique(np.quantile(values[::step], probabilities))
    return tuple(float(c) for c in cuts[(cuts > low) & (cuts <= high)])


def _learn_numeric(values: FloatArray) -> NumericProfile:
    n = len(values)
    present = values[~np.isnan(values)]
    if not len(present):
        return NumericProfile(min=None, max=None, missing_rate=1.0)
    low, high = float(present.min()), float(present.max())
    cuts = _quantile_cuts(present, low, high)
    counts = bin_numbers(values, _numeric_edges(low, high, cuts))
    # Built from counts over n, the shares sum to 1 up to rounding; validated on construction.
    return NumericProfile(
        min=low,
        max=high,
        cuts=cuts,
        shares=tuple(float(c) / n for c in counts[1:-2]),
        missing_rate=float(counts[-1]) / n,
    )


def _learn_boolean(values: FloatArray) -> BooleanProfile:
    n = len(values)
    counts = bin_numbers(values, _BOOLEAN_EDGES)
    return BooleanProfile(
        shares=(float(counts[0]) / n, float(counts[1]) / n), missing_rate=float(counts[2]) / n
    )


def _learn_categorical(
    column: pd.Series, top_levels: int, min_level_rows: int
) -> CategoricalProfile:
    n = len(column)
    counts = column.value_counts(dropna=True)
    # Most frequent first; ties by level, so the same data always gives the same profile.
    ordered = sorted(
        ((str(level), int(count)) for level, count in counts.items()), key=lambda p: (-p[1], p[0])
    )
    own = sum(1 for _, count in ordered[:top_levels] if count >= min_level_rows)
    top, rest = ordered[:own], ordered[own:]
    known = len(ordered) <= MAX_KNOWN_LEVELS
    missing = n - sum(c for _, c in ordered)
    # Good-Turing: the chance that the next row brings a new level is the share of rows whose
    # level was seen once. Only levels pooled in "other" can be seen once (own bins need more).
    once = sum(1 for _, count in rest if count == 1) if known else 0
    return CategoricalProfile(
        levels=tuple(level for level, _ in top),
        shares=tuple(count / n for _, count in top),
        other_share=sum(count for _, count in rest) / n,
        unseen_share=once / n,
        other_levels=tuple(level for level, _ in rest) if known else (),
        all_levels_known=known,
        missing_rate=missing / n,
    )
