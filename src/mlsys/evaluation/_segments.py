"""Metrics per segment (a region, a lead source, ...), with small segments flagged.

A model can rank well overall and badly inside one segment; a segment with a handful of
converters can also show a perfect or terrible ROC-AUC by chance. Each segment's row says both:
its metrics, and whether it holds enough converters and non-converters to trust them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from mlsys.errors import ConfigError, DataError

__all__ = ["MISSING_SEGMENT", "SegmentMetrics", "SegmentReport", "segment_breakdown"]

#: Segment name of rows whose segment value is missing.
MISSING_SEGMENT = "(missing)"


@dataclass(frozen=True)
class SegmentMetrics:
    """Metrics of one segment at the decision threshold.

    Attributes:
        segment: The segment's value (or bin, or the pooled "other" segment).
        rows: Rows in the segment.
        positives: Converters in the segment.
        positive_rate: Share of converters.
        mean_probability: Mean predicted probability (compare with ``positive_rate``: a gap is
            miscalibration inside the segment).
        roc_auc: ROC-AUC within the segment; ``None`` without both classes.
        pr_auc: Average precision within the segment; ``None`` without both classes.
        called: Rows at or above the threshold.
        precision: Share of called rows that converted; ``None`` when none is called.
        recall: Share of the segment's converters that are called; ``None`` without converters.
        too_few: The segment has fewer converters or non-converters than the minimum: its
            ranking metrics are too noisy to trust (or undefined).
        notes: Why the segment is flagged and why any metric is undefined.
    """

    segment: str
    rows: int
    positives: int
    positive_rate: float
    mean_probability: float
    roc_auc: float | None
    pr_auc: float | None
    called: int
    precision: float | None
    recall: float | None
    too_few: bool
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return {**asdict(self), "notes": list(self.notes)}


@dataclass(frozen=True)
class SegmentReport:
    """Per-segment metrics of one column, largest segments first.

    Attributes:
        column: The column the rows were segmented by.
        threshold: Decision threshold of ``precision`` and ``recall``.
        segments: One entry per segment; the pooled "other" segment, if any, comes last.
        min_positives: Fewer converters than this flags a segment ``too_few``.
        min_negatives: Fewer non-converters than this flags a segment ``too_few``.
        pooled_values: Distinct values pooled into the "other" segment.
        binned: The column is numeric with many values and was cut into quantile bins.
    """

    column: str
    threshold: float
    segments: tuple[SegmentMetrics, ...]
    min_positives: int
    min_negatives: int
    pooled_values: int = 0
    binned: bool = False

    @property
    def flagged(self) -> list[str]:
        """Names of the segments with too few converters or non-converters."""
        return [s.segment for s in self.segments if s.too_few]

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form, as written to ``segments.json``."""
        return {
            "column": self.column,
            "threshold": self.threshold,
            "min_positives": self.min_positives,
            "min_negatives": self.min_negatives,
            "pooled_values": self.pooled_values,
            "binned": self.binned,
            "segments": [s.to_dict() for s in self.segments],
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per segment (for notebooks)."""
        return pd.DataFrame([s.to_dict() for s in self.segments])


def segment_breakdown(
    values: Any,
    y: Any,
    probabilities: Any,
    threshold: float,
    *,
    column: str = "segment",
    max_segments: int = 12,
    min_positives: int = 10,
    min_negatives: int = 10,
    numeric_bins: int = 5,
) -> SegmentReport:
    """Metrics per value of ``values``, flagging segments too small to trust.

    Args:
        values: The segment of each row (a column of the scored rows), aligned with ``y``.
        y: True labels, 0/1.
        probabilities: Calibrated probabilities.
        threshold: Decision threshold for precision and recall.
        column: Name of the column, for the report.
        max_segments: Keep the largest segments by rows; pool the rest into one "other"
            segment.
        min_positives: Flag segments with fewer converters than this.
        min_negatives: Flag segments with fewer non-converters than this.
        numeric_bins: A numeric column with more distinct values than ``max_segments`` is cut
            into this many quantile bins.

    Returns:
        The per-segment metrics.

    Raises:
        ConfigError: ``max_segments`` or ``numeric_bins`` is below 1.
        DataError: ``values``, ``y`` and ``probabilities`` differ in length.

    Example:
        >>> report = segment_breakdown(
        ...     ["EU", "EU", "US", "US"], [0, 1, 0, 1], [0.2, 0.7, 0.4, 0.6], 0.5,
        ...     column="region", min_positives=1, min_negatives=1,
        ... )
        >>> [(s.segment, s.roc_auc) for s in report.segments]
        [('EU', 1.0), ('US', 1.0)]
    """
    if max_segments < 1 or numeric_bins < 1:
        raise ConfigError(
            f"evaluation.report: max_segments={max_segments} and numeric_bins={numeric_bins} "
            "must both be >= 1. Fix: evaluation.report.max_segments=12."
        )
    series = pd.Series(values).reset_index(drop=True)
    labels = np.asarray(y).astype(np.int64)
    p = np.asarray(probabilities, dtype=np.float64)
    if not len(series) == len(labels) == len(p):
        raise DataError(
            f"segments: column '{column}' has {len(series)} values for {len(labels)} labels and "
            f"{len(p)} probabilities. Fix: pass the column of the scored rows."
        )
    names, bins = _segment_names(series, max_segments, numeric_bins)
    counts = names.value_counts(sort=False)
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))
    if bins:  # quantile bins read best in their natural order
        ranked = sorted(ranked, key=lambda kv: bins.index(kv[0]) if kv[0] in bins else len(bins))
    limit = len(ranked) if bins else max_segments  # bins (+ missing) are never pooled
    kept = [str(name) for name, _ in ranked[:limit]]
    pooled = [str(name) for name, _ in ranked[limit:]]
    other = f"(other: {len(pooled)} values)"
    names = names.where(names.isin(kept), other) if pooled else names
    segments = [
        _metrics(name, labels[mask], p[mask], threshold, min_positives, min_negatives)
        for name in [*kept, *([other] if pooled else [])]
        if (mask := (names == name).to_numpy()).any()
    ]
    return SegmentReport(
        column=column,
        threshold=float(threshold),
        segments=tuple(segments),
        min_positives=min_positives,
        min_negatives=min_negatives,
        pooled_values=len(pooled),
        binned=bool(bins),
    )


def _segment_names(series: pd.Series, max_segments: int, bins: int) -> tuple[pd.Series, list[str]]:
    """String segment names, and the bin names in order when a numeric column was binned.

    A numeric column with more distinct values than ``max_segments`` becomes quantile bins.
    """
    numeric = ptypes.is_numeric_dtype(series) and not ptypes.is_bool_dtype(series)
    if numeric and series.nunique(dropna=True) > max_segments:
        cut = pd.qcut(series, q=bins, duplicates="drop")
        order = [_bin(interval) for interval in cut.cat.categories]
        names = cut.astype(object).map(lambda v: MISSING_SEGMENT if pd.isna(v) else _bin(v))
        return names.astype(str), order
    text = series.astype(object).map(lambda v: MISSING_SEGMENT if pd.isna(v) else _value(v))
    return text.astype(str), []


def _value(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _bin(interval: pd.Interval) -> str:
    return f"({interval.left:.4g}, {interval.right:.4g}]"


def _metrics(
    name: str,
    labels: np.ndarray[Any, Any],
    p: np.ndarray[Any, Any],
    threshold: float,
    min_positives: int,
    min_negatives: int,
) -> SegmentMetrics:
    from sklearn import metrics as skm

    from mlsys.evaluation._metrics import decision_metrics

    rows, positives = len(labels), int(labels.sum())
    negatives = rows - positives
    called = p >= threshold
    decided = decision_metrics(labels, called)
    notes = []
    if positives < min_positives:
        notes.append(f"only {positives} converters (< {min_positives}): too few to trust")
    if negatives < min_negatives:
        notes.append(f"only {negatives} non-converters (< {min_negatives}): too few to trust")
    both = 0 < positives < rows
    if not both:
        missing = "converters" if positives == 0 else "non-converters"
        notes.append(f"no {missing}: ROC-AUC and PR-AUC need both classes")
    if not called.any():
        notes.append(f"no row reaches the threshold {threshold:.4g}: precision is undefined")
    if positives == 0:
        notes.append("no converters: recall is undefined")
    return SegmentMetrics(
        segment=name,
        rows=rows,
        positives=positives,
        positive_rate=positives / rows,
        mean_probability=float(p.mean()),
        roc_auc=float(skm.roc_auc_score(labels, p)) if both else None,
        pr_auc=float(skm.average_precision_score(labels, p)) if both else None,
        called=int(called.sum()),
        precision=decided["precision"],
        recall=decided["recall"],
        too_few=positives < min_positives or negatives < min_negatives,
        notes=tuple(notes),
    )
