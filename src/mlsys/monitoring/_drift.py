"""Drift and data-quality checks of rows against a training profile.

:class:`DriftAccumulator` adds up bin counts batch by batch (a file chunk by chunk, memory
independent of its size); its :meth:`~DriftAccumulator.report` turns them into a
:class:`DriftReport`: per column the PSI, values outside the training range, levels never seen
in training and the missing rate now against training, with :class:`DriftAlert` sentences for
what crosses a :class:`DriftThresholds` limit. The server's :class:`~mlsys.monitoring.RollingDrift`
builds the same report from its window's counts.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from typing import Any, Final, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from mlsys.monitoring._bins import SCORE_COLUMN, BinLayout, ColumnBins
from mlsys.monitoring._profile import CategoricalProfile, DataProfile, NumericProfile
from mlsys.monitoring._psi import NOISE_P, population_stability_index, psi_noise_floor

# The package __init__ lists these again: its __all__ is the public API (test_public_api).
__all__ = [
    "BOOLEAN_PSI_ALERT",
    "BOOLEAN_PSI_WARNING",
    "FEATURE_PSI_ALERT",
    "FEATURE_PSI_WARNING",
    "SCORE_PSI_ALERT",
    "SCORE_PSI_WARNING",
    "ColumnDrift",
    "DriftAccumulator",
    "DriftAlert",
    "DriftReport",
    "DriftThresholds",
    "build_report",
    "drift_report",
]

CountArray = np.ndarray[Any, np.dtype[np.int64]]

# Calibrated on the synthetic leads by benchmarks/drift_calibration.py (docs/MONITORING.md):
# at these values every single-column shift that cost 0.01 of test ROC-AUC raised an alert,
# and no unshifted sample of 1,000 rows (min_rows) came near them.
FEATURE_PSI_WARNING: Final = 0.1
"""A numeric or categorical column's PSI from which it is a moderate shift (a warning)."""
FEATURE_PSI_ALERT: Final = 0.2
"""A numeric or categorical column's PSI from which it is a major shift (an alert)."""
BOOLEAN_PSI_WARNING: Final = 0.004
"""A boolean column's PSI from which it is a moderate shift.

Lower than for other columns: a boolean has two values, so damage that costs ROC-AUC (a share
of ``requested_demo`` flipped) moves its PSI far less than a comparable shift of a column with
ten bins; a share of 1s moving from 15 % to 18 % is about 0.008. Small samples are protected by
the noise floor (:func:`psi_noise_floor`), not by this number.
"""
BOOLEAN_PSI_ALERT: Final = 0.008
"""A boolean column's PSI from which it is a major shift (an alert)."""
SCORE_PSI_WARNING: Final = 0.05
"""The scores' PSI from which they are a moderate shift."""
SCORE_PSI_ALERT: Final = 0.1
"""The scores' PSI from which they are a major shift (an alert): the model then calls a
different share of leads than it was tuned for."""

Severity = Literal["stable", "moderate", "major", "too_few_rows"]
Check = Literal["psi", "missing_rate", "out_of_range", "unseen"]


class _Contract(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DriftThresholds(_Contract):
    """When a difference from the training profile becomes a warning or an alert.

    Attributes:
        feature_psi_warning: A numeric or categorical column's PSI from which it is a
            moderate shift (a warning).
        feature_psi_alert: A numeric or categorical column's PSI from which it is a major
            shift (an alert).
        boolean_psi_warning: The same for a boolean column.
        boolean_psi_alert: The same for a boolean column.
        score_psi_warning: The scores' PSI from which they are a moderate shift.
        score_psi_alert: The scores' PSI from which they are a major shift.
        missing_rate_increase: A column missing this much more often than in training (in
            share of rows: 0.05 is 5 points) is an alert.
        out_of_range_rate: This share of a numeric column's values below the training minimum
            or above the maximum is an alert.
        unseen_rate: A categorical column's values at levels never seen in training this much
            more often than training leads to expect (its long tail's Good-Turing share; 0 for
            a column of a few frequent levels) is an alert.
        min_rows: Fewer rows than this give no PSI verdict: the index of a small sample is
            mostly noise (about ``(bins - 1) / rows`` on average).
        min_count: A data-quality alert needs at least this many offending rows as well.
        noise_p: No PSI threshold is below the noise floor for the rows at hand: the index
            that a sample of the training distribution itself reaches with this chance
            (:func:`psi_noise_floor`).
    """

    feature_psi_warning: float = Field(default=FEATURE_PSI_WARNING, gt=0)
    feature_psi_alert: float = Field(default=FEATURE_PSI_ALERT, gt=0)
    boolean_psi_warning: float = Field(default=BOOLEAN_PSI_WARNING, gt=0)
    boolean_psi_alert: float = Field(default=BOOLEAN_PSI_ALERT, gt=0)
    score_psi_warning: float = Field(default=SCORE_PSI_WARNING, gt=0)
    score_psi_alert: float = Field(default=SCORE_PSI_ALERT, gt=0)
    missing_rate_increase: float = Field(default=0.05, gt=0, le=1)
    out_of_range_rate: float = Field(default=0.01, gt=0, le=1)
    unseen_rate: float = Field(default=0.01, gt=0, le=1)
    min_rows: int = Field(default=1000, ge=1)
    min_count: int = Field(default=10, ge=1)
    noise_p: float = Field(default=NOISE_P, gt=0, lt=1)

    @model_validator(mode="after")
    def _ordered(self) -> DriftThresholds:
        for kind in ("feature", "boolean", "score"):
            warning = getattr(self, f"{kind}_psi_warning")
            alert = getattr(self, f"{kind}_psi_alert")
            if warning > alert:
                raise ValueError(f"{kind}_psi_warning {warning} is above {kind}_psi_alert {alert}")
        return self

    def psi_limits(self, kind: str) -> tuple[float, float]:
        """Warning and alert PSI for a column of ``kind`` (``score`` for the scores).

        A report raises both to the noise floor of its number of rows when that is higher.
        """
        if kind == "score":
            return self.score_psi_warning, self.score_psi_alert
        if kind == "boolean":
            return self.boolean_psi_warning, self.boolean_psi_alert
        return self.feature_psi_warning, self.feature_psi_alert


class ColumnDrift(_Contract):
    """One column (or the scores) now against training.

    Attributes:
        column: Column name (``score`` for the calibrated scores).
        kind: ``numeric``, ``boolean``, ``categorical`` or ``score``.
        rows: Rows observed.
        psi: Population stability index against the training bins (``None`` without rows).
        psi_threshold: The PSI from which this column alerts: its kind's threshold, or the
            noise floor of this many rows when that is higher.
        psi_warning: The same for a warning.
        severity: ``stable``, ``moderate`` or ``major`` by the PSI thresholds, or
            ``too_few_rows`` below ``min_rows``.
        missing: Rows without a value.
        missing_rate: Share of rows without a value.
        training_missing_rate: The same in training.
        below_min: Values below the training minimum (numeric, score).
        above_max: Values above the training maximum (numeric, score).
        training_min: Smallest training value (numeric, score).
        training_max: Largest training value (numeric, score).
        unseen: Values at levels never seen in training (categorical).
        expected_unseen_rate: The share of such values training leads to expect (categorical).
        unseen_examples: Some of those levels, with their counts.
    """

    column: str
    kind: Literal["numeric", "boolean", "categorical", "score"]
    rows: int
    psi: float | None
    psi_threshold: float
    psi_warning: float
    severity: Severity
    missing: int
    missing_rate: float | None
    training_missing_rate: float
    below_min: int = 0
    above_max: int = 0
    training_min: float | None = None
    training_max: float | None = None
    unseen: int = 0
    expected_unseen_rate: float = 0.0
    unseen_examples: dict[str, int] = Field(default_factory=dict)

    @property
    def out_of_range(self) -> int:
        """Values outside the training range, either side."""
        return self.below_min + self.above_max


class DriftAlert(_Contract):
    """A difference from training worth a person's attention, as a sentence.

    Attributes:
        column: The column (``score`` for the scores).
        check: ``psi``, ``missing_rate``, ``out_of_range`` or ``unseen``.
        severity: ``alert`` (fails ``--fail-on-drift``; pages on the server) or ``warning``.
        value: The measured value (PSI, or a share of rows).
        threshold: The limit it reached.
        message: What happened, with counts.
    """

    column: str
    check: Check
    severity: Literal["warning", "alert"]
    value: float
    threshold: float
    message: str


class DriftReport(_Contract):
    """Drift and data quality of some rows against the training profile.

    Attributes:
        rows: Rows checked.
        score_rows: Rows whose scores were checked.
        columns: One entry per profiled feature column, in schema order.
        score: The calibrated scores, when given and profiled.
        thresholds: The limits the verdicts used.
        alerts: Alerts first, then warnings, each a sentence with counts.
    """

    rows: int
    score_rows: int = 0
    columns: tuple[ColumnDrift, ...]
    score: ColumnDrift | None = None
    thresholds: DriftThresholds
    alerts: tuple[DriftAlert, ...] = ()

    @property
    def drifted(self) -> bool:
        """Any alert (not only warnings): what ``--fail-on-drift`` turns into an exit code."""
        return any(a.severity == "alert" for a in self.alerts)

    @property
    def psi(self) -> dict[str, float | None]:
        """PSI per feature column, and ``score`` for the scores when checked."""
        out = {c.column: c.psi for c in self.columns}
        if self.score is not None:
            out[SCORE_COLUMN] = self.score.psi
        return out

    def verdict(self) -> str:
        """The report in one line: no alert, or the alerts by column and check.

        Example:
            >>> report.verdict()  # doctest: +SKIP
            'data quality: DRIFT, 2 alerts in 20,000 rows (employees: psi, out of range)'
        """
        alerts = [a for a in self.alerts if a.severity == "alert"]
        warnings = len(self.alerts) - len(alerts)
        noted = f", {warnings} warning{'s' if warnings != 1 else ''}" if warnings else ""
        if not alerts:
            return (
                f"data quality: no alert in {self.rows:,} rows against the training profile{noted}"
            )
        checks: dict[str, list[str]] = {}
        for alert in alerts:
            checks.setdefault(alert.column, []).append(alert.check.replace("_", " "))
        named = "; ".join(f"{column}: {', '.join(found)}" for column, found in checks.items())
        plural = "s" if len(alerts) != 1 else ""
        return (
            f"data quality: DRIFT, {len(alerts)} alert{plural} in {self.rows:,} rows "
            f"({named}){noted}"
        )

    def column(self, name: str) -> ColumnDrift:
        """One column's entry (``score`` for the scores)."""
        for entry in (*self.columns, *([self.score] if self.score else [])):
            if entry.column == name:
                return entry
        raise KeyError(f"no column '{name}' in the drift report")

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (``drifted`` included)."""
        return {**self.model_dump(mode="json"), "drifted": self.drifted}

    def to_markdown(self) -> str:
        """The data-quality section: a table per column, then the alerts."""
        from mlsys.monitoring._markdown import drift_markdown

        return drift_markdown(self)


class DriftAccumulator:
    """Bin counts of rows against a profile, added batch by batch.

    Memory is a few counters per bin, whatever the number of rows; adding batches in any split
    gives the same report as one batch of all rows.

    Args:
        profile: The training profile.
        thresholds: The limits of the report's verdicts (defaults: :class:`DriftThresholds`).

    Example:
        >>> counter = DriftAccumulator(profile)  # doctest: +SKIP
        >>> for chunk in chunks:  # doctest: +SKIP
        ...     counter.add(chunk.columns, scores=chunk_scores)
        >>> counter.report().drifted  # doctest: +SKIP
    """

    def __init__(self, profile: DataProfile, thresholds: DriftThresholds | None = None) -> None:
        self.layout = BinLayout(profile)
        self.thresholds = thresholds or DriftThresholds()
        self.counts: CountArray = np.zeros(self.layout.size, dtype=np.int64)
        self.rows = 0
        self.examples: dict[str, Counter[str]] = {
            c.column: Counter() for c in self.layout.columns if c.kind == "categorical"
        }

    def add(self, data: Any, scores: Any = None) -> DriftAccumulator:
        """Count a batch: a DataFrame or a mapping of column to values, with optional scores."""
        counts, rows = self.layout.count(_columns(data), scores, self.examples)
        self.counts += counts
        self.rows += rows
        return self

    def report(self) -> DriftReport:
        """The report of every row added so far."""
        return build_report(self.layout, self.counts, self.rows, self.thresholds, self.examples)


def drift_report(
    profile: DataProfile,
    data: Any,
    scores: Any = None,
    thresholds: DriftThresholds | None = None,
) -> DriftReport:
    """Drift and data-quality report of ``data`` (a DataFrame or a column mapping).

    The same as ``DriftAccumulator(profile, thresholds).add(data, scores).report()``.

    Args:
        profile: The training profile.
        data: The rows to check: a DataFrame or a mapping of column to values.
        scores: Their calibrated probabilities, if any.
        thresholds: The limits of the report's verdicts (defaults: :class:`DriftThresholds`).

    Example:
        >>> report = drift_report(profile, new_leads, scores=new_scores)  # doctest: +SKIP
        >>> [alert.message for alert in report.alerts]  # doctest: +SKIP
    """
    return DriftAccumulator(profile, thresholds).add(data, scores).report()


def _columns(data: Any) -> Mapping[str, Any]:
    """A DataFrame's columns as a mapping (pandas is imported only for a DataFrame)."""
    if isinstance(data, Mapping):
        return data
    columns = getattr(data, "columns", None)
    if columns is not None:
        return {str(c): data[c] for c in columns}
    raise TypeError(f"expected a DataFrame or a mapping of columns, got {type(data).__name__}")


_SEVERITY_ORDER: Final = {"alert": 0, "warning": 1}


def build_report(
    layout: BinLayout,
    counts: CountArray,
    rows: int,
    thresholds: DriftThresholds,
    examples: Mapping[str, Counter[str]] | None = None,
) -> DriftReport:
    """A :class:`DriftReport` from bin counts laid out by ``layout``."""
    profile = layout.profile
    features: list[ColumnDrift] = []
    score: ColumnDrift | None = None
    alerts: list[DriftAlert] = []
    for bins in layout.columns:
        source = profile.scores if bins.kind == "score" else profile.columns[bins.column]
        assert source is not None
        reference = profile.score_rows if bins.kind == "score" else profile.rows
        entry = _column_drift(
            bins,
            source,
            counts[bins.slice],
            layout.expected[bins.slice],
            reference,
            thresholds,
            (examples or {}).get(bins.column),
        )
        alerts.extend(_alerts(entry, thresholds))
        if bins.kind == "score":
            score = entry
        else:
            features.append(entry)
    alerts.sort(key=lambda a: _SEVERITY_ORDER[a.severity])  # stable: column order within
    return DriftReport(
        rows=rows,
        score_rows=score.rows if score else 0,
        columns=tuple(features),
        score=score if score and score.rows else None,
        thresholds=thresholds,
        alerts=tuple(alerts),
    )


def _column_drift(
    bins: ColumnBins,
    source: Any,
    counts: CountArray,
    expected: np.ndarray[Any, Any],
    reference_rows: int,
    thresholds: DriftThresholds,
    examples: Counter[str] | None,
) -> ColumnDrift:
    rows = int(counts.sum())
    psi_counts, psi_expected = counts, expected
    if isinstance(source, CategoricalProfile) and source.unseen_share > 0:
        # A long tail: a new level is one more rare level, so it counts with "other".
        other = len(source.levels)
        psi_counts = np.delete(counts, other + 1)
        psi_counts[other] += counts[other + 1]
        psi_expected = np.delete(expected, other + 1)
    psi = population_stability_index(psi_expected, psi_counts) if rows else math.nan
    filled = int(np.count_nonzero(psi_expected > 0))
    floor = psi_noise_floor(filled - 1, rows, reference_rows, p=thresholds.noise_p)
    warning, alert = (max(limit, floor) for limit in thresholds.psi_limits(bins.kind))
    severity: Severity = (
        "too_few_rows"
        if rows < thresholds.min_rows
        else "major"
        if psi >= alert
        else "moderate"
        if psi >= warning
        else "stable"
    )
    missing = int(counts[bins.missing])
    extra: dict[str, Any] = {}
    if isinstance(source, NumericProfile):
        below = int(counts[bins.below]) if bins.below is not None else 0
        same = bins.above == bins.below
        above = int(counts[bins.above]) if bins.above is not None and not same else 0
        extra = {
            "below_min": below,
            "above_max": above,
            "training_min": source.min,
            "training_max": source.max,
        }
    elif isinstance(source, CategoricalProfile) and bins.unseen is not None:
        known = source.all_levels_known
        extra = {
            "unseen": int(counts[bins.unseen]) if known else 0,
            "expected_unseen_rate": source.unseen_share,
            "unseen_examples": dict((examples or Counter()).most_common(5)) if known else {},
        }
    return ColumnDrift(
        column=bins.column,
        kind=bins.kind,
        rows=rows,
        psi=None if math.isnan(psi) else psi,
        psi_threshold=alert,
        psi_warning=warning,
        severity=severity,
        missing=missing,
        missing_rate=missing / rows if rows else None,
        training_missing_rate=source.missing_rate,
        **extra,
    )


def _alerts(entry: ColumnDrift, thresholds: DriftThresholds) -> list[DriftAlert]:
    found: list[DriftAlert] = []
    name, rows = entry.column, entry.rows
    if entry.psi is not None and entry.severity in ("major", "moderate"):
        limit = entry.psi_threshold if entry.severity == "major" else entry.psi_warning
        found.append(
            DriftAlert(
                column=name,
                check="psi",
                severity="alert" if entry.severity == "major" else "warning",
                value=entry.psi,
                threshold=limit,
                message=(
                    f"{name}: PSI {entry.psi:.3f} >= {limit:.3g}, a {entry.severity} shift "
                    f"from the training distribution ({rows:,} rows)"
                ),
            )
        )
    if not rows:
        return found
    increase = (entry.missing_rate or 0.0) - entry.training_missing_rate
    if increase >= thresholds.missing_rate_increase and entry.missing >= thresholds.min_count:
        found.append(
            DriftAlert(
                column=name,
                check="missing_rate",
                severity="alert",
                value=entry.missing_rate or 0.0,
                threshold=entry.training_missing_rate + thresholds.missing_rate_increase,
                message=(
                    f"{name}: {entry.missing:,} of {rows:,} values missing "
                    f"({entry.missing_rate:.1%}; {entry.training_missing_rate:.1%} in training)"
                ),
            )
        )
    outside = entry.out_of_range
    if outside >= thresholds.min_count and outside / rows >= thresholds.out_of_range_rate:
        found.append(
            DriftAlert(
                column=name,
                check="out_of_range",
                severity="alert",
                value=outside / rows,
                threshold=thresholds.out_of_range_rate,
                message=(
                    f"{name}: {outside:,} of {rows:,} values ({outside / rows:.1%}) outside the "
                    f"training range {_range(entry)} ({entry.below_min:,} below, "
                    f"{entry.above_max:,} above)"
                ),
            )
        )
    unseen_limit = entry.expected_unseen_rate + thresholds.unseen_rate
    if entry.unseen >= thresholds.min_count and entry.unseen / rows >= unseen_limit:
        shown = ", ".join(f"'{level}' ({n:,})" for level, n in entry.unseen_examples.items())
        expected = (
            f" ({entry.expected_unseen_rate:.1%} expected from training's long tail)"
            if entry.expected_unseen_rate
            else ""
        )
        found.append(
            DriftAlert(
                column=name,
                check="unseen",
                severity="alert",
                value=entry.unseen / rows,
                threshold=unseen_limit,
                message=(
                    f"{name}: {entry.unseen:,} of {rows:,} values ({entry.unseen / rows:.1%}) "
                    f"at levels never seen in training{expected}"
                    + (f", e.g. {shown}" if shown else "")
                ),
            )
        )
    return found


def _range(entry: ColumnDrift) -> str:
    if entry.training_min is None or entry.training_max is None:
        return "(no values in training)"
    return f"[{entry.training_min:.4g}, {entry.training_max:.4g}]"
